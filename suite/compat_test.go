package suite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// Compatibility with cloudfoundry/bosh-s3cli and the s3 provider of
// cloudfoundry/storage-cli: their suites' configs (json.Marshal of their
// structs, every key present) run through every command, asserting the exit
// codes and messages their suites assert; then the black-box specs of issue 8.

// peerShape builds a peer's config struct for the target's bucket.
type peerShape func(p fixtures.PeerEndpoint) any

func boshShape(change func(*fixtures.BoshS3CLIConfig)) peerShape {
	return func(p fixtures.PeerEndpoint) any {
		c := boshFields(p)
		if change != nil {
			change(&c)
		}
		return &c
	}
}

func storageShape(change func(*fixtures.StorageCLIS3Config)) peerShape {
	return func(p fixtures.PeerEndpoint) any {
		c := fixtures.StorageCLIS3Config{BoshS3CLIConfig: boshFields(p)}
		if change != nil {
			change(&c)
		}
		return &c
	}
}

// boshFields are the keys both peers share, set for the target's bucket.
func boshFields(p fixtures.PeerEndpoint) fixtures.BoshS3CLIConfig {
	return fixtures.BoshS3CLIConfig{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey,
		BucketName: p.BucketName, Host: p.Host, Port: p.Port, UseSSL: p.UseSSL, Region: p.Region}
}

// peerRun is a spec's run of s3cli with a peer's config: flags go before the command
// (storage-cli's suite passes -s s3).
type peerRun struct {
	*s3cliRun
	ep    fixtures.PeerEndpoint
	shape peerShape
	flags []string
}

// newPeerRun skips when the target cannot be reached with a peer's config (their structs
// have no session_token).
func newPeerRun(r *s3cliRun, shape peerShape, flags []string) *peerRun {
	GinkgoHelper()
	ep, ok := env.PeerEndpoint(r.bucket)
	if !ok {
		Skip("the target's credentials are temporary or ambient; bosh-s3cli's and storage-cli's configs carry static keys only")
	}
	return &peerRun{s3cliRun: r, ep: ep, shape: shape, flags: flags}
}

// config writes the peer's struct for bucket, changed by change, as json.Marshal does.
func (p *peerRun) config(name string, change func(any)) string {
	GinkgoHelper()
	v := p.shape(p.ep)
	if change != nil {
		change(v)
	}
	path, err := fixtures.WriteJSON(p.dir, name, v)
	Expect(err).NotTo(HaveOccurred())
	return path
}

// run runs s3cli with the peer's flags and waits for exit code want.
func (p *peerRun) run(config string, want int, args ...string) *gexec.Session {
	GinkgoHelper()
	s := start(append(append([]string{"-c", config}, p.flags...), args...)...)
	Eventually(s).Should(gexec.Exit(want), "s3cli %s", strings.Join(args, " "))
	return s
}

func setFolder(folder string) func(any) {
	return func(v any) { shared(v).FolderName = folder }
}

func setBucket(bucket string) func(any) {
	return func(v any) { shared(v).BucketName = bucket }
}

// shared is the keys both peers' structs hold, of either.
func shared(v any) *fixtures.BoshS3CLIConfig {
	if c, ok := v.(*fixtures.StorageCLIS3Config); ok {
		return &c.BoshS3CLIConfig
	}
	return v.(*fixtures.BoshS3CLIConfig)
}

// exitsWith runs s3cli with config and waits for exit code want.
func exitsWith(config string, want int, args ...string) *gexec.Session {
	GinkgoHelper()
	s := s3cli(config, args...)
	Eventually(s).Should(gexec.Exit(want), "s3cli %s", strings.Join(args, " "))
	return s
}

// targetVerifiesSlashesInQueries is true when the target takes the SDK's own
// signature of a listing whose prefix holds a slash (moto 5.2 enforcing IAM does not).
func targetVerifiesSlashesInQueries(ctx context.Context, bucket string) bool {
	_, err := env.Clients.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String("probe/")})
	return err == nil
}

