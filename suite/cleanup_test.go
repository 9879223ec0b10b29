package suite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/s3cli-dev/s3cli/fixtures"
)

// deferCleanup is the suite's fixtures.Scope: each removal becomes a DeferCleanup of the node
// that creates the resource (the spec; the ordered container for BeforeAll). The removal itself
// runs on its own context (fixtures.Track), so an interrupt during it does not stop it; the
// node timeout only bounds how long Ginkgo waits.
var deferCleanup fixtures.Scope = ginkgoScope{}

type ginkgoScope struct{}

func (ginkgoScope) Defer(r fixtures.Resource, remove func(context.Context) error) {
	DeferCleanup(remove, NodeTimeout(fixtures.RemovalTimeout(r.Kind)+5*time.Second))
}

// expectNoLeftovers runs at the very end of the suite (a SynchronizedBeforeSuite cleanup, so
// after every process finished and every cleanup ran): nothing named with this run's id may
// be left on the target, of any kind the run creates.
func expectNoLeftovers(ctx SpecContext, e *fixtures.Env) {
	if e.Target.Capabilities().Restricted {
		// Inside the Lambda function the execution role may not list the account; the host
		// side of the same run checks for leftovers.
		fmt.Fprintf(os.Stderr, "[suite] leftover check skipped: target %s runs with restricted credentials\n", e.Target.Name())
		return
	}
	left, err := e.Leftovers(ctx)
	Expect(err).NotTo(HaveOccurred(), "listing what run %s may have left", e.RunID)
	Expect(resourceLines(left)).To(BeEmpty(), "run %s left resources on target %s", e.RunID, e.Target.Name())
	fmt.Fprintf(os.Stderr, "[suite] run %s left no bucket, IAM role, Lambda function, log group or stack\n", e.RunID)
}

// expectTrackedRemoved runs at the end of every parallel process, after its specs' cleanups:
// every resource the process created must have been removed.
func expectTrackedRemoved() {
	Expect(resourceLines(fixtures.NotRemoved())).To(BeEmpty(), "resources created by process %d that were not removed", GinkgoParallelProcess())
}

// resourceLines formats rs one "kind name" per element, so a failure names each.
func resourceLines(rs []fixtures.Resource) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.String())
	}
	return out
}

var _ = Describe("the fixture layer", func() {
	It("removes a bucket with objects, versions and an unfinished multipart upload", func(ctx SpecContext) {
		var cleanups fixtures.Cleanups
		DeferCleanup(cleanups.Run) // before the bucket exists: an interrupt or a failure below
		bucket, err := env.CreateBucket(ctx, "cleanup", &cleanups)
		Expect(err).NotTo(HaveOccurred())

		c := env.Clients.S3
		_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(bucket),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		})
		Expect(err).NotTo(HaveOccurred())
		for _, body := range []string{"one", "two"} {
			_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader(body)})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("k")}) // a delete marker
		Expect(err).NotTo(HaveOccurred())
		_, err = c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("big")})
		Expect(err).NotTo(HaveOccurred())

		Expect(cleanups.Run(ctx)).To(Succeed())
		_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		Expect(err).To(HaveOccurred(), "bucket %s still exists after its cleanup", bucket)
	})

	It("names resources uniquely with the run id", func() {
		a, b := env.Name("same"), env.Name("same")
		Expect(a).NotTo(Equal(b))
		Expect(a).To(HavePrefix(env.RunPrefix()))
		Expect(len(env.Name(strings.Repeat("x", 100)))).To(BeNumerically("<=", 63))
	})

	It("refuses requests signed with an unknown key when the target enforces IAM", func(ctx SpecContext) {
		if !env.Target.Capabilities().EnforcesIAM {
			Skip("target " + env.Target.Name() + " does not enforce IAM, so an unknown key is accepted there")
		}
		cfg := env.Target.Config()
		cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIAUNKNOWNKEY000000", "not-the-secret", "")
		_, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = cfg.BaseEndpoint != nil }).ListBuckets(ctx, &s3.ListBucketsInput{})
		var apiErr smithy.APIError
		Expect(errors.As(err, &apiErr)).To(BeTrue(), "expected a service error, got %v", err)
		Expect(apiErr.ErrorCode()).To(BeElementOf("InvalidAccessKeyId", "AccessDenied", "SignatureDoesNotMatch", "InvalidClientTokenId"))
	})
})
