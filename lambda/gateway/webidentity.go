package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSTSBody bounds the STS query body the gateway reads.
const maxSTSBody = 1 << 20

// isUnsignedSTS reports whether r may be an STS query call without a signature: what the SDK
// sends for AssumeRoleWithWebIdentity, which AWS takes unsigned.
func isUnsignedSTS(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("Authorization") == "" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
}

// webIdentity answers an unsigned AssumeRoleWithWebIdentity as AWS does: the token is checked
// by g.trustsToken (the account's OIDC provider) and, when trusted, the call goes on to the
// upstream signed with the gateway's own credentials, because moto with IAM enforced refuses
// unsigned calls and checks no token; an untrusted token is refused with InvalidIdentityToken.
// Any other unsigned call goes on unchanged, for the upstream to judge.
func (g *Gateway) webIdentity(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSTSBody))
	if err != nil {
		writeSTSError(w, http.StatusBadRequest, "InvalidRequest", "gateway: reading the request: "+err.Error())
		return
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "AssumeRoleWithWebIdentity" {
		g.proxy.ServeHTTP(w, r)
		return
	}
	if !g.trustsToken(form.Get("WebIdentityToken")) {
		g.logf("gateway: refused AssumeRoleWithWebIdentity for %s: a token no trusted provider issued", form.Get("RoleArn"))
		writeSTSError(w, http.StatusBadRequest, "InvalidIdentityToken", "The web identity token that was passed could not be validated by the gateway's OIDC provider")
		return
	}
	creds, err := g.creds.Retrieve(r.Context())
	if err != nil {
		writeSTSError(w, http.StatusInternalServerError, "InternalFailure", "gateway: its own credentials: "+err.Error())
		return
	}
	sum := sha256.Sum256(body)
	r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, r, hex.EncodeToString(sum[:]), "sts", requestRegion(r, g.region), time.Now()); err != nil {
		writeSTSError(w, http.StatusInternalServerError, "InternalFailure", "gateway: signing the exchange: "+err.Error())
		return
	}
	g.logf("gateway: AssumeRoleWithWebIdentity for %s: token trusted, forwarded signed as the gateway", form.Get("RoleArn"))
	g.proxy.ServeHTTP(w, r)
}

// writeSTSError writes an error in the STS query protocol's XML.
func writeSTSError(w http.ResponseWriter, status int, code, msg string) {
	var m bytes.Buffer
	_ = xml.EscapeText(&m, []byte(msg))
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error></ErrorResponse>`, kind, code, m.String())
}
