package runtimeapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
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

// start unpacks fn's package and starts its bootstrap process.
func (e *Executor) start(ctx context.Context, fn Function, key string) (in *instance, err error) {
	dir, err := os.MkdirTemp(e.tempRoot(), "lambda-"+unsafeName.ReplaceAllString(fn.Name, "_")+"-*")
	if err != nil {
		return nil, fmt.Errorf("creating the environment directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	task := filepath.Join(dir, "task")
	if err := unzip(fn.Code, task); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPackage, err)
	}
	for _, sub := range []string{"runtime", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("creating the environment directory: %w", err)
		}
	}
	env := map[string]string{}
	if e.creds != nil {
		creds, err := e.creds(ctx, fn)
		if err != nil {
			return nil, fmt.Errorf("getting the credentials of role %q: %w", fn.Role, err)
		}
		env["AWS_ACCESS_KEY_ID"] = creds.AccessKeyID
		env["AWS_SECRET_ACCESS_KEY"] = creds.SecretAccessKey
		if creds.SessionToken != "" {
			env["AWS_SESSION_TOKEN"] = creds.SessionToken
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the Runtime API: %w", err)
	}
	logPath := filepath.Join(dir, "output.log")
	w, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("creating the output file: %w", err)
	}
	defer w.Close() // the child holds its own descriptor
	out, err := openOutput(logPath)
	if err != nil {
		ln.Close()
		return nil, err
	}

	in = &instance{
		e:       e,
		key:     key,
		name:    fn.Name,
		dir:     dir,
		stream:  streamName(fn.Version, time.Now()),
		out:     out,
		ready:   make(chan struct{}),
		next:    make(chan *invocation),
		initErr: make(chan outcome, 1),
		exited:  make(chan struct{}),
		quit:    make(chan struct{}),
	}
	in.srv = &http.Server{Handler: in.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = in.srv.Serve(ln) }()
	go in.collect()

	maps.Copy(env, lambdaEnv(fn, ln.Addr().String(), dir, in.stream))
	// Output goes to a file rather than pipes: whatever the runtime wrote before
	// posting its response is then readable in full when the response arrives.
	in.started = time.Now()
	// Its own process group, SIGKILLed as Lambda does (no grace) when the executor's context
	// ends or the environment is killed or retired, and with this process should it die.
	var p *procgroup.Process
	// ETXTBSY: while another environment unpacks its package, a child forked here can hold a
	// copy of that writable descriptor until its exec, and an exec of that other bootstrap in
	// the meantime fails with "text file busy" (golang/go#22315); it passes a moment later.
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(filepath.Join(task, "bootstrap"))
		cmd.Dir = task
		cmd.Env = environ(env)
		cmd.Stdout, cmd.Stderr = w, w
		p, err = procgroup.Start(e.ctx, cmd, procgroup.WithStopSignal(syscall.SIGKILL), procgroup.WithParentDeathSignal())
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 50 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		in.startErr = err
		close(in.exited)
		return in, nil
	}
	in.proc = p
	go func() {
		in.exitErr = p.Wait()
		close(in.exited)
	}()
	e.logf("runtimeapi: started an environment of %s (pid %d, stream %s)", fn.Name, p.Pid(), in.stream)
	return in, nil
}

