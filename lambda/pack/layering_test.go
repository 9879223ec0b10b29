package pack

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const module = "github.com/s3cli-dev/s3cli/"

// goList runs go list with args in the module root, with env (space-separated NAME=VALUE)
// added to its environment, and returns its lines.
func goList(t *testing.T, env string, args ...string) []string {
	t.Helper()
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"list"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(cmd.Environ(), strings.Fields(env)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestTheTreesImportOnlyWhatARCHITECTUREAllows holds the rules of ARCHITECTURE.md: the s3cli
// binary links nothing of the module outside s3cli/; lambda/ imports only its own packages and
// the leaves fixtures/names and fixtures/settings; fixtures/ imports no spec; s3cli/'s
// benchmark harness borrows lambda/procgroup and nothing else.
func TestTheTreesImportOnlyWhatARCHITECTUREAllows(t *testing.T) {
	for _, p := range goList(t, "", "-deps", "./s3cli") {
		if strings.HasPrefix(p, module) && !strings.HasPrefix(p, module+"s3cli") {
			t.Errorf("the s3cli binary links %s", p)
		}
	}
	allowed := map[string]func(imp string) bool{
		"lambda/": func(imp string) bool {
			return strings.HasPrefix(imp, "lambda/") || imp == "fixtures/names" || imp == "fixtures/settings"
		},
		"fixtures/": func(imp string) bool { return !strings.HasPrefix(imp, "suite") },
		"s3cli/": func(imp string) bool {
			return strings.HasPrefix(imp, "s3cli") || imp == "lambda/procgroup"
		},
	}
	for _, line := range goList(t, "", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...") {
		fields := strings.Fields(line)
		pkg, ok := strings.CutPrefix(fields[0], module)
		if !ok {
			continue
		}
		for tree, ok := range allowed {
			if !strings.HasPrefix(pkg+"/", tree) {
				continue
			}
			for _, imp := range fields[1:] {
				if rel, mine := strings.CutPrefix(imp, module); mine && !ok(rel) {
					t.Errorf("%s imports %s, which ARCHITECTURE.md does not allow", pkg, rel)
				}
			}
		}
	}
}
