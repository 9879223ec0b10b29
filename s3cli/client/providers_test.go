package client

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"

	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// providerClient builds a client whose config names host (a provider's real
// host name) while every connection goes to the harness: the requests are the
// ones the provider would receive. Virtual-hosted requests are turned into
// path-style ones for minis3.
func providerClient(t *testing.T, h *harness, host string, fields map[string]any, env map[string]string) *Client {
	t.Helper()
	addr := h.http.Listener.Addr().String()
	doc := map[string]any{"bucket_name": testBucket, "host": host, "access_key_id": "AKIDTEST", "secret_access_key": "test-secret"}
	for k, v := range fields {
		doc[k] = v
	}
	data, _ := json.Marshal(doc)
	cfg, err := config.Parse(data, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), cfg, func(o *options) {
		o.transport = func(tr *http.Transport) {
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// virtualHosted rewrites BUCKET.host/key requests to /BUCKET/key for minis3.
func virtualHosted(h *harness) {
	h.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if b, _, ok := strings.Cut(r.Host, "."); ok && b == testBucket {
			r.URL.Path = "/" + testBucket + r.URL.Path
		}
		h.srv.ServeHTTP(w, r)
		return true
	})
}

func signedHeaders(r *http.Request) string {
	_, sh, _ := strings.Cut(r.Header.Get("Authorization"), "SignedHeaders=")
	sh, _, _ = strings.Cut(sh, ",")
	return sh
}

func hasChecksum(r *http.Request) bool {
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") || strings.EqualFold(k, "x-amz-sdk-checksum-algorithm") || strings.EqualFold(k, "x-amz-trailer") {
			return true
		}
	}
	return strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked")
}

func TestGoogleCloudStorage(t *testing.T) {
	h := newHarness(t, false)
	dir := t.TempDir()
	src, data := randomFile(t, dir, 12<<20+7)
	c := providerClient(t, h, "http://storage.googleapis.com", map[string]any{"upload_part_size": 5 << 20, "multipart_upload": true}, nil)
	ctx := context.Background()
	if err := c.Put(ctx, src, "big"); err != nil {
		t.Fatal(err)
	}
	puts := h.requests(func(r *http.Request) bool { return r.Method != http.MethodGet && r.Method != http.MethodHead })
	if q := puts[0].URL.Query(); len(puts) != 1 || puts[0].Method != http.MethodPut || q.Has("uploads") || q.Has("partNumber") {
		t.Fatalf("GCS takes no multipart upload: want one PUT, got %d requests, first %s %s", len(puts), puts[0].Method, puts[0].URL)
	}
	if hasChecksum(puts[0]) {
		t.Errorf("the PUT carries request checksums, which GCS does not take: %v", puts[0].Header)
	}
	if puts[0].Host != "storage.googleapis.com" || puts[0].URL.Path != "/"+testBucket+"/big" {
		t.Errorf("request to %s %s, want path-style on storage.googleapis.com", puts[0].Host, puts[0].URL.Path)
	}
	out := filepath.Join(dir, "out")
	if err := c.Get(ctx, "big", out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Error("downloaded bytes differ")
	}
	for _, r := range h.requests(func(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }) {
		if strings.Contains(signedHeaders(r), "accept-encoding") {
			t.Errorf("%s %s signs Accept-Encoding (%s), which GCS rewrites", r.Method, r.URL, signedHeaders(r))
		}
	}
	gets := h.requests(func(r *http.Request) bool { return r.Method == http.MethodGet })
	if len(gets) == 0 || gets[0].Header.Get("Accept-Encoding") == "" {
		t.Error("the Accept-Encoding header must still be sent, only unsigned")
	}

	// The control: elsewhere the SDK signs it, so the check above can fail.
	other := newHarness(t, false)
	oc := other.client(nil)
	if _, err := oc.Exists(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if r := other.requests(func(*http.Request) bool { return true })[0]; !strings.Contains(signedHeaders(r), "accept-encoding") {
		t.Skipf("this SDK version does not sign Accept-Encoding (%s): the GCS fix has nothing to do", signedHeaders(r))
	}
}

func TestAlibabaOSS(t *testing.T) {
	h := newHarness(t, false)
	virtualHosted(h)
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 11<<20)
	c := providerClient(t, h, "http://oss-cn-hangzhou.aliyuncs.com:8080", map[string]any{"port": 8080, "upload_part_size": 5 << 20}, nil)
	ctx := context.Background()
	if err := c.Put(ctx, src, "obj"); err != nil {
		t.Fatal(err)
	}
	parts := h.requests(isUploadPart)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	for _, r := range h.requests(func(*http.Request) bool { return true }) {
		if r.Host != testBucket+".oss-cn-hangzhou.aliyuncs.com" {
			t.Errorf("Host %q: want virtual-hosted, without the port", r.Host)
		}
		if !strings.Contains(r.Header.Get("Authorization"), "/cn-hangzhou/s3/aws4_request") {
			t.Errorf("signed for another region: %s", r.Header.Get("Authorization"))
		}
		if hasChecksum(r) {
			t.Errorf("%s %s carries checksums, which OSS refuses: %v", r.Method, r.URL, r.Header)
		}
	}
	if ok, err := c.Exists(ctx, "obj"); !ok || err != nil {
		t.Errorf("exists: %v %v", ok, err)
	}
}