// lambdaEnv is the environment Lambda gives a provided runtime, over the
// function's own variables. TMPDIR is ours: it keeps each environment's
// scratch files apart and removes them with it.
func lambdaEnv(fn Function, api, dir, stream string) map[string]string {
	env := map[string]string{
		"PATH":            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LANG":            "en_US.UTF-8",
		"LD_LIBRARY_PATH": "/lib64:/usr/lib64:" + filepath.Join(dir, "runtime") + ":" + filepath.Join(dir, "task") + ":/opt/lib",
	}
	if fn.Endpoint != "" {
		env["AWS_ENDPOINT_URL"] = fn.Endpoint
	}
	maps.Copy(env, fn.Env)
	maps.Copy(env, map[string]string{
		"_HANDLER":                        fn.Handler,
		"AWS_LAMBDA_RUNTIME_API":          api,
		"AWS_LAMBDA_FUNCTION_NAME":        fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION":     fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(int(fn.MemoryMB)),
		"AWS_LAMBDA_LOG_GROUP_NAME":       logGroup(fn.Name),
		"AWS_LAMBDA_LOG_STREAM_NAME":      stream,
		"AWS_LAMBDA_INITIALIZATION_TYPE":  "on-demand",
		"AWS_REGION":                      fn.Region,
		"AWS_DEFAULT_REGION":              fn.Region,
		"LAMBDA_TASK_ROOT":                filepath.Join(dir, "task"),
		"LAMBDA_RUNTIME_DIR":              filepath.Join(dir, "runtime"),
		"TZ":                              ":UTC",
		"TMPDIR":                          filepath.Join(dir, "tmp"),
	})
	return env
}

func environ(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return list
}

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
	r := report{fn: fn, id: inv.id}

	if in.startErr != nil {
		r.start = time.Now()
		msg := fmt.Sprintf("RequestId: %s Error: Couldn't find valid bootstrap(s): [%s]", inv.id, filepath.Join(in.dir, "task", "bootstrap"))
		return in.finish(ctx, &r, outcome{failed: true, payload: errorDoc("Runtime.InvalidEntrypoint", msg)}, msg, "Runtime.InvalidEntrypoint")
	}

	if cold {
		timer := time.NewTimer(initTimeout)
		defer timer.Stop()
		select {
		case <-in.ready:
			r.initDuration = time.Since(in.started)
		case o := <-in.initErr:
			r.start, r.initDuration = time.Now(), time.Since(in.started)
			in.kill()
			return in.finish(ctx, &r, o, "", errorType(o.payload, "Runtime.InitError"))
		case <-in.exited:
			r.start, r.initDuration = time.Now(), time.Since(in.started)
			msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", inv.id, in.exitErr)
			return in.finish(ctx, &r, outcome{failed: true, payload: errorDoc("Runtime.ExitError", msg)}, msg+"\nRuntime.ExitError", "Runtime.ExitError")
		case <-timer.C:
			r.start, r.initDuration = time.Now(), initTimeout
			in.kill()
			msg := fmt.Sprintf("RequestId: %s Error: Runtime did not call the Runtime API within %.2f seconds of its start", inv.id, initTimeout.Seconds())
			return in.finish(ctx, &r, outcome{failed: true, payload: errorDoc("Runtime.InitTimeout", msg)}, msg, "Runtime.InitTimeout")
		case <-ctx.Done():
			in.kill()
			return nil, fmt.Errorf("waiting for the runtime to initialise: %w", ctx.Err())
		}
	}

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
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", inv.id, in.exitErr)
		return in.finish(ctx, &r, outcome{failed: true, payload: errorDoc("Runtime.ExitError", msg)}, msg+"\nRuntime.ExitError", "Runtime.ExitError")
	case <-timer.C:
		in.kill()
		return in.finish(ctx, &r, in.timedOut(inv, fn), "", "timeout")
	case <-ctx.Done():
		in.kill()
		return nil, fmt.Errorf("handing the event to the runtime: %w", ctx.Err())
	}
	r.started = true

	select {
	case o := <-inv.done:
		return in.finish(ctx, &r, o, "", "")
	case <-in.exited:
		select {
		case o := <-inv.done: // reported, then exited (a panic in aws-lambda-go)
			return in.finish(ctx, &r, o, "", "")
		default:
		}
		msg := fmt.Sprintf("RequestId: %s Error: Runtime exited with error: %v", inv.id, in.exitErr)
		return in.finish(ctx, &r, outcome{failed: true, payload: errorDoc("Runtime.ExitError", msg)}, msg+"\nRuntime.ExitError", "Runtime.ExitError")
	case <-timer.C:
		in.sampleMemory()
		in.kill()
		return in.finish(ctx, &r, in.timedOut(inv, fn), "", "timeout")
	case <-ctx.Done():
		in.kill()
		return nil, fmt.Errorf("waiting for the function's response: %w", ctx.Err())
	}
}

