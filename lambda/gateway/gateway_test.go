package gateway

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

var (
	bootstrap []byte // testdata/function, built by TestMain
	shared    *moto
	motoErr   error
	// enforcing is a second moto, shared by the tests that need IAM and SigV4 enforced.
	enforcing    *enforcedMoto
	enforcingErr error
)

const region = "us-east-1"

// TestMain builds the test function and starts both motos at the same time: the tests run
// in parallel against these two, each with its own gateway and uniquely named resources.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		wg.Go(func() { shared, motoErr = startMoto(ctx) })
		wg.Go(func() { enforcing, enforcingErr = startEnforcedMoto(ctx) })
		var err error
		bootstrap, err = buildFunction(ctx)
		wg.Wait()
		if shared != nil {
			defer shared.stop()
		}
		if enforcing != nil {
			defer enforcing.stop()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "building the test function:", err)
			return 1
		}
		return m.Run()
	}())
}

func buildFunction(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "gateway-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, "./testdata/function")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return os.ReadFile(bin)
}

// pkg is a deployment package of the test function, with a VERSION file.
func pkg(version string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode os.FileMode
		body []byte
	}{{"bootstrap", 0o755, bootstrap}, {"VERSION", 0o644, []byte(version)}} {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, _ := zw.CreateHeader(h)
		_, _ = w.Write(f.body)
	}
	_ = zw.Close()
	return buf.Bytes()
}

func needMoto(t *testing.T) *moto {
	t.Helper()
	if motoErr != nil {
		t.Skip("the gateway tests need moto_server: " + motoErr.Error())
	}
	return shared
}

// needEnforcingMoto returns the shared moto that enforces IAM and SigV4.
func needEnforcingMoto(t *testing.T) *enforcedMoto {
	t.Helper()
	needMoto(t)
	if enforcingErr != nil {
		t.Fatalf("starting the IAM-enforcing moto: %v", enforcingErr)
	}
	return enforcing
}

func config(endpoint, key, secret string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// startGateway starts a gateway in front of m and closes it at the end of the test.
func startGateway(t *testing.T, m *moto, cfg aws.Config) *Gateway {
	t.Helper()
	return startWith(t, Config{Upstream: m.url, AWS: cfg, Log: t.Output()})
}

// startWith starts a gateway with c and closes it at the end of the test.
func startWith(t *testing.T, c Config) *Gateway {
	t.Helper()
	g, err := Start(testContext(t), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := g.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

const trustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// trustingAlso is a trust policy for Lambda and principal: an IAM-enforcing
// moto checks AssumeRole against the gateway's identity.
func trustingAlso(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com","AWS":"` + principal + `"},"Action":"sts:AssumeRole"}]}`
}

// deploy creates an execution role and a function through cfg's endpoint and
// waits until the function is active.
func deploy(t *testing.T, cfg aws.Config, name string, code []byte, trust string) string {
	t.Helper()
	ctx := testContext(t)
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatalf("creating the execution role: %v", err)
	}
	_, err = iam.NewFromConfig(cfg).PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: role.Role.RoleName, PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListAllMyBuckets","sts:GetCallerIdentity"],"Resource":"*"}]}`),
	})
	if err != nil {
		t.Fatalf("giving the execution role a policy: %v", err)
	}
	lc := lambda.NewFromConfig(cfg)
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Handler:      aws.String("bootstrap"),
		Role:         role.Role.Arn,
		Code:         &types.FunctionCode{ZipFile: code},
		Timeout:      aws.Int32(30),
		Environment:  &types.Environment{Variables: map[string]string{"GREETING": "hi"}},
	})
	if err != nil {
		t.Fatalf("creating function %s: %v", name, err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("waiting for %s to be active: %v", name, err)
	}
	return aws.ToString(role.Role.RoleName)
}

type result struct {
	Arn      string `json:"arn"`
	Buckets  int    `json:"buckets"`
	Version  string `json:"version"`
	Endpoint string `json:"endpoint"`
	Greeting string `json:"greeting"`
}

