package function

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega/gbytes"
)

// taskRoot holds the fake suite compiled as integration.test, as the package would.
var taskRoot string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "function-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", filepath.Join(dir, SuiteBinary), "./testdata/fakesuite")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the fake suite: %v\n%s", err, out)
		return 1
	}
	taskRoot = dir
	return m.Run()
}

func newTestRunner(t *testing.T, margin time.Duration, extraEnv ...string) (*Runner, *gbytes.Buffer) {
	t.Helper()
	out := gbytes.NewBuffer()
	env := append([]string{"PATH=" + os.Getenv("PATH")}, extraEnv...)
	return &Runner{TaskRoot: taskRoot, TempDir: t.TempDir(), Environ: env, Out: out, Margin: margin}, out
}

func assertNoScratchLeft(t *testing.T, r *Runner) {
	t.Helper()
	entries, err := os.ReadDir(r.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("scratch directory left behind: %v", entries)
	}
}

func TestHandleRunsTheSuiteAndCountsSpecs(t *testing.T) {
	r, out := newTestRunner(t, DefaultMargin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res, err := r.Handle(ctx, Event{BucketName: "bucket-from-event", Region: "eu-west-1"})
	if err != nil {
		t.Fatalf("Handle: %v\noutput:\n%s", err, out.Contents())
	}
	if res.Passed != 2 || res.Failed != 0 || res.Skipped != 1 {
		t.Errorf("result = %+v, want 2 passed, 0 failed, 1 skipped (filtered-out specs not counted)", res)
	}
	if res.DurationMS <= 0 {
		t.Errorf("duration_ms = %d, want > 0", res.DurationMS)
	}
	text := string(out.Contents())
	for _, want := range []string{
		"runner: running integration.test --ginkgo.label-filter=iam-role",
		"Running Suite: Fake Suite",
		"second spec ran",
		"Ran 2 of 6 Specs",
		"SUCCESS! -- 2 Passed",
		"runner: integration.test finished in",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "Running Suite") > strings.Index(text, "Ran 2 of 6") {
		t.Errorf("output out of order:\n%s", text)
	}
	assertNoScratchLeft(t, r)
}

func TestHandleRunsOnlyTheFocusedSpecsAndLeavesOutTheSkipped(t *testing.T) {
	tests := []struct {
		name          string
		ev            Event
		flags         string
		passed        int
		ranLine, lack string
	}{
		{"focus", Event{BucketName: "b", Focus: "passes a second"}, "--ginkgo.focus=passes a second", 1, "Ran 1 of 6 Specs", "sees the environment"},
		{"skip", Event{BucketName: "b", Skip: "second time|with a reason"}, "--ginkgo.skip=second time|with a reason", 1, "Ran 1 of 6 Specs", "passes a second time"},
		{"both", Event{BucketName: "b", Focus: "The fake suite", Skip: "environment"}, "--ginkgo.focus=The fake suite --ginkgo.skip=environment", 1, "Ran 1 of 6 Specs", "sees the environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, out := newTestRunner(t, DefaultMargin)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			res, err := r.Handle(ctx, tt.ev)
			if err != nil {
				t.Fatalf("Handle: %v\noutput:\n%s", err, out.Contents())
			}
			if res.Passed != tt.passed || res.Failed != 0 {
				t.Errorf("result = %+v, want %d passed, 0 failed", res, tt.passed)
			}
			text := string(out.Contents())
			for _, want := range []string{"--ginkgo.label-filter=iam-role " + tt.flags + " --ginkgo.json-report=", tt.ranLine} {
				if !strings.Contains(text, want) {
					t.Errorf("output lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "The fake suite "+tt.lack) {
				t.Errorf("a spec matching %q ran:\n%s", tt.lack, text)
			}
		})
	}
}

func TestHandleNamesTheFailedSpec(t *testing.T) {
	r, out := newTestRunner(t, DefaultMargin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	res, err := r.Handle(ctx, Event{LabelFilter: "fail"})
	var suiteErr *SuiteError
	if !errors.As(err, &suiteErr) {
		t.Fatalf("Handle error = %v, want a *SuiteError\noutput:\n%s", err, out.Contents())
	}
	for _, want := range []string{"1 of 1 specs failed", "[failed] The fake suite fails on purpose", "fake failure: this spec fails on purpose"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if suiteErr.TimedOut || res.Failed != 1 || res.Passed != 0 {
		t.Errorf("result = %+v, timed out = %v; want 1 failed, not timed out", res, suiteErr.TimedOut)
	}
	if !strings.Contains(string(out.Contents()), "runner: integration.test: 1 of 1 specs failed") {
		t.Errorf("the error is not in the log:\n%s", out.Contents())
	}
}

func TestHandleReportsACrashWithTheLastOutput(t *testing.T) {
	r, out := newTestRunner(t, DefaultMargin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, err := r.Handle(ctx, Event{LabelFilter: "crash"})
	var suiteErr *SuiteError
	if !errors.As(err, &suiteErr) {
		t.Fatalf("Handle error = %v, want a *SuiteError\noutput:\n%s", err, out.Contents())
	}
	for _, want := range []string{"crashed (exit status 3)", "wrote no JSON report", "about to exit with status 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	assertNoScratchLeft(t, r)
}

// processGone reports whether pid no longer runs (absent, or a zombie awaiting its reaper).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses: "pid (comm) S ...".
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func waitGone(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the slow spec did not record its child: %v", err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the spec's child %d outlived the suite", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHandleStopsTheSuiteBeforeTheDeadline(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "sleep.pid")
	r, out := newTestRunner(t, time.Second, "FAKESUITE_PID_FILE="+pidFile)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()

	start := time.Now()
	_, err := r.Handle(ctx, Event{LabelFilter: "slow"})
	elapsed := time.Since(start)
	var suiteErr *SuiteError
	if !errors.As(err, &suiteErr) || !suiteErr.TimedOut {
		t.Fatalf("Handle error = %v, want a timed-out *SuiteError\noutput:\n%s", err, out.Contents())
	}
	if !strings.Contains(err.Error(), "timed out: stopped 1s before the function deadline") {
		t.Errorf("error %q does not say it timed out before the deadline", err)
	}
	// Ginkgo handles SIGTERM as an interrupt and still writes its report, naming the spec.
	if !strings.Contains(err.Error(), "The fake suite waits for a long time") {
		t.Errorf("error %q does not name the interrupted spec\noutput:\n%s", err, out.Contents())
	}
	if elapsed > 4*time.Second {
		t.Errorf("Handle returned after %s, past the 4s deadline", elapsed)
	}
	waitGone(t, pidFile)
	assertNoScratchLeft(t, r)
}

func TestHandleLeavesShortDeadlinesToThePlatformWithABackstop(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "sleep.pid")
	r, out := newTestRunner(t, time.Second, "FAKESUITE_PID_FILE="+pidFile)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := r.Handle(ctx, Event{LabelFilter: "slow"})
	elapsed := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timed out: still running 1s after the function deadline") {
		t.Fatalf("Handle error = %v, want the backstop timeout\noutput:\n%s", err, out.Contents())
	}
	// Not stopped before the deadline (the platform reports that timeout), but soon after it.
	if elapsed < 2500*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("Handle returned after %s, want between 2.5s and 5s", elapsed)
	}
	waitGone(t, pidFile)
}

func TestHandleStopsTheSuiteWhenCancelled(t *testing.T) {
	r, out := newTestRunner(t, time.Second)
	ctx, cancel := context.WithCancelCause(context.Background())
	timer := time.AfterFunc(time.Second, func() { cancel(errors.New("test cancelled it")) })
	defer timer.Stop()

	_, err := r.Handle(ctx, Event{LabelFilter: "slow"})
	if err == nil || !strings.Contains(err.Error(), "the invocation was cancelled: test cancelled it") {
		t.Fatalf("Handle error = %v, want a cancellation\noutput:\n%s", err, out.Contents())
	}
}

func TestHandleRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRunner(t, DefaultMargin)
	if _, err := r.Handle(ctx, Event{}); err == nil || !strings.Contains(err.Error(), "bucket_name is required") {
		t.Errorf("empty event: error = %v, want bucket_name is required", err)
	}

	r.TaskRoot = t.TempDir()
	_, err := r.Handle(ctx, Event{BucketName: "b"})
	if err == nil || !strings.Contains(err.Error(), "finding the suite") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing binary: error = %v, want a not-found error naming the suite", err)
	}

	if err := os.WriteFile(filepath.Join(r.TaskRoot, SuiteBinary), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Handle(ctx, Event{BucketName: "b"}); err == nil || !strings.Contains(err.Error(), "is not executable") {
		t.Errorf("non-executable binary: error = %v, want is not executable", err)
	}
}
