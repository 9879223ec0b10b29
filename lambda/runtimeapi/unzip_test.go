package runtimeapi

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func link(name, target string) zipEntry {
	return zipEntry{name: name, mode: fs.ModeSymlink | 0o777, body: []byte(target)}
}

func file(name string) zipEntry { return zipEntry{name: name, mode: 0o644, body: []byte("pwned")} }

// No entry and no chain of links may leave the task directory, and a refused package writes
// nothing, neither inside nor outside.
func TestUnzipRefusesEveryWayOut(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries func(outside string) []zipEntry
		want    string
	}{
		{"a file through an absolute link to a folder", func(o string) []zipEntry {
			return []zipEntry{link("x", o), file("x/pwn")}
		}, "written through the link"},
		{"a link through an absolute link to a folder", func(o string) []zipEntry {
			return []zipEntry{link("x", o), link("x/pwn", "anything")}
		}, "absolute link"},
		{"a link through a link", func(o string) []zipEntry {
			return []zipEntry{{name: "lib/", mode: fs.ModeDir | 0o755}, link("x", "lib"), link("x/pwn", "../../etc")}
		}, "written through the link"},
		{"a folder through a link", func(o string) []zipEntry {
			return []zipEntry{link("x", o), {name: "x/sub/", mode: fs.ModeDir | 0o755}}
		}, "written through the link"},
		{"a file through a link inside the package", func(string) []zipEntry {
			return []zipEntry{{name: "lib/", mode: fs.ModeDir | 0o755}, link("x", "lib"), file("x/pwn")}
		}, "written through the link"},
		{"a file through a link named with ..", func(o string) []zipEntry {
			return []zipEntry{link("x", o), file("y/../x/pwn")}
		}, "written through the link"},
		{"an absolute link", func(o string) []zipEntry {
			return []zipEntry{link("x", o)}
		}, "absolute link"},
		{"a relative ../ link", func(string) []zipEntry {
			return []zipEntry{link("x", "../outside")}
		}, "outside the package"},
		{"a relative link climbing from a subfolder", func(string) []zipEntry {
			return []zipEntry{file("a/b/keep"), link("a/b/x", "../../../etc")}
		}, "outside the package"},
		{"a chain of links that ends outside", func(string) []zipEntry {
			return []zipEntry{link("a", "b"), link("b", "c"), link("c", "..")}
		}, "outside the package"},
		{"a chain through a link to the root", func(string) []zipEntry {
			return []zipEntry{link("l", "."), link("x", "l/..")}
		}, "outside the package"},
		{"a chain to an absolute link", func(o string) []zipEntry {
			return []zipEntry{link("a", "sub/b"), {name: "sub/", mode: fs.ModeDir | 0o755}, link("sub/b", o)}
		}, "absolute link"},
		{"a link loop", func(string) []zipEntry {
			return []zipEntry{link("a", "b"), link("b", "a")}
		}, "too many levels"},
		{"a file and a link of the same name", func(string) []zipEntry {
			return []zipEntry{file("x"), link("x", "y")}
		}, "also a link"},
		{"a ../ entry", func(string) []zipEntry { return []zipEntry{file("../escape")} }, "outside the package"},
		{"an absolute entry", func(string) []zipEntry { return []zipEntry{file("/abs/path")} }, "outside the package"},
		{"an entry climbing from a subfolder", func(string) []zipEntry { return []zipEntry{file("a/../../escape")} }, "outside the package"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside, task := t.TempDir(), filepath.Join(t.TempDir(), "task")
			err := unzip(zipOf(tc.entries(outside)...), task)
			if left, _ := os.ReadDir(outside); len(left) > 0 {
				t.Errorf("unzip wrote %s outside the task directory", left[0].Name())
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("unzip = %v, want an error saying %q", err, tc.want)
			}
			if left, _ := os.ReadDir(task); len(left) > 0 {
				t.Errorf("a refused package left %s in the task directory", left[0].Name())
			}
		})
	}
}

func TestUnzipKeepsLinksAndChainsThatStayInside(t *testing.T) {
	dir := t.TempDir()
	code := zipOf(
		zipEntry{name: "lib/data.txt", mode: 0o600, body: []byte("data")},
		link("libdir", "lib"),
		link("chain", "libdir/data.txt"),
		link("lib/self", "../lib/./data.txt"),
		link("lib/up", ".."),
		link("dangling", "not-there"),
	)
	if err := unzip(code, dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chain", "lib/self", "lib/up/libdir/data.txt"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != "data" {
			t.Errorf("%s reads %q, %v", name, b, err)
		}
	}
}