func invoke(t *testing.T, cfg aws.Config, name, event string) (*lambda.InvokeOutput, result) {
	t.Helper()
	out, err := lambda.NewFromConfig(cfg).Invoke(testContext(t), &lambda.InvokeInput{
		FunctionName: aws.String(name), Payload: []byte(event), LogType: types.LogTypeTail,
	})
	if err != nil {
		t.Fatalf("invoking %s with %s: %v", name, event, err)
	}
	var res result
	if out.FunctionError == nil {
		if err := json.Unmarshal(out.Payload, &res); err != nil {
			t.Fatalf("decoding the response %q: %v", out.Payload, err)
		}
	}
	return out, res
}

var reportLine = regexp.MustCompile(`\nREPORT RequestId: ([0-9a-f-]{36})\tDuration: [^\n]+\n$`)

// logEvents reads every event of the function's log group straight from moto,
// by stream, following every page.
func logEvents(t *testing.T, m *moto, function string) map[string][]string {
	t.Helper()
	client := cloudwatchlogs.NewFromConfig(config(m.url, "testing", "testing"))
	streams := map[string][]string{}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(client, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + function)})
	for p.HasMorePages() {
		page, err := p.NextPage(testContext(t))
		if err != nil {
			t.Fatalf("reading the log of %s from moto: %v", function, err)
		}
		for _, ev := range page.Events {
			streams[aws.ToString(ev.LogStreamName)] = append(streams[aws.ToString(ev.LogStreamName)], aws.ToString(ev.Message))
		}
	}
	return streams
}

// invocationLog is the log of one request, found by its START line.
func invocationLog(streams map[string][]string, requestID string) (stream, text string) {
	for name, msgs := range streams {
		all := strings.Join(msgs, "")
		if i := strings.Index(all, "START RequestId: "+requestID); i >= 0 {
			return name, all[i:]
		}
	}
	return "", ""
}

func TestInvokeRunsTheFunctionWithItsExecutionRoleAndShipsTheLog(t *testing.T) {
	t.Parallel()
	m := needMoto(t)
	g := startGateway(t, m, config("", "testing", "testing"))
	cfg := config(g.URL(), "testing", "testing")
	role := deploy(t, cfg, "gw-whoami", pkg("1"), trustPolicy)

	out, res := invoke(t, cfg, "gw-whoami", `{"action":"whoami","marker":"first"}`)
	if out.StatusCode != 200 || out.FunctionError != nil || aws.ToString(out.ExecutedVersion) != "$LATEST" {
		t.Fatalf("status %d, FunctionError %v, version %v; payload %s", out.StatusCode, aws.ToString(out.FunctionError), aws.ToString(out.ExecutedVersion), out.Payload)
	}
	if want := "arn:aws:sts::123456789012:assumed-role/" + role + "/gw-whoami"; res.Arn != want {
		t.Errorf("the function called AWS as %q, want its execution role %q", res.Arn, want)
	}
	if res.Endpoint != g.URL() || res.Greeting != "hi" {
		t.Errorf("AWS_ENDPOINT_URL = %q, GREETING = %q; want the gateway's URL and the function's variable", res.Endpoint, res.Greeting)
	}

	requestID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if err != nil {
		t.Fatalf("LogResult is not base64: %v", err)
	}
	if m := reportLine.FindStringSubmatch(string(tail)); m == nil || m[1] != requestID {
		t.Errorf("LogResult does not end with the REPORT line of request %s:\n%s", requestID, tail)
	}

	stream, text := invocationLog(logEvents(t, m, "gw-whoami"), requestID)
	if !regexp.MustCompile(`^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$`).MatchString(stream) {
		t.Errorf("the invocation's log stream is %q, want Lambda's form", stream)
	}
	for _, want := range []string{"hello from the function: whoami first\n", "\nEND RequestId: " + requestID + "\n", "\nREPORT RequestId: " + requestID + "\t"} {
		if !strings.Contains(text, want) {
			t.Errorf("moto's log of request %s lacks %q:\n%s", requestID, want, text)
		}
	}
}

