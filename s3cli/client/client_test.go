package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/s3cli-dev/s3cli/s3cli/internal/minis3"

	"github.com/s3cli-dev/s3cli/s3cli/config"
)

const testBucket = "test-bucket"

// harness is a minis3 (gofakes3) server behind a recording, fault-injecting handler.
type harness struct {
	t    *testing.T
	srv  *minis3.Server
	http *httptest.Server

	mu    sync.Mutex
	reqs  []*http.Request
	fault func(w http.ResponseWriter, r *http.Request) bool // true: handled, do not serve
}

func newHarness(t *testing.T, tlsServer bool) *harness {
	t.Helper()
	h := &harness{t: t, srv: minis3.New("")}
	h.srv.CreateBucket(testBucket)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.reqs = append(h.reqs, r.Clone(context.Background()))
		fault := h.fault
		h.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		h.srv.ServeHTTP(w, r)
	})
	h.http = httptest.NewUnstartedServer(handler)
	// The faults cut connections gofakes3 then writes to; its complaints are expected.
	h.http.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsServer {
		h.http.StartTLS()
	} else {
		h.http.Start()
	}
	t.Cleanup(h.http.Close)
	return h
}

func (h *harness) setFault(f func(w http.ResponseWriter, r *http.Request) bool) {
	h.mu.Lock()
	h.fault = f
	h.mu.Unlock()
}

// requests returns the recorded requests that match pred.
func (h *harness) requests(pred func(r *http.Request) bool) []*http.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*http.Request
	for _, r := range h.reqs {
		if pred(r) {
			out = append(out, r)
		}
	}
	return out
}

func isUploadPart(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber")
}

func isRangedGet(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Range") != ""
}

