package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestAnAnswerCutShortUpstreamBecomesA502: an upstream that resets the connection in the middle
// of an answer gets the client a 502 (which the SDK retries), not a 200 cut short; a whole
// answer passes unchanged.
func TestAnAnswerCutShortUpstreamBecomesA502(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				if req.URL.Path == "/whole" {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nwhole")
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n<Result>cut")
				c.(*net.TCPConn).SetLinger(0) // a reset, as moto's server sometimes sends
			}()
		}
	}()
	g := startWith(t, Config{Upstream: "http://" + ln.Addr().String(), AWS: config("", "k", "s"), Log: t.Output()})

	resp, err := http.Get(g.URL() + "/cut")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("an answer cut short came through as %d %q, want 502", resp.StatusCode, body)
	}
	resp, err = http.Get(g.URL() + "/whole")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.EqualFold(string(body), "whole") {
		t.Errorf("a whole answer came through as %d %q", resp.StatusCode, body)
	}
}
