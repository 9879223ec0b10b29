// Package runtimeapi runs Lambda deployment packages on this machine. It serves
// the Lambda Runtime API to a package's bootstrap process the way the Lambda
// service does, so unmodified runtime clients (aws-lambda-go) work against it,
// keeps processes warm between invocations, enforces the timeout, writes
// START/END/REPORT lines and ships the log to CloudWatch Logs.
package runtimeapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// Payload limits of the Lambda service.
const (
	// MaxRequestPayload is the largest synchronous invocation payload Lambda accepts.
	MaxRequestPayload = 6 * 1024 * 1024
	// MaxResponsePayload is the largest response (or error) a function may return.
	MaxResponsePayload = 6*1024*1024 + 100
)

// ErrRequestTooLarge is returned (wrapped) by Invoke for payloads over MaxRequestPayload.
var ErrRequestTooLarge = errors.New("request payload too large")

// ErrInvalidPackage is returned (wrapped) by Invoke when the deployment package cannot be unpacked.
var ErrInvalidPackage = errors.New("invalid deployment package")

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("executor closed")

// FunctionErrorUnhandled is the FunctionError Lambda reports for every failed invocation
// of a provided runtime: handler errors, panics, crashes and timeouts.
const FunctionErrorUnhandled = "Unhandled"

// Function is one function configuration and its code, as the Lambda API describes it.
type Function struct {
	Name       string            // function name
	ARN        string            // invoked function ARN; derived from Region and Name when empty
	Version    string            // "$LATEST" when empty
	Handler    string            // _HANDLER
	MemoryMB   int32             // 128 when 0
	Timeout    time.Duration     // 3s when 0, as in Lambda
	Env        map[string]string // the function's environment variables
	Region     string            // AWS_REGION and AWS_DEFAULT_REGION
	Role       string            // execution role ARN, passed to the CredentialsFunc
	Endpoint   string            // AWS_ENDPOINT_URL for the function (unless Env sets it); unset when empty
	Code       []byte            // the deployment package (zip)
	CodeSha256 string            // base64 SHA-256 of Code; computed on every Invoke when empty
}

// Result is the outcome of one invocation, as Invoke reports it to the caller.
type Result struct {
	RequestID       string
	Payload         []byte // the function's response, or the error document when FunctionError is set
	FunctionError   string // FunctionErrorUnhandled when the invocation failed, else ""
	LogResult       string // base64 of the last 4 KB of the invocation's log (Lambda's LogType=Tail)
	ExecutedVersion string
}

// CredentialsFunc returns the credentials a new execution environment of fn gets
// (usually the execution role's, from STS AssumeRole).
type CredentialsFunc func(ctx context.Context, fn Function) (aws.Credentials, error)

// Option changes how an Executor works.
type Option func(*Executor)

// WithLogs ships every invocation's log to CloudWatch Logs through api
// (group /aws/lambda/NAME, one stream per execution environment).
func WithLogs(api LogsAPI) Option { return func(e *Executor) { e.logs = api } }

// WithCredentials gives new execution environments the credentials creds returns.
func WithCredentials(creds CredentialsFunc) Option { return func(e *Executor) { e.creds = creds } }

// WithProgress writes one line per cold start and invocation to w.
func WithProgress(w io.Writer) Option { return func(e *Executor) { e.progress = w } }

// WithTempDir unpacks packages below dir instead of os.TempDir().
func WithTempDir(dir string) Option { return func(e *Executor) { e.tempDir = dir } }

// Executor runs functions in local execution environments: one bootstrap process
// per environment, reused for following invocations of the same function and code.
// It is safe for concurrent use; concurrent invocations get separate environments.
type Executor struct {
	logs     LogsAPI
	creds    CredentialsFunc
	progress io.Writer
	tempDir  string

	ctx    context.Context // lifetime of every environment; cancelled by Close
	cancel context.CancelFunc

	mu     sync.Mutex
	idle   map[string][]*instance
	all    map[*instance]struct{}
	closed bool
}

// New returns an Executor. Close it to stop every process it started.
func New(opts ...Option) *Executor {
	ctx, cancel := context.WithCancel(context.Background())
	e := &Executor{
		progress: io.Discard,
		ctx:      ctx,
		cancel:   cancel,
		idle:     map[string][]*instance{},
		all:      map[*instance]struct{}{},
	}
	for _, opt := range opts {
		opt(e)
	}
	return e
}

