// Package minis3 is a small, fast, disk-backed S3 server for loopback use:
// the benchmark's server (so that the client under test, not the server, is
// the bottleneck) and the server behind the client's fault-injection tests.
//
// It speaks path-style S3 over HTTP: buckets (PUT, HEAD, DELETE), objects
// (PUT, GET with Range and If-Match, HEAD, DELETE), multipart uploads (create,
// upload part, complete, abort, list) and ListObjectsV2. It checks no
// signatures. Completed multipart objects are served straight from their part
// files, so completing costs no copy. Object ETags are not MD5s.
package minis3

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a running minis3.
type Server struct {
	dir  string
	http *http.Server
	ln   net.Listener
	seq  atomic.Int64

	mu      sync.Mutex
	buckets map[string]map[string]*object // bucket -> key -> object
	uploads map[string]*upload            // upload id -> upload
}

type object struct {
	parts []segment // the object's bytes, in order
	size  int64
	etag  string
	mod   time.Time
}

type segment struct {
	path string
	size int64
}

type upload struct {
	bucket, key string
	parts       map[int]segment
	etags       map[int]string
}

// New returns a server that is not listening: an http.Handler to mount
// (behind a fault-injecting wrapper, say), storing data under dir.
func New(dir string) *Server {
	return &Server{dir: dir, buckets: map[string]map[string]*object{}, uploads: map[string]*upload{}}
}

// Start serves a new server on 127.0.0.1:0, storing data under dir (which must exist).
func Start(dir string) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on loopback: %w", err)
	}
	s := New(dir)
	s.ln = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// URL is the base URL (http://127.0.0.1:PORT) of a started server.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops a started server and its connections.
func (s *Server) Close(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	if err := s.http.Shutdown(ctx); err != nil {
		return s.http.Close()
	}
	return nil
}

// CreateBucket makes a bucket (no error when it exists).
func (s *Server) CreateBucket(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		s.buckets[name] = map[string]*object{}
	}
}

// Uploads returns the keys of the multipart uploads in progress in bucket.
func (s *Server) Uploads(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, u := range s.uploads {
		if u.bucket == bucket {
			keys = append(keys, u.key)
		}
	}
	slices.Sort(keys)
	return keys
}

// Keys returns the object keys of bucket in order.
func (s *Server) Keys(bucket string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.buckets[bucket]))
	for k := range s.buckets[bucket] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *Server) newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%d-%s", s.seq.Add(1), hex.EncodeToString(b[:]))
}

// ServeHTTP routes a path-style S3 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case bucket == "":
		s.error(w, http.StatusNotImplemented, "NotImplemented", "ListBuckets is not implemented")
	case key == "":
		s.bucketOp(w, r, bucket, q)
	case q.Has("uploads") && r.Method == http.MethodPost:
		s.createUpload(w, bucket, key)
	case q.Has("uploadId"):
		s.uploadOp(w, r, bucket, key, q)
	default:
		s.objectOp(w, r, bucket, key)
	}
}

