package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
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
	single := size <= ps
	if c.cfg.SingleUploadThreshold > 0 { // storage-cli's single_upload_threshold
		single = size <= c.cfg.SingleUploadThreshold
	}
	if !c.cfg.MultipartUpload || single {
		if size > c.cfg.MaxSinglePut {
			return fmt.Errorf("%s: %d bytes is more than one PUT takes (5 GiB); set multipart_upload to true", op, size)
		}
		return c.putSingle(ctx, op, io.NewSectionReader(f, 0, size), size, key)
	}
	if ps > config.MaxPartSize {
		return fmt.Errorf("%s: %d bytes is more than S3 takes in one object", op, size)
	}
	nparts := (size + ps - 1) / ps
	return c.multipart(ctx, op, key, c.cfg.UploaderChecksums, func(ctx context.Context, u *upload) error {
		return parallel(ctx, op, c.cfg.UploadConcurrency, indices(nparts), func(ctx context.Context, _ int, i int64) error {
			off := i * ps
			return c.uploadPart(ctx, op, u, int32(i+1), io.NewSectionReader(f, off, min(ps, size-off)))
		})
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
	type streamPart struct {
		number int32
		buf    []byte // a whole pool buffer
		n      int    // bytes of it in the part
	}
	feed := func(ctx context.Context, parts chan<- streamPart) error {
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
					pool <- buf
					return nil
				case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
					pool <- buf
					return fmt.Errorf("reading local file: %w", err)
				}
			}
			if num > maxParts {
				pool <- buf
				return fmt.Errorf("input needs more than %d parts of %d bytes; raise upload_part_size", maxParts, ps)
			}
			select {
			case parts <- streamPart{number: num, buf: buf, n: m}:
			case <-ctx.Done():
				pool <- buf
				return nil
			}
			if m < len(buf) {
				return nil
			}
		}
	}
	return c.multipart(ctx, op, key, c.cfg.UploaderChecksums, func(ctx context.Context, u *upload) error {
		return parallel(ctx, op, c.cfg.UploadConcurrency, feed, func(ctx context.Context, _ int, p streamPart) error {
			defer func() { pool <- p.buf }()
			if err := ctx.Err(); err != nil { // failed already: only give the buffer back
				return err
			}
			return c.uploadPart(ctx, op, u, p.number, bytes.NewReader(p.buf[:p.n]))
		})
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
	var opts []func(*s3.Options)
	if c.cfg.RequestChecksumCalculation == aws.RequestChecksumCalculationWhenSupported && size > 0 {
		// The CRC32 the SDK would add, computed here so the payload can go unsigned
		// (the SDK would hash SHA-256 in the same pass).
		sum, err := crc32Of(body)
		if err != nil {
			return fmt.Errorf("%s: reading local file: %w", op, err)
		}
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		in.ChecksumCRC32 = aws.String(sum)
		opts = c.unsignedPayload()
	}
	_, err := c.s3.PutObject(ctx, in, opts...)
	return opErr(op, err)
}

// SignedPayloadEnv names the environment variable that, set to 1, makes every
// request sign the SHA-256 of its body as s3cli did before; it exists for the
// benchmark that compares both.
const SignedPayloadEnv = "S3CLI_SIGNED_PAYLOAD"

// unsignedPayload signs a request whose body carries a CRC32 the server checks
// with x-amz-content-sha256 UNSIGNED-PAYLOAD, over http as over https: the
// SHA-256 would be one more full read of every byte (the SDK computes it over
// http), and the CRC32 already guards the bytes.
func (c *Client) unsignedPayload() []func(*s3.Options) {
	if os.Getenv(SignedPayloadEnv) == "1" {
		return nil
	}
	return []func(*s3.Options){s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)}
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

// uploadPart sends part number of u from body and records it.
func (c *Client) uploadPart(ctx context.Context, op string, u *upload, number int32, body io.ReadSeeker) error {
	size, err := body.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = body.Seek(0, io.SeekStart)
	}
	if err != nil {
		return fmt.Errorf("%s: part %d: reading local file: %w", op, number, err)
	}
	in := &s3.UploadPartInput{
		Bucket: &c.cfg.BucketName, Key: u.key, UploadId: u.id,
		PartNumber: aws.Int32(number), Body: body, ContentLength: aws.Int64(size),
	}
	if c.cfg.UploaderChecksums {
		// Computed here, not by the SDK, so CompleteMultipartUpload can list it
		// whether or not the store echoes it back.
		sum, err := crc32Of(body)
		if err != nil {
			return fmt.Errorf("%s: part %d: reading local file: %w", op, number, err)
		}
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		in.ChecksumCRC32 = aws.String(sum)
	}
	opts := c.uploaderOpts()
	if in.ChecksumCRC32 != nil {
		opts = append(opts, c.unsignedPayload()...)
	}
	out, err := c.s3.UploadPart(ctx, in, opts...)
	if err != nil {
		return opErr(fmt.Sprintf("%s: part %d", op, number), err)
	}
	u.done(types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(number), ChecksumCRC32: in.ChecksumCRC32})
	return nil
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
