package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// TestAWSCLILambdaCallsPassAnEnforcingMotoWithTheGatewaysKey runs the aws CLI's
// bodiless Lambda calls through the gateway against a moto that enforces IAM
// and SigV4: with the gateway's own key they pass (re-signed); with another
// user's key, or the gateway's key id and a wrong secret, they fail as they do
// against moto directly.
func TestAWSCLILambdaCallsPassAnEnforcingMotoWithTheGatewaysKey(t *testing.T) {
	t.Parallel()
	e := needEnforcingMoto(t)
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	ctx, m := testContext(t), e.moto
	admin, other := e.admin, e.other
	forged := [2]string{admin[0], "not-the-secret"}
	g := startGateway(t, m, config("", admin[0], admin[1]))

	dir := t.TempDir()
	zipPath := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(zipPath, pkg("cli"), 0o644); err != nil {
		t.Fatal(err)
	}
	// run is the aws CLI against endpoint with key; it returns stdout, or stderr as the error.
	run := func(endpoint string, key [2]string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, cli, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_ACCESS_KEY_ID=" + key[0], "AWS_SECRET_ACCESS_KEY=" + key[1],
			"AWS_DEFAULT_REGION=" + region, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1"}
		cmd.Dir = dir
		out, err := cmd.Output()
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			return out, errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		return out, err
	}
	must := func(args ...string) []byte {
		t.Helper()
		out, err := run(g.URL(), admin, args...)
		if err != nil {
			t.Fatalf("aws %s with the gateway's key: %v", strings.Join(args, " "), err)
		}
		return out
	}

	var role struct{ Role struct{ Arn string } }
	if err := json.Unmarshal(must("iam", "create-role", "--role-name", "gw-resign-role", "--assume-role-policy-document", trustPolicy), &role); err != nil {
		t.Fatal(err)
	}
	must("lambda", "create-function", "--function-name", "gw-resign", "--runtime", "provided.al2023", "--handler", "bootstrap",
		"--role", role.Role.Arn, "--zip-file", "fileb://"+zipPath, "--tags", "run=resign")

	// The bodiless calls the scripts make, with the gateway's own key.
	must("lambda", "wait", "function-active-v2", "--function-name", "gw-resign")
	var fn struct {
		Configuration struct{ FunctionName, FunctionArn string }
	}
	if err := json.Unmarshal(must("lambda", "get-function", "--function-name", "gw-resign"), &fn); err != nil || fn.Configuration.FunctionName != "gw-resign" {
		t.Fatalf("aws lambda get-function gave %+v, %v", fn, err)
	}
	if out := must("lambda", "list-tags", "--resource", fn.Configuration.FunctionArn); !strings.Contains(string(out), `"run": "resign"`) {
		t.Errorf("aws lambda list-tags (an escaped ARN in the path) gave:\n%s", out)
	}
	must("lambda", "get-function-configuration", "--function-name", "gw-resign")
	if out := must("lambda", "list-functions"); !strings.Contains(string(out), `"FunctionName": "gw-resign"`) {
		t.Errorf("aws lambda list-functions does not list gw-resign:\n%s", out)
	}

	// Another user's key and a forged signature are forwarded unchanged, and
	// fail as they do against moto itself. The eight aws CLI runs are independent: at once.
	var wg sync.WaitGroup
	for _, c := range []struct {
		who string
		key [2]string
	}{{"another user's key", other}, {"the gateway's key id with a wrong secret", forged}} {
		for _, args := range [][]string{{"lambda", "get-function", "--function-name", "gw-resign"}, {"lambda", "list-functions"}} {
			wg.Go(func() {
				_, via := run(g.URL(), c.key, args...)
				if via == nil || !strings.Contains(via.Error(), "SignatureDoesNotMatch") {
					t.Errorf("aws %s with %s through the gateway: err = %v, want SignatureDoesNotMatch", strings.Join(args, " "), c.who, via)
				}
			})
			wg.Go(func() {
				_, direct := run(m.url, c.key, args...)
				if direct == nil || !strings.Contains(direct.Error(), "SignatureDoesNotMatch") {
					t.Errorf("aws %s with %s straight to moto: err = %v, want SignatureDoesNotMatch (has moto fixed its bug?)", strings.Join(args, " "), c.who, direct)
				}
			})
		}
	}
	wg.Wait()
	if _, err := run(g.URL(), other, "lambda", "delete-function", "--function-name", "gw-resign"); err == nil {
		t.Error("aws lambda delete-function with another user's key passed the gateway")
	}

	must("lambda", "delete-function", "--function-name", "gw-resign")
	if _, err := run(g.URL(), admin, "lambda", "get-function", "--function-name", "gw-resign"); err == nil || !strings.Contains(err.Error(), "(ResourceNotFoundException)") {
		t.Errorf("aws lambda get-function after delete-function: err = %v, want ResourceNotFoundException", err)
	}
}

// TestResignBodilessOnlyTakesVerifiedFreshLambdaRequests checks the cases the
// aws CLI test cannot produce: a stale signature, another service, a body.
func TestResignBodilessOnlyTakesVerifiedFreshLambdaRequests(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	creds := credentials.NewStaticCredentialsProvider("AKIDGATEWAY", "gateway-secret", "")
	c, _ := creds.Retrieve(ctx)
	signed := func(service string, at time.Time, body string) *http.Request {
		r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:1/2015-03-31/functions/f", strings.NewReader(body))
		if body == "" {
			r.Body, r.ContentLength = http.NoBody, 0
		}
		if err := v4.NewSigner().SignHTTP(ctx, c, r, emptySHA256, service, region, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		in   *http.Request
		want bool
	}{
		{"a fresh bodiless Lambda request signed with the gateway's key", signed("lambda", time.Now(), ""), true},
		{"one signed 20 minutes ago", signed("lambda", time.Now().Add(-20*time.Minute), ""), false},
		{"an S3 request", signed("s3", time.Now(), ""), false},
		{"a request with a body", signed("lambda", time.Now(), "{}"), false},
	} {
		out := tc.in.Clone(ctx)
		if got := resignBodiless(ctx, creds, tc.in, out); got != tc.want {
			t.Errorf("%s: re-signed = %v, want %v", tc.name, got, tc.want)
		}
		if got := out.Header.Get("X-Amz-Content-Sha256") != ""; got != tc.want {
			t.Errorf("%s: X-Amz-Content-Sha256 sent = %v, want %v", tc.name, got, tc.want)
		}
	}
}
