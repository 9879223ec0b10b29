// Package gateway puts Lambda execution in front of an AWS emulator that has
// none (moto): it answers the Lambda Invoke API by running the function with
// the local executor (lambda/runtimeapi) and forwards every other request,
// unchanged, to the emulator. Clients and the aws CLI see one endpoint.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	pathpkg "path"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3cli-dev/s3cli/lambda/runtimeapi"
)

// upstreamTimeout bounds each of the gateway's own calls to the upstream.
const upstreamTimeout = 30 * time.Second

// Config says where the upstream emulator is and how the gateway calls it.
type Config struct {
	Upstream string     // base URL of the emulator (moto), e.g. http://127.0.0.1:5000
	AWS      aws.Config // credentials and default region of the gateway's own upstream calls
	Log      io.Writer  // progress lines; nil = discard
	Listen   string     // address to listen on; "" = 127.0.0.1:0
	// Callers are further principals whose signed Invokes the gateway verifies and runs, as
	// Lambda verifies any caller's: whoever starts the gateway knows their secrets (ci-policy
	// invokes as the CI role it assumed). Each is asked for its credentials per request.
	Callers []aws.CredentialsProvider
	// WebIdentity, when set, is the account's OIDC provider: it reports whether it issued a
	// web identity token. The gateway then answers unsigned AssumeRoleWithWebIdentity calls
	// as AWS does (see webIdentity); unset, they go to the upstream unchanged.
	WebIdentity func(token string) bool
}

// Gateway is a running gateway. Close it to stop it and every function process.
type Gateway struct {
	upstream *url.URL
	creds    aws.CredentialsProvider   // the gateway's own; see resignBodiless
	callers  []aws.CredentialsProvider // Config.Callers
	// trustsToken is Config.WebIdentity.
	trustsToken func(token string) bool
	region      string
	log         io.Writer
	srv         *http.Server
	url         string
	proxy       *httputil.ReverseProxy
	exec        *runtimeapi.Executor
	lambda      *lambda.Client
	sts         *sts.Client
	s3          *s3.Client

	ctx    context.Context // asynchronous (Event) invocations; cancelled by Close
	cancel context.CancelFunc
	events sync.WaitGroup

	mu   sync.Mutex
	code map[string]deployed // by region + "/" + function name
}

// deployed is a function's code as it passed through the gateway.
type deployed struct {
	zip    []byte
	sha256 string
}

// Start listens on 127.0.0.1 (or cfg.Listen, with a warning when that is beyond loopback) and
// serves until Close. While the upstream enforces IAM, Invoke must be signed with the
// gateway's own credentials (see authorizeInvoke).
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	up, err := url.Parse(cfg.Upstream)
	if err != nil || (up.Scheme != "http" && up.Scheme != "https") || up.Host == "" || strings.Trim(up.Path, "/") != "" {
		return nil, fmt.Errorf("gateway: upstream %q is not an http(s) base URL like http://127.0.0.1:5000", cfg.Upstream)
	}
	listen := cfg.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("gateway: listening on %s: %w", listen, err)
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	region := cfg.AWS.Region
	if region == "" {
		region = "us-east-1"
	}
	awsCfg := cfg.AWS.Copy()
	awsCfg.Region = region
	awsCfg.BaseEndpoint = aws.String(strings.TrimRight(up.String(), "/"))

	g := &Gateway{
		upstream:    up,
		creds:       cfg.AWS.Credentials,
		callers:     cfg.Callers,
		trustsToken: cfg.WebIdentity,
		region:      region,
		log:         logw,
		url:         "http://" + ln.Addr().String(),
		lambda:      lambda.NewFromConfig(awsCfg, func(o *lambda.Options) { o.APIOptions = append(o.APIOptions, MotoSigningWorkaround) }),
		sts:         sts.NewFromConfig(awsCfg),
		s3:          s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true }),
		code:        map[string]deployed{},
	}
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.exec = runtimeapi.New(
		runtimeapi.WithLogs(cloudwatchlogs.NewFromConfig(awsCfg)),
		runtimeapi.WithCredentials(g.assumeRole),
		runtimeapi.WithProgress(logw),
	)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil               // the upstream is local; never route it through a proxy
	transport.ExpectContinueTimeout = 0 // send bodies at once, whatever the client's Expect header
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = up.Scheme, up.Host
			pr.Out.Host = pr.In.Host // the client signed this Host: keep it, so SigV4 still verifies
			if resignBodiless(pr.In.Context(), g.creds, pr.In, pr.Out) {
				g.logf("gateway: re-signed %s %s with the payload hash header (moto SigV4 workaround)", pr.In.Method, pr.In.URL.Path)
			}
		},
		Transport:     transport,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if err := bufferSmall(resp); err != nil {
				return err
			}
			return g.captureCode(resp)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			writeError(w, http.StatusBadGateway, "ServiceException", fmt.Sprintf("gateway: forwarding %s %s to %s: %v", r.Method, r.URL.Path, up.Host, err))
		},
	}
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		if err := g.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(logw, "gateway: serving: %v\n", err)
		}
	}()
	g.logf("gateway: listening on %s, forwarding to %s", g.url, up.Host)
	if warning := listenWarning(listen); warning != "" {
		g.logf("%s", warning)
	}
	return g, nil
}

