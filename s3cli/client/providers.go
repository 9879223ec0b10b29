package client

// What differs per destination and per run, kept apart from the transfer code:
// the options of New (the logger), the SDK's log output, the TLS trust added by
// AWS_CA_BUNDLE and the request quirks of S3-compatible providers (Google Cloud
// Storage, Alibaba Cloud OSS).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// Option changes how New builds a Client.
type Option func(*options)

type options struct {
	logger *slog.Logger
	// transport, when set, changes the HTTP transport last (tests route a
	// provider's real host name to a local server with it).
	transport func(*http.Transport)
}

// WithLogger sends the client's log output to l. The SDK's own messages
// (request dumps, retries, skipped checksum validations) are written at debug
// level only; without this option nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

func newOptions(opts []Option) options {
	o := options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func (o options) debug() bool { return o.logger.Enabled(context.Background(), slog.LevelDebug) }

// sdkLogger forwards the SDK's messages to slog at debug level: every one of
// them, warnings such as "Skipped validation of multipart checksum" included,
// is a diagnostic, not something a user of the command must act on.
type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	s.l.Debug("aws-sdk " + string(c) + ": " + redactDump(fmt.Sprintf(format, v...)))
}

var (
	securityTokenHeader = regexp.MustCompile(`(?im)^(X-Amz-Security-Token:[ \t]*)[^\r\n]*`)
	credentialScope     = regexp.MustCompile(`Credential=[^/,\s]+/`)
)

// redactDump hides the credentials of a request dump: the session token header
// and the access key in the Authorization header's credential scope. With
// env_or_profile they come from the environment, so the config's redactor
// does not know them.
func redactDump(s string) string {
	s = securityTokenHeader.ReplaceAllString(s, "${1}[REDACTED]")
	return credentialScope.ReplaceAllString(s, "Credential=[REDACTED]/")
}

// applyLogging replaces whatever logger LoadDefaultConfig installed (the SDK's
// standard logger writes straight to stderr, which is how DEBUG lines of the
// checksum middleware reached users of env_or_profile) with o's logger, and
// asks for request, response and retry logs only at debug level.
func applyLogging(base *aws.Config, o options) {
	base.Logger = sdkLogger{o.logger}
	base.ClientLogMode = 0
	if o.debug() {
		base.ClientLogMode = aws.LogRetries | aws.LogRequest | aws.LogResponse
	}
}

// s3Options are the per-run and per-provider settings of the S3 client.
func s3Options(cfg *config.Config, o options) func(*s3.Options) {
	return func(so *s3.Options) {
		// "Response has no supported checksum" and "Skipped validation of multipart
		// checksum" are said for every ranged GET of a multipart object.
		so.DisableLogOutputChecksumValidationSkipped = !o.debug()
		if cfg.Provider == config.ProviderGoogle {
			so.APIOptions = append(so.APIOptions, unsignedAcceptEncoding)
		}
	}
}

// caBundle adds the certificates of the PEM file AWS_CA_BUNDLE names (cfg.CABundle)
// to the trusted roots, as the AWS SDKs do: on top of ca_cert and the system
// roots when those are set up, else as the only roots.
func caBundle(cfg *config.Config, hc *awshttp.BuildableClient) (*awshttp.BuildableClient, error) {
	if cfg.CABundle == "" {
		return hc, nil
	}
	pem, err := os.ReadFile(cfg.CABundle)
	if err != nil {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: reading the CA bundle: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("AWS_CA_BUNDLE: %s holds no PEM certificate", cfg.CABundle)
	}
	return hc.WithTransportOptions(func(t *http.Transport) {
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if t.TLSClientConfig.RootCAs == nil {
			t.TLSClientConfig.RootCAs = x509.NewCertPool()
		}
		t.TLSClientConfig.RootCAs.AppendCertsFromPEM(pem)
	}), nil
}

// transportOptions applies storage-cli's http_request_timeout and
// http_response_header_timeout when the config sets them.
func transportOptions(cfg *config.Config, hc *awshttp.BuildableClient, o options) *awshttp.BuildableClient {
	if o.transport != nil {
		hc = hc.WithTransportOptions(o.transport)
	}
	if cfg.HTTPRequestTimeout > 0 {
		hc = hc.WithTimeout(cfg.HTTPRequestTimeout)
	}
	if d := cfg.HTTPResponseHeaderTimeout; d > 0 {
		hc = hc.WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = d })
	}
	return hc
}

// acceptEncodingKey carries the Accept-Encoding value past the signer.
type acceptEncodingKey struct{}

// unsignedAcceptEncoding keeps Accept-Encoding out of the SigV4 signature:
// Google Cloud Storage's XML API rewrites that header before checking the
// signature, so a signed one makes every request fail with SignatureDoesNotMatch.
// The header is taken off before signing and put back after.
func unsignedAcceptEncoding(stack *middleware.Stack) error {
	if _, ok := stack.Finalize.Get("Signing"); !ok {
		return nil // presigning and unsigned operations have nothing to fix
	}
	hide := middleware.FinalizeMiddlewareFunc("HideAcceptEncoding", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok {
			if v := req.Header.Get("Accept-Encoding"); v != "" {
				req.Header.Del("Accept-Encoding")
				ctx = middleware.WithStackValue(ctx, acceptEncodingKey{}, v)
			}
		}
		return next.HandleFinalize(ctx, in)
	})
	restore := middleware.FinalizeMiddlewareFunc("RestoreAcceptEncoding", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if v, _ := middleware.GetStackValue(ctx, acceptEncodingKey{}).(string); v != "" {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				req.Header.Set("Accept-Encoding", v)
			}
		}
		return next.HandleFinalize(ctx, in)
	})
	if err := stack.Finalize.Insert(hide, "Signing", middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(restore, "Signing", middleware.After)
}