func TestSingleUploadThreshold(t *testing.T) {
	h := newHarness(t, false)
	dir := t.TempDir()
	ctx := context.Background()
	six, _ := randomFile(t, dir, 6<<20)
	if err := h.client(map[string]any{"upload_part_size": 5 << 20, "single_upload_threshold": 8 << 20}).Put(ctx, six, "six"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.requests(isUploadPart)); n != 0 {
		t.Errorf("a file under single_upload_threshold went in %d parts", n)
	}
	three, _ := randomFile(t, dir, 3<<20)
	if err := h.client(map[string]any{"single_upload_threshold": 1 << 20}).Put(ctx, three, "three"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.requests(isUploadPart)); n != 1 {
		t.Errorf("a file over single_upload_threshold went in %d parts, want a multipart upload of 1", n)
	}
}

func TestCABundle(t *testing.T) {
	h := newHarness(t, true)
	dir := t.TempDir()
	bundle := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.http.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(env map[string]string) *config.Config {
		data, _ := json.Marshal(map[string]any{"bucket_name": testBucket, "host": h.http.URL, "access_key_id": "AKIDTEST", "secret_access_key": "s"})
		cfg, err := config.Parse(data, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	ctx := context.Background()
	c, err := New(ctx, parse(map[string]string{"AWS_CA_BUNDLE": bundle}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exists(ctx, "k"); err != nil {
		t.Errorf("with AWS_CA_BUNDLE naming the server's CA: %v", err)
	}
	c, err = New(ctx, parse(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exists(ctx, "k"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without it: %v, want a certificate error", err)
	}
	if _, err := New(ctx, parse(map[string]string{"AWS_CA_BUNDLE": filepath.Join(dir, "missing.pem")})); err == nil || !strings.Contains(err.Error(), "AWS_CA_BUNDLE") {
		t.Errorf("a missing bundle: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := New(ctx, parse(map[string]string{"AWS_CA_BUNDLE": junk})); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a bundle without certificates: %v", err)
	}
}

func TestSDKMessagesAreDebugOnly(t *testing.T) {
	var buf bytes.Buffer
	warn := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sdkLogger{warn}.Logf(logging.Warn, "Skipped validation of multipart checksum.")
	if buf.Len() != 0 {
		t.Errorf("an SDK warning passed -log-level warn: %q", buf.String())
	}
	debug := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sdkLogger{debug}.Logf(logging.Warn, "Skipped validation of multipart checksum.")
	if !strings.Contains(buf.String(), "aws-sdk WARN: Skipped validation") {
		t.Errorf("at debug: %q", buf.String())
	}

	// A ranged get through a debug logger records the SDK's request dump; through none, nothing is built.
	h := newHarness(t, false)
	dir := t.TempDir()
	src, _ := randomFile(t, dir, 100)
	data, _ := json.Marshal(map[string]any{"bucket_name": testBucket, "host": h.http.URL, "access_key_id": "AKIDTEST", "secret_access_key": "s"})
	cfg, _ := config.Parse(data, nil)
	buf.Reset()
	c, err := New(context.Background(), cfg, WithLogger(debug))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(context.Background(), src, "k"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "PUT /"+testBucket+"/k") {
		t.Errorf("no request dump at debug: %q", buf.String())
	}
	if strings.Contains(buf.String(), "AKIDTEST") || !strings.Contains(buf.String(), "Credential=[REDACTED]/") {
		t.Errorf("the access key is in the request dump: %q", buf.String())
	}
	if got := redactDump("Host: x\r\nX-Amz-Security-Token: FwoGZXIvYXdzEXAMPLE\r\n"); strings.Contains(got, "FwoG") {
		t.Errorf("session token not redacted: %q", got)
	}
}
