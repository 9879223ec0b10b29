// Package minis3 is the S3 server of s3cli's unit tests and benchmark: gofakes3
// (in memory) as an http.Handler, with what S3 does that gofakes3 does not: a
// GET or HEAD whose If-Match differs from the object's ETag is answered 412
// PreconditionFailed (gofakes3 checks If-Match on PUT only). It replaced a
// home-made server; the name stays so that callers did not change.
package minis3

import (
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is an in-memory S3 server.
type Server struct {
	backend *s3mem.Backend
	handler http.Handler
}

// New returns an empty server. dir is not used (objects live in memory); it
// remains for the callers of the disk-backed server this package was.
func New(dir string) *Server {
	b := s3mem.New()
	return &Server{backend: b, handler: gofakes3.New(b, gofakes3.WithoutVersioning()).Server()}
}

// CreateBucket adds an empty bucket (nothing when it exists).
func (s *Server) CreateBucket(name string) {
	_ = s.backend.CreateBucket(name)
}

// DeleteObject drops an object, so that big ones do not pile up in memory.
func (s *Server) DeleteObject(bucket, key string) {
	_, _ = s.backend.DeleteObject(bucket, key)
}

// ServeHTTP answers S3 requests (path-style; signatures are not checked).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.preconditionFailed(w, r) {
		return
	}
	s.handler.ServeHTTP(w, r)
}

func (s *Server) preconditionFailed(w http.ResponseWriter, r *http.Request) bool {
	want := r.Header.Get("If-Match")
	if want == "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	obj, err := s.backend.HeadObject(bucket, key)
	if err != nil || `"`+hex.EncodeToString(obj.Hash)+`"` == want {
		return false
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusPreconditionFailed)
	if r.Method == http.MethodGet {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`)
	}
	return true
}

// Keys lists the keys of bucket in order.
func (s *Server) Keys(bucket string) []string {
	list, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		return nil
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	return keys
}

// Uploads lists the unfinished multipart uploads of bucket as "KEY UPLOADID"
// (through the server's own ListMultipartUploads).
func (s *Server) Uploads(bucket string) []string {
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+bucket+"?uploads", nil))
	var out struct {
		Uploads []struct{ Key, UploadId string } `xml:"Upload"`
	}
	if rec.Code != http.StatusOK || xml.Unmarshal(rec.Body.Bytes(), &out) != nil {
		return []string{"ListMultipartUploads failed: " + rec.Body.String()}
	}
	var ids []string
	for _, u := range out.Uploads {
		ids = append(ids, u.Key+" "+u.UploadId)
	}
	return ids
}
