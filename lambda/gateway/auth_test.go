package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega/gbytes"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/s3cli-dev/s3cli/fixtures/awsmode/mototest"
)

// enforcingGateway starts its own moto with a second user ("other", every right), switches IAM
// enforcement on, and puts a gateway with the admin's key in front of it. It returns the
// gateway, its log, and both users' key pairs.
// With trustOther the gateway is given the other user as one of its Callers.
func enforcingGateway(t *testing.T, trustOther bool) (g *Gateway, log *gbytes.Buffer, admin, other [2]string) {
	t.Helper()
	url := mototest.Start(t)
	ctx := testContext(t)
	setup := mototest.Clients(url, "test", "test", "")
	if _, err := setup.IAM.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("other")}); err != nil {
		t.Fatal(err)
	}
	if _, err := setup.IAM.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("other"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := setup.IAM.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	other = [2]string{aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)}
	admin[0], admin[1] = mototest.EnforceIAM(t, url)

	log = gbytes.NewBuffer()
	gc := Config{Upstream: url, AWS: config("", admin[0], admin[1]), Log: io.MultiWriter(log, t.Output())}
	if trustOther {
		gc.Callers = []aws.CredentialsProvider{credentials.NewStaticCredentialsProvider(other[0], other[1], "")}
	}
	g = startWith(t, gc)
	return g, log, admin, other
}

// signedInvoke is an Invoke request of fn with body, signed by the SDK's signer with key at
// signedAt; sent is the body that goes out (a tampered one when it differs).
func signedInvoke(t *testing.T, g *Gateway, fn string, key [2]string, body, sent string, signedAt time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, g.URL()+"/2015-03-31/functions/"+fn+"/invocations", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	creds, _ := config("", key[0], key[1]).Credentials.Retrieve(t.Context())
	if err := v4.NewSigner().SignHTTP(t.Context(), creds, r, hex.EncodeToString(sum[:]), "lambda", region, signedAt); err != nil {
		t.Fatal(err)
	}
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(sent)), int64(len(sent))
	return r
}

// expectRefused sends r and expects Lambda's refusal: 403, code in x-amzn-ErrorType, message
// in {"message": ...}.
func expectRefused(t *testing.T, r *http.Request, code, message string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Message string }
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &body)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-Amzn-Errortype") != code || !strings.Contains(body.Message, message) {
		t.Errorf("%s %s: %s, x-amzn-ErrorType %q, body %s; want 403 %s %q", r.Method, r.URL.Path, resp.Status, resp.Header.Get("X-Amzn-Errortype"), raw, code, message)
	}
	if strings.Contains(string(raw), `"version"`) {
		t.Errorf("the refused request ran the function: %s", raw)
	}
}

