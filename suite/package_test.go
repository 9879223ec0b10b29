package suite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/s3cli-dev/s3cli/fixtures/names"
	"github.com/s3cli-dev/s3cli/fixtures/targets"
	"github.com/s3cli-dev/s3cli/lambda/pack"
)

// The Lambda deployment package takes the longest to build (integration.test alone is a
// minute and more on a cold cache), so process 1 starts it in the background at the very
// beginning of the suite, while the emulator starts and other specs run, and the lambda
// specs wait for it on whichever process they run.

// packageHandoff tells every process where process 1's background build reports.
type packageHandoff struct {
	// Status is the file the build writes when it ends (a packageStatus); "" when no
	// background build was started and the lambda specs build the package themselves.
	Status string `json:",omitempty"`
}

// packageStatus is what a finished background build wrote.
type packageStatus struct {
	Path    string  `json:"path,omitempty"`
	Error   string  `json:"error,omitempty"`
	Seconds float64 `json:"seconds"`
}

// suitePackage is process 1's handoff, set in every process by SynchronizedBeforeSuite.
var suitePackage packageHandoff

// packageWait bounds how long a lambda spec waits for the background build.
const packageWait = 25 * time.Minute

// packageBuild is process 1's background build of bin/deployment.zip; nil when none runs.
type packageBuild struct {
	dir    string // holds the status file; removed when the build is stopped
	status string
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// startPackageBuild starts building bin/deployment.zip in the background on process 1 when
// the run will need it (no package given with S3CLI_PACKAGE, the lambda specs are selected, nothing focused).
// Stopping it kills its go commands, so an interrupt or a failed setup leaves no go build
// behind: a cleanup registered here stops it whatever happens next, and neededBy registers
// an earlier one once the target runs.
func startPackageBuild(given string) *packageBuild {
	if given != "" {
		return nil
	}
	if cfg, _ := GinkgoConfiguration(); len(cfg.FocusStrings)+len(cfg.FocusFiles) > 0 || !Label(names.LabelLambda).MatchesLabelFilter(GinkgoLabelFilter()) {
		return nil // a narrowed run: the lambda specs, if selected, build it themselves
	}
	root, err := pack.ModuleRoot(".")
	Expect(err).NotTo(HaveOccurred())
	dir, err := os.MkdirTemp("", "s3cli-package-")
	Expect(err).NotTo(HaveOccurred(), "creating the directory the package build reports in")
	ctx, cancel := context.WithCancel(context.Background())
	b := &packageBuild{dir: dir, status: filepath.Join(dir, "status.json"), cancel: cancel, done: make(chan struct{})}
	DeferCleanup(b.stop)

	fmt.Fprintf(progress, "[suite] building the Lambda deployment package in the background\n")
	go func() {
		defer close(b.done)
		start := time.Now()
		p, err := pack.Build(ctx, root, filepath.Join(root, "bin", "deployment.zip"))
		s := packageStatus{Seconds: time.Since(start).Seconds()}
		if err != nil {
			s.Error = err.Error()
			fmt.Fprintf(progress, "[suite] background package build failed after %.1fs: %v\n", s.Seconds, err)
		} else {
			s.Path = p.Path
			fmt.Fprintf(progress, "[suite] background package build: %s (%.1f MB, CodeSha256 %s) in %.1fs\n", p.Path, float64(p.Size)/(1<<20), p.CodeSHA256, s.Seconds)
		}
		if err := writeStatus(b.status, s); err != nil {
			fmt.Fprintf(progress, "[suite] writing %s: %v\n", b.status, err)
		}
	}()
	return b
}

// neededBy returns the handoff for the other processes. A target that runs no functions
// needs no package, so the build stops at once; otherwise it is stopped at the end of the
// suite, before the target is.
func (b *packageBuild) neededBy(t targets.Target) packageHandoff {
	if b == nil {
		return packageHandoff{}
	}
	if !t.Capabilities().RunsLambda {
		b.stop()
		return packageHandoff{}
	}
	DeferCleanup(b.stop)
	return packageHandoff{Status: b.status}
}

// stop cancels the build if it still runs and waits until its go commands are gone.
func (b *packageBuild) stop() {
	b.once.Do(func() {
		select {
		case <-b.done:
		default:
			fmt.Fprintf(progress, "[suite] stopping the unfinished package build\n")
		}
		b.cancel()
		<-b.done // pack.Build returns once its go command's process group is killed
		_ = os.RemoveAll(b.dir)
	})
}

// writeStatus writes s to path atomically, so a reader never sees half of it.
func writeStatus(path string, s packageStatus) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readStatus returns the finished build's status; fs.ErrNotExist while it runs.
func readStatus(path string) (packageStatus, error) {
	var s packageStatus
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

// deploymentPackage returns the zip the lambda specs deploy: S3CLI_PACKAGE when set, else the
// one process 1 is building in the background (waiting for it), else one built now.
func deploymentPackage(ctx SpecContext) []byte {
	if p := env.Settings.Package; p != "" {
		data, err := os.ReadFile(p)
		Expect(err).NotTo(HaveOccurred(), "reading the package S3CLI_PACKAGE names")
		fmt.Fprintf(progress, "[suite] using the package %s (%.1f MB, CodeSha256 %s)\n", p, float64(len(data))/(1<<20), names.CodeSHA256(data))
		return data
	}
	if suitePackage.Status == "" {
		root, err := pack.ModuleRoot(".")
		Expect(err).NotTo(HaveOccurred())
		p, err := pack.Build(ctx, root, filepath.Join(root, "bin", "deployment.zip"), pack.WithLog(progress))
		Expect(err).NotTo(HaveOccurred())
		data, err := os.ReadFile(p.Path)
		Expect(err).NotTo(HaveOccurred())
		return data
	}

	start := time.Now()
	var s packageStatus
	if _, err := os.Stat(suitePackage.Status); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(progress, "[suite] waiting for the background package build...\n")
	}
	Eventually(func() error {
		var err error
		s, err = readStatus(suitePackage.Status)
		return err
	}).WithContext(ctx).WithTimeout(packageWait).WithPolling(200*time.Millisecond).
		Should(Succeed(), "the background package build did not finish (status %s)", suitePackage.Status)
	Expect(s.Error).To(BeEmpty(), "building the deployment package in the background")
	data, err := os.ReadFile(s.Path)
	Expect(err).NotTo(HaveOccurred())
	fmt.Fprintf(progress, "[suite] deployment package %s ready (built in %.1fs, waited %s)\n", s.Path, s.Seconds, time.Since(start).Round(100*time.Millisecond))
	return data
}