// URL is the gateway's base URL, for BaseEndpoint, AWS_ENDPOINT_URL or --endpoint-url.
func (g *Gateway) URL() string { return g.url }

// Close kills every function process, removes their files and stops the server.
func (g *Gateway) Close(ctx context.Context) error {
	g.cancel()
	execErr := g.exec.Close(ctx)
	srvErr := g.srv.Shutdown(ctx)
	if srvErr != nil {
		_ = g.srv.Close()
	}
	g.events.Wait()
	if err := errors.Join(execErr, srvErr); err != nil {
		return fmt.Errorf("gateway: closing: %w", err)
	}
	return nil
}

// ServeHTTP answers Lambda Invoke, captures function code on its way to the
// upstream, and forwards everything else. Paths are matched by hand rather
// than with http.ServeMux, which would redirect S3 keys such as "a//b".
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const functions = "/2015-03-31/functions"
	path := r.URL.Path
	switch {
	case strings.HasPrefix(pathpkg.Clean("/"+path), "/moto-api") && !fromLoopback(r):
		// moto's control API is unauthenticated (reset auth, dump state): never from the network.
		writeError(w, http.StatusForbidden, "AccessDeniedException", "gateway: /moto-api is served to loopback clients only")
		return
	case g.trustsToken != nil && isUnsignedSTS(r):
		g.webIdentity(w, r)
		return
	case r.Method == http.MethodPost && strings.HasPrefix(path, functions+"/") && strings.HasSuffix(path, "/invocations"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, functions+"/"), "/invocations")
		if name != "" && !strings.Contains(name, "/") {
			g.invoke(w, r, name)
			return
		}
	case r.Method == http.MethodPost && (path == functions || path == functions+"/"),
		r.Method == http.MethodPut && strings.HasPrefix(path, functions+"/") && strings.HasSuffix(path, "/code"):
		g.forwardCapturing(w, r)
		return
	case r.Method == http.MethodDelete && strings.HasPrefix(path, functions+"/") && !strings.Contains(path[len(functions)+1:], "/"):
		name, qualifier, arnRegion := splitName(path[len(functions)+1:], r.URL.Query().Get("Qualifier"))
		if name != "" && qualifier == "" { // the function itself goes, and the code the gateway held for it
			c := &capture{region: cmp.Or(arnRegion, requestRegion(r, g.region)), deleted: name}
			r = r.WithContext(context.WithValue(r.Context(), captureKey{}, c))
		}
	}
	g.proxy.ServeHTTP(w, r)
}

func (g *Gateway) logf(format string, args ...any) {
	fmt.Fprintf(g.log, format+"\n", args...)
}
