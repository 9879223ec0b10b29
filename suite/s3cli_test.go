package suite

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/credsources"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// Black-box specs of the built s3cli binary (env.S3CLI), run with gexec against
// the target's S3 through the fixture layer only.

// s3cliTimeout bounds one s3cli run (the largest moves 12 MiB); TestSuite makes it
// every Eventually's default, so specs name a bound only where theirs differs.
const s3cliTimeout = 2 * time.Minute

// s3cliRun is one bucket and config for a spec.
type s3cliRun struct {
	bucket string
	dir    string
	config map[string]any
	path   string // the config file
}

// newS3CLIRun creates a bucket (removed after the spec) and writes the config
// that reaches it with the env's credentials.
func newS3CLIRun(ctx context.Context) *s3cliRun {
	bucket, err := env.CreateBucket(ctx, "s3cli", deferCleanup)
	Expect(err).NotTo(HaveOccurred())
	r := &s3cliRun{bucket: bucket, dir: GinkgoT().TempDir(), config: env.S3CLIConfig(bucket)}
	r.path = r.writeConfig("config.json", nil)
	return r
}

// writeConfig writes the run's config with changes (a nil value removes the field).
func (r *s3cliRun) writeConfig(name string, changes map[string]any) string {
	cfg := maps.Clone(r.config)
	for k, v := range changes {
		if v == nil {
			delete(cfg, k)
		} else {
			cfg[k] = v
		}
	}
	p, err := fixtures.WriteJSON(r.dir, name, cfg)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// secret is the config's secret key when it is long enough for "not printed" to
// mean something (emulators' default secret "test" occurs in many a URL).
func (r *s3cliRun) secret() string {
	if s, _ := r.config["secret_access_key"].(string); len(s) >= 16 {
		return s
	}
	return ""
}

// s3cli starts the binary with -c config and args.
func s3cli(config string, args ...string) *gexec.Session {
	return start(append([]string{"-c", config}, args...)...)
}

func start(args ...string) *gexec.Session { return startWith(nil, args...) }

// startWith starts s3cli with args and vars (NAME=VALUE) added to the suite's environment.
func startWith(vars []string, args ...string) *gexec.Session {
	GinkgoHelper()
	cmd := exec.Command(env.S3CLI, args...)
	if vars != nil {
		cmd.Env = append(os.Environ(), vars...)
	}
	session, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	return session
}

// exits runs s3cli and waits for exit code want.
func (r *s3cliRun) exits(want int, args ...string) *gexec.Session {
	GinkgoHelper()
	s := s3cli(r.path, args...)
	Eventually(s).Should(gexec.Exit(want), "s3cli %s", strings.Join(args, " "))
	return s
}

// file writes size pseudo-random bytes into the run's directory.
func (r *s3cliRun) file(name string, size int) (string, []byte) {
	data := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{byte(size), byte(size >> 8)}).Read(data)
	p := filepath.Join(r.dir, name)
	Expect(os.WriteFile(p, data, 0o644)).To(Succeed())
	return p, data
}

func (r *s3cliRun) putObject(ctx context.Context, key, body string) {
	_, err := env.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &r.bucket, Key: &key, Body: strings.NewReader(body)})
	Expect(err).NotTo(HaveOccurred())
}

