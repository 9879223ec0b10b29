package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3cli-dev/s3cli/s3cli/internal/minis3"
)

const secret = "super-secret-value-123"

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut, "9.9.9")
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, v map[string]any) string {
	t.Helper()
	data, _ := json.Marshal(v)
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsage(t *testing.T) {
	cfg := writeConfig(t, map[string]any{"bucket_name": "bkt"})
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"version", []string{"-v"}, ExitOK, "version 9.9.9\n", ""},
		{"help", []string{"-h"}, ExitOK, "Usage: s3cli [-s s3] [-log-level LEVEL] [-log-file PATH] -c CONFIG.json COMMAND", ""},
		{"provider s3", []string{"-s", "s3", "-v"}, ExitOK, "version 9.9.9\n", ""},
		{"other provider", []string{"-s", "gcs", "-c", cfg, "exists", "k"}, ExitUsage, "", `-s "gcs" is not supported: s3cli speaks only the s3 provider (-s s3)`},
		{"bad log level", []string{"-log-level", "loud", "-c", cfg, "exists", "k"}, ExitUsage, "", `-log-level "loud" is not one of debug, info, warn, error`},
		{"log file in a missing directory", []string{"-log-file", "/nonexistent/dir/log", "-c", cfg, "exists", "k"}, ExitError, "", "s3cli: -log-file: open /nonexistent/dir/log"},
		{"sign overflowing seconds", []string{"-c", cfg, "sign", "k", "get", "-36028797018963068"}, ExitUsage, "", "is not positive"},
		{"sign zero", []string{"-c", cfg, "sign", "k", "get", "0"}, ExitUsage, "", "is not positive"},
		{"sign overflowing duration", []string{"-c", cfg, "sign", "k", "get", "9999999999h"}, ExitUsage, "", "neither a Go duration"},
		{"sign dot-dot key", []string{"-c", cfg, "sign", "../other-bucket/x", "get", "1m"}, ExitUsage, "", `sign: key "../other-bucket/x" has a "." or ".." segment`},
		{"sign dot key", []string{"-c", cfg, "sign", "a/./b", "put", "1m"}, ExitUsage, "", `has a "." or ".." segment`},
		{"help lists every command", []string{"--help"}, ExitOK, "ensure-storage-exists", ""},
		{"help names exit codes", []string{"-h"}, ExitOK, "3 exists: the object does not exist", ""},
		{"help command", []string{"help", "sign"}, ExitOK, "Usage: s3cli -c CONFIG.json sign KEY get|put DURATION", ""},
		{"command help", []string{"put", "-h"}, ExitOK, "Usage: s3cli -c CONFIG.json put LOCAL_FILE KEY", ""},
		{"command help with config", []string{"-c", cfg, "get", "-h"}, ExitOK, "temporary", ""},
		{"no command", []string{}, ExitUsage, "", "s3cli: no command given"},
		{"unknown flag", []string{"-x"}, ExitUsage, "", "flag provided but not defined: -x"},
		{"unknown command", []string{"-c", cfg, "frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"missing -c", []string{"exists", "k"}, ExitUsage, "", "-c CONFIG is required"},
		{"too few args", []string{"-c", cfg, "put", "a"}, ExitUsage, "", "put takes 2 arguments, got 1"},
		{"too many args", []string{"-c", cfg, "delete", "a", "b"}, ExitUsage, "", "delete takes 1 argument, got 2"},
		{"no args allowed", []string{"-c", cfg, "ensure-storage-exists", "x"}, ExitUsage, "", "ensure-storage-exists takes no arguments, got 1"},
		{"optional arg", []string{"-c", cfg, "list", "a", "b"}, ExitUsage, "", "list takes 0 to 1 arguments, got 2"},
		{"empty key", []string{"-c", cfg, "delete", ""}, ExitUsage, "", "empty argument"},
		{"command flag", []string{"-c", cfg, "delete", "-r", "k"}, ExitUsage, "", "flag provided but not defined: -r"},
		{"sign method", []string{"-c", cfg, "sign", "k", "post", "1m"}, ExitUsage, "", `sign: method "post" is not one of get, put`},
		{"sign duration", []string{"-c", cfg, "sign", "k", "get", "soon"}, ExitUsage, "", `duration "soon" is neither a Go duration`},
		{"sign too long", []string{"-c", cfg, "sign", "k", "get", "8d"}, ExitUsage, "", `duration "8d" is neither`},
		{"sign too long seconds", []string{"-c", cfg, "sign", "k", "get", "604801"}, ExitUsage, "", "more than 7 days"},
		{"missing config file", []string{"-c", "/nonexistent/c.json", "exists", "k"}, ExitError, "", "s3cli: reading config: open /nonexistent/c.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tt.stdout)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut, tt.stderr)
			}
			if tt.code == ExitUsage && !strings.Contains(errOut, "Run 's3cli -h' for usage.") {
				t.Errorf("usage error without the hint: %q", errOut)
			}
		})
	}
}

