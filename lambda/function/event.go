// Package function is the test-runner Lambda function: it runs the compiled
// suite (integration.test) inside the function, streams its output to the
// function's log and turns the suite's JSON report into the invocation result.
package function

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/s3cli-dev/s3cli/fixtures/names"
)

// DefaultLabelFilter selects the specs that need the execution role's credentials.
const DefaultLabelFilter = names.LabelIAMRole

// Event is the invocation payload.
type Event struct {
	// BucketName is the bucket the role may use; required for the default label filter.
	BucketName string `json:"bucket_name"`
	// Region of the bucket; empty means the function's own AWS_REGION.
	Region string `json:"region"`
	// S3Host is the S3 endpoint for the specs; empty means AWS_ENDPOINT_URL_S3 or
	// AWS_ENDPOINT_URL when the environment has one, else the regional AWS endpoint.
	S3Host string `json:"s3_host"`
	// LabelFilter is a Ginkgo label filter; empty means DefaultLabelFilter.
	LabelFilter string `json:"label_filter"`
	// Focus, when set, runs only the selected specs whose full text matches this regular
	// expression (Ginkgo's --ginkgo.focus), as the seed's handler ran one spec by name.
	Focus string `json:"focus"`
	// Skip, when set, leaves out the specs whose full text matches this regular expression
	// (--ginkgo.skip).
	Skip string `json:"skip"`
	// DeniedBucketName is a bucket outside the role's policy (negative control).
	DeniedBucketName string `json:"denied_bucket_name"`
	// IAMEnforced says whether the target enforces IAM policies, so the denied put must fail.
	IAMEnforced bool `json:"iam_enforced"`
}

// Result is the invocation response.
type Result struct {
	// Passed counts specs that ran and passed.
	Passed int `json:"passed"`
	// Failed counts specs and suite nodes that failed, panicked, timed out or were interrupted.
	Failed int `json:"failed"`
	// Skipped counts selected specs that skipped themselves or are pending; specs
	// the label filter did not select are not counted.
	Skipped int `json:"skipped"`
	// DurationMS is the wall time of the suite run in milliseconds.
	DurationMS int64 `json:"duration_ms"`
}

// labelFilter returns the filter to run, the default when the event names none.
func (e Event) labelFilter() string {
	if strings.TrimSpace(e.LabelFilter) == "" {
		return DefaultLabelFilter
	}
	return e.LabelFilter
}

// Validate reports the first problem with the event in one line.
func (e Event) Validate() error {
	if strings.ContainsAny(e.LabelFilter, "\n\r\x00") {
		return fmt.Errorf("event: label_filter %q must be a single line", e.LabelFilter)
	}
	for field, value := range map[string]string{"focus": e.Focus, "skip": e.Skip} {
		if strings.ContainsAny(value, "\n\r\x00") {
			return fmt.Errorf("event: %s %q must be a single line", field, value)
		}
		if _, err := regexp.Compile(value); err != nil {
			return fmt.Errorf("event: %s %q is not a regular expression: %v", field, value, err)
		}
	}
	if e.labelFilter() == DefaultLabelFilter && strings.TrimSpace(e.BucketName) == "" {
		return fmt.Errorf("event: bucket_name is required to run the %q specs", DefaultLabelFilter)
	}
	for field, value := range map[string]string{"bucket_name": e.BucketName, "denied_bucket_name": e.DeniedBucketName, "region": e.Region, "s3_host": e.S3Host} {
		if strings.ContainsAny(value, "\n\r\x00 ") {
			return fmt.Errorf("event: %s %q must not contain spaces or line breaks", field, value)
		}
	}
	return nil
}

// ginkgoArgs are the flags that select which specs run: the label filter, and focus and
// skip when the event has them.
func (e Event) ginkgoArgs() []string {
	args := []string{"--ginkgo.label-filter=" + e.labelFilter()}
	if e.Focus != "" {
		args = append(args, "--ginkgo.focus="+e.Focus)
	}
	if e.Skip != "" {
		args = append(args, "--ginkgo.skip="+e.Skip)
	}
	return args
}
