package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// maxBuffered is the largest answer the gateway reads whole before passing it on.
const maxBuffered = 4 << 20

// bufferSmall reads a small answer (a known length up to maxBuffered: every API answer but
// large S3 objects) whole before the gateway sends any of it. moto's server, under load,
// sometimes resets a connection in the middle of an answer; streamed, the client would get a
// 200 cut short, which the SDK does not retry ("deserialization failed, unexpected EOF").
// Read first, a reset becomes the gateway's 502, which the SDK retries, as it would AWS's.
func bufferSmall(resp *http.Response) error {
	if resp.ContentLength < 0 || resp.ContentLength > maxBuffered || resp.Request.Method == http.MethodHead {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("reading the upstream's answer: %w", err)
	}
	if int64(len(body)) != resp.ContentLength {
		return fmt.Errorf("reading the upstream's answer: %d of %d bytes", len(body), resp.ContentLength)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}
