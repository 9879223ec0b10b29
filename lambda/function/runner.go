package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/s3cli-dev/s3cli/lambda/procgroup"
)

const (
	// SuiteBinary is the compiled suite's file name in the task root.
	SuiteBinary = "integration.test"
	// DefaultMargin is how long before the function deadline a long run is stopped,
	// leaving time for Ginkgo to write its report and for the error to be returned.
	DefaultMargin = 3 * time.Second
	// tailLines is how many of the child's last lines a crash error quotes.
	tailLines = 5
)

// Runner runs the compiled suite for one invocation at a time.
type Runner struct {
	// TaskRoot holds integration.test and s3cli ($LAMBDA_TASK_ROOT).
	TaskRoot string
	// TempDir is where each run gets a scratch directory for its report; it is removed afterwards.
	TempDir string
	// Environ is the base environment of the child (the function's own).
	Environ []string
	// Out receives every line of the child's output as it arrives, and the runner's own lines.
	Out io.Writer
	// Margin: with more than twice this left before the deadline, the suite is
	// stopped this long before it (SIGTERM, then SIGKILL half a margin later) and
	// the error says it timed out. With less, the platform's own timeout applies
	// and the child is only killed this long after the deadline, as a backstop.
	Margin time.Duration
}

// NewRunner returns a Runner for the Lambda environment: task root from
// LAMBDA_TASK_ROOT (else the directory of this executable), /tmp for scratch,
// the process environment, stdout.
func NewRunner() *Runner {
	root := os.Getenv("LAMBDA_TASK_ROOT")
	if root == "" {
		if exe, err := os.Executable(); err == nil {
			root = filepath.Dir(exe)
		}
	}
	return &Runner{TaskRoot: root, TempDir: os.TempDir(), Environ: os.Environ(), Out: os.Stdout, Margin: DefaultMargin}
}

// SuiteError is returned when the suite did not pass: failed specs, a crash, or a timeout.
// aws-lambda-go reports its type name, SuiteError, as the errorType of the invocation.
type SuiteError struct {
	// Summary is what the report said, when there is one.
	Summary Summary
	// TimedOut is set when the runner stopped the suite at the deadline.
	TimedOut bool
	// Msg is the one-line message.
	Msg string
}

func (e *SuiteError) Error() string { return e.Msg }

// Handle runs the suite with the event's settings and returns its counts.
// Any failed spec, crash or timeout is a *SuiteError that names what failed.
func (r *Runner) Handle(ctx context.Context, ev Event) (Result, error) {
	if err := ev.Validate(); err != nil {
		return Result{}, err
	}
	bin := filepath.Join(r.TaskRoot, SuiteBinary)
	if info, err := os.Stat(bin); err != nil {
		return Result{}, fmt.Errorf("finding the suite: %w (the package must hold %s next to bootstrap)", err, SuiteBinary)
	} else if info.Mode()&0o111 == 0 {
		return Result{}, fmt.Errorf("finding the suite: %s is not executable (mode %s)", bin, info.Mode())
	}
	work, err := os.MkdirTemp(r.TempDir, "suite-")
	if err != nil {
		return Result{}, fmt.Errorf("creating a scratch directory for the suite: %w", err)
	}
	// Warm sandboxes keep /tmp between invocations, so each run cleans up after itself.
	defer os.RemoveAll(work)

	reportPath := filepath.Join(work, "report.json")
	args := append(ev.ginkgoArgs(),
		"--ginkgo.json-report="+reportPath,
		"--ginkgo.no-color",
		"--ginkgo.v",
	)
	out := newLineWriter(r.Out, tailLines)
	cmd := exec.Command(bin, args...)
	cmd.Dir = work
	cmd.Env = SuiteEnv(r.Environ, ev, r.TaskRoot)
	cmd.Stdout, cmd.Stderr = out, out

	deadlineNote := "no deadline"
	if d, ok := ctx.Deadline(); ok {
		deadlineNote = fmt.Sprintf("deadline in %.1fs", time.Until(d).Seconds())
	}
	out.Note(fmt.Sprintf("runner: running %s %s (%s)", SuiteBinary, strings.Join(args, " "), deadlineNote))

	start := time.Now()
	// Own process group so a stop reaches the specs' own children (s3cli), and the suite
	// dies with bootstrap when the platform kills it at its timeout. The watchdog, not ctx,
	// decides when to stop it.
	p, err := procgroup.Start(context.Background(), cmd, procgroup.WithParentDeathSignal())
	if err != nil {
		return Result{}, fmt.Errorf("starting %s: %w", SuiteBinary, err)
	}
	w := newWatchdog(ctx, p, r.Margin, out)
	waitErr := p.Wait() // and the group's stragglers (specs' children) are killed
	w.finish()
	out.Flush()
	elapsed := time.Since(start)

	res := Result{DurationMS: elapsed.Milliseconds()}
	summary, reportErr := readReport(reportPath)
	if reportErr == nil {
		res.Passed, res.Failed, res.Skipped = summary.Passed, summary.Failed, summary.Skipped
	}
	out.Note(fmt.Sprintf("runner: %s finished in %.1fs: %d passed, %d failed, %d skipped (%s)",
		SuiteBinary, elapsed.Seconds(), res.Passed, res.Failed, res.Skipped, exitNote(waitErr)))

	if err := verdict(summary, reportErr, waitErr, w.stopReason(), out.Tail()); err != nil {
		out.Note("runner: " + err.Error())
		return res, err
	}
	return res, nil
}

