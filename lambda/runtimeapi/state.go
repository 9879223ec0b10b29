package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/s3cli-dev/s3cli/lambda/procgroup"
)

// initTimeout is how long Lambda lets a runtime initialise before its first /next.
const initTimeout = 10 * time.Second

// errStale means a warm environment turned out dead before it took the invocation.
var errStale = errors.New("execution environment exited while idle")

// instance is one execution environment: an unpacked package, a Runtime API
// server and the bootstrap process polling it.
type instance struct {
	e      *Executor
	key    string
	name   string
	dir    string
	stream string
	srv    *http.Server
	proc   *procgroup.Process // nil when bootstrap could not be started
	out    *output

	startErr error         // bootstrap could not be started (Runtime.InvalidEntrypoint)
	started  time.Time     // process start
	ready    chan struct{} // closed at the runtime's first /next
	next     chan *invocation
	initErr  chan outcome
	exited   chan struct{} // closed when the bootstrap process has exited
	exitErr  error         // set before exited is closed
	quit     chan struct{} // stops the log collector

	warm      bool // has taken an invocation; only the owning Invoke touches it
	killed    bool // owning Invoke killed it (timeout, init failure)
	maxMemory int64

	readyOnce  sync.Once
	retireOnce sync.Once
	retireErr  error

	mu      sync.Mutex
	current *invocation // handed to the runtime, awaiting its response
}

// invocation is one event handed to the runtime.
type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	arn      string
	trace    string
	done     chan outcome // buffered: the runtime's response or error
}

// outcome is what the runtime reported for an invocation.
type outcome struct {
	payload []byte
	failed  bool
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// alive reports whether the environment can take another invocation.
func (in *instance) alive() bool {
	select {
	case <-in.exited:
		return false
	default:
		return !in.killed
	}
}

// invoke runs one invocation in this environment and builds its Result.
func (in *instance) invoke(ctx context.Context, fn Function, payload []byte) (*Result, error) {
	inv := &invocation{
		id:      requestID(),
		payload: payload,
		arn:     fn.ARN,
		trace:   traceID(),
		done:    make(chan outcome, 1),
	}
	cold := !in.warm
	r := &report{fn: fn, id: inv.id}

	if in.startErr != nil {
		r.start = time.Now()
		msg := fmt.Sprintf("RequestId: %s Error: Couldn't find valid bootstrap(s): [%s]", inv.id, filepath.Join(in.dir, "task", "bootstrap"))
		return in.finish(ctx, r, outcome{failed: true, payload: errorDoc("Runtime.InvalidEntrypoint", msg)}, msg, "Runtime.InvalidEntrypoint")
	}

	if cold {
		if res, err := in.awaitInit(ctx, r); res != nil || err != nil {
			return res, err
		}
	}
	return in.run(ctx, r, inv, cold)
}

// run hands inv to the runtime and waits for its response, within fn's timeout.
func (in *instance) run(ctx context.Context, r *report, inv *invocation, cold bool) (*Result, error) {
	fn := r.fn
	r.start = time.Now()
	inv.deadline = r.start.Add(fn.Timeout)
	timer := time.NewTimer(fn.Timeout)
	defer timer.Stop()
	r.prelude = in.out.take(false) // init output, or what came between invocations
	select {
	case in.next <- inv:
		in.warm = true
	case <-in.exited:
		if !cold {
			return nil, errStale
		}
		return in.runtimeExited(ctx, r)
	case <-timer.C:
		in.kill()
		return in.finish(ctx, r, in.timedOut(inv, fn), "", "timeout")
	case <-ctx.Done():
		in.kill()
		return nil, fmt.Errorf("handing the event to the runtime: %w", ctx.Err())
	}
	r.started = true

	select {
	case o := <-inv.done:
		return in.finish(ctx, r, o, "", "")
	case <-in.exited:
		select {
		case o := <-inv.done: // reported, then exited (a panic in aws-lambda-go)
			return in.finish(ctx, r, o, "", "")
		default:
		}
		return in.runtimeExited(ctx, r)
	case <-timer.C:
		in.sampleMemory()
		in.kill()
		return in.finish(ctx, r, in.timedOut(inv, fn), "", "timeout")
	case <-ctx.Done():
		in.kill()
		return nil, fmt.Errorf("waiting for the function's response: %w", ctx.Err())
	}
}

// awaitInit waits for the runtime's first /next. It returns a nil Result and
// error once the runtime is ready, else the finished failed invocation.
func (in *instance) awaitInit(ctx context.Context, r *report) (*Result, error) {
	timer := time.NewTimer(initTimeout)
	defer timer.Stop()
	select {
	case <-in.ready:
		r.initDuration = time.Since(in.started)
	case o := <-in.initErr:
		r.start, r.initDuration = time.Now(), time.Since(in.started)
		in.kill()
		return in.finish(ctx, r, o, "", errorType(o.payload, "Runtime.InitError"))
	case <-in.exited:
		r.start, r.initDuration = time.Now(), time.Since(in.started)
		return in.runtimeExited(ctx, r)
	case <-timer.C:
		r.start, r.initDuration = time.Now(), initTimeout
		in.kill()
		msg := fmt.Sprintf("RequestId: %s Error: Runtime did not call the Runtime API within %.2f seconds of its start", r.id, initTimeout.Seconds())
		return in.finish(ctx, r, outcome{failed: true, payload: errorDoc("Runtime.InitTimeout", msg)}, msg, "Runtime.InitTimeout")
	case <-ctx.Done():
		in.kill()
		return nil, fmt.Errorf("waiting for the runtime to initialise: %w", ctx.Err())
	}
	return nil, nil
}

// runtimeExited finishes an invocation whose runtime exited before it responded.
func (in *instance) runtimeExited(ctx context.Context, r *report) (*Result, error) {
	msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", r.id, in.exitErr)
	return in.finish(ctx, r, outcome{failed: true, payload: errorDoc("Runtime.ExitError", msg)}, msg+"\nRuntime.ExitError", "Runtime.ExitError")
}

// timedOut builds the outcome Lambda reports when fn runs past its timeout.
func (in *instance) timedOut(inv *invocation, fn Function) outcome {
	msg := fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, fn.Timeout.Seconds())
	return outcome{failed: true, payload: errorDoc("Sandbox.Timedout", msg)}
}

// sampleMemory records the process's peak resident set size (VmHWM).
func (in *instance) sampleMemory() {
	if in.proc == nil {
		return
	}
	if kb := peakRSS(in.proc.Pid()); kb > in.maxMemory {
		in.maxMemory = kb
	}
}

// kill stops the process group now; the environment is not used again.
func (in *instance) kill() {
	in.killed = true
	if in.proc != nil {
		in.proc.Kill()
	}
}
