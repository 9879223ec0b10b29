// Package client implements the blobstore operations of s3cli on aws-sdk-go-v2:
// parallel multipart put, parallel ranged get into a temporary file, delete,
// list, copy, properties, presigning and bucket creation.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// Timeouts of the HTTP layer. A whole transfer has no deadline (it may be
// large); each step of it does: dial and TLS handshake, and no more than the
// stall limit without progress (watchdog.go), which comes before the response
// header timeout (a backstop). Retries are bounded in total: at most
// maxAttempts attempts with at most maxBackoff between two, and a stalled
// attempt is not retried, so a dead server fails a command in about the stall
// limit and an unreachable one in about maxAttempts dial timeouts.
const (
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 2 * time.Minute
	cleanupTimeout        = 30 * time.Second
	maxAttempts           = 5
	maxBackoff            = 5 * time.Second
	ioBufferSize          = 256 << 10
)

// Client performs s3cli's operations on one bucket.
type Client struct {
	cfg *config.Config
	s3  *s3.Client
	// pageSize is the MaxKeys of list and delete-recursive's listings; nil is the server's
	// own (1000 on S3).
	pageSize *int32
}

// New builds the S3 client described by cfg: endpoint, addressing style, TLS
// trust, credentials (static, the SDK default chain, anonymous; optionally
// through an assumed role), retries and checksum behaviour.
func New(ctx context.Context, cfg *config.Config, opts ...Option) (*Client, error) {
	opt := newOptions(opts)
	hc, err := httpClient(cfg)
	if err != nil {
		return nil, err
	}
	if hc, err = caBundle(cfg, transportOptions(cfg, hc, opt)); err != nil { // providers.go
		return nil, err
	}
	base, err := baseConfig(ctx, cfg, hc)
	if err != nil {
		return nil, err
	}
	applyLogging(&base, opt) // providers.go
	if cfg.AssumeRoleARN != "" {
		stsClient := sts.NewFromConfig(base, func(o *sts.Options) {
			if cfg.CustomEndpoint {
				// Emulators and S3-compatible stores serve STS at their one endpoint.
				o.BaseEndpoint = aws.String(cfg.Endpoint)
			}
		})
		base.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsClient, cfg.AssumeRoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = cfg.AssumeRoleSessionName
				if cfg.AssumeRoleExternalID != "" {
					o.ExternalID = aws.String(cfg.AssumeRoleExternalID)
				}
			}))
	}
	client := s3.NewFromConfig(base, func(o *s3.Options) {
		// Set here, after the SDK applied AWS_ENDPOINT_URL*, so the config file decides.
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		} else {
			o.BaseEndpoint = nil
		}
		o.UsePathStyle = cfg.UsePathStyle
	}, s3Options(cfg, opt))
	pageSize, err := listPageSize()
	if err != nil {
		return nil, err
	}
	return &Client{cfg: cfg, s3: client, pageSize: pageSize}, nil
}

// ListPageSizeEnv names the environment variable that asks for listings of fewer keys a page
// than the server's 1000 (1 to 1000); meant for tests that follow several pages with few keys.
const ListPageSizeEnv = "S3CLI_LIST_PAGE_SIZE"

// listPageSize is the override of ListPageSizeEnv, nil when unset.
func listPageSize() (*int32, error) {
	v := os.Getenv(ListPageSizeEnv)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return nil, fmt.Errorf("%s=%q is not a whole number from 1 to 1000", ListPageSizeEnv, v)
	}
	return aws.Int32(int32(n)), nil
}

func baseConfig(ctx context.Context, cfg *config.Config, hc aws.HTTPClient) (aws.Config, error) {
	var base aws.Config
	switch cfg.CredentialsSource {
	case config.CredentialsEnvOrProfile:
		loaded, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.Region), awsconfig.WithHTTPClient(hc))
		if err != nil {
			return aws.Config{}, fmt.Errorf("loading credentials from the environment or profile: %w", err)
		}
		base = loaded
	case config.CredentialsStatic:
		base.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken))
	case config.CredentialsNone:
		base.Credentials = aws.AnonymousCredentials{}
	default:
		return aws.Config{}, fmt.Errorf("unknown credentials_source %q", cfg.CredentialsSource)
	}
	base.Region = cfg.Region
	limit, err := stallLimit()
	if err != nil {
		return aws.Config{}, err
	}
	base.HTTPClient = &watchdog{next: hc, limit: limit} // LoadDefaultConfig was given the bare transport: it must be a BuildableClient
	base.AppID = "s3cli"
	base.RequestChecksumCalculation = cfg.RequestChecksumCalculation
	base.ResponseChecksumValidation = cfg.ResponseChecksumValidation
	base.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = maxAttempts
			o.MaxBackoff = maxBackoff
			// Many parallel parts may fail together; the token bucket would
			// then refuse the retries that are the point of retrying.
			o.RateLimiter = ratelimit.None
		})
	}
	return base, nil
}

// httpClient builds the transport: TLS trust from ca_cert / ssl_verify_peer,
// enough idle connections for the configured concurrency, larger buffers.
func httpClient(cfg *config.Config) (*awshttp.BuildableClient, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CACert)) {
			return nil, errors.New("config: ca_cert holds no PEM certificate")
		}
		tlsConfig.RootCAs = pool
	}
	if !cfg.SSLVerifyPeer {
		tlsConfig.InsecureSkipVerify = true // the user asked for it with ssl_verify_peer: false
	}
	conns := max(cfg.UploadConcurrency, cfg.DownloadConcurrency) + 4
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSClientConfig = tlsConfig
			t.TLSHandshakeTimeout = tlsHandshakeTimeout
			t.ResponseHeaderTimeout = responseHeaderTimeout
			t.MaxIdleConns = conns * 2
			t.MaxIdleConnsPerHost = conns
			t.ReadBufferSize = 64 << 10
			t.WriteBufferSize = 64 << 10
			t.DisableCompression = true // objects are bytes, never transparently decoded
		}), nil
}

// detach gives cleanup work (aborting an upload) its own deadline, alive even
// when the operation's context was cancelled by an error or Ctrl-C.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}