func readReport(path string) (Summary, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Summary{}, errors.New("it wrote no JSON report")
	}
	if err != nil {
		return Summary{}, fmt.Errorf("reading its JSON report: %w", err)
	}
	return ParseReport(data)
}

// verdict turns how the run ended into nil or a *SuiteError naming what went wrong.
func verdict(s Summary, reportErr, waitErr error, stopped string, tail []string) error {
	failed := ""
	if len(s.FailedSpecs) > 0 {
		failed = fmt.Sprintf("; %d failed: %s", len(s.FailedSpecs), strings.Join(s.FailedSpecs, "; "))
	}
	switch {
	case stopped != "" && waitErr != nil: // a suite that finished cleanly as the timer fired passed
		return &SuiteError{Summary: s, TimedOut: true, Msg: fmt.Sprintf("%s timed out: %s%s", SuiteBinary, stopped, failed)}
	case reportErr != nil:
		last := ""
		if len(tail) > 0 {
			last = "; last output: " + strings.Join(tail, " | ")
		}
		return &SuiteError{Summary: s, Msg: fmt.Sprintf("%s crashed (%s) and %v%s", SuiteBinary, exitNote(waitErr), reportErr, last)}
	case s.Failed > 0:
		return &SuiteError{Summary: s, Msg: fmt.Sprintf("%s: %d of %d specs failed%s", SuiteBinary, s.Failed, s.Passed+s.Failed, failed)}
	case waitErr != nil || !s.SuiteSucceeded:
		reasons := ""
		if len(s.SpecialFailures) > 0 {
			reasons = ": " + strings.Join(s.SpecialFailures, "; ")
		}
		return &SuiteError{Summary: s, Msg: fmt.Sprintf("%s failed (%s)%s", SuiteBinary, exitNote(waitErr), reasons)}
	}
	return nil
}

func exitNote(err error) string { return procgroup.Describe(err) }

// watchdog stops the child's process group when the run must end: before the
// deadline when there is room for it, as a backstop after it otherwise, or at
// once when the context is cancelled for another reason.
type watchdog struct {
	done   chan struct{}
	timer  *time.Timer
	wg     sync.WaitGroup
	mu     sync.Mutex
	reason string
}

func newWatchdog(ctx context.Context, p *procgroup.Process, margin time.Duration, out *lineWriter) *watchdog {
	w := &watchdog{done: make(chan struct{})}
	var timer <-chan time.Time
	reason := ""
	deadline, hasDeadline := ctx.Deadline()
	if hasDeadline {
		stopAt := deadline.Add(margin)
		reason = fmt.Sprintf("still running %s after the function deadline", margin)
		if time.Until(deadline) > 2*margin {
			stopAt = deadline.Add(-margin)
			reason = fmt.Sprintf("stopped %s before the function deadline", margin)
		}
		w.timer = time.NewTimer(time.Until(stopAt))
		timer = w.timer.C
	}
	w.wg.Go(func() {
		ctxDone := ctx.Done()
		for {
			select {
			case <-w.done:
				return
			case <-timer:
			case <-ctxDone:
				if hasDeadline && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					ctxDone = nil // the timer decides what the deadline means
					continue
				}
				reason = "the invocation was cancelled: " + context.Cause(ctx).Error()
			}
			break
		}
		w.mu.Lock()
		w.reason = reason
		w.mu.Unlock()
		out.Note(fmt.Sprintf("runner: %s; sending SIGTERM to the suite", reason))
		_ = p.Signal(syscall.SIGTERM)
		grace := max(margin/2, 100*time.Millisecond)
		select {
		case <-w.done:
		case <-time.After(grace):
			out.Note(fmt.Sprintf("runner: the suite is still running %s after SIGTERM; sending SIGKILL", grace))
			p.Kill()
		}
	})
	return w
}

// finish tells the watchdog the child has exited and waits for it.
func (w *watchdog) finish() {
	close(w.done)
	if w.timer != nil {
		w.timer.Stop()
	}
	w.wg.Wait()
}

func (w *watchdog) stopReason() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reason
}
