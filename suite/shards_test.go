package suite

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/s3cli-dev/s3cli/fixtures/functions"
	"github.com/s3cli-dev/s3cli/lambda/function"
)

// shardEvent is the function's event with a focus: the specs of one shard.
type shardEvent struct {
	function.Event
	Focus string `json:"focus"`
}

// lambdaInvokeIAMRoleSpecs runs the iam-role specs inside the function: one invocation, or
// with S3CLI_LAMBDA_SHARDS=N, N at once, each running one shard of the specs. The shards are
// planned from a dry run of this suite's own binary (the same specs as the function's build,
// which only leaves out target files); planned holds them, nil for one invocation.
func lambdaInvokeIAMRoleSpecs(ctx SpecContext, fnName string, ev function.Event) (invs []*functions.Invocation, planned []functions.Shard) {
	n := env.Settings.Shards()
	if n == 1 {
		inv, err := functions.Invoke(ctx, env.Clients, fnName, ev)
		Expect(err).NotTo(HaveOccurred())
		return []*functions.Invocation{inv}, nil
	}
	list, err := functions.ListSpecs(ctx, os.Args[0], function.DefaultLabelFilter)
	Expect(err).NotTo(HaveOccurred())
	Expect(list.Texts).NotTo(BeEmpty(), "a dry run of %s selects no %s spec", os.Args[0], function.DefaultLabelFilter)
	planned = functions.SplitSpecs(list, n)
	events := make([]any, len(planned))
	for i, s := range planned {
		events[i] = shardEvent{Event: ev, Focus: s.Focus}
	}
	fmt.Fprintf(GinkgoWriter, "running %d %s specs as %d concurrent invocations of %s\n", len(list.Texts), function.DefaultLabelFilter, len(planned), fnName)
	invs, err = functions.InvokeAll(ctx, env.Clients, fnName, events)
	Expect(err).NotTo(HaveOccurred())
	return invs, planned
}

// lambdaShardReport merges the shards' results into one report, prints it, writes it to
// S3CLI_ARTIFACTS_DIR when set, and checks that together the shards ran each planned spec.
func lambdaShardReport(fnName string, planned []functions.Shard, invs []*functions.Invocation, results []function.Result, wall time.Duration) {
	if planned == nil {
		return
	}
	r := functions.NewShardReport(planned, invs, results, wall)
	fmt.Fprint(GinkgoWriter, r.String())
	if env.ArtifactsDir != "" {
		b, err := json.MarshalIndent(r, "", "  ")
		Expect(err).NotTo(HaveOccurred())
		Expect(os.MkdirAll(env.ArtifactsDir, 0o755)).To(Succeed())
		Expect(os.WriteFile(filepath.Join(env.ArtifactsDir, "function-"+fnName+"-shards.json"), b, 0o644)).To(Succeed())
	}
	for i, s := range planned {
		ran := results[i].Passed + results[i].Failed + results[i].Skipped
		Expect(ran).To(Equal(s.Count), "shard %d/%d ran %d specs, planned %d (%q)", s.Index, s.Total, ran, s.Count, s.Focus)
	}
}
