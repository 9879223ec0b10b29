package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxBodyAttempts bounds how often one part's download is resumed after its
// response body broke off (the SDK retries only until the headers arrive).
const maxBodyAttempts = 5

// Get downloads key into the local file at path. The object is fetched in
// download_part_size ranges by download_concurrency workers into a temporary
// file beside path, which is fsynced and renamed over path only when every byte
// arrived: a failed or interrupted get leaves path as it was and no temporary file.
func (c *Client) Get(ctx context.Context, key, path string) (err error) {
	op := fmt.Sprintf("get %q", key)
	mode := fs.FileMode(0o666) // narrowed by the umask
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s: %s is a directory", op, path)
		}
		mode = st.Mode().Perm()
	}
	head, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(key))})
	if err != nil {
		if isNotFound(err) {
			return c.missing(ctx, op, key)
		}
		return opErr(op, err)
	}
	size := aws.ToInt64(head.ContentLength)

	tmp, err := createTemp(path, mode)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	if err := c.download(ctx, op, key, head.ETag, size, tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: flushing %s: %w", op, tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: closing %s: %w", op, tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: moving the download into place: %w", op, err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// createTemp makes an empty file beside path (same file system, so the final
// rename is atomic) that does not show up as the target while incomplete.
func createTemp(path string, mode fs.FileMode) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	for range 10 {
		var r [6]byte
		_, _ = rand.Read(r[:])
		name := filepath.Join(dir, "."+base+".s3cli-"+hex.EncodeToString(r[:])+".part")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating a temporary file beside %s: %w", path, err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("creating a temporary file beside %s: too many name clashes", path)
}

// syncDir makes the rename durable; best effort (not every file system allows it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// download writes the size bytes of key into w: one GET (with the SDK's
// response checksum validation) up to download_part_size, else ranged GETs in
// parallel. Every request carries If-Match with the ETag seen by HEAD, so an
// object replaced meanwhile fails the download instead of mixing two versions.
func (c *Client) download(ctx context.Context, op, key string, etag *string, size int64, w *os.File) error {
	ps := c.cfg.DownloadPartSize
	if size <= ps {
		buf := make([]byte, min(ioBufferSize, max(size, 1)))
		return c.getRange(ctx, op, key, etag, w, 0, size, true, buf)
	}
	nparts := (size + ps - 1) / ps
	workers := min(int64(c.cfg.DownloadConcurrency), nparts)
	bufs := make([][]byte, workers) // one per worker, made when it starts
	return parallel(ctx, op, nparts, workers, func(ctx context.Context, worker int, i int64) error {
		if bufs[worker] == nil {
			bufs[worker] = make([]byte, ioBufferSize)
		}
		off := i * ps
		n := min(ps, size-off)
		if err := c.getRange(ctx, op, key, etag, w, off, n, false, bufs[worker]); err != nil {
			return err
		}
		startWriteback(w, off, n)
		return nil
	})
}

// getRange fetches bytes [off, off+n) of key into w at off, resuming where the
// body broke off up to maxBodyAttempts times. whole asks for the object without
// a Range header (so the SDK validates its checksum) as long as nothing arrived.
func (c *Client) getRange(ctx context.Context, op, key string, etag *string, w io.WriterAt, off, n int64, whole bool, buf []byte) error {
	var got int64
	for attempt := 1; ; attempt++ {
		in := &s3.GetObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(key)), IfMatch: etag}
		ranged := !whole || got > 0
		if ranged {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off+got, off+n-1))
		}
		out, err := c.s3.GetObject(ctx, in)
		if err != nil {
			switch {
			case isNotFound(err):
				return c.missing(ctx, op, key)
			case errorCode(err) == "PreconditionFailed":
				return &OpError{Op: op, Err: errors.New("the object changed during the download; run get again")}
			}
			return opErr(fmt.Sprintf("%s: bytes %d-%d", op, off+got, off+n-1), err)
		}
		want := n - got
		if ranged {
			var start, end int64
			if _, perr := fmt.Sscanf(aws.ToString(out.ContentRange), "bytes %d-%d/", &start, &end); perr != nil || start != off+got || end != off+n-1 {
				out.Body.Close()
				return &OpError{Op: op, Err: fmt.Errorf("asked for bytes %d-%d, the server answered with range %q; set download_part_size above the object size for servers without Range support", off+got, off+n-1, aws.ToString(out.ContentRange))}
			}
		}
		m, err := copyAt(ctx, w, off+got, out.Body, want, buf)
		out.Body.Close()
		got += m
		if err == nil && got == n {
			return nil
		}
		if errors.Is(err, errTrailer) {
			got = 0 // the bytes arrived but failed validation: fetch them all again
		}
		if ctx.Err() != nil || attempt >= maxBodyAttempts || errors.Is(err, errWrite) {
			return &OpError{Op: fmt.Sprintf("%s: bytes %d-%d", op, off, off+n-1), Err: err}
		}
	}
}

var (
	// errWrite marks local write failures, which retrying will not cure.
	errWrite = errors.New("writing the local file")
	// errTrailer marks a failure at the end of a complete body: a checksum mismatch.
	errTrailer = errors.New("validating the response")
)

// copyAt copies at most n bytes from r into w at off. A body that sends nothing
// for bodyIdleTimeout is closed, so a stalled connection fails (and is retried)
// instead of hanging the download.
func copyAt(ctx context.Context, w io.WriterAt, off int64, r io.ReadCloser, n int64, buf []byte) (int64, error) {
	stall := time.AfterFunc(bodyIdleTimeout, func() { r.Close() })
	defer stall.Stop()
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	var done int64
	for done < n {
		chunk := buf[:min(int64(len(buf)), n-done)]
		k, err := r.Read(chunk)
		if k > 0 {
			stall.Reset(bodyIdleTimeout)
			if _, werr := w.WriteAt(chunk[:k], off+done); werr != nil {
				return done, fmt.Errorf("%w: %w", errWrite, werr)
			}
			done += int64(k)
		}
		if err == io.EOF && done < n {
			return done, fmt.Errorf("the response ended after %d of %d bytes", done, n)
		}
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return done, ctx.Err()
			case done == n:
				return done, fmt.Errorf("%w: %w", errTrailer, err)
			}
			return done, fmt.Errorf("reading the response: %w", err)
		}
	}
	// Read to EOF, so that the SDK validates a whole-object checksum, and fail on extra bytes.
	var one [1]byte
	for range 100 {
		k, err := r.Read(one[:])
		switch {
		case k > 0:
			return done, errors.New("the response is longer than asked for")
		case err == io.EOF:
			return done, nil
		case err != nil:
			return done, fmt.Errorf("%w: %w", errTrailer, err)
		}
	}
	return done, nil
}
