package runtimeapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// LogsAPI is the part of the CloudWatch Logs client the executor ships logs
// with; *cloudwatchlogs.Client satisfies it.
type LogsAPI interface {
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// PutLogEvents limits (CloudWatch Logs quotas).
const (
	maxBatchEvents = 10000
	maxBatchBytes  = 1048576
	eventOverhead  = 26
	maxEventBytes  = 256*1024 - eventOverhead // the long-standing limit, safe everywhere
	maxBatchSpan   = 24 * time.Hour
	tailBytes      = 4096
)

// logLine is one line of an invocation's log.
type logLine struct {
	at   time.Time
	text string
}

// LogGroup is the log group Lambda writes the function's logs to.
func logGroup(function string) string { return names.LogGroup(function) }

// streamName is a log stream name as Lambda makes one per execution environment.
func streamName(version string, now time.Time) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("2006/01/02") + "/[" + version + "]" + hex.EncodeToString(b[:])
}

// tail is base64 of the last 4 KB of the log, as Lambda returns it for LogType=Tail.
func tail(lines []logLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	s := b.String()
	if len(s) > tailBytes {
		s = s[len(s)-tailBytes:]
	}
	return base64.StdEncoding.EncodeToString([]byte(s))
}

// ship writes lines to the function's log stream, creating the group and the
// stream when they are missing (also when a cleanup removed them meanwhile).
// Logs go to the function's region, as Lambda's do.
func (e *Executor) ship(ctx context.Context, fn Function, stream string, lines []logLine) error {
	if e.logs == nil {
		return nil
	}
	// The log is shipped even when the caller has gone, within its own deadline.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	region := func(o *cloudwatchlogs.Options) { o.Region = fn.Region }
	group := logGroup(fn.Name)
	for _, batch := range batches(events(lines)) {
		in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: batch}
		_, err := e.logs.PutLogEvents(ctx, in, region)
		var notFound *types.ResourceNotFoundException
		if errors.As(err, &notFound) {
			if err := createStream(ctx, e.logs, group, stream, region); err != nil {
				return err
			}
			_, err = e.logs.PutLogEvents(ctx, in, region)
		}
		if err != nil {
			return fmt.Errorf("putting %d log events to %s %s: %w", len(batch), group, stream, err)
		}
	}
	return nil
}

func createStream(ctx context.Context, api LogsAPI, group, stream string, optFns ...func(*cloudwatchlogs.Options)) error {
	if _, err := api.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}, optFns...); err != nil && !alreadyExists(err) {
		return fmt.Errorf("creating log group %s: %w", group, err)
	}
	if _, err := api.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream}, optFns...); err != nil && !alreadyExists(err) {
		return fmt.Errorf("creating log stream %s in %s: %w", stream, group, err)
	}
	return nil
}

func alreadyExists(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ResourceAlreadyExistsException"
}

// events turns lines into log events as Lambda writes them: one per line, each
// ending in a newline, lines longer than an event split, timestamps never going back.
func events(lines []logLine) []types.InputLogEvent {
	var out []types.InputLogEvent
	var last int64
	for _, l := range lines {
		at := max(l.at.UnixMilli(), last)
		last = at
		for _, part := range split(l.text+"\n", maxEventBytes) {
			out = append(out, types.InputLogEvent{Message: aws.String(part), Timestamp: aws.Int64(at)})
		}
	}
	return out
}

// split cuts s into parts of at most n bytes, never inside a UTF-8 sequence.
func split(s string, n int) []string {
	var parts []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = n
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return append(parts, s)
}

// batches groups chronological events into PutLogEvents calls within the
// service's limits: count, bytes (message plus 26 per event) and 24-hour span.
func batches(evs []types.InputLogEvent) [][]types.InputLogEvent {
	var out [][]types.InputLogEvent
	var cur []types.InputLogEvent
	size := 0
	for _, ev := range evs {
		n := len(*ev.Message) + eventOverhead
		if len(cur) > 0 && (len(cur) == maxBatchEvents || size+n > maxBatchBytes ||
			time.Duration(*ev.Timestamp-*cur[0].Timestamp)*time.Millisecond >= maxBatchSpan) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, ev)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// output reads what an environment's processes write to its output file and
// splits it into lines.
type output struct {
	mu      sync.Mutex
	f       *os.File
	partial []byte
	lines   []logLine
	buf     []byte
}

func openOutput(path string) (*output, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the output file: %w", err)
	}
	return &output{f: f, buf: make([]byte, 64*1024)}, nil
}

// collect reads what was written since the last call; flush also ends a last
// line that has no newline yet.
func (o *output) collect(flush bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.collectLocked(flush)
}

func (o *output) collectLocked(flush bool) {
	now := time.Now()
	for {
		n, err := o.f.Read(o.buf)
		o.partial = append(o.partial, o.buf[:n]...)
		if err != nil || n == 0 {
			if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				o.lines = append(o.lines, logLine{at: now, text: "runtimeapi: reading the function's output: " + err.Error()})
			}
			break
		}
	}
	rest := o.partial
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		o.lines = append(o.lines, logLine{at: now, text: string(rest[:i])})
		rest = rest[i+1:]
	}
	if flush && len(rest) > 0 {
		o.lines = append(o.lines, logLine{at: now, text: string(rest)})
		rest = nil
	}
	o.partial = append(o.partial[:0], rest...)
}

// take collects and returns every line not taken before.
func (o *output) take(flush bool) []logLine {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.collectLocked(flush)
	lines := o.lines
	o.lines = nil
	return lines
}

func (o *output) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = o.f.Close()
}

func splitLines(b []byte) []string { return strings.Split(string(b), "\n") }
