package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// maxCodeRequest bounds a CreateFunction or UpdateFunctionCode body the
// gateway reads: Lambda takes 50 MB zips inline, 67 MB once base64-encoded.
const maxCodeRequest = 100 << 20

// codeSource is where a CreateFunction or UpdateFunctionCode request takes code from.
type codeSource struct {
	ZipFile         []byte // base64 in JSON
	S3Bucket        string
	S3Key           string
	S3ObjectVersion string
}

// capture travels with a forwarded request, so that its response can record the code.
type capture struct {
	region  string
	src     codeSource
	deleted string // DeleteFunction of this function
}

type captureKey struct{}

// readBody reads at most limit bytes of r's body (what names it in errors) and,
// when it cannot or the body is larger, answers with Lambda's error for op.
func readBody(w http.ResponseWriter, r *http.Request, limit int, what, op string) ([]byte, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequestContentException", "gateway: reading "+what+": "+err.Error())
		return nil, false
	}
	if len(body) > limit {
		writeError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException",
			fmt.Sprintf("Request must be smaller than %d bytes for %s", limit, op))
		return nil, false
	}
	return body, true
}

// forwardCapturing forwards a CreateFunction or UpdateFunctionCode request
// unchanged and keeps its code once the upstream has accepted it: moto stores
// code but never hands it back.
func (g *Gateway) forwardCapturing(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxCodeRequest, "the request body", "this operation")
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	var req struct {
		codeSource
		Code   *codeSource
		DryRun bool
	}
	if json.Unmarshal(body, &req) == nil && !req.DryRun {
		src := req.codeSource
		if req.Code != nil {
			src = *req.Code
		}
		if len(src.ZipFile) > 0 || src.S3Key != "" {
			c := &capture{region: requestRegion(r, g.region), src: src}
			r = r.WithContext(context.WithValue(r.Context(), captureKey{}, c))
		}
	}
	g.proxy.ServeHTTP(w, r)
}

// captureCode records the code of a request the upstream accepted, before the
// client sees the response, so that an Invoke right after it finds the code.
func (g *Gateway) captureCode(resp *http.Response) error {
	c, _ := resp.Request.Context().Value(captureKey{}).(*capture)
	if c == nil || resp.StatusCode/100 != 2 {
		return nil
	}
	if c.deleted != "" {
		g.mu.Lock()
		delete(g.code, c.region+"/"+c.deleted)
		g.mu.Unlock()
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the upstream's response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))

	var out struct{ FunctionName, CodeSha256 string }
	if err := json.Unmarshal(body, &out); err != nil || out.FunctionName == "" {
		g.logf("gateway: the upstream's function configuration is unreadable, code not captured: %v", err)
		return nil
	}
	zip := c.src.ZipFile
	if len(zip) == 0 {
		if zip, err = g.fetchCode(resp.Request.Context(), c); err != nil {
			g.logf("gateway: code of %s not captured: %v", out.FunctionName, err)
			return nil
		}
	}
	d := deployed{zip: zip, sha256: names.CodeSHA256(zip)}
	if out.CodeSha256 != "" && out.CodeSha256 != d.sha256 {
		g.logf("gateway: the upstream reports CodeSha256 %s for %s, the gateway computed %s", out.CodeSha256, out.FunctionName, d.sha256)
	}
	g.mu.Lock()
	g.code[c.region+"/"+out.FunctionName] = d
	g.mu.Unlock()
	g.logf("gateway: captured the code of %s in %s (%d bytes, CodeSha256 %s)", out.FunctionName, c.region, len(zip), d.sha256)
	return nil
}

// fetchCode reads code the request named in the upstream's S3.
func (g *Gateway) fetchCode(ctx context.Context, c *capture) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	in := &s3.GetObjectInput{Bucket: &c.src.S3Bucket, Key: &c.src.S3Key}
	if c.src.S3ObjectVersion != "" {
		in.VersionId = &c.src.S3ObjectVersion
	}
	out, err := g.s3.GetObject(ctx, in, func(o *s3.Options) { o.Region = c.region })
	if err != nil {
		return nil, fmt.Errorf("getting s3://%s/%s: %w", c.src.S3Bucket, c.src.S3Key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxCodeRequest))
	if err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %w", c.src.S3Bucket, c.src.S3Key, err)
	}
	return b, nil
}

// codeOf returns the code the gateway holds for a function.
func (g *Gateway) codeOf(region, function string) (deployed, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	d, ok := g.code[region+"/"+function]
	return d, ok
}
