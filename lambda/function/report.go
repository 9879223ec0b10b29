package function

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"
)

// Summary is what a Ginkgo JSON report says about one run.
type Summary struct {
	// Passed, Failed and Skipped count as Result does.
	Passed, Failed, Skipped int
	// FailedSpecs names each failed spec or suite node with its state and failure message.
	FailedSpecs []string
	// SuiteSucceeded is Ginkgo's own verdict on the run.
	SuiteSucceeded bool
	// SpecialFailures holds suite-level reasons such as "Interrupted by Other".
	SpecialFailures []string
}

// ParseReport reads a report written with --ginkgo.json-report.
func ParseReport(data []byte) (Summary, error) {
	var reports []types.Report
	if err := json.Unmarshal(data, &reports); err != nil {
		return Summary{}, fmt.Errorf("parsing Ginkgo JSON report: %w", err)
	}
	if len(reports) == 0 {
		return Summary{}, fmt.Errorf("parsing Ginkgo JSON report: it holds no suite")
	}
	s := Summary{SuiteSucceeded: true}
	for _, report := range reports {
		s.SuiteSucceeded = s.SuiteSucceeded && report.SuiteSucceeded
		s.SpecialFailures = append(s.SpecialFailures, report.SpecialSuiteFailureReasons...)
		for _, spec := range report.SpecReports {
			switch {
			case spec.State.Is(types.SpecStateFailureStates) || spec.State == types.SpecStateInvalid:
				// A state this Ginkgo version does not know is not a pass.
				s.Failed++
				s.FailedSpecs = append(s.FailedSpecs, describeFailure(spec))
			case spec.LeafNodeType != types.NodeTypeIt:
				// Suite-level nodes (BeforeSuite, ReportAfterSuite...) count only when they fail.
			case spec.State == types.SpecStatePassed:
				s.Passed++
			case spec.State == types.SpecStatePending:
				s.Skipped++
			case spec.State == types.SpecStateSkipped && spec.NumAttempts > 0:
				// NumAttempts is 0 for specs the label filter left out: those are not "skipped" here.
				s.Skipped++
			}
		}
	}
	return s, nil
}

// describeFailure renders `[state] full spec text: failure message on one line`.
func describeFailure(spec types.SpecReport) string {
	name := spec.FullText()
	if spec.LeafNodeType != types.NodeTypeIt {
		name = strings.TrimSpace(spec.LeafNodeType.String() + " " + name)
	}
	// The whole message on one line: Gomega's first line ("No future change is
	// possible...") often says less than the ones after it.
	msg := strings.Join(strings.Fields(spec.Failure.Message), " ")
	const maxMessage = 300
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "..."
	}
	if msg == "" {
		return fmt.Sprintf("[%s] %s", spec.State, name)
	}
	return fmt.Sprintf("[%s] %s: %s", spec.State, name, msg)
}
