package minis3

import (
	"io"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		header     string
		start, end int64
		ok         bool
	}{
		{"bytes=0-9", 0, 9, true},
		{"bytes=5-", 5, 99, true},
		{"bytes=-10", 90, 99, true},
		{"bytes=90-200", 90, 99, true},
		{"bytes=100-", 0, 0, false},
		{"bytes=9-5", 0, 0, false},
		{"bytes=0-1,5-6", 0, 0, false},
		{"items=0-1", 0, 0, false},
	}
	for _, tt := range tests {
		s, e, ok := parseRange(tt.header, 100)
		if s != tt.start || e != tt.end || ok != tt.ok {
			t.Errorf("parseRange(%q) = %d, %d, %v", tt.header, s, e, ok)
		}
	}
}

func TestChunkedReader(t *testing.T) {
	body := "5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0;chunk-signature=def\r\nx-amz-checksum-crc32:AAAA\r\n\r\n"
	got, err := io.ReadAll(newChunkedReader(strings.NewReader(body)))
	if err != nil || string(got) != "hello world" {
		t.Errorf("decoded %q, %v", got, err)
	}
	if _, err := io.ReadAll(newChunkedReader(strings.NewReader("zz\r\n"))); err == nil {
		t.Error("bad chunk size accepted")
	}
}