// client builds a Client for the harness from a config document, so the
// config goes through the real parser and validation.
func (h *harness) client(fields map[string]any) *Client {
	h.t.Helper()
	doc := map[string]any{
		"bucket_name": testBucket, "host": h.http.URL,
		"access_key_id": "AKIDTEST", "secret_access_key": "test-secret",
	}
	for k, v := range fields {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	data, _ := json.Marshal(doc)
	cfg, err := config.Parse(data, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := New(context.Background(), cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func randomFile(t *testing.T, dir string, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{byte(size)})
	_, _ = rng.Read(data)
	p := filepath.Join(dir, fmt.Sprintf("src-%d", size))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// breakAfter serves the real response but cuts the connection after n body bytes.
func breakAfter(h *harness, w http.ResponseWriter, r *http.Request, n int) {
	bw := &breakingWriter{ResponseWriter: w, left: n}
	h.srv.ServeHTTP(bw, r)
}

type breakingWriter struct {
	http.ResponseWriter
	left   int
	broken bool
}

func (b *breakingWriter) Write(p []byte) (int, error) {
	if b.broken {
		return 0, io.ErrClosedPipe
	}
	if len(p) <= b.left {
		b.left -= len(p)
		return b.ResponseWriter.Write(p)
	}
	n, _ := b.ResponseWriter.Write(p[:b.left])
	b.broken = true
	if conn, _, err := http.NewResponseController(b.ResponseWriter).Hijack(); err == nil {
		conn.Close()
	}
	return n, io.ErrClosedPipe
}

func TestPutMultipartThenParallelGet(t *testing.T) {
	h := newHarness(t, false)
	// Check each part's CRC32 against its bytes on the way in.
	var crcErr error
	var crcMu sync.Mutex
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !isUploadPart(r) {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		want := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body)))
		if got := r.Header.Get("X-Amz-Checksum-Crc32"); got != want {
			crcMu.Lock()
			crcErr = fmt.Errorf("part %s: x-amz-checksum-crc32 %q, want %q", r.URL.Query().Get("partNumber"), got, want)
			crcMu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return false
	})
	c := h.client(map[string]any{"upload_part_size": 5 << 20, "upload_concurrency": 3, "download_part_size": 1 << 20, "download_concurrency": 4, "folder_name": "f"})
	dir := t.TempDir()
	src, data := randomFile(t, dir, 23<<20+17)
	ctx := context.Background()
	if err := c.Put(ctx, src, "big"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.requests(isUploadPart)); n != 5 {
		t.Errorf("%d UploadPart requests, want 5", n)
	}
	for _, r := range h.requests(isUploadPart) {
		if got := r.Header.Get("X-Amz-Content-Sha256"); got != "UNSIGNED-PAYLOAD" {
			t.Errorf("a part with a CRC32 signs its payload hash %q, want UNSIGNED-PAYLOAD (no second read for SHA-256)", got)
		}
	}
	if crcErr != nil {
		t.Error(crcErr)
	}
	if keys := h.srv.Keys(testBucket); len(keys) != 1 || keys[0] != "f/big" {
		t.Errorf("keys %v, want [f/big]", keys)
	}
	out := filepath.Join(dir, "out")
	if err := c.Get(ctx, "big", out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, data) {
		t.Fatal("downloaded bytes differ")
	}
	if n := len(h.requests(isRangedGet)); n != 24 {
		t.Errorf("%d ranged GETs, want 24", n)
	}
	for _, r := range h.requests(isRangedGet) {
		if r.Header.Get("If-Match") == "" {
			t.Fatal("ranged GET without If-Match")
		}
	}
	assertOnly(t, dir, "out", filepath.Base(src))
}

func TestPutSmallFileIsOnePut(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(nil)
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 1000)
	if err := c.Put(context.Background(), src, "small"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.requests(func(r *http.Request) bool { return r.Method == http.MethodPut })); n != 1 {
		t.Errorf("%d PUTs, want 1", n)
	}
	if n := len(h.requests(func(r *http.Request) bool { return r.Method == http.MethodPost })); n != 0 {
		t.Errorf("%d POSTs (multipart), want 0", n)
	}
	put := h.requests(func(r *http.Request) bool { return r.Method == http.MethodPut })[0]
	if put.Header.Get("X-Amz-Checksum-Crc32") == "" || put.Header.Get("X-Amz-Content-Sha256") != "UNSIGNED-PAYLOAD" {
		t.Errorf("PUT with CRC32 %q and payload hash %q, want a CRC32 and UNSIGNED-PAYLOAD",
			put.Header.Get("X-Amz-Checksum-Crc32"), put.Header.Get("X-Amz-Content-Sha256"))
	}
	t.Setenv(SignedPayloadEnv, "1")
	if err := h.client(nil).Put(context.Background(), src, "signed"); err != nil {
		t.Fatal(err)
	}
	put = h.requests(func(r *http.Request) bool { return r.Method == http.MethodPut })[1]
	if got := put.Header.Get("X-Amz-Content-Sha256"); len(got) != 64 {
		t.Errorf("with %s=1 the PUT signs payload hash %q, want its SHA-256", SignedPayloadEnv, got)
	}
}

func TestPutFromPipeUsesBoundedBuffers(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"upload_part_size": 5 << 20, "upload_concurrency": 2, "uploader_request_checksum_calculation_enabled": false})
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	data := make([]byte, 12<<20+5)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(data)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = f.Write(data)
		f.Close()
	}()
	if err := c.Put(context.Background(), fifo, "streamed"); err != nil {
		t.Fatal(err)
	}
	parts := h.requests(isUploadPart)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	for _, r := range parts {
		if r.Header.Get("X-Amz-Checksum-Crc32") != "" {
			t.Error("uploader checksums are off, but a part carries a CRC32")
		}
		if got := r.Header.Get("X-Amz-Content-Sha256"); len(got) != 64 {
			t.Errorf("a part without a CRC32 must sign its SHA-256, got %q", got)
		}
	}
	out := filepath.Join(dir, "out")
	if err := c.Get(context.Background(), "streamed", out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("streamed upload differs")
	}
}

