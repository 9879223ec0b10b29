package runtimeapi

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// handlerZip is the deployment package of testdata/handler, built by TestMain.
var handlerZip []byte

const hostMarker = "RUNTIMEAPI_TEST_HOST_ONLY"

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "runtimeapi-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		handlerZip, err = buildHandler(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the test handler:", err)
			return 1
		}
		os.Setenv(hostMarker, "must not reach the function")
		return m.Run()
	}())
}

// buildHandler builds testdata/handler as Lambda's provided runtimes want it and zips it.
func buildHandler(dir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./testdata/handler")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return zipOf(zipEntry{name: "bootstrap", mode: 0o755, body: b}), nil
}

type zipEntry struct {
	name string
	mode fs.FileMode
	body []byte
}

func zipOf(entries ...zipEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			panic(err)
		}
		_, _ = w.Write(e.body)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// newExecutor returns an executor closed at the end of the test, with every
// environment below a test directory that must be empty by then.
func newExecutor(t *testing.T, opts ...Option) *Executor {
	t.Helper()
	dir := t.TempDir()
	e := New(append([]Option{WithTempDir(dir)}, opts...)...)
	t.Cleanup(func() {
		if err := e.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("Close left %d entries in %s", len(left), dir)
		}
	})
	return e
}

func testFunction(name string) Function {
	return Function{
		Name:     name,
		Handler:  "bootstrap",
		Region:   "eu-west-1",
		Timeout:  5 * time.Second,
		MemoryMB: 256,
		Env:      map[string]string{"GREETING": "hello", "HANDLER_INIT": ""},
		Role:     "arn:aws:iam::123456789012:role/test",
		Endpoint: "http://127.0.0.1:1",
		Code:     handlerZip,
	}
}

type handlerInfo struct {
	Pid        int               `json:"pid"`
	RequestID  string            `json:"request_id"`
	ARN        string            `json:"arn"`
	DeadlineMs int64             `json:"deadline_ms"`
	Cwd        string            `json:"cwd"`
	Env        map[string]string `json:"env"`
	Size       int               `json:"size"`
}

type errorDocument struct {
	Type       string            `json:"errorType"`
	Message    string            `json:"errorMessage"`
	StackTrace []json.RawMessage `json:"stackTrace"`
}

func invoke(t *testing.T, e *Executor, fn Function, event string) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := e.Invoke(ctx, fn, []byte(event))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	return res
}

func info(t *testing.T, res *Result) handlerInfo {
	t.Helper()
	if res.FunctionError != "" {
		t.Fatalf("FunctionError = %q, payload %s", res.FunctionError, res.Payload)
	}
	var i handlerInfo
	if err := json.Unmarshal(res.Payload, &i); err != nil {
		t.Fatalf("decoding the handler's response %.200q: %v", res.Payload, err)
	}
	return i
}

func errDoc(t *testing.T, res *Result) errorDocument {
	t.Helper()
	if res.FunctionError != FunctionErrorUnhandled {
		t.Fatalf("FunctionError = %q, want Unhandled; payload %.300s", res.FunctionError, res.Payload)
	}
	var d errorDocument
	if err := json.Unmarshal(res.Payload, &d); err != nil {
		t.Fatalf("decoding the error document %.300q: %v", res.Payload, err)
	}
	return d
}

func logTail(t *testing.T, res *Result) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(res.LogResult)
	if err != nil {
		t.Fatalf("LogResult is not base64: %v", err)
	}
	return string(b)
}

var reportLine = regexp.MustCompile(`REPORT RequestId: ([0-9a-f-]{36})\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: (\d+) MB\tMax Memory Used: (\d+) MB[^\n]*\n$`)

