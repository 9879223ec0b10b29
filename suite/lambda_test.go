package suite

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/functions"
	"github.com/s3cli-dev/s3cli/fixtures/names"
	"github.com/s3cli-dev/s3cli/lambda/function"
	"github.com/s3cli-dev/s3cli/lambda/pack"
)

// lambdaFunctionTimeout is long enough for a cold start and the iam-role specs.
const lambdaFunctionTimeout = 300 * time.Second

var _ = Describe("The test-runner Lambda function", Label(names.LabelLambda), Ordered, func() {
	var (
		zip            []byte
		bucket, denied string
		roleARN        string
		fnName         string
		deployOpts     []functions.Option
		passingAll     []*functions.Invocation // one per shard (S3CLI_LAMBDA_SHARDS)
		passingResults []function.Result
		// fnScope removes the function (and its log group) at the end of the container: it is
		// created by one spec and invoked by the next ones.
		fnScope fixtures.Cleanups
	)

	BeforeAll(func(ctx SpecContext) {
		if caps := env.Target.Capabilities(); !caps.RunsLambda {
			Skip(fmt.Sprintf("target %s cannot run Lambda functions (%s); the moto targets run them behind the Lambda gateway", env.Target.Name(), env.Target.Summary()))
		}
		zip = deploymentPackage(ctx)

		r, err := functions.ProvideRunner(ctx, env, "fn", deferCleanup, os.Stderr)
		Expect(err).NotTo(HaveOccurred())
		bucket, denied, roleARN = r.Bucket, r.DeniedBucket, r.RoleARN

		fnName = env.Name("fn")
		DeferCleanup(fnScope.Run, NodeTimeout(2*fixtures.CleanupTimeout+5*time.Second))
		deployOpts = []functions.Option{
			functions.WithTimeout(lambdaFunctionTimeout),
			functions.WithMemory(1024),
			functions.WithTags(map[string]string{names.TagKey: env.RunID}),
			functions.WithDescription("s3cli test-runner, run " + env.RunID),
			functions.WithLog(progress),
		}
	}, NodeTimeout(30*time.Minute))

	It("is packaged as exactly bootstrap, integration.test and s3cli, all executable", func() {
		entries, err := pack.Contents(zip)
		Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, e := range entries {
			names = append(names, e.Name)
			Expect(e.Mode.Perm()).To(Equal(os.FileMode(0o755)), "mode of %s", e.Name)
		}
		Expect(names).To(Equal([]string{"bootstrap", "integration.test", "s3cli"}))
	})

	It("is created with the execution role and is Active when Deploy returns", func(ctx SpecContext) {
		d, err := functions.Deploy(ctx, env.Clients, fnName, roleARN, zip, &fnScope, deployOpts...)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Action).To(Equal(functions.Created))

		out, err := env.Clients.Lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(fnName)})
		Expect(err).NotTo(HaveOccurred())
		cfg := out.Configuration
		Expect(cfg.State).To(Equal(lambdatypes.StateActive))
		Expect(aws.ToString(cfg.Role)).To(Equal(roleARN))
		Expect(cfg.Runtime).To(Equal(lambdatypes.RuntimeProvidedal2023))
		Expect(aws.ToString(cfg.Handler)).To(Equal("bootstrap"))
		Expect(aws.ToString(cfg.CodeSha256)).To(Equal(names.CodeSHA256(zip)))
	}, SpecTimeout(10*time.Minute))

	It("runs the iam-role specs inside the function and returns their counts", func(ctx SpecContext) {
		start := time.Now()
		invs, planned := lambdaInvokeIAMRoleSpecs(ctx, fnName, lambdaEvent(bucket, denied, ""))
		wall := time.Since(start)
		var results []function.Result
		for _, inv := range invs {
			var passingResult function.Result
			Expect(inv.StatusCode).To(Equal(int32(200)))
			Expect(inv.FunctionError).To(BeEmpty(), "the function failed: %s\nlog tail:\n%s", inv.Payload, inv.LogTail)
			Expect(json.Unmarshal(inv.Payload, &passingResult)).To(Succeed(), "payload %s", inv.Payload)
			Expect(passingResult.Passed+passingResult.Skipped).To(BeNumerically(">", 0), "payload %s", inv.Payload)
			Expect(passingResult.Failed).To(BeZero(), "payload %s", inv.Payload)

			Expect(inv.RequestID).NotTo(BeEmpty())
			Expect(lambdaLastLine(inv.LogTail)).To(HavePrefix("REPORT RequestId: "+inv.RequestID), "log tail:\n%s", inv.LogTail)
			fmt.Fprintf(GinkgoWriter, "invocation %s: %s in %s\n", inv.RequestID, inv.Payload, inv.Duration.Round(time.Millisecond))
			results = append(results, passingResult)
		}
		lambdaShardReport(fnName, planned, invs, results, wall)
		Expect(functions.MergeResults(results).Passed).To(BeNumerically(">", 0), "no iam-role spec passed in any invocation")
		passingAll, passingResults = invs, results
	}, SpecTimeout(lambdaFunctionTimeout+2*time.Minute))

	It("leaves the complete suite output of that invocation in CloudWatch Logs", func(ctx SpecContext) {
		if passingAll == nil {
			Skip("the invocation above did not complete")
		}
		for i, passing := range passingAll {
			passingResult := passingResults[i]
			log, err := functions.ReadLog(ctx, env.Clients, fnName, passing.RequestID, time.Now().Add(2*time.Minute))
			Expect(err).NotTo(HaveOccurred())
			lines := log.Lines
			fmt.Fprintf(GinkgoWriter, "read %d lines of %s from %s %s\n", len(lines), passing.RequestID, log.Group, log.Stream)
			lambdaSaveLog(fnName, log)

			Expect(lines[0]).To(HavePrefix("START RequestId: " + passing.RequestID))
			Expect(lines[len(lines)-1]).To(HavePrefix("REPORT RequestId: " + passing.RequestID))
			first := lambdaIndex(lines, regexp.MustCompile(`^Running Suite: `))
			ran := lambdaIndex(lines, regexp.MustCompile(`^Ran \d+ of \d+ Specs? in `))
			success := lambdaIndex(lines, regexp.MustCompile(`^SUCCESS! -- \d+ Passed \| 0 Failed`))
			Expect(first).To(BeNumerically(">", 0), "no first line of the suite's output in:\n%s", log.Text())
			Expect(ran).To(BeNumerically(">", first), "no summary after the suite's first line in:\n%s", log.Text())
			Expect(success).To(BeNumerically(">", ran), "no SUCCESS line after the summary in:\n%s", log.Text())

			// Ginkgo's own count agrees with the function's result.
			n, _ := strconv.Atoi(regexp.MustCompile(`^Ran (\d+) `).FindStringSubmatch(lines[ran])[1])
			Expect(n).To(Equal(passingResult.Passed+passingResult.Failed), "%q vs payload %s", lines[ran], passing.Payload)

			// Every whole line of the 4 KB tail is in the full log, in order. Empty lines are left
			// out of the comparison: LocalStack's log events drop them (4.14.0), while its tail
			// keeps them, so non-empty lines are what both sides carry.
			Expect(log.HasTail(passing.LogTail)).To(Succeed(), "tail:\n%s\nfull log:\n%s", passing.LogTail, log.Text())
		}
	}, SpecTimeout(3*time.Minute))

	It("is left unchanged when the same package is deployed again", func(ctx SpecContext) {
		d, err := functions.Deploy(ctx, env.Clients, fnName, roleARN, zip, &fnScope, deployOpts...)
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Action).To(Equal(functions.Unchanged))
		Expect(d.CodeSHA256).To(Equal(names.CodeSHA256(zip)))
	}, SpecTimeout(5*time.Minute))

	It("reports a failing spec as an unhandled error naming the spec", func(ctx SpecContext) {
		inv, err := functions.Invoke(ctx, env.Clients, fnName, lambdaEvent(bucket, denied, names.LabelCanaryFailure))
		Expect(err).NotTo(HaveOccurred())
		Expect(inv.StatusCode).To(Equal(int32(200)))
		Expect(inv.FunctionError).To(Equal("Unhandled"), "payload %s", inv.Payload)
		Expect(string(inv.Payload)).To(ContainSubstring("fail on purpose so that the failure path can be watched"))

		log, err := functions.ReadLog(ctx, env.Clients, fnName, inv.RequestID, time.Now().Add(2*time.Minute))
		Expect(err).NotTo(HaveOccurred())
		lambdaSaveLog(fnName, log)
		Expect(log.Text()).To(ContainSubstring("The canaries fail on purpose so that the failure path can be watched"))
		Expect(log.Text()).To(ContainSubstring(CanaryFailureMessage))
		Expect(log.Text()).To(MatchRegexp(`(?m)^FAIL!`))
	}, SpecTimeout(lambdaFunctionTimeout+3*time.Minute))

	It("reports the timeout of a function that runs out of time", func(ctx SpecContext) {
		short := env.Name("fn-1s")
		opts := append(slices.Clone(deployOpts), functions.WithTimeout(time.Second))
		_, err := functions.Deploy(ctx, env.Clients, short, roleARN, zip, deferCleanup, opts...)
		Expect(err).NotTo(HaveOccurred())

		inv, err := functions.Invoke(ctx, env.Clients, short, lambdaEvent(bucket, denied, names.LabelCanaryTimeout))
		Expect(err).NotTo(HaveOccurred())
		Expect(inv.FunctionError).To(Equal("Unhandled"), "payload %s", inv.Payload)
		Expect(string(inv.Payload)+inv.LogTail).To(ContainSubstring("Task timed out after 1.00 seconds"),
			"payload %s\nlog tail:\n%s", inv.Payload, inv.LogTail)
	}, SpecTimeout(10*time.Minute))
})