func TestPutAbortsMultipartUploadOnPartFailure(t *testing.T) {
	h := newHarness(t, false)
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isUploadPart(r) && r.URL.Query().Get("partNumber") == "3" {
			// Read the part first, as S3 does: answering before the body is in makes the
			// server reset the connection, and the client sees a reset instead of the 403.
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return true
		}
		return false
	})
	c := h.client(map[string]any{"upload_part_size": 5 << 20, "upload_concurrency": 2})
	src, _ := randomFile(t, t.TempDir(), 21<<20)
	err := c.Put(context.Background(), src, "doomed")
	if err == nil {
		t.Fatal("put succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, `put "doomed": part 3: AccessDenied: Access Denied (HTTP 403)`) || strings.Contains(msg, "operation error") {
		t.Errorf("error %q", msg)
	}
	if n := len(h.requests(func(r *http.Request) bool { return r.Method == http.MethodDelete && r.URL.Query().Has("uploadId") })); n != 1 {
		t.Errorf("%d AbortMultipartUpload calls, want 1", n)
	}
	if up := h.srv.Uploads(testBucket); len(up) != 0 {
		t.Errorf("uploads left: %v", up)
	}
	if keys := h.srv.Keys(testBucket); len(keys) != 0 {
		t.Errorf("object created: %v", keys)
	}
	if n := len(h.requests(func(r *http.Request) bool { return r.Method == http.MethodPost && r.URL.Query().Has("uploadId") })); n != 0 {
		t.Error("CompleteMultipartUpload was called")
	}
}

func TestPutAbortsMultipartUploadOnCancel(t *testing.T) {
	h := newHarness(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isUploadPart(r) && r.URL.Query().Get("partNumber") == "2" {
			cancel() // Ctrl-C while part 2 is on its way
		}
		return false
	})
	c := h.client(map[string]any{"upload_part_size": 5 << 20, "upload_concurrency": 1})
	src, _ := randomFile(t, t.TempDir(), 26<<20)
	if err := c.Put(ctx, src, "cancelled"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if up := h.srv.Uploads(testBucket); len(up) != 0 {
		t.Errorf("uploads left: %v", up)
	}
	if n := len(h.requests(isUploadPart)); n > 3 {
		t.Errorf("%d parts sent after the cancel", n)
	}
}

func TestGetResumesABrokenBody(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"download_part_size": 1 << 20, "download_concurrency": 2})
	dir := t.TempDir()
	src, data := randomFile(t, dir, 5<<20+3)
	if err := c.Put(context.Background(), src, "k"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		handled := false
		if r.Header.Get("Range") == "bytes=2097152-3145727" {
			once.Do(func() { breakAfter(h, w, r, 300000); handled = true })
		}
		return handled
	})
	out := filepath.Join(dir, "out")
	if err := c.Get(context.Background(), "k", out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("resumed download differs")
	}
	resumed := h.requests(func(r *http.Request) bool {
		return r.Header.Get("Range") == fmt.Sprintf("bytes=%d-3145727", 2097152+300000)
	})
	if len(resumed) != 1 {
		t.Errorf("%d resumed requests from the break point, want 1", len(resumed))
	}
}

func TestFailedGetLeavesTargetAndNoTemporaryFile(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"download_part_size": 1 << 20, "download_concurrency": 3})
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 4<<20)
	if err := c.Put(context.Background(), src, "k"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "target")
	if err := os.WriteFile(out, []byte("old contents"), 0o640); err != nil {
		t.Fatal(err)
	}
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") == "bytes=3145728-4194303" {
			breakAfter(h, w, r, 1000) // this part always breaks
			return true
		}
		return false
	})
	err := c.Get(context.Background(), "k", out)
	if err == nil {
		t.Fatal("get succeeded")
	}
	if !strings.Contains(err.Error(), `get "k": bytes 3145728-4194303`) {
		t.Errorf("error %q does not name the failed range", err)
	}
	if got, _ := os.ReadFile(out); string(got) != "old contents" {
		t.Errorf("target changed to %d bytes", len(got))
	}
	assertOnly(t, dir, "target", filepath.Base(src))
	if n := len(h.requests(func(r *http.Request) bool {
		return strings.HasPrefix(r.Header.Get("Range"), "bytes=314") || strings.HasPrefix(r.Header.Get("Range"), "bytes=3146")
	})); n != maxBodyAttempts {
		t.Errorf("%d attempts at the broken part, want %d", n, maxBodyAttempts)
	}
}