// TestInvokeBehindAnEnforcingUpstreamNeedsTheGatewaysSignature: the function runs as its
// execution role, so an Invoke through the gateway in front of an IAM-enforcing moto must be
// signed, as Lambda demands; unsigned (curl), with another key, a wrong secret, a stale date
// or a changed body it is refused with Lambda's error, which the SDK and the aws CLI read.
func TestInvokeBehindAnEnforcingUpstreamNeedsTheGatewaysSignature(t *testing.T) {
	g, log, admin, other := enforcingGateway(t, false)
	cfg := config(g.URL(), admin[0], admin[1])
	cfg.APIOptions = append(cfg.APIOptions, MotoSigningWorkaround)
	deploy(t, cfg, "gw-auth", pkg("auth"), trustingAlso("arn:aws:iam::"+mototest.Account+":user/admin"))
	ctx := testContext(t)

	// Signed with the gateway's own key by the SDK: it runs.
	out, res := invoke(t, cfg, "gw-auth", `{"action":"version"}`)
	if out.StatusCode != 200 || out.FunctionError != nil || res.Version != "auth" {
		t.Fatalf("a signed Invoke: status %d, FunctionError %v, payload %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}

	// Unsigned, as curl sends it.
	unsigned, _ := http.NewRequest(http.MethodPost, g.URL()+"/2015-03-31/functions/gw-auth/invocations", strings.NewReader(`{"action":"version"}`))
	expectRefused(t, unsigned, "MissingAuthenticationTokenException", msgMissingToken)
	for _, it := range []string{"DryRun", "Event"} {
		r, _ := http.NewRequest(http.MethodPost, g.URL()+"/2015-03-31/functions/gw-auth/invocations", strings.NewReader(`{}`))
		r.Header.Set("X-Amz-Invocation-Type", it)
		expectRefused(t, r, "MissingAuthenticationTokenException", msgMissingToken)
	}
	// Signed by hand with the SDK's signer: a stale date, a changed body.
	expectRefused(t, signedInvoke(t, g, "gw-auth", admin, `{"action":"version"}`, `{"action":"version"}`, time.Now().Add(-10*time.Minute)),
		"InvalidSignatureException", "Signature expired")
	expectRefused(t, signedInvoke(t, g, "gw-auth", admin, `{"action":"echo"}`, `{"action":"version"}`, time.Now()),
		"InvalidSignatureException", "does not match")
	// The hand-signed request itself is right: fresh and unchanged, it runs.
	resp, err := http.DefaultClient.Do(signedInvoke(t, g, "gw-auth", admin, `{"action":"version"}`, `{"action":"version"}`, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"version":"auth"`) {
		t.Errorf("a fresh hand-signed Invoke: %s %s", resp.Status, raw)
	}

	// SDK clients with another user's key and with a wrong secret read Lambda's errors.
	for _, c := range []struct {
		who, code, message string
		key                [2]string
	}{
		{"another user's key", "UnrecognizedClientException", msgInvalidToken, other},
		{"the gateway's key id with a wrong secret", "InvalidSignatureException", msgBadSignature, [2]string{admin[0], "not-the-secret"}},
	} {
		_, err := lambda.NewFromConfig(config(g.URL(), c.key[0], c.key[1])).Invoke(ctx, &lambda.InvokeInput{
			FunctionName: aws.String("gw-auth"), Payload: []byte(`{"action":"version"}`)})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code || !strings.HasPrefix(apiErr.ErrorMessage(), c.message) {
			t.Errorf("Invoke with %s: %v; want %s %q", c.who, err, c.code, c.message)
		}
	}
	if !strings.Contains(string(log.Contents()), "refused an Invoke of gw-auth") {
		t.Errorf("the gateway did not log its refusals:\n%s", string(log.Contents()))
	}

	// The aws CLI, which scripts/invoke.sh uses, with the gateway's key and with another.
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	dir := t.TempDir()
	awsCLI := func(key [2]string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, cli, "--endpoint-url", g.URL(), "--output", "json",
			"lambda", "invoke", "--function-name", "gw-auth", "--payload", `{"action":"version"}`, filepath.Join(dir, "out.json"))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_ACCESS_KEY_ID=" + key[0], "AWS_SECRET_ACCESS_KEY=" + key[1],
			"AWS_DEFAULT_REGION=" + region, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_MAX_ATTEMPTS=1"}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return out, errors.New(stderr.String())
		}
		return out, nil
	}
	if _, err := awsCLI(admin); err != nil {
		t.Errorf("aws lambda invoke with the gateway's key: %v", err)
	} else if b, _ := os.ReadFile(filepath.Join(dir, "out.json")); !strings.Contains(string(b), `"version":"auth"`) {
		t.Errorf("aws lambda invoke wrote %s", b)
	}
	if _, err := awsCLI(other); err == nil || !strings.Contains(err.Error(), "(UnrecognizedClientException)") {
		t.Errorf("aws lambda invoke with another user's key: %v; want UnrecognizedClientException", err)
	}
}

// TestInvokeSignedByAGivenCallerRuns: a caller the gateway was given (Config.Callers) is
// verified with its own key and runs; a key neither it nor the gateway holds is still refused.
func TestInvokeSignedByAGivenCallerRuns(t *testing.T) {
	g, _, admin, other := enforcingGateway(t, true)
	admincfg := config(g.URL(), admin[0], admin[1])
	admincfg.APIOptions = append(admincfg.APIOptions, MotoSigningWorkaround)
	deploy(t, admincfg, "gw-caller", pkg("caller"), trustingAlso("arn:aws:iam::"+mototest.Account+":user/admin"))

	out, res := invoke(t, config(g.URL(), other[0], other[1]), "gw-caller", `{"action":"version"}`)
	if out.StatusCode != 200 || out.FunctionError != nil || res.Version != "caller" {
		t.Fatalf("an Invoke signed by a given caller: status %d, FunctionError %v, payload %s", out.StatusCode, aws.ToString(out.FunctionError), out.Payload)
	}
	_, err := lambda.NewFromConfig(config(g.URL(), "AKIANOTGIVEN00000000", "secret")).Invoke(testContext(t), &lambda.InvokeInput{
		FunctionName: aws.String("gw-caller"), Payload: []byte(`{"action":"version"}`)})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnrecognizedClientException" {
		t.Errorf("Invoke with a key nobody gave the gateway: %v; want UnrecognizedClientException", err)
	}
}

// Without IAM enforcement upstream (moto's default) anyone may invoke, as before.
func TestInvokeBehindAnUpstreamWithoutIAMTakesUnsignedCalls(t *testing.T) {
	m := needMoto(t)
	g := startGateway(t, m, config("", "testing", "testing"))
	deploy(t, config(g.URL(), "testing", "testing"), "gw-unsigned", pkg("open"), trustPolicy)
	resp, err := http.Post(g.URL()+"/2015-03-31/functions/gw-unsigned/invocations", "application/json", strings.NewReader(`{"action":"version"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"version":"open"`) {
		t.Errorf("an unsigned Invoke against moto without IAM enforcement: %s %s", resp.Status, raw)
	}
}

func TestMotoAPIIsForwardedToLoopbackClientsOnly(t *testing.T) {
	m := needMoto(t)
	g := startGateway(t, m, config("", "testing", "testing"))
	for _, tc := range []struct {
		remote, path string
		want         int
	}{
		{"192.0.2.7:40000", "/moto-api/data.json", http.StatusForbidden},
		{"192.0.2.7:40000", "//moto-api/data.json", http.StatusForbidden},
		{"192.0.2.7:40000", "/x/../moto-api/reset-auth", http.StatusForbidden},
		{"[2001:db8::7]:40000", "/moto-api/data.json", http.StatusForbidden},
		{"127.0.0.1:40000", "/moto-api/data.json", http.StatusOK},
		{"[::1]:40000", "/moto-api/data.json", http.StatusOK},
	} {
		r := httptest.NewRequest(http.MethodGet, g.URL()+tc.path, nil)
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("GET %s from %s: %d, want %d", tc.path, tc.remote, w.Code, tc.want)
		}
	}
}

func TestListeningBeyondLoopbackWarns(t *testing.T) {
	for addr, warns := range map[string]bool{
		"127.0.0.1:0": false, "127.0.0.2:9000": false, "[::1]:0": false, "localhost:8080": false,
		"0.0.0.0:0": true, ":8080": true, "[::]:0": true, "192.0.2.7:9000": true, "example.com:80": true,
	} {
		w := listenWarning(addr)
		if got := w != ""; got != warns {
			t.Errorf("listenWarning(%q) = %q, want a warning: %v", addr, w, warns)
		}
		if warns && (!strings.Contains(w, addr) || !strings.Contains(w, "invoke functions") || !strings.Contains(w, "/moto-api")) {
			t.Errorf("listenWarning(%q) = %q: does not name the address and the risks", addr, w)
		}
	}
	m := needMoto(t)
	for listen, warns := range map[string]bool{"127.0.0.1:0": false, "0.0.0.0:0": true} {
		log := gbytes.NewBuffer()
		g, err := Start(testContext(t), Config{Upstream: m.url, AWS: config("", "testing", "testing"), Log: log, Listen: listen})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Close(testContext(t)); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(log.Contents()), "WARNING: listening on "+listen+", beyond loopback"); got != warns {
			t.Errorf("Start with Listen %s logged:\n%s\nwant a warning: %v", listen, string(log.Contents()), warns)
		}
	}
}
