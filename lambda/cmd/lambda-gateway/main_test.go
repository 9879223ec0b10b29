package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"
	"github.com/onsi/gomega/gexec"
)

var binary string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "lambda-gateway-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "lambda-gateway")
		if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building lambda-gateway: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}())
}

func command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}
	return cmd
}

func TestBadInputIsOneLineAndExitCode2(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "--upstream is required"},
		{[]string{"--upstream", "ftp://host"}, `upstream "ftp://host" is not an http(s) base URL`},
		{[]string{"--upstream", "http://127.0.0.1:1", "--listen", "nowhere"}, "listening on nowhere"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"--upstream", "http://127.0.0.1:1", "extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := command(ctx, tt.args...).CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: err = %v, want exit code 2", tt.args, err)
		}
		if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
			t.Errorf("%v printed %q, want one line with %q", tt.args, out, tt.want)
		}
	}
}

func TestPrintsItsURLForwardsAndStopsOnSIGTERM(t *testing.T) {
	seen := make(chan *http.Request, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Clone(context.Background())
		_, _ = io.WriteString(w, "from upstream")
	}))
	defer upstream.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session, err := gexec.Start(command(ctx, "--upstream", upstream.URL, "--region", "eu-west-1"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Kill()
	g := gomega.NewWithT(t)
	g.Eventually(session.Out).WithTimeout(30*time.Second).Should(gbytes.Say(`LAMBDA_GATEWAY_URL=http://127\.0\.0\.1:\d+\n`), "stderr:\n%s", session.Err.Contents())
	url := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(session.Out.Contents()), "\n", 2)[0], "LAMBDA_GATEWAY_URL="))

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/some-bucket/a//key?list-type=2", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := <-seen
	if string(body) != "from upstream" || got == nil || got.URL.RequestURI() != "/some-bucket/a//key?list-type=2" ||
		got.Host != strings.TrimPrefix(url, "http://") || got.Header.Get("Authorization") != req.Header.Get("Authorization") {
		t.Errorf("the upstream got %+v, the client %q; want the request unchanged, Host included", got, body)
	}

	session.Terminate()
	g.Eventually(session).WithTimeout(30*time.Second).Should(gexec.Exit(0), "after SIGTERM; stderr:\n%s", session.Err.Contents())
	g.Expect(session.Err).To(gbytes.Say("stopping"), "stderr does not say it stopped")
}
