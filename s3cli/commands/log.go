package commands

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// logLevels are the values of -log-level, as storage-cli takes them.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError,
}

// parseLogLevel reads -log-level (case does not matter; "warning" is warn).
func parseLogLevel(s string) (slog.Level, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "warning" {
		v = "warn"
	}
	l, ok := logLevels[v]
	if !ok {
		return 0, fmt.Errorf("-log-level %q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

// logHandler writes one line per record: "s3cli: warn: MESSAGE" on a terminal's
// stderr, or "TIME LEVEL MESSAGE" into a -log-file. Secrets are replaced before
// anything is written (SDK request dumps carry the session token).
type logHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	level  slog.Level
	stamp  bool
	redact *func(string) string
}

func newLogHandler(w io.Writer, level slog.Level, stamp bool) *logHandler {
	id := func(s string) string { return s }
	return &logHandler{mu: &sync.Mutex{}, w: w, level: level, stamp: stamp, redact: &id}
}

// setRedactor makes every later record pass through r; called once, before
// any concurrent logging starts.
func (h *logHandler) setRedactor(r func(string) string) { *h.redact = r }

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if h.stamp {
		b.WriteString(r.Time.UTC().Format(time.RFC3339Nano))
		b.WriteString(" " + r.Level.String() + " ")
	} else {
		b.WriteString("s3cli: " + strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	line := (*h.redact)(strings.TrimRight(b.String(), "\n")) + "\n"
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line)
	return err
}

func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler { return h } // s3cli logs no attribute sets
func (h *logHandler) WithGroup(string) slog.Handler      { return h }

// openLog builds the logger of -log-level and -log-file: into the file when
// one is named (appended, mode 0600), else onto stderr.
func openLog(level, file string, stderr io.Writer) (*slog.Logger, *logHandler, func(), error) {
	l, err := parseLogLevel(level)
	if err != nil {
		return nil, nil, nil, &UsageError{err.Error()}
	}
	if file == "" {
		h := newLogHandler(stderr, l, false)
		return slog.New(h), h, func() {}, nil
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("-log-file: %w", err)
	}
	h := newLogHandler(f, l, true)
	return slog.New(h), h, func() { f.Close() }, nil
}
