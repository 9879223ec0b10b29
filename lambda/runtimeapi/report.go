package runtimeapi

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"time"
)

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