// checkReport checks that the log tail ends with the invocation's REPORT line.
func checkReport(t *testing.T, res *Result, fn Function) string {
	t.Helper()
	tail := logTail(t, res)
	m := reportLine.FindStringSubmatch(tail)
	if m == nil {
		t.Fatalf("log tail does not end with a REPORT line:\n%s", tail)
	}
	if m[1] != res.RequestID || m[2] != fmt.Sprint(fn.MemoryMB) {
		t.Errorf("REPORT line names request %s and %s MB, want %s and %d MB", m[1], m[2], res.RequestID, fn.MemoryMB)
	}
	if !strings.Contains(tail, "\nEND RequestId: "+res.RequestID+"\n") {
		t.Errorf("log tail lacks the END line:\n%s", tail)
	}
	if len(tail) < 4096 && !strings.Contains(tail, "START RequestId: "+res.RequestID+" Version: $LATEST\n") {
		t.Errorf("log tail lacks the START line:\n%s", tail)
	}
	return tail
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestInvokeHandsTheEventToTheRuntimeWithLambdasEnvironment(t *testing.T) {
	var calls atomic.Int32
	e := newExecutor(t, WithCredentials(func(ctx context.Context, fn Function) (aws.Credentials, error) {
		calls.Add(1)
		return aws.Credentials{AccessKeyID: "ASIAROLE", SecretAccessKey: "role-secret", SessionToken: "role-token"}, nil
	}))
	fn := testFunction("env-check")
	start := time.Now()
	res := invoke(t, e, fn, `{"action":"echo"}`)
	got := info(t, res)

	if got.RequestID != res.RequestID || got.ARN != "arn:aws:lambda:eu-west-1:123456789012:function:env-check" {
		t.Errorf("runtime saw request %q, ARN %q; want %q and the function's ARN", got.RequestID, got.ARN, res.RequestID)
	}
	if d := time.UnixMilli(got.DeadlineMs).Sub(start); d < fn.Timeout-time.Millisecond || d > fn.Timeout+time.Since(start) {
		t.Errorf("deadline is %v after the invoke began, want the 5s timeout after the event was handed over", d)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "env-check",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/env-check",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"_HANDLER":                        "bootstrap",
		"TZ":                              ":UTC",
		"GREETING":                        "hello",
		"AWS_ACCESS_KEY_ID":               "ASIAROLE",
		"AWS_SECRET_ACCESS_KEY":           "role-secret",
		"AWS_SESSION_TOKEN":               "role-token",
		"AWS_ENDPOINT_URL":                "http://127.0.0.1:1",
		"LAMBDA_TASK_ROOT":                got.Cwd,
	}
	for k, v := range want {
		if got.Env[k] != v {
			t.Errorf("%s = %q, want %q", k, got.Env[k], v)
		}
	}
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(got.Env["AWS_LAMBDA_LOG_STREAM_NAME"]) {
		t.Errorf("AWS_LAMBDA_LOG_STREAM_NAME = %q, not Lambda's form", got.Env["AWS_LAMBDA_LOG_STREAM_NAME"])
	}
	if !strings.HasPrefix(got.Env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:") || got.Env["LAMBDA_RUNTIME_DIR"] == "" {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, LAMBDA_RUNTIME_DIR = %q", got.Env["AWS_LAMBDA_RUNTIME_API"], got.Env["LAMBDA_RUNTIME_DIR"])
	}
	if _, leaked := got.Env[hostMarker]; leaked {
		t.Errorf("the host's environment leaked into the function")
	}
	if res.ExecutedVersion != "$LATEST" {
		t.Errorf("ExecutedVersion = %q", res.ExecutedVersion)
	}
	tail := checkReport(t, res, fn)
	if !strings.Contains(tail, "init: starting the runtime\nSTART") || !strings.Contains(tail, "\tInit Duration: ") {
		t.Errorf("a cold start's log shows the init output before START and an Init Duration:\n%s", tail)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("credentials fetched %d times for one environment", n)
	}
}

func TestWarmInvocationsReuseOneProcess(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("warm")
	first := info(t, invoke(t, e, fn, `{}`))
	for i := range 3 {
		res := invoke(t, e, fn, `{}`)
		if got := info(t, res); got.Pid != first.Pid {
			t.Fatalf("invocation %d ran in pid %d, the first in %d", i+2, got.Pid, first.Pid)
		}
		if tail := checkReport(t, res, fn); strings.Contains(tail, "Init Duration") {
			t.Errorf("a warm invocation reports an Init Duration:\n%s", tail)
		}
	}

	// A new code version gets a new process, and the old one is stopped.
	fn.Code = zipOf(zipEntry{name: "bootstrap", mode: 0o755, body: mustUnzipBootstrap(t)}, zipEntry{name: "extra.txt", mode: 0o644, body: []byte("v2")})
	if got := info(t, invoke(t, e, fn, `{}`)); got.Pid == first.Pid {
		t.Errorf("new code ran in the old process %d", got.Pid)
	}
	waitGone(t, first.Pid)
}