func (s *Server) error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, xmlEscape(msg))
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (s *Server) bucketOp(w http.ResponseWriter, r *http.Request, bucket string, q url.Values) {
	s.mu.Lock()
	objs, exists := s.buckets[bucket]
	s.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		s.CreateBucket(bucket)
		w.WriteHeader(http.StatusOK)
	case http.MethodHead:
		if !exists {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		if !exists {
			s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		s.mu.Lock()
		delete(s.buckets, bucket)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		if !exists {
			s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		if q.Has("uploads") {
			s.listUploads(w, bucket)
			return
		}
		s.listObjects(w, bucket, objs, q)
	case http.MethodPost:
		if q.Has("delete") {
			s.deleteObjects(w, r, bucket)
			return
		}
		s.error(w, http.StatusNotImplemented, "NotImplemented", "unsupported bucket POST")
	default:
		s.error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

type listResult struct {
	XMLName     xml.Name `xml:"ListBucketResult"`
	Name        string
	Prefix      string
	KeyCount    int
	MaxKeys     int
	IsTruncated bool
	Contents    []listEntry
}

type listEntry struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
}

func (s *Server) listObjects(w http.ResponseWriter, bucket string, _ map[string]*object, q url.Values) {
	prefix := q.Get("prefix")
	s.mu.Lock()
	res := listResult{Name: bucket, Prefix: prefix, MaxKeys: 1000}
	for k, o := range s.buckets[bucket] {
		if strings.HasPrefix(k, prefix) {
			res.Contents = append(res.Contents, listEntry{Key: k, LastModified: o.mod.UTC().Format(time.RFC3339), ETag: o.etag, Size: o.size})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(res.Contents, func(a, b listEntry) int { return strings.Compare(a.Key, b.Key) })
	res.KeyCount = len(res.Contents)
	writeXML(w, res)
}

func (s *Server) deleteObjects(w http.ResponseWriter, r *http.Request, bucket string) {
	var req struct {
		Objects []struct{ Key string } `xml:"Object"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		s.error(w, http.StatusBadRequest, "MalformedXML", err.Error())
		return
	}
	s.mu.Lock()
	for _, o := range req.Objects {
		delete(s.buckets[bucket], o.Key)
	}
	s.mu.Unlock()
	writeXML(w, struct {
		XMLName xml.Name `xml:"DeleteResult"`
	}{})
}

func (s *Server) listUploads(w http.ResponseWriter, bucket string) {
	type up struct{ Key, UploadId string }
	var res struct {
		XMLName xml.Name `xml:"ListMultipartUploadsResult"`
		Bucket  string
		Upload  []up
	}
	res.Bucket = bucket
	s.mu.Lock()
	for id, u := range s.uploads {
		if u.bucket == bucket {
			res.Upload = append(res.Upload, up{u.key, id})
		}
	}
	s.mu.Unlock()
	writeXML(w, res)
}

func writeXML(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(v)
}

func (s *Server) lookup(bucket, key string) (*object, bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	objs, ok := s.buckets[bucket]
	if !ok {
		return nil, false, false
	}
	o, ok := objs[key]
	return o, true, ok
}

func (s *Server) objectOp(w http.ResponseWriter, r *http.Request, bucket, key string) {
	switch r.Method {
	case http.MethodPut:
		if r.Header.Get("x-amz-copy-source") != "" {
			s.error(w, http.StatusNotImplemented, "NotImplemented", "CopyObject is not implemented")
			return
		}
		if _, bucketOK, _ := s.lookup(bucket, key); !bucketOK {
			s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		seg, err := s.store(r)
		if err != nil {
			s.error(w, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		o := &object{parts: []segment{seg}, size: seg.size, etag: `"` + s.newID() + `"`, mod: time.Now()}
		s.mu.Lock()
		if s.buckets[bucket] == nil {
			s.mu.Unlock()
			s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		s.buckets[bucket][key] = o
		s.mu.Unlock()
		w.Header().Set("ETag", o.etag)
		w.WriteHeader(http.StatusOK)
	case http.MethodGet, http.MethodHead:
		o, bucketOK, ok := s.lookup(bucket, key)
		switch {
		case !bucketOK && r.Method == http.MethodGet:
			s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		case !ok && r.Method == http.MethodGet:
			s.error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
			return
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if m := r.Header.Get("If-Match"); m != "" && m != o.etag && m != "*" {
			s.error(w, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
			return
		}
		s.serveObject(w, r, o)
	case http.MethodDelete:
		if _, bucketOK, _ := s.lookup(bucket, key); !bucketOK {
			s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
			return
		}
		s.mu.Lock()
		delete(s.buckets[bucket], key)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		s.error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, o *object) {
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.mod.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "binary/octet-stream")
	start, end := int64(0), o.size-1
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && r.Method == http.MethodGet {
		a, b, ok := parseRange(rg, o.size)
		if !ok {
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", o.size))
			s.error(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range is not satisfiable")
			return
		}
		start, end, status = a, b, http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, o.size))
	}
	n := end - start + 1
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead || n <= 0 {
		return
	}
	_ = copyRange(w, o.parts, start, n)
}

// parseRange reads "bytes=A-B", "bytes=A-" or "bytes=-N".
func parseRange(h string, size int64) (int64, int64, bool) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false
	}
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start >= size {
		return 0, 0, false
	}
	end := size - 1
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return 0, 0, false
		}
		end = min(end, size-1)
	}
	return start, end, true
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// copyRange writes n bytes starting at off of the concatenated segments.
func copyRange(w io.Writer, segs []segment, off, n int64) error {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	for _, seg := range segs {
		if n == 0 {
			return nil
		}
		if off >= seg.size {
			off -= seg.size
			continue
		}
		f, err := os.Open(seg.path)
		if err != nil {
			return err
		}
		k := min(seg.size-off, n)
		_, err = io.CopyBuffer(w, io.NewSectionReader(f, off, k), *buf)
		f.Close()
		if err != nil {
			return err
		}
		n -= k
		off = 0
	}
	return nil
}

// store writes a request body (plain or aws-chunked) to a new file.
func (s *Server) store(r *http.Request) (segment, error) {
	path := filepath.Join(s.dir, s.newID())
	f, err := os.Create(path)
	if err != nil {
		return segment{}, err
	}
	defer f.Close()
	var body io.Reader = r.Body
	if strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") || strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") {
		body = newChunkedReader(r.Body)
	}
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	n, err := io.CopyBuffer(f, struct{ io.Reader }{body}, *buf)
	if err != nil {
		os.Remove(path)
		return segment{}, err
	}
	if want := r.Header.Get("X-Amz-Decoded-Content-Length"); want != "" && want != strconv.FormatInt(n, 10) {
		os.Remove(path)
		return segment{}, fmt.Errorf("got %d bytes, x-amz-decoded-content-length says %s", n, want)
	}
	if r.ContentLength >= 0 && body == r.Body && n != r.ContentLength {
		os.Remove(path)
		return segment{}, fmt.Errorf("got %d bytes, Content-Length says %d", n, r.ContentLength)
	}
	return segment{path: path, size: n}, nil
}

func (s *Server) createUpload(w http.ResponseWriter, bucket, key string) {
	if _, bucketOK, _ := s.lookup(bucket, key); !bucketOK {
		s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	id := s.newID()
	s.mu.Lock()
	s.uploads[id] = &upload{bucket: bucket, key: key, parts: map[int]segment{}, etags: map[int]string{}}
	s.mu.Unlock()
	writeXML(w, struct {
		XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
		Bucket   string
		Key      string
		UploadId string
	}{Bucket: bucket, Key: key, UploadId: id})
}

func (s *Server) uploadOp(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) {
	id := q.Get("uploadId")
	s.mu.Lock()
	u := s.uploads[id]
	s.mu.Unlock()
	if u == nil || u.bucket != bucket || u.key != key {
		s.error(w, http.StatusNotFound, "NoSuchUpload", "The specified multipart upload does not exist")
		return
	}
	switch r.Method {
	case http.MethodPut:
		n, err := strconv.Atoi(q.Get("partNumber"))
		if err != nil || n < 1 || n > 10000 {
			s.error(w, http.StatusBadRequest, "InvalidArgument", "partNumber must be 1 to 10000")
			return
		}
		seg, err := s.store(r)
		if err != nil {
			s.error(w, http.StatusBadRequest, "IncompleteBody", err.Error())
			return
		}
		etag := `"` + s.newID() + `"`
		s.mu.Lock()
		u.parts[n], u.etags[n] = seg, etag
		s.mu.Unlock()
		w.Header().Set("ETag", etag)
		if c := r.Header.Get("x-amz-checksum-crc32"); c != "" {
			w.Header().Set("x-amz-checksum-crc32", c)
		}
		w.WriteHeader(http.StatusOK)
	case http.MethodPost:
		s.complete(w, r, id, u)
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.uploads, id)
		s.mu.Unlock()
		for _, p := range u.parts {
			os.Remove(p.path)
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		s.error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method)
	}
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request, id string, u *upload) {
	var req struct {
		Parts []struct {
			PartNumber int
			ETag       string
		} `xml:"Part"`
	}
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		s.error(w, http.StatusBadRequest, "MalformedXML", err.Error())
		return
	}
	o := &object{mod: time.Now()}
	s.mu.Lock()
	for i, p := range req.Parts {
		seg, ok := u.parts[p.PartNumber]
		if !ok || u.etags[p.PartNumber] != p.ETag || (i > 0 && p.PartNumber <= req.Parts[i-1].PartNumber) {
			s.mu.Unlock()
			s.error(w, http.StatusBadRequest, "InvalidPart", fmt.Sprintf("part %d is missing, out of order or has another ETag", p.PartNumber))
			return
		}
		o.parts = append(o.parts, seg)
		o.size += seg.size
	}
	o.etag = fmt.Sprintf(`"%s-%d"`, s.newID(), len(req.Parts))
	delete(s.uploads, id)
	if s.buckets[u.bucket] == nil {
		s.mu.Unlock()
		s.error(w, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return
	}
	s.buckets[u.bucket][u.key] = o
	s.mu.Unlock()
	writeXML(w, struct {
		XMLName xml.Name `xml:"CompleteMultipartUploadResult"`
		Bucket  string
		Key     string
		ETag    string
	}{Bucket: u.bucket, Key: u.key, ETag: o.etag})
}

// chunkedReader decodes an aws-chunked body: "HEX[;ext]\r\nDATA\r\n" chunks
// ending with a zero-size chunk and optional trailers.
type chunkedReader struct {
	r    *bufio.Reader
	left int64
	done bool
}

func newChunkedReader(r io.Reader) *chunkedReader {
	return &chunkedReader{r: bufio.NewReaderSize(r, 64<<10)}
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, fmt.Errorf("aws-chunked: reading chunk header: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" { // the CRLF after a chunk's data
			continue
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := strconv.ParseInt(size, 16, 64)
		if err != nil {
			return 0, errors.New("aws-chunked: bad chunk size")
		}
		if n == 0 {
			c.done = true
			_, _ = io.Copy(io.Discard, c.r) // trailers
			return 0, io.EOF
		}
		c.left = n
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == io.EOF && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
