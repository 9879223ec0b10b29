package client

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// maxParts is S3's limit on the parts of one multipart upload.
const maxParts = 10000

// Put uploads the local file at path to key. Files up to upload_part_size go
// in one PUT; larger ones as a multipart upload of upload_concurrency parallel
// parts, aborted on any failure (or Ctrl-C) so that no parts are left behind.
// Regular files are read in place (no part buffers); pipes, other streams and
// files whose size the kernel reports as 0 (/proc/cpuinfo, /sys files) go
// through at most upload_concurrency reused buffers of one part each.
func (c *Client) Put(ctx context.Context, path, key string) (err error) {
	defer unstall(&err)
	op := fmt.Sprintf("put %q", key)
	if err := c.readOnly(op); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: opening local file: %w", op, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	switch {
	case st.IsDir():
		return fmt.Errorf("%s: %s is a directory", op, path)
	case st.Mode().IsRegular() && st.Size() > 0:
		return c.putFile(ctx, op, f, st.Size(), key)
	default:
		return c.putStream(ctx, op, f, key)
	}
}

// PartSize returns the part size for an object of size bytes: upload_part_size,
// raised (to a whole MiB) when the object would need more than 10000 parts.
func PartSize(size, configured int64) int64 {
	ps := configured
	if need := (size + maxParts - 1) / maxParts; need > ps {
		ps = (need + config.MiB - 1) / config.MiB * config.MiB
	}
	return ps
}

func (c *Client) putFile(ctx context.Context, op string, f *os.File, size int64, key string) error {
	ps := PartSize(size, c.cfg.UploadPartSize)
	if !c.cfg.MultipartUpload || size <= ps {
		if size > config.MaxPartSize {
			return fmt.Errorf("%s: %d bytes is more than one PUT takes (5 GiB); set multipart_upload to true", op, size)
		}
		return c.putSingle(ctx, op, io.NewSectionReader(f, 0, size), size, key)
	}
	if ps > config.MaxPartSize {
		return fmt.Errorf("%s: %d bytes is more than S3 takes in one object", op, size)
	}
	nparts := int((size + ps - 1) / ps)
	return c.multipart(ctx, op, key, func(ctx context.Context, parts chan<- part) error {
		for i := range nparts {
			off := int64(i) * ps
			p := part{number: int32(i + 1), body: io.NewSectionReader(f, off, min(ps, size-off))}
			select {
			case parts <- p:
			case <-ctx.Done():
				return nil
			}
		}
		return nil
	})
}

// putStream uploads from a reader of unknown length through reused buffers.
func (c *Client) putStream(ctx context.Context, op string, r io.Reader, key string) error {
	ps := c.cfg.UploadPartSize
	first := make([]byte, ps)
	n, err := io.ReadFull(r, first)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: reading local file: %w", op, err)
	}
	if int64(n) == ps && !c.cfg.MultipartUpload {
		var one [1]byte
		if k, _ := io.ReadFull(r, one[:]); k > 0 {
			return fmt.Errorf("%s: input longer than upload_part_size needs multipart_upload true", op)
		}
	}
	if int64(n) < ps || !c.cfg.MultipartUpload {
		return c.putSingle(ctx, op, bytes.NewReader(first[:n]), int64(n), key)
	}
	// The pool caps memory: upload_concurrency buffers, each back once its part is sent.
	pool := make(chan []byte, c.cfg.UploadConcurrency)
	pool <- first
	for range c.cfg.UploadConcurrency - 1 {
		pool <- nil // allocated on first use
	}
	return c.multipart(ctx, op, key, func(ctx context.Context, parts chan<- part) error {
		for num := int32(1); ; num++ {
			var buf []byte
			select {
			case buf = <-pool:
			case <-ctx.Done():
				return nil
			}
			if buf == nil {
				buf = make([]byte, ps)
			}
			m := len(buf)
			if num > 1 { // the first buffer arrived full
				var err error
				m, err = io.ReadFull(r, buf)
				switch {
				case errors.Is(err, io.EOF):
					return nil
				case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
					return fmt.Errorf("reading local file: %w", err)
				}
			}
			if num > maxParts {
				return fmt.Errorf("input needs more than %d parts of %d bytes; raise upload_part_size", maxParts, ps)
			}
			select {
			case parts <- part{number: num, body: bytes.NewReader(buf[:m]), release: func() { pool <- buf }}:
			case <-ctx.Done():
				return nil
			}
			if m < len(buf) {
				return nil
			}
		}
	})
}

