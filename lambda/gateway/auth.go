package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// invokeSkew is how far from the gateway's clock a signed Invoke may be, as on Lambda.
const invokeSkew = 5 * time.Minute

// probeKey is an access key no emulator knows: an upstream that refuses it enforces IAM.
const probeKey = "AKIAGATEWAYPROBE0000"

// Lambda's messages for the refusals the gateway answers itself.
const (
	msgMissingToken  = "Missing Authentication Token"
	msgInvalidToken  = "The security token included in the request is invalid."
	msgBadSignature  = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgPayloadHash   = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgOnlyOwnKey    = " The Lambda gateway verifies Invoke signatures of its own access key and of the callers it was given only: sign with one of those."
	msgNoQuerySigned = "Presigned (query string) Invoke requests are not supported by the Lambda gateway: sign the Authorization header."
)

// authError is a refusal by Lambda's front end: HTTP 403, the code in x-amzn-ErrorType and
// {"message": ...} as the body.
type authError struct {
	status        int
	code, message string
}

func (e *authError) Error() string { return e.code + ": " + e.message }

func (e *authError) write(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", e.code)
	h.Set("X-Amzn-Requestid", requestID())
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.message})
}

func denied(code, message string) *authError {
	return &authError{status: http.StatusForbidden, code: code, message: message}
}

// requestID is a random id in the form Lambda's x-amzn-RequestId has.
func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// verifyInvoke checks that r, whose body was payload, is signed (SigV4, Authorization header)
// with one of keys (the gateway's own credentials, then Config.Callers) within invokeSkew of
// now. It answers as Lambda does: MissingAuthenticationTokenException without a signature, UnrecognizedClientException
// for a key it does not know, InvalidSignatureException for a wrong or stale signature.
func verifyInvoke(ctx context.Context, keys []aws.CredentialsProvider, r *http.Request, payload []byte, now time.Time) *authError {
	header := r.Header.Get("Authorization")
	if header == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return denied("InvalidSignatureException", msgNoQuerySigned)
		}
		return denied("MissingAuthenticationTokenException", msgMissingToken)
	}
	auth, ok := parseAuthorization(header)
	if !ok {
		return denied("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters, and the AWS4-HMAC-SHA256 algorithm.")
	}
	if auth.service != "lambda" {
		return denied("InvalidSignatureException", "Credential should be scoped to correct service: 'lambda'.")
	}
	signedAt, err := time.Parse(amzDate, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return denied("IncompleteSignatureException", "Authorization header requires existence of a valid 'X-Amz-Date' header.")
	}
	if d := signedAt.Format("20060102"); d != auth.date {
		return denied("InvalidSignatureException", fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", auth.date, d, r.Header.Get("X-Amz-Date")))
	}
	switch {
	case signedAt.Before(now.Add(-invokeSkew)):
		return denied("InvalidSignatureException", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			signedAt.Format(amzDate), now.Add(-invokeSkew).UTC().Format(amzDate), now.UTC().Format(amzDate)))
	case signedAt.After(now.Add(invokeSkew)):
		return denied("InvalidSignatureException", fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			signedAt.Format(amzDate), now.Add(invokeSkew).UTC().Format(amzDate), now.UTC().Format(amzDate)))
	}
	c, found, err := signer(ctx, keys, auth.accessKeyID, r.Header.Get("X-Amz-Security-Token"))
	if err != nil {
		return &authError{status: http.StatusInternalServerError, code: "ServiceException", message: "gateway: retrieving credentials to verify the request: " + err.Error()}
	}
	if !found {
		return denied("UnrecognizedClientException", msgInvalidToken+msgOnlyOwnKey)
	}
	sum := sha256.Sum256(payload)
	hash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != hash {
		return denied("InvalidSignatureException", msgPayloadHash)
	}
	if !verifySignature(ctx, c, r, auth, hash, signedAt) {
		return denied("InvalidSignatureException", msgBadSignature)
	}
	return nil
}

// signer returns the credentials among keys with accessKeyID and sessionToken (nil providers
// are skipped), and whether there is one.
func signer(ctx context.Context, keys []aws.CredentialsProvider, accessKeyID, sessionToken string) (aws.Credentials, bool, error) {
	for _, k := range keys {
		if k == nil {
			continue
		}
		c, err := k.Retrieve(ctx)
		if err != nil {
			return aws.Credentials{}, false, err
		}
		if c.AccessKeyID == accessKeyID && c.SessionToken == sessionToken {
			return c, true, nil
		}
	}
	return aws.Credentials{}, false, nil
}

// authorizeInvoke decides whether an Invoke may run, and answers it when not. A request the
// gateway verifies as signed with its own key, or with a key of Config.Callers, runs. Any other (unsigned, another key, a wrong
// signature) runs only when the upstream accepts strangers, as an emulator without IAM
// enforcement does: the function runs with its execution role's credentials, so against an
// upstream that enforces IAM the gateway enforces it too. It asks the upstream each time, so
// switching moto's enforcement on or off takes effect at once.
func (g *Gateway) authorizeInvoke(w http.ResponseWriter, r *http.Request, name string, payload []byte) bool {
	refusal := verifyInvoke(r.Context(), append([]aws.CredentialsProvider{g.creds}, g.callers...), r, payload, time.Now())
	if refusal == nil {
		return true
	}
	enforced, err := g.upstreamEnforcesIAM(r.Context())
	switch {
	case err != nil:
		g.logf("gateway: refused an unverified Invoke of %s: %v", name, err)
		writeError(w, http.StatusBadGateway, "ServiceException", "gateway: the request is not signed with the gateway's key, and "+err.Error())
		return false
	case !enforced:
		return true
	}
	g.logf("gateway: refused an Invoke of %s from %s: %s (the upstream enforces IAM)", name, r.RemoteAddr, refusal.code)
	refusal.write(w)
	return false
}

// upstreamEnforcesIAM asks the upstream whether it refuses a key it cannot know (STS
// GetCallerIdentity signed with probeKey), as an IAM-enforcing moto does.
func (g *Gateway) upstreamEnforcesIAM(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	_, err := g.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(probeKey, "gateway-probe", "")
		o.RetryMaxAttempts = 1
	})
	var apiErr smithy.APIError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &apiErr):
		return true, nil
	default:
		return false, fmt.Errorf("asking the upstream whether it enforces IAM failed: %w", err)
	}
}

// listenWarning names the risk of listening on addr when it is not a loopback address, "" when it is.
func listenWarning(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return ""
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil && ip.IsLoopback() {
		return ""
	}
	return fmt.Sprintf("gateway: WARNING: listening on %s, beyond loopback: anyone who can reach it can invoke functions, which run as their execution roles, "+
		"and reach the emulator behind it (moto's /moto-api is unauthenticated; the gateway forwards it to loopback clients only). "+
		"Invoke is verified only while the upstream enforces IAM.", addr)
}

// fromLoopback reports whether the request came from this machine.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