func TestInvokeAnswersLikeLambda(t *testing.T) {
	t.Parallel()
	m := needMoto(t)
	g := startGateway(t, m, config("", "testing", "testing"))
	cfg := config(g.URL(), "testing", "testing")
	deploy(t, cfg, "gw-answers", pkg("1"), trustPolicy)
	lc := lambda.NewFromConfig(cfg)
	ctx := testContext(t)

	t.Run("handler error", func(t *testing.T) {
		out, _ := invoke(t, cfg, "gw-answers", `{"action":"error"}`)
		if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"the function failed on purpose"`) {
			t.Errorf("FunctionError %q, payload %s", aws.ToString(out.FunctionError), out.Payload)
		}
	})
	t.Run("unknown function", func(t *testing.T) {
		_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gw-nothing-here")})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Errorf("err = %v, want ResourceNotFoundException", err)
		}
	})
	t.Run("code not uploaded through the gateway", func(t *testing.T) {
		direct := config(m.url, "testing", "testing")
		deploy(t, direct, "gw-direct", pkg("1"), trustPolicy)
		_, err := lambda.NewFromConfig(cfg).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gw-direct")})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) || !strings.Contains(notFound.ErrorMessage(), "uploaded through it") {
			t.Errorf("err = %v, want ResourceNotFoundException saying the code must come through the gateway", err)
		}
	})
	t.Run("payload too large", func(t *testing.T) {
		_, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gw-answers"), Payload: bytes.Repeat([]byte(" "), 6*1024*1024+1)})
		var tooLarge *types.RequestTooLargeException
		if !errors.As(err, &tooLarge) {
			t.Errorf("err = %v, want RequestTooLargeException", err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gw-answers"), InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != 204 {
			t.Errorf("status %v, err %v; want 204", out, err)
		}
	})
	t.Run("event", func(t *testing.T) {
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gw-answers"), InvocationType: types.InvocationTypeEvent,
			Payload: []byte(`{"action":"echo","marker":"asynchronous"}`)})
		if err != nil || out.StatusCode != 202 {
			t.Fatalf("status %v, err %v; want 202", out, err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			var text string
			for _, msgs := range logEvents(t, m, "gw-answers") {
				text += strings.Join(msgs, "")
			}
			if strings.Contains(text, "hello from the function: echo asynchronous") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the event invocation's output did not reach the log:\n%s", text)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}

func TestUpdatedCodeRunsAfterUpdateFunctionCode(t *testing.T) {
	t.Parallel()
	m := needMoto(t)
	g := startGateway(t, m, config("", "testing", "testing"))
	cfg := config(g.URL(), "testing", "testing")
	deploy(t, cfg, "gw-updates", pkg("one"), trustPolicy)
	lc := lambda.NewFromConfig(cfg)
	ctx := testContext(t)
	update := func(in *lambda.UpdateFunctionCodeInput) {
		t.Helper()
		in.FunctionName = aws.String("gw-updates")
		if _, err := lc.UpdateFunctionCode(ctx, in); err != nil {
			t.Fatalf("updating the code: %v", err)
		}
		if err := lambda.NewFunctionUpdatedV2Waiter(lc).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("gw-updates")}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, res := invoke(t, cfg, "gw-updates", `{"action":"version"}`); res.Version != "one" {
		t.Fatalf("version %q before the update", res.Version)
	}

	update(&lambda.UpdateFunctionCodeInput{ZipFile: pkg("two")})
	if _, res := invoke(t, cfg, "gw-updates", `{"action":"version"}`); res.Version != "two" {
		t.Errorf("version %q after an update with ZipFile, want two", res.Version)
	}

	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gw-code")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("gw-code"), Key: aws.String("v3.zip"), Body: bytes.NewReader(pkg("three"))}); err != nil {
		t.Fatal(err)
	}
	update(&lambda.UpdateFunctionCodeInput{S3Bucket: aws.String("gw-code"), S3Key: aws.String("v3.zip")})
	if _, res := invoke(t, cfg, "gw-updates", `{"action":"version"}`); res.Version != "three" {
		t.Errorf("version %q after an update from S3, want three", res.Version)
	}

	// Deleted through the gateway, its code goes too: the same code created
	// behind the gateway's back is not run.
	if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("gw-updates")}); err != nil {
		t.Fatal(err)
	}
	_, err := lambda.NewFromConfig(config(m.url, "testing", "testing")).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("gw-updates"), Runtime: types.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::123456789012:role/gw-updates-role"), Code: &types.FunctionCode{ZipFile: pkg("three")},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gw-updates")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("invoking code the gateway saw deleted: err = %v, want ResourceNotFoundException", err)
	}
}

// TestForwardedRequestsKeepTheirSignatures runs against a moto that enforces
// IAM and SigV4, so a request the gateway altered would be refused.
func TestForwardedRequestsKeepTheirSignatures(t *testing.T) {
	t.Parallel()
	e := needEnforcingMoto(t)
	m, ctx := e.moto, testContext(t)
	akid, secret := e.admin[0], e.admin[1]

	g := startGateway(t, m, config("", akid, secret))
	cfg := config(g.URL(), akid, secret)
	cfg.APIOptions = append(cfg.APIOptions, MotoSigningWorkaround) // for the waiter's GetFunction
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("gw-signed")}); err != nil {
		t.Fatalf("CreateBucket through the gateway: %v", err)
	}
	key1 := "dir//a b.txt" // moto itself refuses signed keys with "+"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("gw-signed"), Key: &key1, Body: strings.NewReader("forwarded")}); err != nil {
		t.Fatalf("PutObject through the gateway: %v", err)
	}
	direct := s3.NewFromConfig(config(m.url, akid, secret), func(o *s3.Options) { o.UsePathStyle = true })
	obj, err := direct.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("gw-signed"), Key: &key1})
	if err != nil {
		t.Fatalf("the object is not in moto under its key: %v", err)
	}
	obj.Body.Close()

	forged := s3.NewFromConfig(config(g.URL(), akid, "not-the-secret"), func(o *s3.Options) { o.UsePathStyle = true })
	_, err = forged.ListBuckets(ctx, &s3.ListBucketsInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "SignatureDoesNotMatch" {
		t.Errorf("a request signed with the wrong secret: err = %v, want SignatureDoesNotMatch", err)
	}

	// The function's own calls, with its role's credentials, pass enforcement too.
	role := deploy(t, cfg, "gw-enforced", pkg("1"), trustingAlso(e.adminARN))
	if out, res := invoke(t, cfg, "gw-enforced", `{"action":"whoami"}`); out.FunctionError != nil || !strings.HasSuffix(res.Arn, ":assumed-role/"+role+"/gw-enforced") || res.Buckets != 1 {
		t.Errorf("FunctionError %v, payload %s", aws.ToString(out.FunctionError), out.Payload)
	}
}

func TestAWSCLIDeploysAndInvokesThroughTheGateway(t *testing.T) {
	t.Parallel()
	m := needMoto(t)
	cli, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("the aws CLI is not on PATH")
	}
	g := startGateway(t, m, config("", "testing", "testing"))
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "function.zip")
	if err := os.WriteFile(zipPath, pkg("cli"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing",
		"AWS_DEFAULT_REGION=" + region, "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
	aws := func(args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(testContext(t), cli, append([]string{"--endpoint-url", g.URL(), "--output", "json"}, args...)...)
		cmd.Env, cmd.Dir = env, dir
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	var role struct{ Role struct{ Arn string } }
	if err := json.Unmarshal(aws("iam", "create-role", "--role-name", "gw-cli-role", "--assume-role-policy-document", trustPolicy), &role); err != nil {
		t.Fatal(err)
	}
	aws("lambda", "create-function", "--function-name", "gw-cli", "--runtime", "provided.al2023", "--handler", "bootstrap",
		"--role", role.Role.Arn, "--zip-file", "fileb://"+zipPath)
	aws("lambda", "wait", "function-active-v2", "--function-name", "gw-cli")

	var out struct {
		StatusCode      int
		FunctionError   string
		LogResult       string
		ExecutedVersion string
	}
	if err := json.Unmarshal(aws("lambda", "invoke", "--function-name", "gw-cli", "--payload", `{"action":"version"}`, "--log-type", "Tail", "response.json"), &out); err != nil {
		t.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(out.LogResult)
	if out.StatusCode != 200 || out.FunctionError != "" || out.ExecutedVersion != "$LATEST" || !reportLine.Match(tail) {
		t.Errorf("aws lambda invoke printed %+v, log tail:\n%s", out, tail)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "response.json")); err != nil || !strings.Contains(string(b), `"version":"cli"`) {
		t.Errorf("response.json = %s, %v", b, err)
	}
}

func TestStartRefusesABadUpstream(t *testing.T) {
	t.Parallel()
	for _, up := range []string{"", "127.0.0.1:5000", "ftp://host", "http://host:5000/prefix"} {
		if g, err := Start(context.Background(), Config{Upstream: up}); err == nil {
			_ = g.Close(context.Background())
			t.Errorf("Start accepted upstream %q", up)
		}
	}
}
