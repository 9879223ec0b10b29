package runtimeapi

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// maxUnzipped is Lambda's limit on the unzipped size of a deployment package.
const maxUnzipped = 250 * 1024 * 1024

// maxLinkHops bounds how many symbolic links one path may pass through (Linux's limit is 40).
const maxLinkHops = 40

// unzip unpacks a deployment package into dir, keeping file modes (bootstrap must stay
// executable). Nothing may leave dir: every entry name is local, no entry is written through
// a symbolic link of the package, and every link, followed through any chain of the package's
// links, resolves inside dir (absolute targets are refused). The whole package is checked
// before anything is written, and the writes go through an os.Root of dir, which refuses to
// step outside it whatever is on disk.
func unzip(code []byte, dir string) error {
	zr, err := zip.NewReader(bytes.NewReader(code), int64(len(code)))
	if err != nil {
		return fmt.Errorf("reading the zip: %w", err)
	}
	entries, err := checkEntries(zr.File)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	var total int64
	for _, e := range entries {
		switch {
		case e.isDir:
			err = root.MkdirAll(e.name, 0o755)
		case e.isLink:
			if err = root.MkdirAll(path.Dir(e.name), 0o755); err == nil {
				err = root.Symlink(e.target, e.name)
			}
		default:
			var n int64
			n, err = extract(root, e.f, e.name, maxUnzipped-total)
			total += n
		}
		if err != nil {
			return fmt.Errorf("unpacking %q: %w", e.f.Name, err)
		}
	}
	return nil
}

// entry is one checked zip entry: its clean slash-separated name and, for a link, its target.
type entry struct {
	f             *zip.File
	name, target  string
	isDir, isLink bool
}

// checkEntries validates every entry and returns them with links last, so that no file is
// written after a link exists.
func checkEntries(files []*zip.File) ([]entry, error) {
	var plain, links []entry
	linkTarget := map[string]string{}
	for _, f := range files {
		name := path.Clean(strings.TrimSuffix(f.Name, "/"))
		if !fs.ValidPath(name) || name == "." {
			return nil, fmt.Errorf("entry %q points outside the package", f.Name)
		}
		e := entry{f: f, name: name}
		mode := f.Mode()
		switch {
		case mode.IsDir():
			e.isDir = true
			plain = append(plain, e)
		case mode&fs.ModeSymlink != 0:
			target, err := readAll(f, 4096)
			if err != nil {
				return nil, fmt.Errorf("reading link %q: %w", f.Name, err)
			}
			e.isLink, e.target = true, string(target)
			if _, dup := linkTarget[name]; dup {
				return nil, fmt.Errorf("link %q appears twice", f.Name)
			}
			linkTarget[name] = e.target
			links = append(links, e)
		case mode.IsRegular():
			plain = append(plain, e)
		default:
			return nil, fmt.Errorf("entry %q has unsupported type %v", f.Name, mode.Type())
		}
	}
	all := append(plain, links...)
	for _, e := range all {
		// No entry (a file, a folder or another link) goes below a link of the package.
		for p := path.Dir(e.name); p != "."; p = path.Dir(p) {
			if t, ok := linkTarget[p]; ok {
				return nil, fmt.Errorf("entry %q is written through the link %q -> %q", e.f.Name, p, t)
			}
		}
		if !e.isLink {
			if _, ok := linkTarget[e.name]; ok {
				return nil, fmt.Errorf("entry %q is also a link", e.f.Name)
			}
			continue
		}
		if err := resolvesInside(linkTarget, e.name); err != nil {
			return nil, fmt.Errorf("link %q -> %q: %w", e.f.Name, e.target, err)
		}
	}
	return all, nil
}

// resolvesInside follows name through the package's links, component by component as the
// kernel does, and fails if it ever climbs above the package's root or is absolute.
func resolvesInside(links map[string]string, name string) error {
	var at []string // where the walk is, below the root
	todo := strings.Split(name, "/")
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(at) == 0 {
				return errors.New("it leads outside the package")
			}
			at = at[:len(at)-1]
			continue
		}
		target, isLink := links[path.Join(append(at, c)...)]
		if !isLink {
			at = append(at, c)
			continue
		}
		if hops++; hops > maxLinkHops {
			return errors.New("too many levels of symbolic links")
		}
		if path.IsAbs(target) {
			return errors.New("an absolute link leads outside the package")
		}
		todo = append(strings.Split(target, "/"), todo...) // relative to the link's folder, at
	}
	return nil
}

// extract writes one regular file, at most limit bytes of it.
func extract(root *os.Root, f *zip.File, name string, limit int64) (int64, error) {
	perm := f.Mode().Perm()
	if perm == 0 {
		perm = 0o644 // zips made without Unix modes
	}
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return 0, err
	}
	r, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
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
		err = root.Chmod(name, perm)
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
