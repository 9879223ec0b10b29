package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/s3cli-dev/s3cli/lambda/procgroup"
)

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
	env, err := e.roleEnv(ctx, fn)
	if err != nil {
		return nil, err
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
	in.started = time.Now()
	p, err := launch(e.ctx, filepath.Join(task, "bootstrap"), environ(env), w)
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

// launch starts bootstrap in its own process group, SIGKILLed as Lambda does (no
// grace) when ctx ends or the environment is killed or retired, and with this
// process should it die. Output goes to w, a file rather than pipes: whatever the
// runtime wrote before posting its response is then readable in full when the
// response arrives.
func launch(ctx context.Context, bootstrap string, env []string, w *os.File) (*procgroup.Process, error) {
	// ETXTBSY: while another environment unpacks its package, a child forked here can hold a
	// copy of that writable descriptor until its exec, and an exec of that other bootstrap in
	// the meantime fails with "text file busy" (golang/go#22315); it passes a moment later.
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(bootstrap)
		cmd.Dir = filepath.Dir(bootstrap)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = w, w
		p, err := procgroup.Start(ctx, cmd, procgroup.WithStopSignal(syscall.SIGKILL), procgroup.WithParentDeathSignal())
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 50 {
			return p, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// roleEnv holds the execution role's temporary credentials, when the executor has a source.
func (e *Executor) roleEnv(ctx context.Context, fn Function) (map[string]string, error) {
	env := map[string]string{}
	if e.creds == nil {
		return env, nil
	}
	creds, err := e.creds(ctx, fn)
	if err != nil {
		return nil, fmt.Errorf("getting the credentials of role %q: %w", fn.Role, err)
	}
	env["AWS_ACCESS_KEY_ID"] = creds.AccessKeyID
	env["AWS_SECRET_ACCESS_KEY"] = creds.SecretAccessKey
	if creds.SessionToken != "" {
		env["AWS_SESSION_TOKEN"] = creds.SessionToken
	}
	return env, nil
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
