package pack

import (
	"strings"
	"testing"
)

// suiteDeps lists the packages integration.test links when built with tags.
func suiteDeps(t *testing.T, tags string) []string {
	t.Helper()
	return goList(t, "CGO_ENABLED=0 GOOS=linux GOARCH=amd64", "-deps", "-test", "-tags", tags, "./suite")
}

func containerDeps(pkgs []string) []string {
	var found []string
	for _, p := range pkgs {
		if strings.HasPrefix(p, "github.com/testcontainers/") || strings.HasPrefix(p, "github.com/moby/") || strings.HasPrefix(p, "github.com/docker/") {
			found = append(found, p)
		}
	}
	return found
}

func TestTheFunctionsSuiteLeavesOutTheContainerTargets(t *testing.T) {
	tags := BuildFlags[1]
	if !strings.Contains(tags, FunctionTag) {
		t.Fatalf("BuildFlags %q do not set the %s tag", BuildFlags, FunctionTag)
	}
	if found := containerDeps(suiteDeps(t, tags)); len(found) > 0 {
		t.Errorf("integration.test built with -tags %s still links %d container packages, e.g. %s", tags, len(found), found[0])
	}
	// The host's build keeps them: the tag, not a missing import, is what leaves them out.
	if found := containerDeps(suiteDeps(t, "lambda.norpc")); len(found) == 0 {
		t.Errorf("the host build of the suite links no testcontainers-go: the check above proves nothing")
	}
}
