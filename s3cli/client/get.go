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
	"strings"

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
// A symlink stays a symlink: the file it points to is the one replaced. A path
// that exists and is not a regular file (a device, a FIFO, /dev/stdout) is
// written through, in order, and never replaced.
func (c *Client) Get(ctx context.Context, key, path string) (err error) {
	defer unstall(&err)
	op := fmt.Sprintf("get %q", key)
	dest, err := resolveDestination(path)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	head, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(key))})
	if err != nil {
		if isNotFound(err) {
			return c.missing(ctx, op, key)
		}
		return opErr(op, err)
	}
	size := aws.ToInt64(head.ContentLength)
	if dest.through {
		return c.getThrough(ctx, op, key, head.ETag, size, dest)
	}

	tmp, err := createTemp(dest.path, dest.mode)
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
	if err := os.Rename(tmp.Name(), dest.path); err != nil {
		return fmt.Errorf("%s: moving the download into place: %w", op, err)
	}
	syncDir(filepath.Dir(dest.path))
	return nil
}

// destination is where a get writes.
type destination struct {
	path    string      // the file replaced (a symlink's final target), or the path written through
	mode    fs.FileMode // of the replacement file
	through bool        // exists and is not a regular file: opened and written in order
	append  bool        // through a /proc magic link to a regular file (/dev/stdout > file): append to it
}

// maxLinks bounds symlink chains as the kernel does (ELOOP).
const maxLinks = 40

// resolveDestination follows path's symlinks to the file a get replaces or
// writes through. The kernel resolves what exists (os.Stat), so /proc magic
// links such as /dev/stdout reach the right pipe or terminal; a dangling
// symlink is followed by hand so its target is created and the link kept.
func resolveDestination(path string) (destination, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return destination{}, fmt.Errorf("%s is a directory", path)
	case err == nil && !st.Mode().IsRegular():
		return destination{path: path, through: true}, nil
	case err == nil:
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return destination{}, fmt.Errorf("resolving %s: %w", path, err)
		}
		if viaProc(path, target) {
			return destination{path: path, through: true, append: true}, nil
		}
		return destination{path: target, mode: st.Mode().Perm()}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return destination{}, err
	}
	// Missing: the path itself, or the missing end of a symlink chain.
	p := path
	for range maxLinks {
		lst, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return destination{path: p, mode: 0o666}, nil // narrowed by the umask
		}
		if err != nil {
			return destination{}, err
		}
		if lst.Mode()&fs.ModeSymlink == 0 {
			return destination{}, fmt.Errorf("resolving %s: %s appeared while resolving it", path, p)
		}
		link, err := os.Readlink(p)
		if err != nil {
			return destination{}, err
		}
		if !filepath.IsAbs(link) {
			dir, err := filepath.EvalSymlinks(filepath.Dir(p))
			if err != nil {
				return destination{}, fmt.Errorf("resolving %s: %w", path, err)
			}
			link = filepath.Join(dir, link)
		}
		p = link
	}
	return destination{}, fmt.Errorf("resolving %s: more than %d symlinks", path, maxLinks)
}

// viaProc reports whether path reached target through /proc (/dev/stdout,
// /dev/fd/N): the name such a link shows is not one to replace.
func viaProc(path, target string) bool {
	for _, p := range []string{path, target} {
		if strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/dev/fd/") {
			return true
		}
	}
	if link, err := os.Readlink(path); err == nil && (strings.HasPrefix(link, "/proc/") || strings.HasPrefix(link, "/dev/fd/")) {
		return true
	}
	return false
}

// getThrough writes the object into an existing non-regular file in order:
// one GET, resumed from where its body broke off. It never creates, truncates
// or renames anything.
func (c *Client) getThrough(ctx context.Context, op, key string, etag *string, size int64, dest destination) error {
	flags := os.O_WRONLY
	if dest.append {
		flags |= os.O_APPEND
	}
	f, err := openInterruptible(ctx, dest.path, flags)
	if err != nil {
		return fmt.Errorf("%s: opening %s: %w", op, dest.path, err)
	}
	buf := make([]byte, min(ioBufferSize, max(size, 1)))
	err = c.getRange(ctx, op, key, etag, &inOrder{w: f}, 0, size, true, buf)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: closing %s: %w", op, dest.path, cerr)
	}
	return err
}

// openInterruptible opens path, giving up when ctx ends: opening a FIFO for
// writing blocks until a reader comes, and Ctrl-C must still work then.
func openInterruptible(ctx context.Context, path string, flags int) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, err := os.OpenFile(path, flags, 0)
		done <- result{f, err}
	}()
	select {
	case r := <-done:
		return r.f, r.err
	case <-ctx.Done():
		go func() { // a reader may still come; close what it opens
			if r := <-done; r.f != nil {
				r.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// inOrder turns a stream into the io.WriterAt that getRange writes to; it
// takes only the next offset, so a resumed body continues the stream and a
// body that would need rewriting fails.
type inOrder struct {
	w   io.Writer
	off int64
}

func (s *inOrder) WriteAt(p []byte, off int64) (int, error) {
	if off != s.off {
		return 0, fmt.Errorf("cannot rewrite bytes already written to a stream (at %d, asked for %d)", s.off, off)
	}
	n, err := s.w.Write(p)
	s.off += int64(n)
	return n, err
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
	workers := int(min(int64(c.cfg.DownloadConcurrency), nparts))
	bufs := make([][]byte, workers) // one per worker, made when it starts
	return parallel(ctx, op, workers, indices(nparts), func(ctx context.Context, worker int, i int64) error {
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
		var opts []func(*s3.Options)
		if ranged {
			// A range has no checksum of its own; some stores (gofakes3) send the whole
			// object's, which could never match. The whole-object GET stays validated.
			opts = append(opts, func(o *s3.Options) { o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired })
		}
		out, err := c.s3.GetObject(ctx, in, opts...)
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
		var stalled *StallError
		if ctx.Err() != nil || attempt >= maxBodyAttempts || errors.Is(err, errWrite) || errors.As(err, &stalled) {
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
// for the stall limit fails with a StallError (the transport's watchdog).
func copyAt(ctx context.Context, w io.WriterAt, off int64, r io.ReadCloser, n int64, buf []byte) (int64, error) {
	stop := context.AfterFunc(ctx, func() { r.Close() })
	defer stop()
	var done int64
	for done < n {
		chunk := buf[:min(int64(len(buf)), n-done)]
		k, err := r.Read(chunk)
		if k > 0 {
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
