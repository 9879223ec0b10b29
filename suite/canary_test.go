package suite

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// The canaries run only when a label filter names them: the lambda specs
// invoke the function with them to see a failure and a timeout arrive.
var _ = Describe("The canaries", func() {
	It("fail on purpose so that the failure path can be watched", Label(names.LabelCanaryFailure), func() {
		Fail(CanaryFailureMessage)
	})

	It("outlast a function that may run for one second", Label(names.LabelCanaryTimeout), func(ctx SpecContext) {
		start := time.Now()
		Eventually(ctx, func() time.Duration { return time.Since(start) }).
			WithTimeout(20 * time.Second).WithPolling(500 * time.Millisecond).
			Should(BeNumerically(">=", 10*time.Second))
	}, SpecTimeout(30*time.Second))
})

// CanaryFailureMessage is the failure the canary-failure spec reports.
const CanaryFailureMessage = "canary-failure: this spec fails on purpose, to prove failures reach the invoker"
