// Package pack builds the Lambda deployment package: bootstrap, integration.test
// and s3cli, cross-compiled for linux/amd64 as static binaries and zipped so
// that the same sources always give the same bytes (and so the same
// CodeSha256, which lets deploy skip an unchanged function).
package pack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/s3cli-dev/s3cli/fixtures/names"
	"github.com/s3cli-dev/s3cli/lambda/procgroup"
	"golang.org/x/sync/errgroup"
)

// Component is one executable in the package.
type Component struct {
	// Name is the file name in the zip.
	Name string
	// Package is the Go package, relative to the module root.
	Package string
	// Test says the binary is the package's compiled tests (go test -c).
	Test bool
}

// Components are the three files of the package.
var Components = []Component{
	{Name: "bootstrap", Package: "./lambda/cmd/bootstrap"},
	{Name: "integration.test", Package: "./suite", Test: true},
	{Name: "s3cli", Package: "./s3cli"},
}

// Package is a built deployment package.
type Package struct {
	// Path is where the zip was written.
	Path string
	// Size is the zip's size in bytes.
	Size int64
	// CodeSHA256 is the base64 SHA-256 Lambda will report for it.
	CodeSHA256 string
	// Entries lists what it holds.
	Entries []Entry
	// Duration is how long building took.
	Duration time.Duration
}

type options struct {
	log     io.Writer
	version string
	goCmd   string
	suite   string
}

// Option changes how Build works.
type Option func(*options)

// WithLog sends progress lines (one per step, with its duration) to w; the default is io.Discard.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// WithVersion sets s3cli's version (main.version). Two builds with different
// versions give different zips; the default leaves s3cli's own default.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// DefaultSuite is the Ginkgo suite package integration.test is compiled from.
const DefaultSuite = "./suite"

// WithSuite compiles integration.test from pkg (a package path relative to the module root,
// "./path", or an import path inside the module) instead of DefaultSuite, so a contributor's
// own Ginkgo suite runs in the function. It must have test files.
func WithSuite(pkg string) Option { return func(o *options) { o.suite = pkg } }

// WithGo names the go command to build with; the default is "go" from PATH.
func WithGo(path string) Option { return func(o *options) { o.goCmd = path } }

// FunctionTag leaves the container and process targets (testcontainers-go, the Docker
// client) out of integration.test: inside the function the suite only uses the ambient target.
const FunctionTag = "s3cli_function"

// BuildFlags are the flags every binary is built with: static, no RPC mode for
// aws-lambda-go, the function's suite build, and nothing that depends on the machine, the
// path or the VCS.
var BuildFlags = []string{"-tags", "lambda.norpc," + FunctionTag, "-trimpath", "-buildvcs=false"}

// ldflags strip symbols and the build id, which would differ between machines.
const ldflags = "-s -w -buildid="

// Build compiles Components in the Go module at moduleDir and writes the zip
// to out (atomically: a failed build leaves any earlier zip in place).
// Go's own build cache makes a rebuild of unchanged sources quick; the zip is
// always rewritten.
func Build(ctx context.Context, moduleDir, out string, opts ...Option) (*Package, error) {
	o := options{log: io.Discard, goCmd: "go"}
	for _, opt := range opts {
		opt(&o)
	}
	start := time.Now()
	if _, err := os.Stat(filepath.Join(moduleDir, "go.mod")); err != nil {
		return nil, fmt.Errorf("packaging: %s is not a Go module root: %w", moduleDir, err)
	}
	work, err := os.MkdirTemp("", "s3cli-pack-")
	if err != nil {
		return nil, fmt.Errorf("packaging: creating a build directory: %w", err)
	}
	defer os.RemoveAll(work)

	// The three builds run at once: mostly links, each on one core. Their lines are whole.
	o.log = &lockedWriter{w: o.log}
	files := make([]File, len(Components))
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range Components {
		if c.Test && o.suite != "" {
			c.Package = o.suite
		}
		files[i] = File{Name: c.Name, Path: filepath.Join(work, c.Name)}
		g.Go(func() error { return o.build(gctx, moduleDir, c, files[i].Path) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	fmt.Fprintf(o.log, "zipping %s... ", out)
	zipStart := time.Now()
	data, err := writeZipFile(out, files)
	if err != nil {
		fmt.Fprintln(o.log, "failed")
		return nil, fmt.Errorf("packaging: writing %s: %w", out, err)
	}
	entries, err := Contents(data)
	if err != nil {
		return nil, fmt.Errorf("packaging: reading back %s: %w", out, err)
	}
	p := &Package{Path: out, Size: int64(len(data)), CodeSHA256: names.CodeSHA256(data), Entries: entries, Duration: time.Since(start)}
	fmt.Fprintf(o.log, "%s (%s, CodeSha256 %s)\n", seconds(time.Since(zipStart)), megabytes(p.Size), p.CodeSHA256)
	return p, nil
}

func (o options) build(ctx context.Context, moduleDir string, c Component, out string) error {
	args := []string{"build"}
	if c.Test {
		args = []string{"test", "-c"}
	}
	flags := ldflags
	if c.Name == "s3cli" && o.version != "" {
		flags += " -X main.version=" + o.version
	}
	args = append(args, "-o", out)
	args = append(args, BuildFlags...)
	args = append(args, "-ldflags", flags, c.Package)

	start := time.Now()
	cmd := exec.Command(o.goCmd, args...)
	cmd.Dir = moduleDir
	// GOTMPDIR: go build leaves its go-build work directory behind when a signal ends it
	// (it catches none), so it goes in the build directory, which Build always removes.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOAMD64=v1", "GOTMPDIR="+filepath.Dir(out))
	// In its own group with its compilers and linkers; when ctx ends the group gets SIGINT,
	// and SIGKILL only after a grace period.
	if err := procgroup.Run(ctx, cmd, procgroup.WithTail(8<<10)); err != nil {
		fmt.Fprintf(o.log, "building %s... failed\n", c.Name)
		return fmt.Errorf("packaging: building %s (%s %s): %w", c.Name, o.goCmd, shellJoin(args), err)
	}
	info, err := os.Stat(out)
	if c.Test && errors.Is(err, os.ErrNotExist) {
		// go test -c writes nothing, and succeeds, for a package without test files.
		fmt.Fprintf(o.log, "building %s... failed\n", c.Name)
		return fmt.Errorf("packaging: building %s: %s has no test files (name a Ginkgo suite package: SUITE_PKG=./path)", c.Name, c.Package)
	}
	if err != nil {
		return fmt.Errorf("packaging: building %s: %w", c.Name, err)
	}
	fmt.Fprintf(o.log, "built %s in %s (%s)\n", c.Name, seconds(time.Since(start)), megabytes(info.Size()))
	return nil
}

// writeZipFile writes the zip next to out and renames it into place.
func writeZipFile(out string, files []File) ([]byte, error) {
	var buf bytes.Buffer
	if err := WriteZip(&buf, files); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), os.Rename(tmp.Name(), out)
}

// ModuleRoot returns the nearest directory at or above dir that holds go.mod.
func ModuleRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("finding the module root: no go.mod at or above %s", abs)
		}
	}
}

// shellJoin renders args as they would be typed, quoting those with spaces.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(quoted, " ")
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// lockedWriter serialises writes to w, for the builds that log at once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
