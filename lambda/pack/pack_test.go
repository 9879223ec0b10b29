package pack

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// fixtureModule copies testdata/module, a module with the three component
// packages, so a test may change it.
func fixtureModule(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "module")
	if err := os.CopyFS(dir, os.DirFS("testdata/module")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func buildCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestBuildTwiceGivesTheSameBytes(t *testing.T) {
	ctx := buildCtx(t)
	mod := fixtureModule(t)
	out := t.TempDir()
	var log bytes.Buffer

	first, err := Build(ctx, mod, filepath.Join(out, "a", "deployment.zip"), WithLog(&log))
	if err != nil {
		t.Fatal(err)
	}
	// New modification times on every source must not reach the zip.
	later := time.Now().Add(time.Hour)
	_ = filepath.WalkDir(mod, func(p string, _ os.DirEntry, _ error) error { return os.Chtimes(p, later, later) })
	second, err := Build(ctx, mod, filepath.Join(out, "b", "deployment.zip"), WithLog(&log))
	if err != nil {
		t.Fatal(err)
	}

	a, _ := os.ReadFile(first.Path)
	b, _ := os.ReadFile(second.Path)
	if !bytes.Equal(a, b) || first.CodeSHA256 != second.CodeSHA256 {
		t.Fatalf("two builds differ: %s (%d bytes) vs %s (%d bytes)", first.CodeSHA256, len(a), second.CodeSHA256, len(b))
	}
	if first.CodeSHA256 != names.CodeSHA256(a) || first.Size != int64(len(a)) {
		t.Errorf("reported %s/%d, file is %s/%d", first.CodeSHA256, first.Size, names.CodeSHA256(a), len(a))
	}
	for _, step := range []string{"bootstrap", "integration.test", "s3cli"} {
		if !regexp.MustCompile(`built ` + regexp.QuoteMeta(step) + ` in \d+\.\ds \(\d+\.\d MB\)\n`).MatchString(log.String()) {
			t.Errorf("no progress line with a duration for %s:\n%s", step, log.String())
		}
	}
	if !strings.Contains(log.String(), "CodeSha256 "+first.CodeSHA256) {
		t.Errorf("the log does not give the CodeSha256:\n%s", log.String())
	}
}

func TestBuildHoldsExactlyTheThreeStaticLinuxBinaries(t *testing.T) {
	ctx := buildCtx(t)
	p, err := Build(ctx, fixtureModule(t), filepath.Join(t.TempDir(), "deployment.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Mode() != 0o755 {
			t.Errorf("%s has mode %s, want -rwxr-xr-x", f.Name, f.Mode())
		}
		if f.Method != zip.Deflate || !f.Modified.Equal(Epoch) {
			t.Errorf("%s: method %d, modified %s; want Deflate at %s", f.Name, f.Method, f.Modified, Epoch)
		}
		assertStaticLinuxAMD64(t, f)
	}
	if got := strings.Join(names, " "); got != "bootstrap integration.test s3cli" {
		t.Errorf("entries = %q, want exactly bootstrap integration.test s3cli, sorted", got)
	}
	if len(p.Entries) != 3 {
		t.Errorf("Package.Entries = %v", p.Entries)
	}
}

func assertStaticLinuxAMD64(t *testing.T, f *zip.File) {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", f.Name, err)
	}
	defer bin.Close()
	if bin.Machine != elf.EM_X86_64 || bin.OSABI != elf.ELFOSABI_NONE && bin.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("%s: machine %s, OS ABI %s; want x86-64 Linux", f.Name, bin.Machine, bin.OSABI)
	}
	for _, prog := range bin.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s asks for a dynamic loader: it is not static", f.Name)
		}
	}
	if bin.Section(".symtab") != nil {
		t.Errorf("%s keeps its symbol table: -s was not applied", f.Name)
	}
}

func TestBuildWithVersionSetsS3CLIVersion(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("runs the built linux/amd64 s3cli, which this machine cannot")
	}
	ctx := buildCtx(t)
	mod := fixtureModule(t)
	dir := t.TempDir()
	zr := changedPackage(t, ctx, mod, WithVersion("1.2.3"))
	exe := filepath.Join(dir, "s3cli")
	rc, err := zr.Open("s3cli")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, exe).Output()
	if err != nil || strings.TrimSpace(string(out)) != "1.2.3" {
		t.Errorf("s3cli printed %q (%v), want 1.2.3", out, err)
	}
}

