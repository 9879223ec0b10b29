package gateway

import (
	"context"
	"crypto/hmac"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// emptySHA256 is the hex SHA-256 of an empty payload.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// amzDate is the layout of the X-Amz-Date header.
const amzDate = "20060102T150405Z"

// maxSkew is how far from now a re-signed request may have been signed, as on AWS:
// an older request is not given a fresh date.
const maxSkew = 15 * time.Minute

// resignBodiless works around a moto 5.2 bug for the aws CLI (botocore), which
// signs a bodiless Lambda REST request (GetFunction, ListFunctions,
// DeleteFunction, the function-active-v2 waiter) without an
// X-Amz-Content-Sha256 header. An IAM-enforcing moto recomputes the payload
// hash of such a request from its parsed query or headers instead of the empty
// body (moto/iam/access_control.py: data=self._body or self._data) and refuses
// it with SignatureDoesNotMatch. moto uses the X-Amz-Content-Sha256 header when
// one is signed, so the gateway re-signs the request with that header added.
//
// It does so only for a bodiless Lambda request without that header whose
// signature it can verify itself: the access key id must be the one of the
// gateway's own credentials (creds) and the signature must be the one that key's
// secret gives for the request as it arrived. The re-signed request thus acts as
// the principal that signed it, with no more rights; any other request (another
// key, a forged or unverifiable signature) is left unchanged, for moto to judge.
// out is the request to forward, in the one that arrived; it reports whether
// out was re-signed. moto checks the signature of a path with escaped
// characters (an ARN, $LATEST) against the path escaped once rather than twice
// as AWS does; the re-signed request follows moto there too.
func resignBodiless(ctx context.Context, creds aws.CredentialsProvider, in, out *http.Request) bool {
	if creds == nil || in.ContentLength != 0 || in.Header.Get("X-Amz-Content-Sha256") != "" {
		return false
	}
	auth, ok := parseAuthorization(in.Header.Get("Authorization"))
	if !ok || auth.service != "lambda" {
		return false
	}
	signedAt, err := time.Parse(amzDate, in.Header.Get("X-Amz-Date"))
	if err != nil || signedAt.UTC().Format("20060102") != auth.date || time.Since(signedAt).Abs() > maxSkew {
		return false
	}
	c, err := creds.Retrieve(ctx)
	if err != nil || c.AccessKeyID != auth.accessKeyID {
		return false
	}
	if !verifySignature(ctx, c, in, auth, emptySHA256, signedAt) {
		return false
	}
	signer := v4.NewSigner()

	// The same request signed anew, the empty payload's hash in a signed header,
	// and its path canonicalized the way moto does: escaped once from the
	// decoded path (botocore, as AWS, escapes the escaped path again, which
	// moto cannot check for a path with an ARN in it).
	fresh := signable(in, auth.signedHeaders)
	if strings.Contains(in.URL.Path, "?") {
		return false
	}
	fresh.URL.Opaque = in.URL.Path
	fresh.Header.Del("X-Amz-Date")
	fresh.Header.Del("X-Amz-Security-Token")
	fresh.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := signer.SignHTTP(ctx, c, fresh, emptySHA256, auth.service, auth.region, time.Now()); err != nil {
		return false
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Content-Sha256", "X-Amz-Security-Token"} {
		out.Header.Del(h)
		if v := fresh.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	return true
}

// verifySignature reports whether auth, parsed from in's Authorization header, is the
// signature c gives for in as it arrived (its signed headers only), with the payload hash
// payloadHash, signed at signedAt.
func verifySignature(ctx context.Context, c aws.Credentials, in *http.Request, auth sigV4, payloadHash string, signedAt time.Time) bool {
	orig := signable(in, auth.signedHeaders)
	if orig == nil {
		return false
	}
	if err := v4.NewSigner().SignHTTP(ctx, c, orig, payloadHash, auth.service, auth.region, signedAt); err != nil {
		return false
	}
	mine, ok := parseAuthorization(orig.Header.Get("Authorization"))
	return ok && strings.Join(mine.signedHeaders, ";") == strings.Join(auth.signedHeaders, ";") &&
		hmac.Equal([]byte(mine.signature), []byte(auth.signature))
}

// signable copies in with only the headers named in signed (lower-case, as in
// SignedHeaders), or returns nil when one is missing. Its body is empty: the signer is given
// the payload hash.
func signable(in *http.Request, signed []string) *http.Request {
	u := *in.URL
	r := &http.Request{Method: in.Method, URL: &u, Host: in.Host, Header: http.Header{}, Body: http.NoBody}
	for _, name := range signed {
		switch name {
		case "host":
			continue
		case "content-length": // net/http keeps it in ContentLength, where the signer reads it
			r.ContentLength = in.ContentLength
			continue
		}
		vs := in.Header.Values(name)
		if len(vs) == 0 {
			return nil
		}
		r.Header[http.CanonicalHeaderKey(name)] = vs
	}
	return r
}

// sigV4 is a parsed SigV4 Authorization header.
type sigV4 struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

// parseAuthorization parses "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
// SignedHeaders=a;b, Signature=HEX".
func parseAuthorization(h string) (sigV4, bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigV4{}, false
	}
	var a sigV4
	var credential string
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			credential = v
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	scope := strings.Split(credential, "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || len(a.signedHeaders) == 0 || a.signature == "" {
		return sigV4{}, false
	}
	a.accessKeyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
	return a, true
}
