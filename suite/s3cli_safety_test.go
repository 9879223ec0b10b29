package suite

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
	"golang.org/x/sys/unix"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/faultserver"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// Black-box specs of s3cli's safety: destinations that are not regular files,
// files whose size the kernel reports as 0, and servers that stall.

// stallLimit is the S3CLI_STALL_TIMEOUT the stalled-server specs give s3cli
// (default 60 s), so that they run in seconds.
const stallLimit = "1s"

// device makes a private character device node (major, minor) in dir: a get
// that replaced the machine's /dev/null or /dev/full would break it for
// everyone, a copy of them breaks nothing. Without root the spec is skipped.
func device(dir, name string, major, minor uint32) string {
	GinkgoHelper()
	p := filepath.Join(dir, name)
	if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		Skip("making a private copy of a device node needs root (mknod " + p + ": " + err.Error() + ")")
	}
	return p
}

// s3cliStallLimited starts s3cli with -c config, args and the short stall limit.
func s3cliStallLimited(config string, args ...string) *gexec.Session {
	GinkgoHelper()
	s := startWith([]string{"S3CLI_STALL_TIMEOUT=" + stallLimit}, append([]string{"-c", config}, args...)...)
	DeferCleanup(func() { s.Kill().Wait() }) // an s3cli that hangs must not outlive the spec
	return s
}

var _ = Describe("s3cli safety", Label(names.LabelS3CLI), func() {
	Describe("get to a destination that is not a regular file", func() {
		var (
			r    *s3cliRun
			data []byte
		)

		BeforeEach(func(ctx SpecContext) {
			r = newS3CLIRun(ctx)
			var src string
			src, data = r.file("object.bin", 3<<20+11)
			r.exits(0, "put", src, "object")
		})

		It("writes through a null device and leaves it a device", func() {
			null := device(GinkgoT().TempDir(), "null", 1, 3)
			r.exits(0, "get", "object", null)
			st, err := os.Lstat(null)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode() & os.ModeCharDevice).NotTo(BeZero())
		})

		It("fails with ENOSPC on a full device, in one line, and leaves it a device", func() {
			dir := GinkgoT().TempDir()
			full := device(dir, "full", 1, 7)
			s := r.exits(1, "get", "object", full)
			Expect(s.Err).To(gbytes.Say(`^s3cli: get "object": .*no space left on device\n$`))
			st, err := os.Lstat(full)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode() & os.ModeCharDevice).NotTo(BeZero())
			Expect(dirEntries(dir)).To(ConsistOf("full"), "no temporary file is left")
		})

		It("streams into a FIFO that the spec reads, and leaves it a FIFO", func() {
			dir := GinkgoT().TempDir()
			fifo := filepath.Join(dir, "fifo")
			Expect(syscall.Mkfifo(fifo, 0o600)).To(Succeed())
			got := gbytes.NewBuffer()
			go func() {
				defer GinkgoRecover()
				f, err := os.Open(fifo) // blocks until s3cli opens it for writing
				Expect(err).NotTo(HaveOccurred())
				_, _ = io.Copy(got, f)
				f.Close()
				got.Close()
			}()
			r.exits(0, "get", "object", fifo)
			Eventually(got.Closed).Should(BeTrue(), "the reader saw the end of the stream")
			Expect(got.Contents()).To(Equal(data))
			st, err := os.Lstat(fifo)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode() & os.ModeNamedPipe).NotTo(BeZero())
			Expect(dirEntries(dir)).To(ConsistOf("fifo"))
		})

		It("replaces a symlink's target atomically and keeps the link", func() {
			dir := GinkgoT().TempDir()
			Expect(os.Mkdir(filepath.Join(dir, "real"), 0o755)).To(Succeed())
			target := filepath.Join(dir, "real", "file")
			Expect(os.WriteFile(target, []byte("old"), 0o640)).To(Succeed())
			link := filepath.Join(dir, "link")
			Expect(os.Symlink("real/file", link)).To(Succeed())
			r.exits(0, "get", "object", link)
			st, err := os.Lstat(link)
			Expect(err).NotTo(HaveOccurred())
			Expect(st.Mode()&os.ModeSymlink).NotTo(BeZero(), "the link is still a link")
			Expect(os.ReadFile(target)).To(Equal(data))
			tst, err := os.Stat(target)
			Expect(err).NotTo(HaveOccurred())
			Expect(tst.Mode().Perm()).To(Equal(os.FileMode(0o640)), "the target keeps its mode")
			Expect(dirEntries(filepath.Join(dir, "real"))).To(ConsistOf("file"), "no temporary file is left")
		})
	})

	It("stores the bytes of a file whose size the kernel reports as 0 (/proc/cpuinfo)", func(ctx SpecContext) {
		st, err := os.Stat("/proc/cpuinfo")
		if err != nil || st.Size() != 0 {
			Skip("no /proc/cpuinfo reporting size 0 here")
		}
		r := newS3CLIRun(ctx)
		r.exits(0, "put", "/proc/cpuinfo", "cpuinfo")
		head, err := env.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &r.bucket, Key: aws.String("cpuinfo")})
		Expect(err).NotTo(HaveOccurred())
		Expect(aws.ToInt64(head.ContentLength)).To(BeNumerically(">", 0))
	})

	Describe("against a server that stalls", func() {
		// cfg writes a config that reaches srv.
		cfg := func(srv *faultserver.Server, extra map[string]any) string {
			c := map[string]any{
				"bucket_name": "stalled", "host": srv.Host(), "port": srv.Port(), "use_ssl": false,
				"access_key_id": "AKIDSTALLED", "secret_access_key": "stalled-secret",
			}
			for k, v := range extra {
				c[k] = v
			}
			p, err := fixtures.WriteJSON(GinkgoT().TempDir(), "stalled.json", c)
			Expect(err).NotTo(HaveOccurred())
			return p
		}
		start := func(b faultserver.Behaviour) *faultserver.Server {
			srv, err := faultserver.Start(b)
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(srv.Close)
			return srv
		}
		// Within the bound: the stall limit, plus start-up and a retry's backoff.
		const bound = 20 * time.Second

		It("fails a put to a server that never reads within the stall limit, saying so", func() {
			srv := start(faultserver.NeverReads)
			src := filepath.Join(GinkgoT().TempDir(), "big.bin")
			Expect(os.WriteFile(src, make([]byte, 64<<20), 0o644)).To(Succeed()) // more than socket buffers hold
			s := s3cliStallLimited(cfg(srv, map[string]any{"multipart_upload": false}), "put", src, "k")
			Eventually(s).WithTimeout(bound).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say(`^s3cli: put "k": no progress for ` + stallLimit + `: the server stopped reading the request\n$`))
		})

		It("fails exists against a server that never answers within the stall limit, saying so", func() {
			srv := start(faultserver.NeverAnswers)
			s := s3cliStallLimited(cfg(srv, nil), "exists", "k")
			Eventually(s).WithTimeout(bound).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say(`^s3cli: exists "k": no progress for ` + stallLimit + `: the server took the request and sent no answer\n$`))
		})

		It("fails a get whose body stops within the stall limit and leaves no file", func() {
			srv := start(faultserver.StallsBody)
			dir := GinkgoT().TempDir()
			s := s3cliStallLimited(cfg(srv, nil), "get", "k", filepath.Join(dir, "out"))
			Eventually(s).WithTimeout(bound).Should(gexec.Exit(1))
			Expect(s.Err).To(gbytes.Say(`^s3cli: get "k": .*no progress for ` + stallLimit + `: the answer stopped arriving\n$`))
			Expect(dirEntries(dir)).To(BeEmpty())
		})
	})
})
