// Package procgroup is the one way the non-test code runs a child process: in its own process
// group (so a stop reaches whatever the child started), stopped with a signal and SIGKILL after
// a grace period, always waited for, with the tail of its output kept for error messages.
// The executor's bootstrap, the function's integration.test, the packager's go build, the
// moto_server of the moto-process target and make test-aws's suite all run through it.
// Tests start moto_server through fixtures/awsmode/mototest and binaries through gexec.
package procgroup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultGrace is how long a stopped process may take to exit before its group is SIGKILLed.
const DefaultGrace = 5 * time.Second

// Process is a started child. Its zero value is not usable; Start returns one.
type Process struct {
	cmd        *exec.Cmd
	stopSignal syscall.Signal
	grace      time.Duration
	tail       *tailBuffer
	started    time.Time
	done       chan struct{}
	err        error // set before done is closed
	ended      time.Time
	stopping   atomic.Bool
	stopOnce   sync.Once
}

// Option changes how Start runs the child.
type Option func(*Process)

// WithStopSignal is what Stop (and the end of Start's ctx) sends the group first; SIGINT
// when not given, which go build, Ginkgo and s3cli answer by cleaning up. SIGKILL skips the
// grace period.
func WithStopSignal(sig syscall.Signal) Option { return func(p *Process) { p.stopSignal = sig } }

// WithGrace is how long Stop waits after the stop signal before SIGKILL; DefaultGrace when
// not given.
func WithGrace(d time.Duration) Option { return func(p *Process) { p.grace = d } }

// WithParentDeathSignal has the kernel SIGKILL the child when this process dies (SIGKILL
// included), so that it never outlives its parent.
func WithParentDeathSignal() Option {
	return func(p *Process) { p.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL }
}

// WithTail keeps the last n bytes of the child's stdout and stderr (Tail), on top of
// wherever cmd.Stdout and cmd.Stderr send them.
func WithTail(n int) Option {
	return func(p *Process) {
		p.tail = &tailBuffer{max: n}
		p.cmd.Stdout = teeTo(p.cmd.Stdout, p.tail)
		p.cmd.Stderr = teeTo(p.cmd.Stderr, p.tail)
	}
}

func teeTo(w io.Writer, tail io.Writer) io.Writer {
	if w == nil {
		return tail
	}
	return io.MultiWriter(w, tail)
}

// Start starts cmd in a new process group and reaps it in the background. When ctx ends
// before the child does, the child is stopped as by Stop; pass context.WithoutCancel(ctx) for
// a child that must outlive ctx. cmd must not have been started, and must not be a
// CommandContext (ctx here does that job).
func Start(ctx context.Context, cmd *exec.Cmd, opts ...Option) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if cmd.WaitDelay == 0 {
		// A grandchild that keeps an output pipe open must not hold up Wait.
		cmd.WaitDelay = 2 * time.Second
	}
	p := &Process{cmd: cmd, stopSignal: syscall.SIGINT, grace: DefaultGrace, done: make(chan struct{})}
	for _, opt := range opts {
		opt(p)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	p.started = time.Now()
	go func() {
		err := cmd.Wait()
		p.ended = time.Now()
		p.err = err
		close(p.done)
	}()
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				_ = p.Stop(context.WithoutCancel(ctx))
			case <-p.done:
			}
		}()
	}
	return p, nil
}

// Run starts cmd like Start, waits for it, and stops it when ctx ends first. A failure is an
// error that says how the child ended and quotes the tail of its output (with WithTail).
func Run(ctx context.Context, cmd *exec.Cmd, opts ...Option) error {
	p, err := Start(ctx, cmd, opts...)
	if err != nil {
		return err
	}
	if err := p.Wait(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = errors.Join(ctxErr, err)
		}
		if t := p.Tail(); t != "" {
			return fmt.Errorf("%w: %s", err, LastLines(t, 5))
		}
		return err
	}
	return nil
}

// Pid is the child's process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the child has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the child to exit and returns what cmd.Wait returned. Stragglers of its group
// are SIGKILLed once it has exited.
func (p *Process) Wait() error {
	<-p.done
	p.killGroup()
	return p.err
}

// Exited reports whether the child has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stopping reports whether Stop was called (or Start's ctx ended): an exit after that is
// expected, one before it is not.
func (p *Process) Stopping() bool { return p.stopping.Load() }

// Err is what cmd.Wait returned; nil while the child runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Uptime is how long the child ran (so far, when it still runs).
func (p *Process) Uptime() time.Duration {
	if p.Exited() {
		return p.ended.Sub(p.started)
	}
	return time.Since(p.started)
}

// Signal sends sig to the child's whole process group. A group that is gone is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid(), sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("sending %v to process group %d: %w", sig, p.Pid(), err)
	}
	return nil
}

// Kill SIGKILLs the child's whole process group at once.
func (p *Process) Kill() {
	p.stopping.Store(true)
	p.killGroup()
}

func (p *Process) killGroup() { _ = syscall.Kill(-p.Pid(), syscall.SIGKILL) }

// Stop ends the child: the stop signal to its group, SIGKILL to the group after the grace
// period (or when ctx ends first), then it waits for the child and kills what is left of the
// group. It returns an error only when ctx ends before the child could be reaped.
func (p *Process) Stop(ctx context.Context) error {
	p.stopping.Store(true)
	p.stopOnce.Do(func() {
		if p.Exited() {
			return
		}
		if p.stopSignal == syscall.SIGKILL {
			p.killGroup()
			return
		}
		_ = p.Signal(p.stopSignal)
		timer := time.NewTimer(p.grace)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
		case <-ctx.Done():
		}
		p.killGroup()
	})
	select {
	case <-p.done:
		p.killGroup()
		return nil
	case <-ctx.Done():
		p.killGroup()
		return fmt.Errorf("waiting for process %d (%s) to exit: %w", p.Pid(), p.cmd.Path, ctx.Err())
	}
}

// Tail is the end of the child's output (WithTail), "" without it.
func (p *Process) Tail() string {
	if p.tail == nil {
		return ""
	}
	return p.tail.String()
}

// ExitDescription says how the child ended ("exit status 1", "killed by signal SIGKILL"), or
// "running".
func (p *Process) ExitDescription() string {
	if !p.Exited() {
		return "running"
	}
	return Describe(p.err)
}

// Describe turns what cmd.Wait returned into a short phrase.
func Describe(err error) string {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by signal " + signalName(ws.Signal())
		}
		return exit.String()
	default:
		return err.Error()
	}
}

func signalName(sig syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT",
		syscall.SIGHUP: "SIGHUP", syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT",
		syscall.SIGQUIT: "SIGQUIT", syscall.SIGPIPE: "SIGPIPE",
	}
	if n, ok := names[sig]; ok {
		return n
	}
	return sig.String()
}

// LastLines is the last n non-empty lines of s, joined with " | " to fit one error line.
func LastLines(s string, n int) string {
	var lines []string
	for l := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimRight(l, "\r"))
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