func (c *Client) putSingle(ctx context.Context, op string, body io.ReadSeeker, size int64, key string) error {
	in := &s3.PutObjectInput{
		Bucket:        &c.cfg.BucketName,
		Key:           aws.String(c.cfg.Key(key)),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	c.sse(&in.ServerSideEncryption, &in.SSEKMSKeyId)
	_, err := c.s3.PutObject(ctx, in)
	return opErr(op, err)
}

// sse fills the server-side encryption fields of a request.
func (c *Client) sse(alg *types.ServerSideEncryption, keyID **string) {
	if c.cfg.ServerSideEncryption != "" {
		*alg = types.ServerSideEncryption(c.cfg.ServerSideEncryption)
	}
	if c.cfg.SSEKMSKeyID != "" {
		*keyID = aws.String(c.cfg.SSEKMSKeyID)
	}
}

// part is one part of a multipart upload; release (if set) returns its buffer.
type part struct {
	number  int32
	body    io.ReadSeeker
	release func()
}

// uploaderOpts turns the SDK's own checksums off for the uploader's calls when
// uploader_request_checksum_calculation_enabled is false (for S3-compatible
// stores that reject them).
func (c *Client) uploaderOpts() []func(*s3.Options) {
	if c.cfg.UploaderChecksums {
		return nil
	}
	return []func(*s3.Options){func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}}
}

// producer sends the parts of an upload in order and returns when they are
// all sent, ctx is done, or the source failed.
type producer func(ctx context.Context, parts chan<- part) error

// multipart runs one multipart upload of the parts that produce sends, with
// upload_concurrency parallel UploadPart calls. On any error (a part, the
// source, Ctrl-C) the producer is stopped and the upload aborted.
func (c *Client) multipart(ctx context.Context, op, key string, produce producer) (err error) {
	objKey := aws.String(c.cfg.Key(key))
	create := &s3.CreateMultipartUploadInput{Bucket: &c.cfg.BucketName, Key: objKey}
	c.sse(&create.ServerSideEncryption, &create.SSEKMSKeyId)
	if c.cfg.UploaderChecksums {
		create.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	}
	opts := c.uploaderOpts()
	created, err := c.s3.CreateMultipartUpload(ctx, create, opts...)
	if err != nil {
		return opErr(op+": starting multipart upload", err)
	}
	uploadID := created.UploadId

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		if err == nil {
			return
		}
		actx, acancel := detach(ctx)
		defer acancel()
		_, aerr := c.s3.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &c.cfg.BucketName, Key: objKey, UploadId: uploadID})
		if aerr != nil && !isNotFound(aerr) {
			err = fmt.Errorf("%w; aborting the multipart upload also failed, parts may remain until a lifecycle rule removes them: %s", err, describe(aerr))
		}
	}()

	parts := make(chan part)
	readErr := make(chan error, 1)
	go func() {
		defer close(parts)
		readErr <- produce(ctx, parts)
	}()

	var (
		mu       sync.Mutex
		done     []types.CompletedPart
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(e error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = e
			cancel()
		}
		mu.Unlock()
	}
	for range c.cfg.UploadConcurrency {
		wg.Go(func() {
			for p := range parts {
				if ctx.Err() != nil { // failed already: drain so the producer never blocks
					if p.release != nil {
						p.release()
					}
					continue
				}
				cp, e := c.uploadPart(ctx, objKey, uploadID, p, opts)
				if p.release != nil {
					p.release()
				}
				if e != nil {
					fail(opErr(fmt.Sprintf("%s: part %d", op, p.number), e))
					continue
				}
				mu.Lock()
				done = append(done, cp)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if e := <-readErr; e != nil && firstErr == nil {
		firstErr = fmt.Errorf("%s: %w", op, e)
	}
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	slices.SortFunc(done, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	for i, p := range done {
		if *p.PartNumber != int32(i+1) {
			return fmt.Errorf("%s: part %d is missing", op, i+1)
		}
	}
	_, err = c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &c.cfg.BucketName, Key: objKey, UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: done},
	}, opts...)
	return opErr(op+": completing multipart upload", err)
}

func (c *Client) uploadPart(ctx context.Context, key, uploadID *string, p part, opts []func(*s3.Options)) (types.CompletedPart, error) {
	size, err := p.body.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = p.body.Seek(0, io.SeekStart)
	}
	if err != nil {
		return types.CompletedPart{}, err
	}
	in := &s3.UploadPartInput{
		Bucket: &c.cfg.BucketName, Key: key, UploadId: uploadID,
		PartNumber: aws.Int32(p.number), Body: p.body, ContentLength: aws.Int64(size),
	}
	if c.cfg.UploaderChecksums {
		// Computed here, not by the SDK, so CompleteMultipartUpload can list it
		// whether or not the store echoes it back.
		sum, err := crc32Of(p.body)
		if err != nil {
			return types.CompletedPart{}, fmt.Errorf("reading local file: %w", err)
		}
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		in.ChecksumCRC32 = aws.String(sum)
	}
	out, err := c.s3.UploadPart(ctx, in, opts...)
	if err != nil {
		return types.CompletedPart{}, err
	}
	return types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(p.number), ChecksumCRC32: in.ChecksumCRC32}, nil
}

var crcBufs = sync.Pool{New: func() any { b := make([]byte, ioBufferSize); return &b }}

// crc32Of returns the base64 big-endian CRC32 (IEEE) of r and rewinds it.
func crc32Of(r io.ReadSeeker) (string, error) {
	h := crc32.NewIEEE()
	buf := crcBufs.Get().(*[]byte)
	defer crcBufs.Put(buf)
	if _, err := io.CopyBuffer(h, r, *buf); err != nil {
		return "", err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, h.Sum32())), nil
}
