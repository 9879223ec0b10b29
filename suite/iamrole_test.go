package suite

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// These specs run inside the test-runner Lambda function (S3CLI_TARGET=ambient),
// where the execution role is the only source of credentials. The function's
// handler passes the event on as S3CLI_BUCKET, S3CLI_DENIED_BUCKET,
// S3CLI_IAM_ENFORCED and S3CLI_S3_HOST.
var _ = Describe("s3cli with the execution role's credentials", Label(names.LabelIAMRole), func() {
	var bucket string

	BeforeEach(func() {
		bucket = env.Settings.Bucket
		if bucket == "" {
			Skip("S3CLI_BUCKET is not set: the iam-role specs run inside the test-runner Lambda function, which sets it from its event")
		}
	})

	DescribeTable("puts, finds, gets and deletes an object with credentials_source env_or_profile and no keys",
		func(ctx SpecContext, config func(bucket string) map[string]any, size int) {
			cfg := config(bucket)
			Expect(cfg).To(HaveKeyWithValue("credentials_source", "env_or_profile"))
			for _, secret := range []string{"access_key_id", "secret_access_key", "session_token"} {
				Expect(cfg).NotTo(HaveKey(secret))
			}
			s3cli := roleS3CLI(cfg)

			dir := GinkgoT().TempDir()
			local, fetched := filepath.Join(dir, "upload"), filepath.Join(dir, "download")
			content := make([]byte, size)
			_, _ = rand.Read(content)
			Expect(os.WriteFile(local, content, 0o600)).To(Succeed())
			key := "iam-role/" + env.Name("object")
			DeferCleanup(func(ctx SpecContext) { // a no-op once the spec deleted it
				Eventually(s3cli(ctx, "delete", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit())
			})

			Eventually(s3cli(ctx, "put", local, key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
			Eventually(s3cli(ctx, "exists", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
			Eventually(s3cli(ctx, "get", key, fetched)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
			Expect(os.ReadFile(fetched)).To(Equal(content))

			Eventually(s3cli(ctx, "delete", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0))
			Eventually(s3cli(ctx, "exists", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(3))
			missing := filepath.Join(dir, "missing")
			get := s3cli(ctx, "get", key, missing)
			Eventually(get).WithTimeout(roleCommandTimeout).Should(gexec.Exit())
			Expect(get.ExitCode()).NotTo(BeZero(), "get of a deleted object succeeded")
			Expect(missing).NotTo(BeAnExistingFile(), "a failed get left a file behind")
			Eventually(s3cli(ctx, "delete", key)).WithTimeout(roleCommandTimeout).Should(gexec.Exit(0), "deleting a missing object is not an error")
		},
		Entry("a minimal config: bucket and credentials source", roleMinimalConfig, 1024, SpecTimeout(3*time.Minute)),
		Entry("a config naming the region only", roleRegionConfig, 1024, SpecTimeout(3*time.Minute)),
		Entry("a maximal config: host, port, SSL, folder, encryption, multipart", roleMaximalConfig, 6<<20, SpecTimeout(5*time.Minute)),
	)

	It("signs as the function's assumed execution role", func(ctx SpecContext) {
		out, err := env.Clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		Expect(err).NotTo(HaveOccurred())
		fmt.Fprintf(GinkgoWriter, "caller: %s\n", aws.ToString(out.Arn))
		Expect(aws.ToString(out.Arn)).To(MatchRegexp(`^arn:aws[a-z-]*:sts::\d{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+$`))
	}, SpecTimeout(time.Minute))

	// Lambda writes the function's log with the execution role; the local gateway ships it with
	// the admin's credentials, so this spec is what needs the role's logs actions offline.
	It("writes the function's own log group, as Lambda does with the execution role", func(ctx SpecContext) {
		group := os.Getenv("AWS_LAMBDA_LOG_GROUP_NAME")
		if group == "" {
			Skip("AWS_LAMBDA_LOG_GROUP_NAME is not set: this spec runs inside the test-runner function")
		}
		// On an emulator this proves nothing either way: without enforcement every call passes,
		// and with it (which the event may not say: the scripts' invoke does not) moto checks
		// CloudWatch Logs grants against resource * only (it matches resource ARNs for S3, IAM,
		// STS and SQS alone), so the role's grant scoped to /aws/lambda/* reads as denied.
		if env.Target.Capabilities().Emulated {
			Skip("on an emulator the role's CloudWatch Logs grant cannot be judged (moto checks Logs grants against resource * only); this runs on AWS")
		}
		_, err := env.Clients.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)})
		var exists *logstypes.ResourceAlreadyExistsException
		if err != nil && !errors.As(err, &exists) {
			Fail(fmt.Sprintf("creating the function's log group %s: %v", group, err))
		}
		stream := "iam-role/" + env.Name("stream")
		_, err = env.Clients.Logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
		Expect(err).NotTo(HaveOccurred(), "creating a log stream in %s", group)
		_, err = env.Clients.Logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			LogEvents: []logstypes.InputLogEvent{{Message: aws.String("written with the execution role's credentials"), Timestamp: aws.Int64(time.Now().UnixMilli())}},
		})
		Expect(err).NotTo(HaveOccurred(), "writing to %s %s", group, stream)
	}, SpecTimeout(time.Minute))

	It("is refused a put to a bucket outside its policy", func(ctx SpecContext) {
		denied := env.Settings.DeniedBucket
		if denied == "" {
			Skip("S3CLI_DENIED_BUCKET is not set: the event named no bucket outside the role's policy")
		}
		if !env.Target.Capabilities().EnforcesIAM {
			Skip("the target does not enforce IAM policies (S3CLI_IAM_ENFORCED=false), so the role's put to " + denied + " would succeed and prove nothing")
		}
		local := filepath.Join(GinkgoT().TempDir(), "upload")
		Expect(os.WriteFile(local, []byte("must not arrive"), 0o600)).To(Succeed())
		put := roleS3CLI(roleRegionConfig(denied))(ctx, "put", local, "iam-role/"+env.Name("denied"))
		Eventually(put).WithTimeout(roleCommandTimeout).Should(gexec.Exit(1))
		Expect(put.Err).To(gbytes.Say("AccessDenied"))
	}, SpecTimeout(2*time.Minute))
})

// roleCommandTimeout bounds one s3cli command inside the function.
const roleCommandTimeout = time.Minute

// roleS3CLI writes cfg as an s3cli config and returns a runner of s3cli with it.
func roleS3CLI(cfg map[string]any) func(ctx SpecContext, args ...string) *gexec.Session {
	path, err := fixtures.WriteJSON(GinkgoT().TempDir(), "s3cli.json", cfg)
	Expect(err).NotTo(HaveOccurred())
	return func(ctx SpecContext, args ...string) *gexec.Session {
		cmd := exec.CommandContext(ctx, env.S3CLI, append([]string{"-c", path}, args...)...)
		session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
		Expect(err).NotTo(HaveOccurred())
		return session
	}
}

// roleMinimalConfig names the bucket and where credentials come from; the
// endpoint comes from AWS_ENDPOINT_URL where the environment has one.
func roleMinimalConfig(bucket string) map[string]any {
	if roleS3Endpoint() == "" && env.Region != "us-east-1" {
		Skip(fmt.Sprintf("a config without region means us-east-1 on AWS, and the bucket is in %s; the region-only entry covers it", env.Region))
	}
	return map[string]any{"bucket_name": bucket, "credentials_source": "env_or_profile"}
}

// roleRegionConfig adds the region, nothing about the endpoint.
func roleRegionConfig(bucket string) map[string]any {
	return map[string]any{"bucket_name": bucket, "credentials_source": "env_or_profile", "region": env.Region}
}

// roleMaximalConfig spells out the endpoint (host, port, use_ssl: the
// emulator's when there is one, else the regional AWS endpoint) and every
// option the role's policy allows.
func roleMaximalConfig(bucket string) map[string]any {
	host, port, useSSL, err := env.S3HostPort()
	Expect(err).NotTo(HaveOccurred())
	return map[string]any{
		"bucket_name":                           bucket,
		"credentials_source":                    "env_or_profile",
		"region":                                env.Region,
		"host":                                  host,
		"port":                                  port,
		"use_ssl":                               useSSL,
		"ssl_verify_peer":                       true,
		"host_style":                            false,
		"folder_name":                           "maximal",
		"server_side_encryption":                "AES256",
		"multipart_upload":                      true,
		"upload_part_size":                      5 << 20,
		"upload_concurrency":                    2,
		"download_part_size":                    5 << 20,
		"download_concurrency":                  2,
		"request_checksum_calculation_enabled":  true,
		"response_checksum_calculation_enabled": true,
		"uploader_request_checksum_calculation_enabled": true,
	}
}

// roleS3Endpoint is the S3 endpoint the function was told to use, "" on AWS.
func roleS3Endpoint() string { return env.Target.Endpoint() }
