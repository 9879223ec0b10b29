package runtimeapi

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestBatchesStayWithinPutLogEventsLimits(t *testing.T) {
	ev := func(size int, ms int64) types.InputLogEvent {
		return types.InputLogEvent{Message: aws.String(strings.Repeat("a", size)), Timestamp: aws.Int64(ms)}
	}
	repeat := func(n, size int) []types.InputLogEvent {
		evs := make([]types.InputLogEvent, n)
		for i := range evs {
			evs[i] = ev(size, int64(i))
		}
		return evs
	}
	day := (24 * time.Hour).Milliseconds()
	tests := []struct {
		name  string
		evs   []types.InputLogEvent
		sizes []int
	}{
		{"nothing", nil, nil},
		{"one batch", repeat(3, 10), []int{3}},
		{"10000 events per batch", repeat(10001, 1), []int{10000, 1}},
		{"1 MiB per batch, 26 bytes overhead each", repeat(5, 262144-26), []int{4, 1}},
		{"24 hours per batch", []types.InputLogEvent{ev(1, 0), ev(1, day-1), ev(1, day)}, []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := batches(tt.evs)
			if len(got) != len(tt.sizes) {
				t.Fatalf("%d batches, want %d", len(got), len(tt.sizes))
			}
			for i, b := range got {
				if len(b) != tt.sizes[i] {
					t.Errorf("batch %d has %d events, want %d", i, len(b), tt.sizes[i])
				}
			}
		})
	}
}

func TestEventsSplitLongLinesAtRuneBoundaries(t *testing.T) {
	long := strings.Repeat("é", maxEventBytes) // two bytes each
	evs := events([]logLine{{at: time.UnixMilli(5), text: long}, {at: time.UnixMilli(3), text: ""}})
	var joined strings.Builder
	for _, ev := range evs {
		if len(*ev.Message) > maxEventBytes || !utf8.ValidString(*ev.Message) {
			t.Fatalf("event of %d bytes, valid UTF-8 %v", len(*ev.Message), utf8.ValidString(*ev.Message))
		}
		joined.WriteString(*ev.Message)
	}
	if joined.String() != long+"\n\n" {
		t.Errorf("the events do not add up to the lines")
	}
	if last := evs[len(evs)-1]; *last.Timestamp != 5 || *last.Message != "\n" {
		t.Errorf("an empty line that went back in time became %q at %d, want \"\\n\" at 5", *last.Message, *last.Timestamp)
	}
}

func TestTailKeepsTheLast4096Bytes(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{[]string{"a", "b"}, "a\nb\n"},
		{[]string{strings.Repeat("x", 5000), "REPORT"}, strings.Repeat("x", 4096-len("\nREPORT\n")) + "\nREPORT\n"},
	}
	for _, tt := range tests {
		var lines []logLine
		for _, l := range tt.lines {
			lines = append(lines, logLine{text: l})
		}
		got, _ := base64.StdEncoding.DecodeString(tail(lines))
		if string(got) != tt.want {
			t.Errorf("tail(%d lines) = %.40q..., want %.40q...", len(lines), got, tt.want)
		}
	}
}

func TestUnzipKeepsModesAndRefusesEscapes(t *testing.T) {
	dir := t.TempDir()
	code := zipOf(
		zipEntry{name: "bootstrap", mode: 0o755, body: []byte("#!/bin/sh\n")},
		zipEntry{name: "lib/data.txt", mode: 0o600, body: []byte("data")},
		zipEntry{name: "link", mode: fs.ModeSymlink | 0o777, body: []byte("lib/data.txt")},
		zipEntry{name: "plain.txt", mode: 0, body: []byte("no unix mode")},
	)
	if err := unzip(code, dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"bootstrap": 0o755, "lib/data.txt": 0o600, "plain.txt": 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, err %v; want %v", name, st.Mode().Perm(), err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "link")); err != nil || string(b) != "data" {
		t.Errorf("the symbolic link reads %q, %v", b, err)
	}

	for _, name := range []string{"../escape", "/abs/path", "a/../../escape"} {
		if err := unzip(zipOf(zipEntry{name: name, mode: 0o644}), t.TempDir()); err == nil {
			t.Errorf("unzip accepted entry %q", name)
		}
	}
}
