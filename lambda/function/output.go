package function

import (
	"bytes"
	"io"
	"sync"
)

// lineWriter forwards whatever the child writes to out one whole line per
// Write, as each line completes, and remembers the last few lines for error
// messages. Lines from the runner itself go through Note so they never split
// a child's line.
type lineWriter struct {
	mu      sync.Mutex
	out     io.Writer
	partial []byte
	tail    []string
	keep    int
}

func newLineWriter(out io.Writer, keep int) *lineWriter {
	return &lineWriter{out: out, keep: keep}
}

// Write implements io.Writer for the child's stdout and stderr.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		w.partial = append(w.partial, p[:i+1]...)
		w.emit()
		p = p[i+1:]
	}
	// The child must never block or die on a slow or failing log sink, so errors of out are dropped.
	return n, nil
}

// Note writes one line of the runner's own.
func (w *lineWriter) Note(line string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = io.WriteString(w.out, line+"\n")
}

// Flush writes a last line that had no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.partial = append(w.partial, '\n')
		w.emit()
	}
}

// Tail returns the last lines the child wrote, oldest first.
func (w *lineWriter) Tail() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.tail...)
}

func (w *lineWriter) emit() {
	_, _ = w.out.Write(w.partial)
	line := string(bytes.TrimRight(w.partial, "\r\n"))
	if line != "" {
		w.tail = append(w.tail, line)
		if len(w.tail) > w.keep {
			w.tail = w.tail[len(w.tail)-w.keep:]
		}
	}
	w.partial = w.partial[:0]
}
