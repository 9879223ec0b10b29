package minis3

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestIfMatchOnGetAndAnUnfinishedUpload(t *testing.T) {
	s := New("")
	s.CreateBucket("b")
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(method, path, ifMatch, body string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if ifMatch != "" {
			req.Header.Set("If-Match", ifMatch)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	etag := do(http.MethodPut, "/b/k", "", "hello").Header.Get("ETag")
	if got := do(http.MethodGet, "/b/k", etag, "").StatusCode; got != 200 {
		t.Errorf("GET with the right If-Match: %d", got)
	}
	if got := do(http.MethodGet, "/b/k", `"other"`, "").StatusCode; got != http.StatusPreconditionFailed {
		t.Errorf("GET with another If-Match: %d, want 412", got)
	}
	if keys := s.Keys("b"); len(keys) != 1 || keys[0] != "k" {
		t.Errorf("keys %v", keys)
	}
	if got := do(http.MethodPost, "/b/big?uploads", "", "").StatusCode; got != 200 {
		t.Fatalf("CreateMultipartUpload: %d", got)
	}
	if up := s.Uploads("b"); len(up) != 1 || !strings.HasPrefix(up[0], "big ") {
		t.Errorf("uploads %v", up)
	}
	s.DeleteObject("b", "k")
	if keys := s.Keys("b"); len(keys) != 0 {
		t.Errorf("keys after delete %v", keys)
	}
}