func mustUnzipBootstrap(t *testing.T) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(handlerZip), int64(len(handlerZip)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := readAll(zr.File[0], 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !processGone(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestConcurrentInvocationsGetSeparateEnvironments(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("concurrent")
	var wg sync.WaitGroup
	pids := make([]int, 2)
	for i := range pids {
		wg.Go(func() {
			res, err := e.Invoke(context.Background(), fn, []byte(`{"action":"echo"}`))
			if err != nil {
				t.Error(err)
				return
			}
			var got handlerInfo
			if err := json.Unmarshal(res.Payload, &got); err != nil || res.FunctionError != "" {
				t.Errorf("invocation %d: FunctionError %q, payload %s (%v)", i, res.FunctionError, res.Payload, err)
				return
			}
			pids[i] = got.Pid
		})
	}
	wg.Wait()
	if pids[0] == 0 || pids[0] == pids[1] {
		t.Errorf("concurrent invocations ran in pids %v, want two processes", pids)
	}
}

func TestHandlerErrorIsUnhandledAndKeepsTheProcess(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("handler-error")
	before := info(t, invoke(t, e, fn, `{}`))
	res := invoke(t, e, fn, `{"action":"error"}`)
	d := errDoc(t, res)
	if d.Type != "errorString" || d.Message != "the handler failed on purpose" {
		t.Errorf("error document = %+v, want aws-lambda-go's errorString", d)
	}
	tail := checkReport(t, res, fn)
	if !strings.Contains(tail, `"errorMessage":"the handler failed on purpose"`) {
		t.Errorf("the runtime's error line is missing from the log:\n%s", tail)
	}
	if after := info(t, invoke(t, e, fn, `{}`)); after.Pid != before.Pid {
		t.Errorf("a handled error replaced the process (%d, then %d)", before.Pid, after.Pid)
	}
}

func TestPanicIsUnhandledAndTheNextInvocationStartsANewProcess(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("panics")
	before := info(t, invoke(t, e, fn, `{}`))
	res := invoke(t, e, fn, `{"action":"panic"}`)
	d := errDoc(t, res)
	if d.Message != "the handler panicked on purpose" || len(d.StackTrace) == 0 {
		t.Errorf("error document = %+v, want the panic's message and a stack trace", d)
	}
	checkReport(t, res, fn)
	after := info(t, invoke(t, e, fn, `{}`))
	if after.Pid == before.Pid {
		t.Errorf("the invocation after a panic ran in the panicked process %d", after.Pid)
	}
	waitGone(t, before.Pid)
}

func TestExitIsRuntimeExitError(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("exits")
	res := invoke(t, e, fn, `{"action":"exit","code":3}`)
	d := errDoc(t, res)
	if d.Type != "Runtime.ExitError" || !strings.Contains(d.Message, "Runtime exited with error: exit status 3") ||
		!strings.Contains(d.Message, res.RequestID) {
		t.Errorf("error document = %+v", d)
	}
	tail := checkReport(t, res, fn)
	for _, want := range []string{"exiting with 3\n", "Runtime exited with error: exit status 3\nRuntime.ExitError\n", "Status: error\tError Type: Runtime.ExitError"} {
		if !strings.Contains(tail, want) {
			t.Errorf("log tail lacks %q:\n%s", want, tail)
		}
	}
	info(t, invoke(t, e, fn, `{}`)) // a new environment serves the next one
}

func TestTimeoutKillsTheProcess(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("times-out")
	fn.Timeout = time.Second
	pid := info(t, invoke(t, e, fn, `{}`)).Pid

	start := time.Now()
	res := invoke(t, e, fn, `{"action":"sleep","ms":20000}`)
	if took := time.Since(start); took < time.Second || took > 3*time.Second {
		t.Errorf("a 1s timeout took %v", took)
	}
	d := errDoc(t, res)
	if d.Type != "Sandbox.Timedout" || d.Message != "RequestId: "+res.RequestID+" Error: Task timed out after 1.00 seconds" {
		t.Errorf("error document = %+v", d)
	}
	tail := checkReport(t, res, fn)
	if !regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `+res.RequestID+` Task timed out after 1\.00 seconds\n`).MatchString(tail) ||
		!strings.Contains(tail, "sleeping 20000 ms\n") || !strings.Contains(tail, "\tStatus: timeout\n") {
		t.Errorf("log tail lacks the function output or the timeout lines:\n%s", tail)
	}
	waitGone(t, pid)
	info(t, invoke(t, e, fn, `{}`))
}

func TestPayloadLimits(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("payloads")

	// The largest request Lambda takes reaches the handler whole.
	prefix := `{"action":"echo","pad":"`
	event := prefix + strings.Repeat("p", MaxRequestPayload-len(prefix)-2) + `"}`
	if got := info(t, invoke(t, e, fn, event)); got.Size != MaxRequestPayload {
		t.Errorf("the handler got %d bytes, want %d", got.Size, MaxRequestPayload)
	}
	if _, err := e.Invoke(context.Background(), fn, []byte(event+" ")); !errors.Is(err, ErrRequestTooLarge) {
		t.Errorf("a request one byte over the limit: err = %v, want ErrRequestTooLarge", err)
	}

	// The largest response comes back whole; one byte more is Lambda's error.
	res := invoke(t, e, fn, fmt.Sprintf(`{"action":"big","size":%d}`, MaxResponsePayload-2))
	if res.FunctionError != "" || len(res.Payload) != MaxResponsePayload {
		t.Errorf("a response at the limit: FunctionError %q, %d bytes", res.FunctionError, len(res.Payload))
	}
	res = invoke(t, e, fn, fmt.Sprintf(`{"action":"big","size":%d}`, MaxResponsePayload-1))
	if d := errDoc(t, res); d.Type != "Function.ResponseSizeTooLarge" || !strings.Contains(d.Message, "6291556 bytes") {
		t.Errorf("error document = %+v", d)
	}
	checkReport(t, res, fn)
	info(t, invoke(t, e, fn, `{}`))
}

func TestInitFailures(t *testing.T) {
	tests := []struct {
		init, errType, logged string
	}{
		{"exit", "Runtime.ExitError", "init: exiting before the runtime starts\n"},
		{"error", "Init.Broken", "START RequestId"},
	}
	for _, tt := range tests {
		t.Run(tt.init, func(t *testing.T) {
			e := newExecutor(t)
			fn := testFunction("init-" + tt.init)
			fn.Env = map[string]string{"HANDLER_INIT": tt.init}
			res := invoke(t, e, fn, `{}`)
			if d := errDoc(t, res); d.Type != tt.errType {
				t.Errorf("error document = %+v, want type %s", d, tt.errType)
			}
			if tail := checkReport(t, res, fn); !strings.Contains(tail, tt.logged) {
				t.Errorf("log tail lacks %q:\n%s", tt.logged, tail)
			}
		})
	}
}

func TestPackageProblems(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("no-bootstrap")
	fn.Code = zipOf(zipEntry{name: "handler.py", mode: 0o644, body: []byte("print(1)")})
	res := invoke(t, e, fn, `{}`)
	if d := errDoc(t, res); d.Type != "Runtime.InvalidEntrypoint" || !strings.Contains(d.Message, "bootstrap") {
		t.Errorf("a package without bootstrap: error document = %+v", d)
	}
	checkReport(t, res, fn)

	fn.Code = []byte("not a zip")
	if _, err := e.Invoke(context.Background(), fn, []byte(`{}`)); !errors.Is(err, ErrInvalidPackage) {
		t.Errorf("a package that is not a zip: err = %v, want ErrInvalidPackage", err)
	}
}

func TestLogTailIsTheLast4KBEndingWithTheReportLine(t *testing.T) {
	e := newExecutor(t)
	fn := testFunction("chatty")
	res := invoke(t, e, fn, `{"action":"print","lines":300}`)
	tail := checkReport(t, res, fn)
	if len(tail) != 4096 {
		t.Errorf("log tail is %d bytes, want 4096", len(tail))
	}
	if !strings.Contains(tail, "stderr line 299\nno newline at the end\nEND RequestId:") {
		t.Errorf("the last output lines are missing before END:\n%s", tail)
	}
}

// cwl records what the executor ships, answering as CloudWatch Logs does for
// a group or stream that does not exist.
type cwl struct {
	mu      sync.Mutex
	streams map[string][]types.InputLogEvent
	groups  map[string]bool
	calls   int
}

func (c *cwl) CreateLogGroup(_ context.Context, in *cloudwatchlogs.CreateLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups[*in.LogGroupName] = true
	return &cloudwatchlogs.CreateLogGroupOutput{}, nil
}

func (c *cwl) CreateLogStream(_ context.Context, in *cloudwatchlogs.CreateLogStreamInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.groups[*in.LogGroupName] {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no group")}
	}
	key := *in.LogGroupName + " " + *in.LogStreamName
	if _, ok := c.streams[key]; ok {
		return nil, &types.ResourceAlreadyExistsException{Message: aws.String("exists")}
	}
	c.streams[key] = nil
	return &cloudwatchlogs.CreateLogStreamOutput{}, nil
}

func (c *cwl) PutLogEvents(_ context.Context, in *cloudwatchlogs.PutLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	key := *in.LogGroupName + " " + *in.LogStreamName
	if _, ok := c.streams[key]; !ok {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no stream")}
	}
	size := 0
	for _, ev := range in.LogEvents {
		size += len(*ev.Message) + 26
	}
	if len(in.LogEvents) > 10000 || size > 1048576 {
		return nil, &types.InvalidParameterException{Message: aws.String("batch too large")}
	}
	c.streams[key] = append(c.streams[key], in.LogEvents...)
	return &cloudwatchlogs.PutLogEventsOutput{}, nil
}

func TestLogsAreShippedToTheFunctionsStream(t *testing.T) {
	logs := &cwl{streams: map[string][]types.InputLogEvent{}, groups: map[string]bool{}}
	e := newExecutor(t, WithLogs(logs))
	fn := testFunction("shipped")
	pid := info(t, invoke(t, e, fn, `{}`))
	stream := pid.Env["AWS_LAMBDA_LOG_STREAM_NAME"]
	res := invoke(t, e, fn, `{"action":"print","lines":20000}`)

	logs.mu.Lock()
	defer logs.mu.Unlock()
	evs := logs.streams["/aws/lambda/shipped "+stream]
	var text strings.Builder
	for i, ev := range evs {
		if !strings.HasSuffix(*ev.Message, "\n") {
			t.Fatalf("event %d %q does not end with a newline, as Lambda's do", i, *ev.Message)
		}
		if i > 0 && *ev.Timestamp < *evs[i-1].Timestamp {
			t.Fatalf("event %d goes back in time", i)
		}
		text.WriteString(*ev.Message)
	}
	all := text.String()
	if n := len(evs); n != 1+2*3+40000+1 {
		t.Errorf("shipped %d events, want the init line, START/END/REPORT twice, 40000 output lines and the last partial line", n)
	}
	if logs.calls < 3 {
		t.Errorf("40000 lines went out in %d PutLogEvents calls, want batches", logs.calls)
	}
	if !strings.HasPrefix(all, "init: starting the runtime\nSTART RequestId: ") ||
		!strings.Contains(all, "stdout line 19999\nstderr line 19999\nno newline at the end\nEND RequestId: "+res.RequestID+"\nREPORT RequestId: "+res.RequestID) {
		t.Errorf("the shipped log is not the invocations' output in order")
	}
}

func TestCloseKillsProcessesAndRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	e := New(WithTempDir(dir))
	got := info(t, invoke(t, e, testFunction("closing"), `{}`))
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitGone(t, got.Pid)
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("Close left %v", left)
	}
	if _, err := e.Invoke(context.Background(), testFunction("closing"), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close: err = %v, want ErrClosed", err)
	}
}