// targetVerifiesPresignedURLs is true when the target serves a GET presigned by the SDK itself.
func targetVerifiesPresignedURLs(ctx context.Context, r *s3cliRun) bool {
	r.putObject(ctx, "presign-probe", "probe")
	req, err := s3.NewPresignClient(env.Clients.S3).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &r.bucket, Key: aws.String("presign-probe")})
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.Get(req.URL)
	Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	_, err = env.Clients.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &r.bucket, Key: aws.String("presign-probe")})
	Expect(err).NotTo(HaveOccurred())
	return resp.StatusCode == http.StatusOK
}

var _ = Describe("s3cli compat", Label(names.LabelS3CLI), func() {
	var r *s3cliRun

	BeforeEach(func(ctx SpecContext) {
		r = newS3CLIRun(ctx)
	})

	DescribeTable("runs the configs bosh-s3cli's and storage-cli's suites write through every command",
		func(ctx SpecContext, shape peerShape, flags []string, folder string) {
			p := newPeerRun(r, shape, flags)
			cfg := p.config("peer.json", setFolder(folder))
			content := "lifecycle content " + env.Name("c")
			src := filepath.Join(r.dir, "content")
			Expect(os.WriteFile(src, []byte(content), 0o644)).To(Succeed())
			key := "object-" + env.Name("k")

			By("put, and exists with and without folder_name")
			p.run(cfg, 0, "put", src, key)
			if folder != "" {
				p.run(p.config("nofolder.json", nil), 0, "exists", folder+"/"+key)
			}
			s := p.run(cfg, 0, "exists", key)
			Expect(s.Err).To(gbytes.Say(`File '.*' exists in bucket '.*'`))

			By("get, properties, copy")
			out := filepath.Join(r.dir, "download")
			p.run(cfg, 0, "get", key, out)
			Expect(os.ReadFile(out)).To(Equal([]byte(content)))
			s = p.run(cfg, 0, "properties", key)
			Expect(string(s.Out.Contents())).To(ContainSubstring(fmt.Sprintf(`"content_length": %d`, len(content))))
			Expect(string(s.Out.Contents())).To(ContainSubstring(`"etag":`))
			Expect(string(s.Out.Contents())).To(ContainSubstring(`"last_modified":`))
			p.run(cfg, 0, "copy", key, key+"_copy")
			p.run(cfg, 0, "exists", key+"_copy")
			p.run(cfg, 0, "get", key+"_copy", out+"_copy")
			Expect(os.ReadFile(out + "_copy")).To(Equal([]byte(content)))

			By("delete, exists of the deleted key, get and delete of a missing key")
			p.run(cfg, 0, "delete", key+"_copy")
			p.run(cfg, 0, "delete", key)
			s = p.run(cfg, 3, "exists", key)
			Expect(s.Err).To(gbytes.Say(`File '.*' does not exist in bucket '.*'`))
			s = start(append(append([]string{"-c", cfg}, flags...), "get", "non-existent-file", "/dev/null")...)
			Eventually(s).Should(gexec.Exit())
			Expect(s.ExitCode()).NotTo(BeZero())
			Expect(string(s.Err.Contents())).To(ContainSubstring("NoSuchKey"))
			p.run(cfg, 0, "delete", "non-existent-file")

			By("sign get and put")
			p.run(cfg, 0, "put", src, key)
			getURL := string(p.run(cfg, 0, "sign", key, "get", "1m").Out.Contents())
			putURL := string(p.run(cfg, 0, "sign", key+"_put_test", "put", "1m").Out.Contents())
			Expect(getURL).To(HavePrefix("http"))
			Expect(putURL).To(ContainSubstring("X-Amz-Signature="))
			if targetVerifiesPresignedURLs(ctx, r) {
				resp, err := http.Get(getURL)
				Expect(err).NotTo(HaveOccurred())
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				Expect(string(body)).To(Equal(content))
				req, err := http.NewRequestWithContext(ctx, http.MethodPut, putURL, strings.NewReader("Test upload content via signed URL"))
				Expect(err).NotTo(HaveOccurred())
				req.Header.Set("Content-Type", "text/plain")
				resp, err = http.DefaultClient.Do(req)
				Expect(err).NotTo(HaveOccurred())
				resp.Body.Close()
				Expect(resp.StatusCode).To(Equal(http.StatusOK))
				p.run(cfg, 0, "delete", key+"_put_test")
			} else {
				By("the target cannot serve presigned URLs (moto enforcing IAM): only the URLs are checked")
			}
			p.run(cfg, 0, "delete", key)

			By("list and delete-recursive (storage-cli's bulk operations)")
			if folder != "" && !targetVerifiesSlashesInQueries(ctx, r.bucket) {
				By("the target refuses signed listings of a prefix with a slash: skipping the bulk operations inside folder_name")
			} else {
				prefix := "bulk" + strings.ReplaceAll(env.Name("p"), "-", "")
				for i := range 5 {
					p.run(cfg, 0, "put", src, prefix+strings.Repeat("A", i))
				}
				lines := func() []string {
					out := strings.TrimSpace(string(p.run(cfg, 0, "list", prefix).Out.Contents()))
					if out == "" {
						return nil
					}
					return strings.Split(out, "\n")
				}
				Expect(lines()).To(HaveLen(5))
				p.run(cfg, 0, "delete-recursive", prefix+"AAA")
				Expect(lines()).To(HaveLen(3))
				p.run(cfg, 0, "delete-recursive")
				Expect(lines()).To(BeEmpty())
			}

			By("ensure-storage-exists creates a missing bucket, then succeeds again")
			name := env.Name("peer")
			fixtures.TrackBucket(deferCleanup, env.Clients.S3, name) // s3cli creates it below
			ensure := p.config("ensure.json", setBucket(name))
			p.run(ensure, 0, "ensure-storage-exists")
			_, err := env.Clients.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &name})
			Expect(err).NotTo(HaveOccurred())
			p.run(ensure, 0, "ensure-storage-exists")
		},
		Entry("bosh-s3cli: keys and endpoint", boshShape(nil), nil, ""),
		Entry("bosh-s3cli: with folder_name", boshShape(nil), nil, "test-folder/a-folder"),
		Entry("bosh-s3cli: maximal (credentials_source static, ssl_verify_peer, multipart_upload)",
			boshShape(func(c *fixtures.BoshS3CLIConfig) {
				c.CredentialsSource, c.SSLVerifyPeer, c.MultipartUpload = "static", true, true
			}), nil, ""),
		Entry("storage-cli -s s3: keys and endpoint", storageShape(nil), []string{"-s", "s3"}, ""),
		Entry("storage-cli -s s3: with folder_name", storageShape(nil), []string{"-s", "s3"}, "test-folder/a-folder"),
		Entry("storage-cli -s s3: maximal (checksums, tuned transfers, timeouts, -log-level)",
			storageShape(func(c *fixtures.StorageCLIS3Config) {
				c.CredentialsSource, c.SSLVerifyPeer, c.MultipartUpload = "static", true, true
				c.RequestChecksumCalculationEnabled, c.ResponseChecksumCalculationEnabled, c.UploaderRequestChecksumCalculationEnabled = true, true, true
				c.UploadPartSize, c.UploadConcurrency, c.DownloadPartSize, c.DownloadConcurrency = 5<<20, 2, 1<<20, 2
				c.HTTPRequestTimeout, c.HTTPResponseHeaderTimeout = "5m", "1m"
			}), []string{"-s", "s3", "-log-level", "error"}, ""),
	)

	Describe("storage-cli's transfer thresholds", func() {
		var p *peerRun
		var src string
		var data []byte

		BeforeEach(func() {
			p = newPeerRun(r, storageShape(nil), []string{"-s", "s3"})
			src, data = r.file("eleven.bin", 11<<20)
		})

		etag := func(ctx context.Context, key string) string {
			head, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.bucket, Key: &key})
			Expect(err).NotTo(HaveOccurred())
			Expect(aws.ToInt64(head.ContentLength)).To(BeEquivalentTo(len(data)))
			return aws.ToString(head.ETag)
		}

		It("copies in parts above multipart_copy_threshold (multipart copy works with a low threshold)", func(ctx SpecContext) {
			cfg := p.config("copy.json", func(v any) {
				c := v.(*fixtures.StorageCLIS3Config)
				c.MultipartCopyThreshold, c.MultipartCopyPartSize = 6<<20, 5<<20
			})
			p.run(cfg, 0, "put", src, "original")
			p.run(cfg, 0, "copy", "original", "copied")
			Expect(etag(ctx, "copied")).To(HaveSuffix(`-3"`), "11 MiB in 5 MiB parts")
			out := filepath.Join(r.dir, "copied.out")
			p.run(cfg, 0, "get", "copied", out)
			got, err := os.ReadFile(out)
			Expect(err).NotTo(HaveOccurred())
			Expect(bytes.Equal(got, data)).To(BeTrue())
			uploads, err := env.Clients.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &r.bucket})
			Expect(err).NotTo(HaveOccurred())
			Expect(uploads.Uploads).To(BeEmpty())
		})

		It("puts in one PUT up to single_upload_threshold and in parts above it", func(ctx SpecContext) {
			single := p.config("single.json", func(v any) {
				c := v.(*fixtures.StorageCLIS3Config)
				c.UploadPartSize, c.SingleUploadThreshold = 5<<20, 16<<20
			})
			p.run(single, 0, "put", src, "single")
			Expect(etag(ctx, "single")).NotTo(ContainSubstring("-"), "one PUT")
			parts := p.config("parts.json", func(v any) {
				c := v.(*fixtures.StorageCLIS3Config)
				c.MultipartUpload, c.UploadPartSize, c.SingleUploadThreshold = true, 5<<20, 1<<20
			})
			p.run(parts, 0, "put", src, "parts")
			Expect(etag(ctx, "parts")).To(HaveSuffix(`-3"`))
		})
	})

	Describe("signals", func() {
		// slow holds the transfers to one connection and small parts, so that a
		// signal lands in the middle of one.
		slow := map[string]any{"upload_part_size": 5 << 20, "upload_concurrency": 1, "download_part_size": 1 << 20, "download_concurrency": 1}

		It("aborts a multipart put on SIGHUP, leaving no upload, and exits 143", func(ctx SpecContext) {
			cfg := r.writeConfig("slow.json", slow)
			src, _ := r.file("big.bin", 64<<20)
			s := s3cli(cfg, "put", src, "interrupted")
			Eventually(func() []types.MultipartUpload {
				out, err := env.Clients.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &r.bucket})
				Expect(err).NotTo(HaveOccurred())
				return out.Uploads
			}).WithPolling(10 * time.Millisecond).ShouldNot(BeEmpty())
			s.Signal(syscall.SIGHUP)
			Eventually(s).Should(gexec.Exit(143))
			Expect(s.Err).To(gbytes.Say("interrupted by SIGHUP"))
			out, err := env.Clients.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &r.bucket})
			Expect(err).NotTo(HaveOccurred())
			Expect(out.Uploads).To(BeEmpty(), "the multipart upload was aborted")
			Expect(r.keys(ctx)).NotTo(ContainElement("interrupted"))
		})

		DescribeTable("removes the .part file of an interrupted get, keeps the old target, and exits 128+signal",
			func(ctx SpecContext, sig syscall.Signal, code int, name string) {
				cfg := r.writeConfig("slow.json", slow)
				// 24 ranged GETs of 1 MiB, one at a time: the signal lands while they run.
				_, data := r.file("big.bin", 24<<20)
				_, err := env.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.bucket, Key: aws.String("big"), Body: bytes.NewReader(data)})
				Expect(err).NotTo(HaveOccurred())
				dir := filepath.Join(r.dir, "download")
				Expect(os.Mkdir(dir, 0o755)).To(Succeed())
				target := filepath.Join(dir, "target")
				Expect(os.WriteFile(target, []byte("old"), 0o644)).To(Succeed())
				s := s3cli(cfg, "get", "big", target)
				Eventually(func() []string {
					m, _ := filepath.Glob(filepath.Join(dir, ".*.part"))
					return m
				}).WithPolling(10 * time.Millisecond).ShouldNot(BeEmpty())
				s.Signal(sig)
				Eventually(s).Should(gexec.Exit(code))
				Expect(s.Err).To(gbytes.Say("interrupted by " + name))
				Expect(dirEntries(dir)).To(ConsistOf("target"), "no .part file is left")
				Expect(os.ReadFile(target)).To(Equal([]byte("old")))
			},
			Entry("SIGHUP: 143", syscall.SIGHUP, 143, "SIGHUP"),
			Entry("SIGTERM: 143", syscall.SIGTERM, 143, "SIGTERM"),
			Entry("SIGINT: 130", syscall.SIGINT, 130, "SIGINT"),
		)
	})

	DescribeTable("refuses to sign, as a usage error",
		func(key, duration, message string) {
			s := r.exits(2, "sign", key, "get", duration)
			Expect(s.Out.Contents()).To(BeEmpty(), "no URL")
			Expect(s.Err).To(gbytes.Say(message))
		},
		Entry("a duration of seconds that overflows", "k", "-36028797018963068", "is not positive"),
		Entry("zero seconds", "k", "0", "is not positive"),
		Entry("a negative Go duration", "k", "-15m", "not between 1s and 168h"),
		Entry("a Go duration that overflows", "k", "9999999999h", "neither a Go duration"),
		Entry("a key climbing into another bucket", "../other-bucket/x", "15m", `has a "." or ".." segment`),
		Entry("a key with a . segment", "a/./b", "15m", `has a "." or ".." segment`),
	)

	Describe("config", func() {
		It("warns once about an unknown key, naming the nearest known one, and still runs the command", func(ctx SpecContext) {
			r.putObject(ctx, "here", "x")
			cfg := r.writeConfig("typo.json", map[string]any{"upload_part_sise": 5 << 20})
			s := exitsWith(cfg, 0, "exists", "here")
			Expect(string(s.Err.Contents())).To(Equal(
				"s3cli: warn: config: unknown key \"upload_part_sise\" ignored; did you mean \"upload_part_size\"?\n" +
					"File 'here' exists in bucket '" + r.bucket + "'\n"))
		})

		It("refuses a key given twice, naming it", func() {
			p := filepath.Join(r.dir, "twice.json")
			Expect(os.WriteFile(p, []byte(`{"bucket_name":"`+r.bucket+`","bucket_name":"`+r.bucket+`"}`), 0o600)).To(Succeed())
			s := exitsWith(p, 1, "exists", "k")
			Expect(s.Err).To(gbytes.Say(`s3cli: config: key "bucket_name" is given twice`))
		})
	})

	Describe("command line", func() {
		It("takes -s s3 and refuses any other provider, naming the one supported", func() {
			r.exits(3, "-s", "s3", "exists", "k")
			s := r.exits(2, "-s", "gcs", "exists", "k")
			Expect(s.Err).To(gbytes.Say(`-s "gcs" is not supported: s3cli speaks only the s3 provider \(-s s3\)`))
		})

		It("writes nothing but errors on stderr for a get with env_or_profile of an object uploaded in parts without checksums, unless -log-level debug", func(ctx SpecContext) {
			// As the aws CLI uploads: parts without checksums, so every GET answer lacks one.
			key := aws.String("by-parts")
			created, err := env.Clients.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &r.bucket, Key: key})
			Expect(err).NotTo(HaveOccurred())
			var parts []types.CompletedPart
			noChecksums := func(o *s3.Options) { o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired }
			for i, size := range []int{5 << 20, 1 << 20} {
				n := aws.Int32(int32(i + 1))
				up, err := env.Clients.S3.UploadPart(ctx, &s3.UploadPartInput{Bucket: &r.bucket, Key: key, UploadId: created.UploadId,
					PartNumber: n, Body: bytes.NewReader(make([]byte, size))}, noChecksums)
				Expect(err).NotTo(HaveOccurred())
				parts = append(parts, types.CompletedPart{ETag: up.ETag, PartNumber: n})
			}
			_, err = env.Clients.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &r.bucket, Key: key,
				UploadId: created.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}, noChecksums)
			Expect(err).NotTo(HaveOccurred())

			cfg := r.writeConfig("ambient.json", map[string]any{"credentials_source": "env_or_profile",
				"access_key_id": nil, "secret_access_key": nil, "session_token": nil, "download_part_size": 1 << 20})
			environ, err := env.CredentialsEnviron(ctx, r.dir)
			Expect(err).NotTo(HaveOccurred())
			get := func(flags ...string) *gexec.Session {
				cmd := exec.Command(env.S3CLI, append(append([]string{"-c", cfg}, flags...), "get", "by-parts", filepath.Join(r.dir, "by-parts.out"))...)
				cmd.Env = environ
				s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
				Expect(err).NotTo(HaveOccurred())
				Eventually(s).Should(gexec.Exit(0))
				return s
			}
			Expect(string(get().Err.Contents())).To(BeEmpty())
			Expect(string(get("-log-level", "debug").Err.Contents())).To(ContainSubstring("s3cli: debug: aws-sdk"))
		})
	})
})