func TestBadConfigExitsOneWithoutSecrets(t *testing.T) {
	cfg := writeConfig(t, map[string]any{"bucket_name": "bkt", "credentials_source": "none", "secret_access_key": secret})
	code, out, errOut := run(t, "-c", cfg, "exists", "k")
	if code != ExitError || out != "" {
		t.Errorf("exit %d stdout %q", code, out)
	}
	if !strings.Contains(errOut, "s3cli: config: credentials_source none takes no access_key_id, secret_access_key or session_token") {
		t.Errorf("stderr %q", errOut)
	}
	if strings.Contains(errOut, secret) {
		t.Error("the secret was printed")
	}
}

func TestCommandsAgainstAServer(t *testing.T) {
	srv := minis3.New(t.TempDir())
	srv.CreateBucket("bkt")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	cfg := writeConfig(t, map[string]any{"bucket_name": "bkt", "host": hs.URL, "access_key_id": "AKIDTEST", "secret_access_key": secret})
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, []byte("payload"), 0o644); err != nil {
		t.Fatal(err)
	}

	expect := func(code int, stdout string, args ...string) string {
		t.Helper()
		got, out, errOut := run(t, append([]string{"-c", cfg}, args...)...)
		if got != code {
			t.Fatalf("%v: exit %d, want %d (stderr %q)", args, got, code, errOut)
		}
		if stdout != "*" && out != stdout {
			t.Fatalf("%v: stdout %q, want %q", args, out, stdout)
		}
		if strings.Contains(out+errOut, secret) {
			t.Fatalf("%v printed the secret", args)
		}
		return out
	}
	if _, _, errOut := run(t, "-c", cfg, "exists", "k"); errOut != "File 'k' does not exist in bucket 'bkt'\n" {
		t.Errorf("exists of a missing key wrote %q", errOut)
	}
	expect(ExitMissing, "", "exists", "k")
	expect(ExitOK, "{}\n", "properties", "k")
	expect(ExitOK, "", "put", src, "k")
	expect(ExitOK, "", "exists", "k")
	if _, _, errOut := run(t, "-c", cfg, "exists", "k"); errOut != "File 'k' exists in bucket 'bkt'\n" {
		t.Errorf("exists wrote %q", errOut)
	}
	props := expect(ExitOK, "*", "properties", "k")
	var p map[string]any
	if err := json.Unmarshal([]byte(props), &p); err != nil || p["content_length"] != float64(7) || p["etag"] == "" || p["last_modified"] == "" {
		t.Errorf("properties %q", props)
	}
	if _, err := time.Parse(time.RFC3339, p["last_modified"].(string)); err != nil {
		t.Errorf("last_modified %v is not RFC 3339", p["last_modified"])
	}
	expect(ExitOK, "k\n", "list")
	url := expect(ExitOK, "*", "sign", "k", "get", "900")
	if strings.HasSuffix(url, "\n") || !strings.HasPrefix(url, hs.URL+"/bkt/k?") {
		t.Errorf("sign printed %q", url)
	}
	expect(ExitOK, "", "get", "k", filepath.Join(dir, "out"))
	if b, _ := os.ReadFile(filepath.Join(dir, "out")); string(b) != "payload" {
		t.Errorf("got %q", b)
	}
	expect(ExitOK, "", "delete", "k")
	expect(ExitOK, "", "delete", "k")
	expect(ExitMissing, "", "exists", "k")
	expect(ExitError, "", "get", "k", filepath.Join(dir, "out2"))
	if _, _, errOut := run(t, "-c", cfg, "get", "k", filepath.Join(dir, "out2")); !strings.Contains(errOut, `s3cli: get "k": NoSuchKey: object does not exist: "k" in bucket "bkt" (HTTP 404)`) {
		t.Errorf("get of a missing key wrote %q", errOut)
	}
	expect(ExitOK, "", "delete-recursive")

	missing := writeConfig(t, map[string]any{"bucket_name": "gone-bucket", "host": hs.URL, "access_key_id": "AKIDTEST", "secret_access_key": secret})
	code, _, errOut := run(t, "-c", missing, "exists", "k")
	if code != ExitError || !strings.Contains(errOut, `bucket does not exist: "gone-bucket"`) {
		t.Errorf("exists in missing bucket: exit %d, %q", code, errOut)
	}
}