func TestGetFailsWhenTheObjectChanges(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"download_part_size": 1 << 20})
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 3<<20)
	if err := c.Put(context.Background(), src, "k"); err != nil {
		t.Fatal(err)
	}
	other, _ := randomFile(t, t.TempDir(), 3<<20+1) // other bytes, so another ETag
	var once sync.Once
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if isRangedGet(r) {
			once.Do(func() { // someone overwrites the object mid-download
				if err := c.Put(context.Background(), other, "k"); err != nil {
					t.Error(err)
				}
			})
		}
		return false
	})
	out := filepath.Join(dir, "out")
	err := c.Get(context.Background(), "k", out)
	if err == nil || !strings.Contains(err.Error(), "the object changed during the download") {
		t.Fatalf("err = %v", err)
	}
	assertOnly(t, dir, filepath.Base(src))
}

func TestGetRefusesAServerThatIgnoresRange(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"download_part_size": 1 << 20})
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 2<<20+1)
	if err := c.Put(context.Background(), src, "k"); err != nil {
		t.Fatal(err)
	}
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		r.Header.Del("Range")
		return false
	})
	err := c.Get(context.Background(), "k", filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "the server answered with range") {
		t.Fatalf("err = %v", err)
	}
	assertOnly(t, dir, filepath.Base(src))
}

func TestMissingObjectAndBucket(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(nil)
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := c.Get(ctx, "nope", out); !errors.Is(err, ErrObjectMissing) {
		t.Errorf("get missing key: %v", err)
	}
	if ok, err := c.Exists(ctx, "nope"); ok || err != nil {
		t.Errorf("exists missing key = %v, %v", ok, err)
	}
	if p, err := c.Properties(ctx, "nope"); p != nil || err != nil {
		t.Errorf("properties missing key = %v, %v", p, err)
	}
	if err := c.Delete(ctx, "nope"); err != nil {
		t.Errorf("delete missing key: %v", err)
	}
	nb := h.client(map[string]any{"bucket_name": "no-such-bucket"})
	if err := nb.Get(ctx, "nope", out); !errors.Is(err, ErrBucketMissing) {
		t.Errorf("get from missing bucket: %v", err)
	}
	if _, err := nb.Exists(ctx, "nope"); !errors.Is(err, ErrBucketMissing) || !strings.Contains(err.Error(), `bucket does not exist: "no-such-bucket"`) {
		t.Errorf("exists in missing bucket: %v", err)
	}
	if _, err := nb.Properties(ctx, "nope"); !errors.Is(err, ErrBucketMissing) {
		t.Errorf("properties in missing bucket: %v", err)
	}
	if err := nb.Delete(ctx, "nope"); !errors.Is(err, ErrBucketMissing) {
		t.Errorf("delete in missing bucket: %v", err)
	}
	assertOnly(t, dir)
}

func TestReadOnlyRefusesWritesWithoutARequest(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"access_key_id": nil, "secret_access_key": nil, "credentials_source": "none"})
	ctx := context.Background()
	src, _ := randomFile(t, t.TempDir(), 10)
	_, delErr := c.DeleteRecursive(ctx, "")
	_, signErr := c.Sign(ctx, "k", "put", time.Minute)
	for name, err := range map[string]error{
		"put":              c.Put(ctx, src, "k"),
		"delete":           c.Delete(ctx, "k"),
		"copy":             c.Copy(ctx, "a", "b"),
		"delete-recursive": delErr,
	} {
		if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "refused: credentials_source none is anonymous and read-only") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if signErr == nil {
		t.Error("sign without credentials succeeded")
	}
	if n := len(h.requests(func(*http.Request) bool { return true })); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
	// Reading works anonymously.
	if ok, err := c.Exists(ctx, "k"); ok || err != nil {
		t.Errorf("anonymous exists = %v, %v", ok, err)
	}
	if r := h.requests(func(*http.Request) bool { return true }); len(r) == 0 || r[0].Header.Get("Authorization") != "" {
		t.Error("anonymous request carries a signature")
	}
}