// lambdaEvent is the function's event for this run: s3_host stays empty so the
// function's own AWS_ENDPOINT_URL (set by emulators) or the regional endpoint applies.
func lambdaEvent(bucket, denied, labelFilter string) function.Event {
	return function.Event{
		BucketName:       bucket,
		Region:           env.Region,
		DeniedBucketName: denied,
		IAMEnforced:      env.Target.Capabilities().EnforcesIAM,
		LabelFilter:      labelFilter,
	}
}

func lambdaLastLine(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	return strings.TrimRight(lines[len(lines)-1], "\r")
}

// lambdaIndex is the index of the first line matching re, -1 when none does.
func lambdaIndex(lines []string, re *regexp.Regexp) int {
	return slices.IndexFunc(lines, re.MatchString)
}

// lambdaSaveLog writes an invocation's complete log to S3CLI_ARTIFACTS_DIR when it is set
// (make test-aws uploads that folder), because the run removes the log group at its end.
func lambdaSaveLog(fn string, log *functions.Log) {
	if env.ArtifactsDir == "" {
		return
	}
	Expect(os.MkdirAll(env.ArtifactsDir, 0o755)).To(Succeed())
	p := filepath.Join(env.ArtifactsDir, fmt.Sprintf("function-%s-%s.log", fn, log.RequestID))
	Expect(os.WriteFile(p, []byte(log.Text()), 0o644)).To(Succeed())
	fmt.Fprintf(GinkgoWriter, "wrote the complete log to %s\n", p)
}
