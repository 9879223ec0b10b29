package suite

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/s3cli-dev/s3cli/fixtures"
	"github.com/s3cli-dev/s3cli/fixtures/settings"
	"github.com/s3cli-dev/s3cli/fixtures/targets"
	"github.com/s3cli-dev/s3cli/lambda/pack"
	"github.com/s3cli-dev/s3cli/lambda/procgroup"
)

// env is the run's fixture environment, ready in every parallel process once
// SynchronizedBeforeSuite is done. Specs reach the target only through it.
var env *fixtures.Env

// startedTarget is the target process 1 started; the other processes attach to it.
var startedTarget targets.Target

// s3cliPackage is the s3cli main package the suite builds unless S3CLI_BIN names a binary.
const s3cliPackage = "github.com/s3cli-dev/s3cli/s3cli"

// handoff is what process 1 passes to every process.
type handoff struct {
	RunID  string
	S3CLI  string
	Target json.RawMessage
	Zip    packageHandoff
}

// progress is where the suite's progress lines go: stderr, and in a parallel run the file
// S3CLI_PROGRESS names instead, which make test-local shows as it grows (Ginkgo's parallel
// processes have no terminal; it would show their stderr only with each spec's report).
var progress io.Writer = os.Stderr

// progressOut writes to progress as it is at the time of the write (init-time wiring such as
// the gateway's gets it before TestSuite has chosen).
type progressOut struct{}

func (progressOut) Write(b []byte) (int, error) { return progress.Write(b) }

func TestSuite(t *testing.T) {
	// A bad setting is reported by SynchronizedBeforeSuite, which reads them for the run.
	s, _ := settings.FromEnv(os.Getenv)
	if cfg, _ := GinkgoConfiguration(); cfg.ParallelTotal > 1 && s.Progress != "" {
		f, err := os.OpenFile(s.Progress, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatalf("opening S3CLI_PROGRESS: %v", err)
		}
		defer f.Close()
		progress = f
	}
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(s3cliTimeout)
	RunSpecs(t, "s3cli suite")
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	s, err := settings.FromEnv(os.Getenv)
	Expect(err).NotTo(HaveOccurred(), "reading the run's settings")
	pkg := startPackageBuild(s.Package) // in the background, while the target starts and specs run
	var s3cli string
	var s3cliErr error
	s3cliBuilt := make(chan struct{}) // s3cli builds while the target starts
	go func() {
		defer close(s3cliBuilt)
		s3cli, s3cliErr = s3cliBinary(ctx, s.S3CLIBin)
	}()
	DeferCleanup(func() { <-s3cliBuilt }) // however the start ends, the go build is over
	// make test-aws names the run (S3CLI_RUN_ID), so its sweep and artifacts find what the suite made.
	opts := targets.OptionsFrom(s)
	opts.LambdaGateway = lambdaGateway
	opts.Log = progress

	t, err := targets.Start(ctx, opts)
	Expect(err).NotTo(HaveOccurred(), "starting the target (S3CLI_TARGET=%q)", opts.Target)
	startedTarget = t
	// Registered first, so it runs last: after every spec's and every later suite cleanup,
	// even when a spec failed or the run was interrupted.
	DeferCleanup(func(ctx SpecContext) {
		start := time.Now()
		err := t.Stop(ctx)
		fmt.Fprintf(progress, "[suite] target %s stopped in %s\n", t.Name(), time.Since(start).Round(100*time.Millisecond))
		Expect(err).NotTo(HaveOccurred(), "stopping the target")
	}, NodeTimeout(2*time.Minute))
	fmt.Fprintf(progress, "[suite] run %s target %s\n", opts.RunID, t.Summary())
	zip := pkg.neededBy(t) // stopped now when the target runs no functions

	<-s3cliBuilt
	Expect(s3cliErr).NotTo(HaveOccurred())

	runEnv := fixtures.NewEnv(t, s, s3cli)
	DeferCleanup(expectNoLeftovers, runEnv, NodeTimeout(2*time.Minute))

	data, err := targets.MarshalHandoff(ctx, t)
	Expect(err).NotTo(HaveOccurred())
	b, err := json.Marshal(handoff{RunID: opts.RunID, S3CLI: s3cli, Target: data, Zip: zip})
	Expect(err).NotTo(HaveOccurred())
	return b
}, func(ctx SpecContext, data []byte) {
	var h handoff
	Expect(json.Unmarshal(data, &h)).To(Succeed(), "decoding what process 1 passed")
	suitePackage = h.Zip
	t := startedTarget
	if t == nil {
		var err error
		t, err = targets.Attach(ctx, h.Target)
		Expect(err).NotTo(HaveOccurred())
	}
	s, err := settings.FromEnv(os.Getenv)
	Expect(err).NotTo(HaveOccurred(), "reading the run's settings")
	s.RunID = h.RunID
	env = fixtures.NewEnv(t, s, h.S3CLI)
	DeferCleanup(expectTrackedRemoved) // in every process, after its specs' cleanups
}, NodeTimeout(10*time.Minute))

// buildS3CLI builds s3cli to bin/suite/s3cli of the module: a fixed path, so that an
// unchanged s3cli is not linked again (go build keeps an output whose build ID matches). The
// go command runs in its own process group, as the packager's do, so an interrupt (ctx)
// stops its compilers and linkers too.
func buildS3CLI(ctx context.Context) (string, error) {
	root, err := pack.ModuleRoot(".")
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "bin", "suite", "s3cli")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := procgroup.Run(ctx, exec.Command("go", "build", "-o", p, s3cliPackage), procgroup.WithTail(8<<10)); err != nil {
		return "", err
	}
	return p, nil
}

// s3cliBinary returns S3CLI_BIN when set (inside the Lambda function the binary sits beside
// the suite), else builds the s3cli package (buildS3CLI).
func s3cliBinary(ctx context.Context, p string) (string, error) {
	if p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("S3CLI_BIN %q: %w", p, err)
		}
		return p, nil
	}
	start := time.Now()
	p, err := buildS3CLI(ctx)
	if err != nil {
		fmt.Fprintf(progress, "[suite] building s3cli (%s) failed after %s\n", s3cliPackage, time.Since(start).Round(100*time.Millisecond))
		return "", fmt.Errorf("building s3cli from %s (set S3CLI_BIN to use a built binary): %w", s3cliPackage, err)
	}
	fmt.Fprintf(progress, "[suite] built s3cli (%s) in %s\n", s3cliPackage, time.Since(start).Round(100*time.Millisecond))
	return p, nil
}
