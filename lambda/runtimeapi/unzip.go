package runtimeapi

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxUnzipped is Lambda's limit on the unzipped size of a deployment package.
const maxUnzipped = 250 * 1024 * 1024

// unzip unpacks a deployment package into dir, keeping file modes (bootstrap
// must stay executable). Entries may not leave dir; symbolic links are made
// last, so no entry is written through one.
func unzip(code []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	if err != nil {
		return fmt.Errorf("reading the zip: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var links []*zip.File
	var total int64
	for _, f := range zr.File {
		name := filepath.FromSlash(f.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("entry %q points outside the package", f.Name)
		}
		path := filepath.Join(dir, name)
		mode := f.Mode()
		switch {
		case mode.IsDir():
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			links = append(links, f)
		case mode.IsRegular():
			n, err := extract(f, path, maxUnzipped-total)
			if err != nil {
				return fmt.Errorf("unpacking %q: %w", f.Name, err)
			}
			total += n
		default:
			return fmt.Errorf("entry %q has unsupported type %v", f.Name, mode.Type())
		}
	}
	for _, f := range links {
		target, err := readAll(f, 4096)
		if err != nil {
			return fmt.Errorf("reading link %q: %w", f.Name, err)
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(string(target), path); err != nil {
			return err
		}
	}
	return nil
}

// extract writes one regular file, at most limit bytes of it.
func extract(f *zip.File, path string, limit int64) (int64, error) {
	perm := f.Mode().Perm()
	if perm == 0 {
		perm = 0o644 // zips made without Unix modes
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	r, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errors.New("the unzipped package is larger than Lambda's 250 MB limit")
	}
	// The umask may have narrowed the mode the package asks for.
	if err == nil {
		err = os.Chmod(path, perm)
	}
	return n, err
}

func readAll(f *zip.File, limit int64) ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit))
}