func TestListDeleteRecursiveAndProperties(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"folder_name": "fold"})
	other := h.client(nil)
	ctx := context.Background()
	src, _ := randomFile(t, t.TempDir(), 10)
	for _, k := range []string{"a/1", "a/2", "b/1"} {
		if err := c.Put(ctx, src, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Put(ctx, src, "outside"); err != nil {
		t.Fatal(err)
	}
	list := func(cl *Client, prefix string) []string {
		var keys []string
		if err := cl.List(ctx, prefix, func(k string) error { keys = append(keys, k); return nil }); err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if got := strings.Join(list(c, ""), ","); got != "a/1,a/2,b/1" {
		t.Errorf("list = %s", got)
	}
	if got := strings.Join(list(c, "a/"), ","); got != "a/1,a/2" {
		t.Errorf("list a/ = %s", got)
	}
	p, err := c.Properties(ctx, "a/1")
	if err != nil || p == nil || p.ContentLength != 10 || p.ETag == "" || strings.Contains(p.ETag, `"`) || p.LastModified.IsZero() {
		t.Errorf("properties = %+v, %v", p, err)
	}
	if n, err := c.DeleteRecursive(ctx, "a/"); err != nil || n != 2 {
		t.Errorf("delete-recursive a/ = %d, %v", n, err)
	}
	if n, err := c.DeleteRecursive(ctx, ""); err != nil || n != 1 {
		t.Errorf("delete-recursive folder = %d, %v", n, err)
	}
	if got := strings.Join(h.srv.Keys(testBucket), ","); got != "outside" {
		t.Errorf("left %s, want only the key outside the folder", got)
	}
}

func TestSign(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(nil)
	ctx := context.Background()
	u, err := c.Sign(ctx, "dir/a b+c", "put", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := parsed.Query()
	if q.Get("X-Amz-Expires") != "900" || q.Get("X-Amz-Signature") == "" || q.Get("X-Amz-SignedHeaders") != "host" {
		t.Errorf("presigned URL %s", u)
	}
	for k := range q {
		if strings.Contains(strings.ToLower(k), "checksum") {
			t.Errorf("presigned URL carries %s: a plain PUT could not satisfy it", k)
		}
	}
	if strings.Contains(u, "AKIDTEST/") || strings.Contains(u, "test-secret") {
		t.Error("URL shows a secret in clear")
	}
	req, _ := http.NewRequest(http.MethodPut, u, strings.NewReader("hello"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("plain PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	g, err := c.Sign(ctx, "dir/a b+c", "GET", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(g)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("plain GET = %q", body)
	}
	for _, d := range []time.Duration{0, time.Millisecond, MaxSignDuration + time.Second} {
		if _, err := c.Sign(ctx, "k", "get", d); err == nil {
			t.Errorf("duration %s accepted", d)
		}
	}
	if _, err := c.Sign(ctx, "k", "delete", time.Minute); err == nil {
		t.Error("method delete accepted")
	}
}

func TestTLSTrust(t *testing.T) {
	h := newHarness(t, true)
	ctx := context.Background()
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.http.Certificate().Raw}))
	if _, err := h.client(nil).Exists(ctx, "k"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted server: err = %v, want a certificate error", err)
	}
	if ok, err := h.client(map[string]any{"ca_cert": caPEM}).Exists(ctx, "k"); ok || err != nil {
		t.Errorf("with ca_cert: %v, %v", ok, err)
	}
	if ok, err := h.client(map[string]any{"ssl_verify_peer": false}).Exists(ctx, "k"); ok || err != nil {
		t.Errorf("with ssl_verify_peer false: %v, %v", ok, err)
	}
}

func TestEnsureStorageExists(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"bucket_name": "new-bucket", "region": "eu-west-1"})
	ctx := context.Background()
	if err := c.EnsureStorageExists(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsureStorageExists(ctx); err != nil {
		t.Fatal(err)
	}
	creates := h.requests(func(r *http.Request) bool { return r.Method == http.MethodPut && r.URL.Path == "/new-bucket" })
	if len(creates) != 1 {
		t.Fatalf("%d CreateBucket calls, want 1", len(creates))
	}
	ro := h.client(map[string]any{"bucket_name": "other-bucket", "access_key_id": nil, "secret_access_key": nil})
	if err := ro.EnsureStorageExists(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("anonymous create: %v", err)
	}
}

func TestPartSize(t *testing.T) {
	tests := []struct{ size, configured, want int64 }{
		{0, 16 << 20, 16 << 20},
		{100 << 20, 16 << 20, 16 << 20},
		{10000 * (16 << 20), 16 << 20, 16 << 20},
		{10000*(16<<20) + 1, 16 << 20, 17 << 20},
		{1 << 40, 5 << 20, 105 << 20}, // 1 TiB needs 104.9 MiB parts
	}
	for _, tt := range tests {
		if got := PartSize(tt.size, tt.configured); got != tt.want {
			t.Errorf("PartSize(%d, %d) = %d, want %d", tt.size, tt.configured, got, tt.want)
		}
		if (tt.size+tt.want-1)/tt.want > maxParts {
			t.Errorf("PartSize(%d) = %d needs more than %d parts", tt.size, tt.want, maxParts)
		}
	}
}

func TestCopySource(t *testing.T) {
	tests := map[[2]string]string{
		{"bkt", "a/b.txt"}:        "bkt/a/b.txt",
		{"bkt", "a b+c"}:          "bkt/a%20b%2Bc",
		{"bkt", "ü/%?#"}:          "bkt/%C3%BC/%25%3F%23",
		{"bkt", "dir/with~tilde"}: "bkt/dir/with~tilde",
	}
	for in, want := range tests {
		if got := copySource(in[0], in[1]); got != want {
			t.Errorf("copySource(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

// assertOnly fails unless dir holds exactly the named files (no temporary leftovers).
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	if len(got) != len(names) {
		t.Errorf("%s holds %v, want %v", dir, got, names)
		return
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("%s holds %v, want %v", dir, got, names)
			return
		}
	}
}

func TestEnvOrProfileUsesTheSDKChain(t *testing.T) {
	h := newHarness(t, false)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	t.Setenv("AWS_SESSION_TOKEN", "env-token")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c := h.client(map[string]any{"access_key_id": nil, "secret_access_key": nil, "credentials_source": "env_or_profile", "region": "eu-west-2"})
	if _, err := c.Exists(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	r := h.requests(func(*http.Request) bool { return true })[0]
	if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "Credential=AKIDFROMENVIRONMENT/") || !strings.Contains(auth, "/eu-west-2/s3/") {
		t.Errorf("Authorization %q does not use the environment's key and the config's region", auth)
	}
	if r.Header.Get("X-Amz-Security-Token") != "env-token" {
		t.Error("session token from the environment not sent")
	}
}

func TestEnvOrProfileReportsABadProfile(t *testing.T) {
	h := newHarness(t, false)
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	data, _ := json.Marshal(map[string]any{"bucket_name": testBucket, "host": h.http.URL, "credentials_source": "env_or_profile"})
	cfg, err := config.Parse(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "loading credentials from the environment or profile") {
		t.Errorf("err = %v", err)
	}
}

func TestGetWritesThroughWhatIsNotARegularFile(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(map[string]any{"download_part_size": 1 << 20})
	dir := t.TempDir()
	src, data := randomFile(t, dir, 3<<20+7)
	ctx := context.Background()
	if err := c.Put(ctx, src, "k"); err != nil {
		t.Fatal(err)
	}
	// Private copies of /dev/null and /dev/full: a get that replaced the real ones would break the machine.
	devs := t.TempDir()
	null, full := filepath.Join(devs, "null"), filepath.Join(devs, "full")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Logf("no device nodes without root (%v): only the FIFO is checked", err)
	} else {
		if err := syscall.Mknod(full, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 7))); err != nil {
			t.Fatal(err)
		}
		if err := c.Get(ctx, "k", null); err != nil {
			t.Errorf("get to a null device: %v", err)
		}
		if err := c.Get(ctx, "k", full); !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("get to a full device: %v, want ENOSPC", err)
		}
		for _, d := range []string{null, full} {
			if st, err := os.Lstat(d); err != nil || st.Mode()&os.ModeCharDevice == 0 {
				t.Errorf("%s is no longer a device: %v %v", d, st.Mode(), err)
			}
		}
		assertOnly(t, devs, "null", "full")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			read <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		read <- b
	}()
	if err := c.Get(ctx, "k", fifo); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-read:
		if !bytes.Equal(got, data) {
			t.Errorf("the FIFO's reader got %d bytes, want the %d of the object", len(got), len(data))
		}
	case <-time.After(10 * time.Second): // the FIFO was replaced: its reader waits for a writer forever
		t.Error("the FIFO's reader got nothing")
	}
	if st, _ := os.Lstat(fifo); st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO became %v", st.Mode())
	}
	assertOnly(t, dir, "fifo", filepath.Base(src))
}