// timedOut builds the outcome Lambda reports when fn runs past its timeout.
func (in *instance) timedOut(inv *invocation, fn Function) outcome {
	msg := fmt.Sprintf("RequestId: %s Error: Task timed out after %.2f seconds", inv.id, fn.Timeout.Seconds())
	return outcome{failed: true, payload: errorDoc("Sandbox.Timedout", msg)}
}

// finish writes the invocation's log lines, ships them and returns the Result.
// line, when set, is what the platform logs about a failure; status is the
// REPORT line's failure status ("timeout" or an error type).
func (in *instance) finish(ctx context.Context, r *report, o outcome, line, status string) (*Result, error) {
	r.end = time.Now()
	in.sampleMemory()
	if in.killed {
		// Wait for the process, so that everything it wrote is in the file.
		select {
		case <-in.exited:
		case <-time.After(5 * time.Second):
		}
	}
	if status == "timeout" {
		line = fmt.Sprintf("%s %s Task timed out after %.2f seconds", r.end.UTC().Format("2006-01-02T15:04:05.000Z"), r.id, r.fn.Timeout.Seconds())
	}
	if !r.started {
		r.prelude = append(r.prelude, in.out.take(true)...) // all of it came before the event
	}
	lines := append(r.prelude, logLine{at: r.start, text: fmt.Sprintf("START RequestId: %s Version: %s", r.id, r.fn.Version)})
	lines = append(lines, in.out.take(true)...)
	now := time.Now()
	if line != "" {
		lines = append(lines, logLine{at: now, text: line})
	}
	r.maxMemory = in.maxMemory
	r.status = status
	lines = append(lines,
		logLine{at: now, text: "END RequestId: " + r.id},
		logLine{at: now, text: r.line()})

	if err := in.e.ship(ctx, r.fn, in.stream, lines); err != nil {
		in.e.logf("runtimeapi: shipping the log of %s %s: %v", r.fn.Name, r.id, err)
	}
	res := &Result{
		RequestID:       r.id,
		Payload:         o.payload,
		LogResult:       tail(lines),
		ExecutedVersion: r.fn.Version,
	}
	if o.failed {
		res.FunctionError = FunctionErrorUnhandled
	}
	in.e.logf("runtimeapi: %s %s %.2f ms %s", r.fn.Name, r.id, ms(r.end.Sub(r.start)), cmp.Or(res.FunctionError, "ok"))
	return res, nil
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

// retire kills the process group, stops the Runtime API server and removes the
// environment's files. It is safe to call more than once.
func (in *instance) retire(ctx context.Context) error {
	in.retireOnce.Do(func() {
		if in.proc != nil {
			// Even after bootstrap exited, children it left in its group are killed.
			in.proc.Kill()
		}
		select {
		case <-in.exited:
		case <-ctx.Done():
			in.retireErr = fmt.Errorf("waiting for the bootstrap of %s to exit: %w", in.name, ctx.Err())
		}
		_ = in.srv.Close()
		close(in.quit)
		in.out.close()
		if err := os.RemoveAll(in.dir); err != nil {
			in.retireErr = errors.Join(in.retireErr, fmt.Errorf("removing %s: %w", in.dir, err))
		}
	})
	return in.retireErr
}

// collect reads the process's output every quarter second, so lines carry
// about the time they were written.
func (in *instance) collect() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-in.quit:
			return
		case <-t.C:
			in.out.collect(false)
		}
	}
}

// routes is the Runtime API, version 2018-06-01.
func (in *instance) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", in.handleNext)
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", in.handleResult(false))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", in.handleResult(true))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", in.handleInitError)
	return mux
}

func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) {
	in.readyOnce.Do(func() { close(in.ready) })
	select {
	case inv := <-in.next:
		in.mu.Lock()
		in.current = inv
		in.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
		h.Set("Lambda-Runtime-Trace-Id", inv.trace)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.payload)
	case <-r.Context().Done(): // the runtime went away, or the environment is retired
	}
}