// Invoke runs one synchronous invocation of fn with payload. Function failures
// (handler errors, crashes, timeouts) are not errors: they come back as a Result
// with FunctionError set, as Lambda reports them. An error means the invocation
// could not be run at all.
func (e *Executor) Invoke(ctx context.Context, fn Function, payload []byte) (*Result, error) {
	if len(payload) > MaxRequestPayload {
		return nil, fmt.Errorf("invoking %q: %w: %d bytes, the limit is %d", fn.Name, ErrRequestTooLarge, len(payload), MaxRequestPayload)
	}
	fn = fn.withDefaults()
	key := fn.key()
	for {
		in, err := e.take(ctx, fn, key)
		if err != nil {
			return nil, fmt.Errorf("invoking %q: %w", fn.Name, err)
		}
		res, err := in.invoke(ctx, fn, payload)
		e.release(in)
		if errors.Is(err, errStale) {
			continue // a warm environment died while idle: Lambda starts a new one
		}
		if err != nil {
			return nil, fmt.Errorf("invoking %q: %w", fn.Name, err)
		}
		return res, nil
	}
}

// Close kills every function process and removes every unpacked package.
func (e *Executor) Close(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	all := make([]*instance, 0, len(e.all))
	for in := range e.all {
		all = append(all, in)
	}
	e.idle = map[string][]*instance{}
	e.mu.Unlock()
	e.cancel()

	var errs []error
	for _, in := range all {
		if err := in.retire(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	e.mu.Lock()
	for _, in := range all {
		delete(e.all, in)
	}
	e.mu.Unlock()
	return errors.Join(errs...)
}

// take returns an idle environment for key, or starts a new one.
func (e *Executor) take(ctx context.Context, fn Function, key string) (*instance, error) {
	var stale []*instance
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	var found *instance
	for list := e.idle[key]; len(list) > 0 && found == nil; list = e.idle[key] {
		in := list[len(list)-1]
		e.idle[key] = list[:len(list)-1]
		if in.alive() {
			found = in
		} else {
			stale = append(stale, in)
		}
	}
	if found == nil {
		// Environments of an older configuration or code of this function are not used again.
		for k, list := range e.idle {
			if k != key && len(list) > 0 && list[0].name == fn.Name {
				stale = append(stale, list...)
				delete(e.idle, k)
			}
		}
	}
	e.mu.Unlock()
	for _, in := range stale {
		e.forget(in)
	}
	if found != nil {
		return found, nil
	}

	in, err := e.start(ctx, fn, key)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = in.retire(ctx)
		return nil, ErrClosed
	}
	e.all[in] = struct{}{}
	return in, nil
}

// release puts a healthy environment back in the pool and retires any other.
func (e *Executor) release(in *instance) {
	e.mu.Lock()
	if !e.closed && in.alive() {
		e.idle[in.key] = append(e.idle[in.key], in)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	e.forget(in)
}

// forget retires an environment and drops it from the executor.
func (e *Executor) forget(in *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.retire(ctx); err != nil {
		e.logf("runtimeapi: retiring an environment of %s: %v", in.name, err)
	}
	e.mu.Lock()
	delete(e.all, in)
	e.mu.Unlock()
}

func (e *Executor) logf(format string, args ...any) {
	fmt.Fprintf(e.progress, format+"\n", args...)
}

func (fn Function) withDefaults() Function {
	if fn.Version == "" {
		fn.Version = "$LATEST"
	}
	if fn.MemoryMB == 0 {
		fn.MemoryMB = 128
	}
	if fn.Timeout == 0 {
		fn.Timeout = 3 * time.Second
	}
	if fn.Region == "" {
		fn.Region = "us-east-1"
	}
	if fn.ARN == "" {
		fn.ARN = fmt.Sprintf("arn:aws:lambda:%s:123456789012:function:%s", fn.Region, fn.Name)
	}
	if fn.CodeSha256 == "" {
		fn.CodeSha256 = names.CodeSHA256(fn.Code)
	}
	return fn
}

// key identifies the environments that can serve fn: same code and same settings.
// The timeout is left out: the executor enforces it, the process never sees it.
func (fn Function) key() string {
	b, _ := json.Marshal(struct {
		Name, ARN, Version, Handler, Region, Role, Endpoint, CodeSha256 string
		MemoryMB                                                        int32
		Env                                                             map[string]string
	}{fn.Name, fn.ARN, fn.Version, fn.Handler, fn.Region, fn.Role, fn.Endpoint, fn.CodeSha256, fn.MemoryMB, fn.Env})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// tempRoot is where packages are unpacked.
func (e *Executor) tempRoot() string {
	if e.tempDir != "" {
		return e.tempDir
	}
	return os.TempDir()
}