func TestGetThroughASymlinkReplacesItsTarget(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(nil)
	dir := t.TempDir()
	src, data := randomFile(t, dir, 1000)
	ctx := context.Background()
	if err := c.Put(ctx, src, "k"); err != nil {
		t.Fatal(err)
	}
	targets := filepath.Join(dir, "targets")
	if err := os.Mkdir(targets, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(targets, "real")
	if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("targets/real", link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("targets/new", dangling); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, dangling} {
		if err := c.Get(ctx, "k", l); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(l); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", l)
		}
		if got, _ := os.ReadFile(l); !bytes.Equal(got, data) {
			t.Errorf("%s reads %d bytes, want the object", l, len(got))
		}
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o640 {
		t.Errorf("the target's mode became %v", st.Mode().Perm())
	}
	assertOnly(t, targets, "real", "new")
}

// silentServer accepts connections and never reads from or writes to them.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

func TestAServerThatNeverReadsFailsEveryCommandWithinTheStallLimit(t *testing.T) {
	t.Setenv(StallLimitEnv, "1s")
	h := newHarness(t, false)
	h.http.URL = silentServer(t)
	c := h.client(map[string]any{"multipart_upload": false})
	src, _ := randomFile(t, t.TempDir(), 64<<20) // more than the socket buffers take
	ctx := context.Background()
	for name, run := range map[string]func() error{
		"put":    func() error { return c.Put(ctx, src, "k") },
		"exists": func() error { _, err := c.Exists(ctx, "k"); return err },
	} {
		start := time.Now()
		err := run()
		var se *StallError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want a StallError", name, err)
			continue
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("%s took %s, stall limit 1s", name, took)
		}
		t.Logf("%s: %v", name, err)
		if msg := err.Error(); !strings.HasPrefix(msg, name+` "k": no progress for 1s: `) || strings.Contains(msg, "operation error") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
}

func TestABodyThatStopsFailsTheGetWithinTheStallLimit(t *testing.T) {
	t.Setenv(StallLimitEnv, "1s")
	h := newHarness(t, false)
	c := h.client(nil)
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 100000)
	ctx := context.Background()
	if err := c.Put(ctx, src, "k"); err != nil {
		t.Fatal(err)
	}
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(make([]byte, 1000))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
		return true
	})
	start := time.Now()
	err := c.Get(ctx, "k", filepath.Join(dir, "out"))
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("get took %s, stall limit 1s", took)
	}
	if err == nil || !strings.Contains(err.Error(), "no progress for 1s: the answer stopped arriving") {
		t.Errorf("err = %v", err)
	}
	if n := len(h.requests(func(r *http.Request) bool { return r.Method == http.MethodGet })); n != 1 {
		t.Errorf("%d GETs, want 1: a stall is not retried", n)
	}
	assertOnly(t, dir, filepath.Base(src))
}