func TestParseDuration(t *testing.T) {
	tests := map[string]time.Duration{
		"900": 15 * time.Minute, "15m": 15 * time.Minute, "1h30m": 90 * time.Minute,
		"1": time.Second, "604800": 7 * 24 * time.Hour, "168h": 7 * 24 * time.Hour,
	}
	for in, want := range tests {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-5", "0s", "500ms", "169h", "604801", "1.5", "ten", "15 m",
		"-36028797018963068", "9223372036854775807", "-1s", "9999999999h"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := redactor([]string{"AKIDSECRET", "abc", ""})
	if got := r("key AKIDSECRET and abc"); got != "key [REDACTED] and abc" {
		t.Errorf("redact = %q", got)
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range List {
		if c.Summary == "" || c.Help == "" || c.Run == nil || c.MinArgs > c.MaxArgs {
			t.Errorf("command %s is incomplete", c.Name)
		}
		if !strings.Contains(Usage(), c.Name) {
			t.Errorf("usage does not list %s", c.Name)
		}
	}
}

func TestConfigWarningsAndLogging(t *testing.T) {
	srv := minis3.New(t.TempDir())
	srv.CreateBucket("bkt")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	base := map[string]any{"bucket_name": "bkt", "host": hs.URL, "access_key_id": "AKIDTEST", "secret_access_key": secret}

	withTypo := writeConfig(t, map[string]any{"bucket_name": "bkt", "host": hs.URL, "access_key_id": "AKIDTEST", "secret_access_key": secret, "upload_part_sise": 1})
	code, _, errOut := run(t, "-c", withTypo, "exists", "k")
	if code != ExitMissing {
		t.Errorf("an unknown key failed the command: exit %d, %q", code, errOut)
	}
	want := "s3cli: warn: config: unknown key \"upload_part_sise\" ignored; did you mean \"upload_part_size\"?\n"
	if !strings.HasPrefix(errOut, want) || strings.Count(errOut, "unknown key") != 1 {
		t.Errorf("stderr %q, want one line %q", errOut, want)
	}
	if code, _, errOut := run(t, "-log-level", "error", "-c", withTypo, "exists", "k"); code != ExitMissing || strings.Contains(errOut, "unknown key") {
		t.Errorf("-log-level error still warned: %d %q", code, errOut)
	}

	dup := filepath.Join(t.TempDir(), "dup.json")
	if err := os.WriteFile(dup, []byte(`{"bucket_name":"a-bucket","bucket_name":"bkt"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "-c", dup, "exists", "k"); code != ExitError || !strings.Contains(errOut, `config: key "bucket_name" is given twice`) {
		t.Errorf("duplicate key: exit %d, %q", code, errOut)
	}

	cfg := writeConfig(t, base)
	logFile := filepath.Join(t.TempDir(), "s3cli.log")
	code, _, errOut = run(t, "-log-level", "debug", "-log-file", logFile, "-c", cfg, "exists", "k")
	if code != ExitMissing || errOut != "File 'k' does not exist in bucket 'bkt'\n" {
		t.Errorf("with -log-file the log reached stderr: exit %d, %q", code, errOut)
	}
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "DEBUG aws-sdk") || !strings.Contains(string(log), "HEAD /bkt/k") {
		t.Errorf("the debug log lacks the SDK's request dump:\n%s", log)
	}
	if strings.Contains(string(log), secret) {
		t.Error("the debug log holds the secret key")
	}
	if code, _, errOut := run(t, "-c", cfg, "exists", "k"); code != ExitMissing || errOut != "File 'k' does not exist in bucket 'bkt'\n" {
		t.Errorf("at the default level stderr holds more than the exists line: %q", errOut)
	}
}

func TestInterruptedExitCodes(t *testing.T) {
	srv := minis3.New(t.TempDir())
	srv.CreateBucket("bkt")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	cfg := writeConfig(t, map[string]any{"bucket_name": "bkt", "host": hs.URL, "access_key_id": "AKIDTEST", "secret_access_key": secret})
	for sig, want := range map[syscall.Signal]int{syscall.SIGINT: 130, syscall.SIGTERM: 143, syscall.SIGHUP: 143} {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(Interrupted{Signal: sig})
		var out, errOut bytes.Buffer
		if code := Main(ctx, []string{"-c", cfg, "exists", "k"}, &out, &errOut, "1"); code != want {
			t.Errorf("%v: exit %d, want %d (%q)", sig, code, want, errOut.String())
		}
		if name := (Interrupted{Signal: sig}).Name(); !strings.Contains(errOut.String(), "s3cli: interrupted by "+name) {
			t.Errorf("%v: stderr %q", sig, errOut.String())
		}
	}
}
