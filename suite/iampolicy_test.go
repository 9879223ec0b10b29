package suite

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/s3cli-dev/s3cli/fixtures/functions"
	"github.com/s3cli-dev/s3cli/fixtures/iampolicy"
	"github.com/s3cli-dev/s3cli/fixtures/names"
	"github.com/s3cli-dev/s3cli/lambda/function"
	"github.com/s3cli-dev/s3cli/lambda/pack"
)

// make test-iam-policy (-ginkgo.label-filter=iam-policy): the execution role's policy from
// scripts/template.yaml is least privilege, proven by running the iam-role specs inside the
// function (through the gateway, IAM enforced) once per action with that action removed.
var _ = Describe("The execution role's policy", Label(names.LabelIAMPolicy), Ordered, func() {
	var (
		zip                 []byte
		bucket, denied      string
		roleName, fnName    string
		policy              iampolicy.Document
		specs               []string
		invokeWith          func(ctx SpecContext, doc iampolicy.Document) []string
		partition           string
		templateStatementsN int
	)

	BeforeAll(func(ctx SpecContext) {
		// Only a label filter that demands iam-policy runs these (make test-iam-policy): they
		// invoke the function once per action of the policy.
		if filter := GinkgoLabelFilter(); Label().MatchesLabelFilter(filter) || !Label(names.LabelIAMPolicy).MatchesLabelFilter(filter) {
			Skip("selected only by make test-iam-policy (-ginkgo.label-filter=iam-policy): one function invocation per action of the execution role's policy")
		}
		caps := env.Target.Capabilities()
		Expect(caps.RunsLambda && caps.EnforcesIAM).To(BeTrue(), "make test-iam-policy needs a target that runs Lambda and enforces IAM (moto-process or moto with S3CLI_IAM_ENFORCE on); %s has %+v", env.Target.Name(), caps)

		zip = deploymentPackage(ctx)
		var err error
		specs, err = iampolicy.SpecNames(ctx, zip, function.DefaultLabelFilter)
		Expect(err).NotTo(HaveOccurred())
		Expect(specs).NotTo(BeEmpty())
		fmt.Fprintf(os.Stderr, "[iam-policy] %d iam-role specs:\n  %s\n", len(specs), strings.Join(specs, "\n  "))

		bucket, err = env.CreateBucket(ctx, "pol-allowed", deferCleanup)
		Expect(err).NotTo(HaveOccurred())
		denied, err = env.CreateBucket(ctx, "pol-denied", deferCleanup)
		Expect(err).NotTo(HaveOccurred())
		roleName = env.Name("pol-role")
		trustees, err := env.ExecutionRoleTrustees(ctx)
		Expect(err).NotTo(HaveOccurred())
		roleARN, err := functions.CreateExecutionRole(ctx, env.Clients, roleName, []string{bucket}, functions.RoleSpec{
			Tags: map[string]string{names.TagKey: env.RunID}, Trustees: trustees, PermissionsBoundary: env.PermissionsBoundary,
		}, deferCleanup)
		Expect(err).NotTo(HaveOccurred())
		parts := strings.SplitN(roleARN, ":", 3)
		partition = parts[1]

		// The policy the role got is the template's, statement for statement.
		root, err := pack.ModuleRoot(".")
		Expect(err).NotTo(HaveOccurred())
		tmpl, err := iampolicy.TemplateStatements(filepath.Join(root, "scripts", "template.yaml"), "Resources.ExecutionPolicy.Properties.PolicyDocument")
		Expect(err).NotTo(HaveOccurred())
		templateStatementsN = len(tmpl)
		got, err := env.Clients.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(roleName), PolicyName: aws.String(functions.ExecutionPolicyName)})
		Expect(err).NotTo(HaveOccurred())
		policy, err = iampolicy.Parse(decodePolicy(aws.ToString(got.PolicyDocument)))
		Expect(err).NotTo(HaveOccurred())
		Expect(iampolicy.SameActions(tmpl, policy)).To(BeEmpty(), "scripts/template.yaml and fixtures/functions.ExecutionPolicy disagree")

		fnName = env.Name("pol-fn")
		_, err = functions.Deploy(ctx, env.Clients, fnName, roleARN, zip, deferCleanup,
			functions.WithTimeout(lambdaFunctionTimeout), functions.WithMemory(1024),
			functions.WithTags(map[string]string{names.TagKey: env.RunID}), functions.WithLog(os.Stderr))
		Expect(err).NotTo(HaveOccurred())

		invokeWith = func(ctx SpecContext, doc iampolicy.Document) []string {
			_, err := env.Clients.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{
				RoleName: aws.String(roleName), PolicyName: aws.String(functions.ExecutionPolicyName), PolicyDocument: aws.String(doc.String()),
			})
			Expect(err).NotTo(HaveOccurred())
			inv, err := functions.Invoke(ctx, env.Clients, fnName, lambdaEvent(bucket, denied, ""))
			Expect(err).NotTo(HaveOccurred())
			if inv.FunctionError == "" {
				return nil
			}
			fmt.Fprintf(GinkgoWriter, "the function failed: %s\n", inv.Payload)
			return iampolicy.Failed(inv.Payload, specs)
		}
	}, NodeTimeout(20*time.Minute))

	It("passes every iam-role spec with the whole policy", func(ctx SpecContext) {
		Expect(invokeWith(ctx, policy)).To(BeEmpty(), "the iam-role specs fail with the template's own policy")
	}, SpecTimeout(lambdaFunctionTimeout+time.Minute))

	It("grants no action that no iam-role spec needs: without any one of them, a spec fails", func(ctx SpecContext) {
		start := time.Now()
		var rows []iampolicy.Row
		for _, a := range policy.Actions() {
			row := iampolicy.Row{Removed: a.String(), Failed: invokeWith(ctx, policy.Without(a))}
			if env.Target.Capabilities().Emulated {
				row.Unprovable = iampolicy.UnprovableOnMoto(policy.StatementBySid(a.Sid), a.Name)
			}
			rows = append(rows, row)
		}
		table := iampolicy.Table(fmt.Sprintf("[iam-policy] the execution role's policy (%d statements of scripts/template.yaml): action removed -> iam-role specs that fail, in %s",
			templateStatementsN, time.Since(start).Round(time.Second)), rows)
		fmt.Fprint(os.Stderr, table)
		for _, r := range rows {
			if r.Unprovable != "" {
				continue
			}
			Expect(r.Failed).NotTo(BeEmpty(), "over-privilege: no iam-role spec needs %s; drop it from scripts/template.yaml (and fixtures/functions.ExecutionPolicy) or add the spec that needs it", r.Removed)
		}
	}, SpecTimeout(15*time.Minute))

	It("is what refuses the denied bucket: widened to it, the negative controls fail", func(ctx SpecContext) {
		arn := "arn:" + partition + ":s3:::" + denied
		failed := invokeWith(ctx, policy.Widened("TestBucketOnly", arn, arn+"/*"))
		row := iampolicy.Table("[iam-policy] widened to the denied bucket -> iam-role specs that fail", []iampolicy.Row{{Removed: "(added) " + arn, Failed: failed}})
		fmt.Fprint(os.Stderr, row)
		Expect(failed).To(ContainElement(ContainSubstring("is refused a put to a bucket outside its policy")))
		Expect(failed).To(ContainElement(ContainSubstring("the Lambda execution role")))
	}, SpecTimeout(lambdaFunctionTimeout+time.Minute))
})

// decodePolicy undoes the URL encoding IAM applies to policy documents it returns.
func decodePolicy(doc string) string {
	if strings.HasPrefix(doc, "{") {
		return doc
	}
	if d, err := url.QueryUnescape(doc); err == nil {
		return d
	}
	return doc
}