func TestBuildFailureNamesTheComponentAndKeepsTheOldZip(t *testing.T) {
	ctx := buildCtx(t)
	mod := fixtureModule(t)
	out := filepath.Join(t.TempDir(), "deployment.zip")
	if err := os.WriteFile(out, []byte("earlier package"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "s3cli", "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	_, err := Build(ctx, mod, out, WithLog(&log))
	if err == nil {
		t.Fatal("Build succeeded with a broken s3cli")
	}
	for _, want := range []string{"building s3cli", "./s3cli", "undefined: undefinedCall"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans several lines: %q", err)
	}
	if got, _ := os.ReadFile(out); string(got) != "earlier package" {
		t.Errorf("the earlier zip was replaced by %d bytes", len(got))
	}
	if !strings.Contains(log.String(), "building s3cli... failed") {
		t.Errorf("log does not show the failed step:\n%s", log.String())
	}
}

func TestBuildRejectsADirectoryOutsideAModule(t *testing.T) {
	_, err := Build(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "x.zip"))
	if err == nil || !strings.Contains(err.Error(), "is not a Go module root") {
		t.Errorf("error = %v, want not a Go module root", err)
	}
}

func TestWriteZipDependsOnContentsOnly(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	a1 := write("a1", "alpha", 0o700, now)
	b1 := write("b1", "beta", 0o600, now)
	a2 := write("a2", "alpha", 0o755, now.Add(-48*time.Hour))
	b2 := write("b2", "beta", 0o644, now.Add(time.Hour))

	var one, two bytes.Buffer
	if err := WriteZip(&one, []File{{Name: "a", Path: a1}, {Name: "b", Path: b1}}); err != nil {
		t.Fatal(err)
	}
	if err := WriteZip(&two, []File{{Name: "b", Path: b2}, {Name: "a", Path: a2}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Error("same contents in another order, with other times and modes, gave other bytes")
	}
	entries, err := Contents(one.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name != "a" || entries[0].Mode != 0o755 || entries[1].Name != "b" || entries[1].Mode != 0o644 || entries[1].Size != 4 {
		t.Errorf("entries = %+v, want a 0755 then b 0644 of 4 bytes", entries)
	}

	if err := WriteZip(io.Discard, []File{{Name: "a", Path: a1}, {Name: "a", Path: a2}}); err == nil || !strings.Contains(err.Error(), `"a" given twice`) {
		t.Errorf("duplicate entry: error = %v", err)
	}
	if err := WriteZip(io.Discard, []File{{Name: "d", Path: dir}}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory entry: error = %v", err)
	}
	if _, err := Contents([]byte("not a zip")); err == nil {
		t.Error("Contents accepted bytes that are not a zip")
	}
}

func TestModuleRoot(t *testing.T) {
	mod := fixtureModule(t)
	got, err := ModuleRoot(filepath.Join(mod, "lambda", "cmd"))
	if err != nil || got != mod {
		t.Errorf("ModuleRoot = %q, %v; want %q", got, err, mod)
	}
	if _, err := ModuleRoot("/"); err == nil {
		t.Error("ModuleRoot(/) found a module")
	}
}

// An interrupted build (Ctrl-C: the context ends) leaves nothing in TMPDIR: go build, which
// leaves its go-build work directory behind when a signal ends it, works in Build's own
// directory, which Build removes.
func TestAnInterruptedBuildLeavesNothingInTMPDIR(t *testing.T) {
	mod := fixtureModule(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("GOTMPDIR", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sawWork := make(chan struct{})
	go func() {
		defer cancel()
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if dirs, _ := filepath.Glob(filepath.Join(tmp, "*", "go-build*")); len(dirs) > 0 {
				close(sawWork)
				return
			}
			if dirs, _ := filepath.Glob(filepath.Join(tmp, "go-build*")); len(dirs) > 0 {
				close(sawWork)
				return
			}
		}
	}()
	_, err := Build(ctx, mod, filepath.Join(t.TempDir(), "deployment.zip"))
	select {
	case <-sawWork:
	default:
		t.Fatalf("go build never created its work directory (Build: %v)", err)
	}
	if err == nil {
		t.Fatal("Build succeeded though its context was cancelled during the build")
	}
	if !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("Build error %q does not say it was cancelled", err)
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left in TMPDIR after the interrupted build: %s", e.Name())
	}
}

func TestBuildWithSuiteCompilesThatPackageAsIntegrationTest(t *testing.T) {
	ctx := buildCtx(t)
	mod := fixtureModule(t)
	other := filepath.Join(mod, "mysuite")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	const marker = "contributor-suite-marker-7f3a"
	src := "package mysuite\n\nimport \"testing\"\n\nfunc TestMine(t *testing.T) { t.Log(\"" + marker + "\") }\n"
	if err := os.WriteFile(filepath.Join(other, "mysuite_test.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	zr := changedPackage(t, ctx, mod, WithSuite("./mysuite"))
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "bootstrap integration.test s3cli" {
		t.Errorf("entries = %q, want bootstrap integration.test s3cli", got)
	}
	rc, err := zr.Open("integration.test")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Contains(data, []byte(marker)) {
		t.Error("integration.test was not compiled from ./mysuite")
	}
}

func TestBuildWithSuiteRejectsAPackageWithoutTests(t *testing.T) {
	ctx := buildCtx(t)
	mod := fixtureModule(t)
	out := filepath.Join(t.TempDir(), "deployment.zip")
	_, err := Build(ctx, mod, out, WithSuite("./s3cli"))
	if err == nil || !strings.Contains(err.Error(), "./s3cli has no test files") {
		t.Fatalf("Build error = %v, want one saying ./s3cli has no test files", err)
	}
	if _, statErr := os.Stat(out); !os.IsNotExist(statErr) {
		t.Errorf("a zip was written despite the error: %v", statErr)
	}
}

// changedPackage builds mod's package without and with opt, expects opt to change it, and
// returns the changed package opened (closed at the end of the test).
func changedPackage(t *testing.T, ctx context.Context, mod string, opt Option) *zip.ReadCloser {
	t.Helper()
	dir := t.TempDir()
	plain, err := Build(ctx, mod, filepath.Join(dir, "plain.zip"))
	if err != nil {
		t.Fatal(err)
	}
	changed, err := Build(ctx, mod, filepath.Join(dir, "changed.zip"), opt)
	if err != nil {
		t.Fatal(err)
	}
	if plain.CodeSHA256 == changed.CodeSHA256 {
		t.Error("the option did not change the package")
	}
	zr, err := zip.OpenReader(changed.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { zr.Close() })
	return zr
}