func TestPutOfAFileThatReportsSizeZeroStoresItsBytes(t *testing.T) {
	want, err := os.ReadFile("/proc/cpuinfo")
	if err != nil || len(want) == 0 {
		t.Skipf("no /proc/cpuinfo to read here: %v", err)
	}
	if st, _ := os.Stat("/proc/cpuinfo"); st.Size() != 0 {
		t.Skipf("/proc/cpuinfo reports %d bytes here, not 0", st.Size())
	}
	h := newHarness(t, false)
	c := h.client(nil)
	ctx := context.Background()
	if err := c.Put(ctx, "/proc/cpuinfo", "cpuinfo"); err != nil {
		t.Fatal(err)
	}
	p, err := c.Properties(ctx, "cpuinfo")
	if err != nil || p == nil {
		t.Fatalf("properties: %v %v", p, err)
	}
	// /proc/cpuinfo's MHz lines change between reads; its length rarely does by much.
	if p.ContentLength < int64(len(want))/2 {
		t.Errorf("stored %d bytes of /proc/cpuinfo, which holds about %d", p.ContentLength, len(want))
	}
}

func TestAFailedAbortIsReportedByTheMultipartSkeleton(t *testing.T) {
	h := newHarness(t, false)
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodDelete && r.URL.Query().Has("uploadId") {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>no abort for you</Message></Error>`)
			return true
		}
		return false
	})
	c := h.client(nil)
	// Put and copy both run their parts through c.multipart; a failing part stands for either.
	err := c.multipart(context.Background(), `copy "a" to "b"`, "b", false, func(ctx context.Context, u *upload) error {
		return errors.New("part 1: broken")
	})
	if err == nil || !strings.Contains(err.Error(), "part 1: broken; aborting the multipart upload also failed") || !strings.Contains(err.Error(), "AccessDenied: no abort for you (HTTP 403)") {
		t.Errorf("err = %v", err)
	}
	if n := len(h.requests(func(r *http.Request) bool { return r.Method == http.MethodDelete && r.URL.Query().Has("uploadId") })); n != 1 {
		t.Errorf("%d AbortMultipartUpload calls, want 1", n)
	}
}

func TestASlowReaderIsNotAStalledServer(t *testing.T) {
	t.Setenv(StallLimitEnv, "1s")
	h := newHarness(t, false)
	c := h.client(nil)
	dir := t.TempDir()
	src, data := randomFile(t, dir, 3<<20)
	ctx := context.Background()
	if err := c.Put(ctx, src, "k"); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			read <- nil
			return
		}
		defer f.Close()
		head := make([]byte, 1000)
		n, _ := io.ReadFull(f, head)
		time.Sleep(2500 * time.Millisecond) // longer than the stall limit: s3cli's writes block meanwhile
		rest, _ := io.ReadAll(f)
		read <- append(head[:n], rest...)
	}()
	if err := c.Get(ctx, "k", fifo); err != nil {
		t.Fatalf("a reader pausing longer than the stall limit failed the get: %v", err)
	}
	if got := <-read; !bytes.Equal(got, data) {
		t.Errorf("the reader got %d bytes, want %d", len(got), len(data))
	}
}

func TestCtrlCWhileAFIFOHasNoReaderEndsTheGet(t *testing.T) {
	h := newHarness(t, false)
	c := h.client(nil)
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 1000)
	if err := c.Put(context.Background(), src, "k"); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond) // stands for Ctrl-C
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Get(ctx, "k", fifo) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("get kept waiting for a reader after its context ended")
	}
	// Release the opener that still waits, as a reader would.
	if f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// TestListAndDeleteRecursiveFollowEveryPageOfASmallerPageSize: with S3CLI_LIST_PAGE_SIZE=2 five
// keys come in three listings, list yields all five in order, delete-recursive removes all of
// them; a page size out of range is refused.
func TestListAndDeleteRecursiveFollowEveryPageOfASmallerPageSize(t *testing.T) {
	t.Setenv(ListPageSizeEnv, "2")
	h := newHarness(t, false)
	c := h.client(nil)
	ctx := context.Background()
	want := []string{"p-1", "p-2", "p-3", "p-4", "p-5"}
	src := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, k := range want {
		if err := c.Put(ctx, src, k); err != nil {
			t.Fatal(err)
		}
	}
	isList := func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "2" }
	before := len(h.requests(isList))
	var got []string
	if err := c.List(ctx, "p-", func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}
	if pages := h.requests(isList)[before:]; len(pages) != 3 || pages[0].URL.Query().Get("max-keys") != "2" {
		t.Errorf("%d listings (max-keys %q), want 3 of 2 keys", len(pages), pages[0].URL.Query().Get("max-keys"))
	}
	if n, err := c.DeleteRecursive(ctx, "p-"); err != nil || n != 5 {
		t.Errorf("delete-recursive = %d, %v; want 5", n, err)
	}
	if left := h.srv.Keys(testBucket); len(left) != 0 {
		t.Errorf("left %v", left)
	}
	t.Setenv(ListPageSizeEnv, "1001")
	if _, err := New(ctx, c.cfg); err == nil || !strings.Contains(err.Error(), "S3CLI_LIST_PAGE_SIZE=\"1001\" is not a whole number from 1 to 1000") {
		t.Errorf("New with page size 1001: %v", err)
	}
}
