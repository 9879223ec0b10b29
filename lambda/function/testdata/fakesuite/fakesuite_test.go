// Package fakesuite is a small Ginkgo suite the runner tests compile into a
// stand-in for integration.test: each label selects one behaviour of the child.
package fakesuite

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestFakeSuite(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Fake Suite")
}

var _ = Describe("The fake suite", func() {
	It("sees the environment the handler built", Label("iam-role"), func() {
		Expect(os.Getenv("S3CLI_TARGET")).To(Equal("ambient"))
		Expect(os.Getenv("S3CLI_BUCKET")).NotTo(BeEmpty())
		Expect(os.Getenv("S3CLI_BIN")).To(HaveSuffix("/s3cli"))
	})

	It("passes a second time", Label("iam-role"), func() {
		GinkgoWriter.Println("second spec ran")
	})

	It("skips with a reason", Label("iam-role"), func() {
		Skip("nothing to do here")
	})

	It("fails on purpose", Label("fail"), func() {
		Fail("fake failure: this spec fails on purpose")
	})

	It("exits the process", Label("crash"), func() {
		os.Stdout.WriteString("about to exit with status 3\n")
		os.Exit(3)
	})

	It("waits for a long time", Label("slow"), func(ctx SpecContext) {
		// A grandchild in the same process group proves the whole group is stopped.
		cmd := exec.Command("sleep", "120")
		Expect(cmd.Start()).To(Succeed())
		pidFile := os.Getenv("FAKESUITE_PID_FILE")
		if pidFile != "" {
			Expect(os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o600)).To(Succeed())
		}
		GinkgoWriter.Println("started sleep", cmd.Process.Pid, filepath.Base(pidFile))
		select {
		case <-ctx.Done():
		case <-time.After(120 * time.Second):
		}
		_ = context.Background()
	})
})
