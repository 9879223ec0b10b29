package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultStallLimit is how long a request may go without progress (no byte of
// its body taken by the server, no byte of the answer arriving) before it fails.
const DefaultStallLimit = 60 * time.Second

// StallLimitEnv names the environment variable that overrides DefaultStallLimit
// with a Go duration ("2s"); meant for tests of stalled servers.
const StallLimitEnv = "S3CLI_STALL_TIMEOUT"

// stallLimit is DefaultStallLimit or the override of StallLimitEnv.
func stallLimit() (time.Duration, error) {
	v := os.Getenv(StallLimitEnv)
	if v == "" {
		return DefaultStallLimit, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive Go duration (60s, 2m)", StallLimitEnv, v)
	}
	return d, nil
}

// StallError is a request that made no progress for the stall limit. It is not
// retried: a server that stopped for a minute is reported, not waited for again.
type StallError struct {
	Limit time.Duration
	Phase string // what stopped: "the server stopped reading the request", ...
}

func (e *StallError) Error() string {
	limit := e.Limit.String()
	if e.Limit%time.Second == 0 {
		limit = fmt.Sprintf("%ds", e.Limit/time.Second) // 60s, not 1m0s
	}
	return fmt.Sprintf("no progress for %s: %s", limit, e.Phase)
}

// RetryableError tells the SDK's retryer not to retry (see retry.RetryableError).
func (e *StallError) RetryableError() bool { return false }

// Timeout marks the error as a timeout for callers that classify net errors.
func (e *StallError) Timeout() bool { return true }

// watchdog is the HTTP client the SDK sends through: every request gets a
// timer that is reset by each byte of progress in either direction and, when
// it fires, cancels the request with a StallError. The transport's own dial,
// TLS handshake and response header timeouts stay as a backstop.
type watchdog struct {
	next  aws.HTTPClient
	limit time.Duration
}

// progress is one request's timer and where it stands.
type progress struct {
	limit  time.Duration
	cancel context.CancelCauseFunc
	timer  *time.Timer

	mu       sync.Mutex
	sent     bool // the request body was read to its end (or there was none)
	answered bool // the response headers arrived
}

func (p *progress) tick() { p.timer.Reset(p.limit) }

func (p *progress) fire() {
	p.mu.Lock()
	phase := "the server stopped reading the request"
	switch {
	case p.answered:
		phase = "the answer stopped arriving"
	case p.sent:
		phase = "the server took the request and sent no answer"
	}
	p.mu.Unlock()
	p.cancel(&StallError{Limit: p.limit, Phase: phase})
}

func (p *progress) mark(sent, answered bool) {
	p.mu.Lock()
	p.sent = p.sent || sent
	p.answered = p.answered || answered
	p.mu.Unlock()
}

// Do sends req under the watchdog.
func (w *watchdog) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	p := &progress{limit: w.limit, cancel: cancel}
	p.timer = time.AfterFunc(w.limit, p.fire)
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &watchedBody{rc: req.Body, p: p, ctx: ctx, request: true}
	} else {
		p.mark(true, false)
	}
	resp, err := w.next.Do(req)
	if err != nil {
		p.timer.Stop()
		cancel(nil)
		return nil, stallCause(ctx, err)
	}
	p.mark(true, true)
	if resp.Body == nil || resp.Body == http.NoBody { // HEAD and the like: nothing more to watch
		p.timer.Stop()
		cancel(nil)
		return resp, nil
	}
	// From here the timer runs only while a Read waits for the server: a caller
	// that is slow to take the bytes (a FIFO's reader) is not the server stalling.
	p.timer.Stop()
	resp.Body = &watchedBody{rc: resp.Body, p: p, ctx: ctx}
	return resp, nil
}

// stallCause returns the StallError that cancelled ctx in place of err.
func stallCause(ctx context.Context, err error) error {
	var se *StallError
	if errors.As(context.Cause(ctx), &se) {
		return se
	}
	return err
}

// watchedBody resets the timer on every byte the server takes (request) or
// arms it for each Read that waits for the server (response); a response
// body's Close ends the request's watch.
type watchedBody struct {
	rc      io.ReadCloser
	p       *progress
	ctx     context.Context
	request bool
}

func (b *watchedBody) Read(buf []byte) (int, error) {
	if !b.request {
		b.p.tick()
		defer b.p.timer.Stop()
	}
	n, err := b.rc.Read(buf)
	if n > 0 && b.request {
		b.p.tick()
	}
	if b.request && err == io.EOF {
		b.p.mark(true, false)
	}
	if err != nil && err != io.EOF {
		err = stallCause(b.ctx, err)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.rc.Close()
	if !b.request {
		b.p.timer.Stop()
		b.p.cancel(nil)
	}
	return err
}

// unstall replaces the SDK's wrapping of a StallError inside an OpError by
// the StallError itself, so the message reads `put "k": no progress for 60s: ...`.
func unstall(err *error) {
	var (
		oe *OpError
		se *StallError
	)
	if errors.As(*err, &oe) && errors.As(oe.Err, &se) {
		oe.Err = se
	}
}