func (r *s3cliRun) keys(ctx context.Context) []string {
	var keys []string
	p := s3.NewListObjectsV2Paginator(env.Clients.S3, &s3.ListObjectsV2Input{Bucket: &r.bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		Expect(err).NotTo(HaveOccurred())
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// dirEntries lists the names in dir.
func dirEntries(dir string) []string {
	entries, err := os.ReadDir(dir)
	Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// skipUnlessTargetVerifiesPresignedURLs probes the target with a URL presigned
// by the AWS SDK itself and skips the spec when the target cannot serve it
// (moto 5.2 with IAM enforcement answers 500 to any presigned URL), so that
// the spec tests s3cli, not the emulator.
func skipUnlessTargetVerifiesPresignedURLs(ctx context.Context, r *s3cliRun) {
	GinkgoHelper()
	r.putObject(ctx, "probe", "probe")
	req, err := s3.NewPresignClient(env.Clients.S3).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &r.bucket, Key: aws.String("probe")})
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.Get(req.URL)
	Expect(err).NotTo(HaveOccurred())
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		Skip(fmt.Sprintf("target %s answers a GET presigned by the AWS SDK itself with HTTP %d: it cannot verify presigned URLs", env.Target.Name(), resp.StatusCode))
	}
}

// skipUnlessTargetVerifiesSlashesInQueries probes the target with a listing
// whose prefix holds a slash, made by the AWS SDK itself, and skips the spec
// when the target refuses its signature (moto 5.2 with IAM enforcement does).
func skipUnlessTargetVerifiesSlashesInQueries(ctx context.Context, r *s3cliRun) {
	GinkgoHelper()
	_, err := env.Clients.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &r.bucket, Prefix: aws.String("probe/")})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "SignatureDoesNotMatch" {
		Skip(fmt.Sprintf("target %s refuses the AWS SDK's own signature of a query value holding '/' (SignatureDoesNotMatch)", env.Target.Name()))
	}
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("s3cli", Label(names.LabelS3CLI), func() {
	var r *s3cliRun

	BeforeEach(func(ctx SpecContext) {
		r = newS3CLIRun(ctx)
	})

	Describe("put and get", func() {
		It("uploads a small file and downloads the same bytes", func(ctx SpecContext) {
			src, data := r.file("small.bin", 1000)
			r.exits(0, "put", src, "dir/small.bin")
			out := filepath.Join(r.dir, "out.bin")
			r.exits(0, "get", "dir/small.bin", out)
			Expect(os.ReadFile(out)).To(Equal(data))
			Expect(dirEntries(r.dir)).To(ConsistOf("config.json", "small.bin", "out.bin"), "no temporary file is left")
		})

		It("uploads a file larger than one part as a multipart upload and gets it back in parallel ranges", func(ctx SpecContext) {
			cfg := r.writeConfig("parts.json", map[string]any{
				"upload_part_size": 5 << 20, "upload_concurrency": 3,
				"download_part_size": 1 << 20, "download_concurrency": 4,
			})
			src, data := r.file("big.bin", 12<<20+321)
			Eventually(s3cli(cfg, "put", src, "big.bin")).Should(gexec.Exit(0))

			head, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.bucket, Key: aws.String("big.bin")})
			Expect(err).NotTo(HaveOccurred())
			Expect(aws.ToInt64(head.ContentLength)).To(BeNumerically("==", len(data)))
			Expect(aws.ToString(head.ETag)).To(HaveSuffix(`-3"`), "a multipart ETag ends in the number of parts")
			uploads, err := env.Clients.S3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &r.bucket})
			Expect(err).NotTo(HaveOccurred())
			Expect(uploads.Uploads).To(BeEmpty(), "no unfinished multipart upload is left")

			out := filepath.Join(r.dir, "big.out")
			Eventually(s3cli(cfg, "get", "big.bin", out)).Should(gexec.Exit(0))
			got, err := os.ReadFile(out)
			Expect(err).NotTo(HaveOccurred())
			Expect(bytes.Equal(got, data)).To(BeTrue(), "the downloaded bytes equal the uploaded ones")
		})

		It("uploads and downloads an empty file", func(ctx SpecContext) {
			src, _ := r.file("empty", 0)
			r.exits(0, "put", src, "empty")
			out := filepath.Join(r.dir, "empty.out")
			Expect(os.WriteFile(out, []byte("old"), 0o644)).To(Succeed())
			r.exits(0, "get", "empty", out)
			Expect(os.ReadFile(out)).To(BeEmpty())
		})

		It("uploads a stream from standard input in parts", func(ctx SpecContext) {
			cfg := r.writeConfig("stream.json", map[string]any{"upload_part_size": 5 << 20, "upload_concurrency": 2})
			_, data := r.file("stream.bin", 11<<20)
			cmd := exec.Command(env.S3CLI, "-c", cfg, "put", "/dev/stdin", "streamed")
			cmd.Stdin = bytes.NewReader(data) // not a file: s3cli reads a pipe
			s, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
			Expect(err).NotTo(HaveOccurred())
			Eventually(s).Should(gexec.Exit(0))
			head, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.bucket, Key: aws.String("streamed")})
			Expect(err).NotTo(HaveOccurred())
			Expect(aws.ToString(head.ETag)).To(HaveSuffix(`-3"`))
			out := filepath.Join(r.dir, "streamed.out")
			r.exits(0, "get", "streamed", out)
			got, err := os.ReadFile(out)
			Expect(err).NotTo(HaveOccurred())
			Expect(bytes.Equal(got, data)).To(BeTrue())
		})

		It("puts keys under folder_name and reads them back through it", func(ctx SpecContext) {
			cfg := r.writeConfig("folder.json", map[string]any{"folder_name": "releases"})
			src, data := r.file("f.bin", 10)
			Eventually(s3cli(cfg, "put", src, "v1-f.bin")).Should(gexec.Exit(0))
			Expect(r.keys(ctx)).To(ConsistOf("releases/v1-f.bin"))
			Eventually(s3cli(cfg, "exists", "v1-f.bin")).Should(gexec.Exit(0))
			out := filepath.Join(r.dir, "f.out")
			Eventually(s3cli(cfg, "get", "v1-f.bin", out)).Should(gexec.Exit(0))
			Expect(os.ReadFile(out)).To(Equal(data))
			Eventually(s3cli(cfg, "delete", "v1-f.bin")).Should(gexec.Exit(0))
			Expect(r.keys(ctx)).To(BeEmpty())
		})

		It("lists and deletes recursively inside folder_name, showing keys without it", func(ctx SpecContext) {
			skipUnlessTargetVerifiesSlashesInQueries(ctx, r)
			cfg := r.writeConfig("folder.json", map[string]any{"folder_name": "releases"})
			for _, k := range []string{"releases/v1/a", "releases/v1/b", "releases/v2/a", "outside/a"} {
				r.putObject(ctx, k, "x")
			}
			list := s3cli(cfg, "list", "v1/")
			Eventually(list).Should(gexec.Exit(0))
			Expect(string(list.Out.Contents())).To(Equal("v1/a\nv1/b\n"))
			Eventually(s3cli(cfg, "delete-recursive")).Should(gexec.Exit(0))
			Expect(r.keys(ctx)).To(ConsistOf("outside/a"))
		})

		It("fails a get of a missing key, leaving the existing target and no partial file", func(ctx SpecContext) {
			target := filepath.Join(r.dir, "target.txt")
			Expect(os.WriteFile(target, []byte("keep me"), 0o644)).To(Succeed())
			s := r.exits(1, "get", "missing-key", target)
			Expect(s.Err).To(gbytes.Say(`object does not exist: "missing-key" in bucket "%s"`, r.bucket))
			Expect(os.ReadFile(target)).To(Equal([]byte("keep me")))
			Expect(dirEntries(r.dir)).To(ConsistOf("config.json", "target.txt"))
		})

		It("fails a get into a directory that does not exist", func(ctx SpecContext) {
			r.putObject(ctx, "k", "v")
			s := r.exits(1, "get", "k", filepath.Join(r.dir, "no-such-dir", "out"))
			Expect(s.Err).To(gbytes.Say("creating a temporary file beside"))
			Expect(dirEntries(r.dir)).To(ConsistOf("config.json"))
		})

		It("fails a put of a local file that does not exist", func() {
			s := r.exits(1, "put", filepath.Join(r.dir, "nope"), "k")
			Expect(s.Err).To(gbytes.Say("opening local file"))
		})
	})

	Describe("exists", func() {
		It("exits 0 for an object that exists", func(ctx SpecContext) {
			r.putObject(ctx, "here", "x")
			s := r.exits(0, "exists", "here")
			Expect(s.Out.Contents()).To(BeEmpty())
		})

		It("exits 3 for a missing object in an existing bucket", func() {
			s := r.exits(3, "exists", "not-here")
			Expect(s.Out.Contents()).To(BeEmpty())
			Expect(s.Err).To(gbytes.Say(`File 'not-here' does not exist in bucket '%s'`, r.bucket))
		})

		It("exits 1 and says so when the bucket itself is missing", func() {
			gone := env.Name("gone")
			cfg := r.writeConfig("gone.json", map[string]any{"bucket_name": gone})
			s := s3cli(cfg, "exists", "k")
			Eventually(s).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say(`bucket does not exist: "%s"`, gone))
		})
	})

	Describe("delete", func() {
		It("deletes an object, and deleting it again succeeds", func(ctx SpecContext) {
			r.putObject(ctx, "doomed", "x")
			r.exits(0, "delete", "doomed")
			r.exits(3, "exists", "doomed")
			r.exits(0, "delete", "doomed")
			Expect(r.keys(ctx)).To(BeEmpty())
		})
	})

	Describe("delete-recursive", func() {
		It("deletes every key starting with a prefix and nothing else", func(ctx SpecContext) {
			for _, k := range []string{"logs-a", "logs-b-c", "logx", "other"} {
				r.putObject(ctx, k, "x")
			}
			r.exits(0, "delete-recursive", "logs-")
			Expect(r.keys(ctx)).To(ConsistOf("logx", "other"))
			r.exits(0, "delete-recursive")
			Expect(r.keys(ctx)).To(BeEmpty())
		})
	})

	Describe("list", func() {
		It("prints every key starting with a prefix, following more than one page", func(ctx SpecContext) {
			// Pages of 10 keys (S3CLI_LIST_PAGE_SIZE; S3's own hold 1000): 23 keys take three
			// listings, so a list that stopped after the first page would print 10.
			const n = 23
			paged := []string{"S3CLI_LIST_PAGE_SIZE=10"}
			want := make([]string, n)
			for i := range n {
				want[i] = fmt.Sprintf("page-%04d", i)
			}
			Expect(fixtures.PutEmptyObjects(ctx, env.Clients.S3, r.bucket, want)).To(Succeed())
			r.putObject(ctx, "q-outside", "x")

			s := startWith(paged, "-c", r.path, "-log-level", "debug", "list", "page-")
			Eventually(s).Should(gexec.Exit(0))
			Expect(strings.Split(strings.TrimSuffix(string(s.Out.Contents()), "\n"), "\n")).To(Equal(want))
			Expect(strings.Count(string(s.Err.Contents()), "max-keys=10")).To(Equal(3), "the SDK's request log shows three listings of 10")
			all := startWith(paged, "-c", r.path, "list")
			Eventually(all).Should(gexec.Exit(0))
			Expect(strings.Count(string(all.Out.Contents()), "\n")).To(Equal(n + 1))
			Eventually(startWith(paged, "-c", r.path, "delete-recursive")).Should(gexec.Exit(0))
			Expect(r.keys(ctx)).To(BeEmpty(), "delete-recursive follows every page too")
		})
	})

	Describe("copy", func() {
		It("copies an object to another key", func(ctx SpecContext) {
			r.putObject(ctx, "src", "copy me")
			r.exits(0, "copy", "src", "dst/copy")
			out := filepath.Join(r.dir, "copy.out")
			r.exits(0, "get", "dst/copy", out)
			Expect(os.ReadFile(out)).To(Equal([]byte("copy me")))
		})

		It("fails when the source is missing", func() {
			s := r.exits(1, "copy", "no-src", "dst")
			Expect(s.Err).To(gbytes.Say(`object does not exist: "no-src"`))
		})
	})

	Describe("properties", func() {
		It("prints etag, last_modified and content_length as JSON", func(ctx SpecContext) {
			r.putObject(ctx, "p", "12345")
			s := r.exits(0, "properties", "p")
			var props struct {
				ETag          string `json:"etag"`
				LastModified  string `json:"last_modified"`
				ContentLength int64  `json:"content_length"`
			}
			Expect(json.Unmarshal(s.Out.Contents(), &props)).To(Succeed())
			Expect(props.ContentLength).To(BeEquivalentTo(5))
			Expect(props.ETag).NotTo(BeEmpty())
			Expect(props.ETag).NotTo(ContainSubstring(`"`))
			modified, err := time.Parse(time.RFC3339, props.LastModified)
			Expect(err).NotTo(HaveOccurred())
			Expect(modified).To(BeTemporally("~", time.Now(), 15*time.Minute))
		})

		It("prints {} for a missing object", func() {
			s := r.exits(0, "properties", "nothing")
			Expect(string(s.Out.Contents())).To(Equal("{}\n"))
		})
	})

	Describe("sign", func() {
		It("prints a GET URL, without a trailing newline, that a plain HTTP GET can use", func(ctx SpecContext) {
			skipUnlessTargetVerifiesPresignedURLs(ctx, r)
			r.putObject(ctx, "signed/get me", "signed content")
			s := r.exits(0, "sign", "signed/get me", "get", "15m")
			url := string(s.Out.Contents())
			Expect(url).To(HavePrefix("http"))
			Expect(url).NotTo(HaveSuffix("\n"))
			resp, err := http.Get(url)
			Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			Expect(err).NotTo(HaveOccurred())
			Expect(resp.StatusCode).To(Equal(http.StatusOK), "body: %s", body)
			Expect(string(body)).To(Equal("signed content"))
		})

		It("prints a PUT URL that a plain HTTP PUT can use", func(ctx SpecContext) {
			skipUnlessTargetVerifiesPresignedURLs(ctx, r)
			s := r.exits(0, "sign", "signed/put", "put", "900")
			url := string(s.Out.Contents())
			Expect(url).NotTo(HaveSuffix("\n"))
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader("uploaded via URL"))
			Expect(err).NotTo(HaveOccurred())
			resp, err := http.DefaultClient.Do(req)
			Expect(err).NotTo(HaveOccurred())
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			Expect(resp.StatusCode).To(Equal(http.StatusOK), "body: %s", body)
			out := filepath.Join(r.dir, "put.out")
			r.exits(0, "get", "signed/put", out)
			Expect(os.ReadFile(out)).To(Equal([]byte("uploaded via URL")))
		})

		It("prints a URL for the configured endpoint, bucket, key and duration", func() {
			s := r.exits(0, "sign", "dir/key", "put", "2h")
			url := string(s.Out.Contents())
			Expect(url).To(ContainSubstring(r.bucket))
			Expect(url).To(ContainSubstring("/dir/key?"))
			Expect(url).To(ContainSubstring("X-Amz-Expires=7200"))
			Expect(url).To(ContainSubstring("X-Amz-Signature="))
			if secret := r.secret(); secret != "" {
				Expect(url).NotTo(ContainSubstring(secret))
			}
		})

		It("rejects a bad method or duration as a usage error", func() {
			r.exits(2, "sign", "k", "delete", "15m")
			r.exits(2, "sign", "k", "get", "8 days")
		})
	})

	Describe("ensure-storage-exists", func() {
		It("creates a missing bucket and succeeds when it exists", func(ctx SpecContext) {
			name := env.Name("ensure")
			fixtures.TrackBucket(deferCleanup, env.Clients.S3, name) // s3cli creates it below
			cfg := r.writeConfig("ensure.json", map[string]any{"bucket_name": name})
			Eventually(s3cli(cfg, "ensure-storage-exists")).Should(gexec.Exit(0))
			_, err := env.Clients.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &name})
			Expect(err).NotTo(HaveOccurred())
			Eventually(s3cli(cfg, "ensure-storage-exists")).Should(gexec.Exit(0))
			r.exits(0, "ensure-storage-exists")
		})
	})

	Describe("assume_role_arn", func() {
		It("works with the credentials of the assumed role", func(ctx SpecContext) {
			// The role may put and get objects of this bucket, but not delete them.
			role, err := credsources.NewPutGetRole(ctx, env, "s3cli-role", r.bucket, deferCleanup)
			Expect(err).NotTo(HaveOccurred())
			cfg := r.writeConfig("role.json", map[string]any{"assume_role_arn": role.ARN, "assume_role_session_name": "s3cli-spec"})
			src, data := r.file("by-role", 100)
			// IAM is eventually consistent: a new role may not be assumable at once.
			Eventually(func() int {
				s := s3cli(cfg, "put", src, "by-role")
				Eventually(s).Should(gexec.Exit())
				return s.ExitCode()
			}).WithPolling(3 * time.Second).Should(Equal(0))
			out := filepath.Join(r.dir, "by-role.out")
			Eventually(s3cli(cfg, "get", "by-role", out)).Should(gexec.Exit(0))
			Expect(os.ReadFile(out)).To(Equal(data))

			if env.Target.Capabilities().EnforcesIAM {
				s := s3cli(cfg, "delete", "by-role")
				Eventually(s).Should(gexec.Exit(1))
				Expect(s.Err).To(gbytes.Say("AccessDenied"), "the role's policy, not the caller's, decides")
				Expect(r.keys(ctx)).To(ContainElement("by-role"))
			}
		})
	})

	Describe("failures", func() {
		It("reports a missing bucket on put", func() {
			gone := env.Name("gone")
			cfg := r.writeConfig("gone.json", map[string]any{"bucket_name": gone})
			src, _ := r.file("x", 10)
			s := s3cli(cfg, "put", src, "k")
			Eventually(s).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say("NoSuchBucket"))
		})

		It("refuses put and delete with credentials_source none, before any request", func() {
			cfg := r.writeConfig("none.json", map[string]any{
				"credentials_source": "none", "access_key_id": nil, "secret_access_key": nil, "session_token": nil,
			})
			src, _ := r.file("x", 10)
			for _, args := range [][]string{{"put", src, "k"}, {"delete", "k"}, {"delete-recursive"}, {"copy", "a", "b"}} {
				s := s3cli(cfg, args...)
				Eventually(s).Should(gexec.Exit(1))
				Expect(s.Err).To(gbytes.Say("refused: credentials_source none is anonymous and read-only"))
			}
		})

		It("fails with wrong credentials without printing them", func(ctx SpecContext) {
			if !env.Target.Capabilities().EnforcesIAM {
				Skip("target " + env.Target.Name() + " does not check signatures, so a wrong secret key is accepted there")
			}
			if _, ok := r.config["secret_access_key"]; !ok {
				Skip("the target's s3cli config has no static keys to falsify")
			}
			const wrong = "wrong-secret-key-0123456789abcdefghijkl"
			cfg := r.writeConfig("wrong.json", map[string]any{"secret_access_key": wrong})
			src, _ := r.file("x", 10)
			s := s3cli(cfg, "put", src, "k")
			Eventually(s).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say("SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId"))
			Expect(string(s.Err.Contents())).NotTo(ContainSubstring(wrong))
			if key, _ := r.config["access_key_id"].(string); len(key) >= 16 {
				Expect(string(s.Err.Contents())).NotTo(ContainSubstring(key))
			}
			Expect(r.keys(ctx)).To(BeEmpty())
		})

		DescribeTable("rejects a bad config with a one-line error naming the field",
			func(changes map[string]any, message string) {
				cfg := r.writeConfig("bad.json", changes)
				s := s3cli(cfg, "exists", "k")
				Eventually(s).Should(gexec.Exit(1))
				Expect(s.Err).To(gbytes.Say(message))
				Expect(strings.Count(string(s.Err.Contents()), "\n")).To(Equal(1))
				if secret := r.secret(); secret != "" {
					Expect(string(s.Err.Contents())).NotTo(ContainSubstring(secret))
				}
			},
			Entry("no bucket_name", map[string]any{"bucket_name": nil}, "config: bucket_name is required"),
			Entry("a bad credentials_source", map[string]any{"credentials_source": "ambient"}, `config: credentials_source "ambient" is not one of static, env_or_profile, none`),
			Entry("keys with env_or_profile", map[string]any{"credentials_source": "env_or_profile", "access_key_id": "AKIAX", "secret_access_key": "s"}, "config: credentials_source env_or_profile takes no access_key_id"),
			Entry("a bad port", map[string]any{"port": 70000}, "config: port 70000 is not between 1 and 65535"),
			Entry("a bad part size", map[string]any{"upload_part_size": 1024}, "config: upload_part_size 1024 is not between"),
			Entry("a bad encryption", map[string]any{"server_side_encryption": "rot13"}, `config: server_side_encryption "rot13" is not one of AES256, aws:kms`),
			Entry("a string for a bool", map[string]any{"use_ssl": "yes"}, "config: use_ssl must be true or false"),
		)

		It("rejects a config file that is not JSON", func() {
			p := filepath.Join(r.dir, "broken.json")
			Expect(os.WriteFile(p, []byte("{bucket_name: x"), 0o600)).To(Succeed())
			s := s3cli(p, "exists", "k")
			Eventually(s).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say("config: invalid JSON at byte"))
		})
	})

	Describe("command line", func() {
		It("exits 2 on a usage error", func() {
			for _, args := range [][]string{{}, {"-c", r.path, "nope"}, {"-c", r.path, "put", "one-arg"}, {"exists", "k"}} {
				s := start(args...)
				Eventually(s).Should(gexec.Exit(2))
				Expect(s.Err).To(gbytes.Say("Run 's3cli -h' for usage."))
			}
		})
	})
})

// The version and help need no bucket, so they sit outside the BeforeEach that makes one.
var _ = Describe("s3cli command line", Label(names.LabelS3CLI), func() {
	It("prints its version with -v", func() {
		s := start("-v")
		Eventually(s).Should(gexec.Exit(0))
		Expect(s.Out).To(gbytes.Say(`^version \S+\n`))
	})

	It("prints help with -h and per command", func() {
		s := start("-h")
		Eventually(s).Should(gexec.Exit(0))
		for _, c := range []string{"put", "get", "delete", "delete-recursive", "exists", "sign", "copy", "list", "properties", "ensure-storage-exists"} {
			Expect(string(s.Out.Contents())).To(ContainSubstring("  "+c+" "), "help lists %s", c)
			h := start(c, "-h")
			Eventually(h).Should(gexec.Exit(0))
			Expect(h.Out).To(gbytes.Say("Usage: s3cli -c CONFIG.json " + c))
		}
	})
})