// handleResult takes the runtime's response (or error) for the current invocation.
func (in *instance) handleResult(failed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		inv := in.current
		if inv == nil || inv.id != r.PathValue("id") {
			in.mu.Unlock()
			apiError(w, http.StatusBadRequest, "InvalidRequestID", "Invalid request ID")
			return
		}
		in.current = nil
		in.mu.Unlock()

		body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload+1))
		switch {
		case err != nil:
			msg := fmt.Sprintf("RequestId: %s Error: reading the runtime's response: %v", inv.id, err)
			inv.done <- outcome{failed: true, payload: errorDoc("Runtime.Unknown", msg)}
			apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		case len(body) > MaxResponsePayload:
			_, _ = io.Copy(io.Discard, r.Body)
			msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload)
			inv.done <- outcome{failed: true, payload: errorDoc("Function.ResponseSizeTooLarge", msg)}
			apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
				fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", MaxResponsePayload))
		case r.Trailer.Get("Lambda-Runtime-Function-Error-Type") != "":
			// The runtime failed while streaming its response and says so in trailers.
			doc, _ := base64.StdEncoding.DecodeString(r.Trailer.Get("Lambda-Runtime-Function-Error-Body"))
			if !json.Valid(doc) {
				doc = errorDoc(r.Trailer.Get("Lambda-Runtime-Function-Error-Type"), string(doc))
			}
			inv.done <- outcome{failed: true, payload: doc}
			accepted(w)
		default:
			if failed && !json.Valid(body) {
				body = errorDoc(cmp.Or(r.Header.Get("Lambda-Runtime-Function-Error-Type"), "Unhandled"), string(body))
			}
			inv.done <- outcome{failed: failed, payload: body}
			accepted(w)
		}
	}
}

func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxResponsePayload))
	if !json.Valid(body) {
		body = errorDoc(cmp.Or(r.Header.Get("Lambda-Runtime-Function-Error-Type"), "Runtime.InitError"), string(body))
	}
	select {
	case in.initErr <- outcome{failed: true, payload: body}:
	default:
	}
	accepted(w)
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func apiError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorDoc(typ, msg))
}

// errorDoc is the error document Lambda returns as the payload of a failed invocation.
func errorDoc(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		Type    string `json:"errorType"`
		Message string `json:"errorMessage"`
	}{typ, msg})
	return b
}

// errorType reads errorType from an error document.
func errorType(doc []byte, fallback string) string {
	var d struct {
		Type string `json:"errorType"`
	}
	if json.Unmarshal(doc, &d) == nil && d.Type != "" {
		return d.Type
	}
	return fallback
}

// report is the material of an invocation's REPORT line.
type report struct {
	fn           Function
	id           string
	prelude      []logLine
	start, end   time.Time
	started      bool
	initDuration time.Duration
	maxMemory    int64 // kB
	status       string
}

// line formats the REPORT line as Lambda does for a provided runtime, where
// the init duration is billed.
func (r *report) line() string {
	d := ms(r.end.Sub(r.start))
	billed := int64(math.Ceil(d))
	if r.initDuration > 0 {
		billed += int64(math.Ceil(ms(r.initDuration)))
	}
	s := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.id, d, billed, r.fn.MemoryMB, (r.maxMemory+1023)/1024)
	if r.initDuration > 0 {
		s += fmt.Sprintf("\tInit Duration: %.2f ms", ms(r.initDuration))
	}
	switch r.status {
	case "":
	case "timeout":
		s += "\tStatus: timeout"
	default:
		s += "\tStatus: error\tError Type: " + r.status
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// requestID returns a random UUID, as Lambda's request ids are.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// traceID returns an X-Ray trace header for an unsampled trace.
func traceID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), hex.EncodeToString(b[:12]), hex.EncodeToString(b[12:]))
}

// peakRSS reads VmHWM (kB) of a process; 0 when it is gone.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	var kb int64
	for _, l := range splitLines(b) {
		if _, err := fmt.Sscanf(l, "VmHWM: %d kB", &kb); err == nil {
			return kb
		}
	}
	return 0
}
