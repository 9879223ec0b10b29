package function

import (
	"strings"
	"testing"
)

func TestParseReport(t *testing.T) {
	tests := []struct {
		name        string
		json        string
		want        Summary
		wantFailed  []string
		wantErrText string
	}{
		{
			name: "counts passed and self-skipped specs, not filtered-out ones",
			json: `[{"SuiteSucceeded":true,"SpecReports":[
				{"LeafNodeType":"It","State":"passed","NumAttempts":1},
				{"LeafNodeType":"It","State":"skipped","NumAttempts":1},
				{"LeafNodeType":"It","State":"skipped","NumAttempts":0},
				{"LeafNodeType":"It","State":"pending"},
				{"LeafNodeType":"ReportAfterSuite","State":"passed","NumAttempts":1}]}]`,
			want: Summary{Passed: 1, Skipped: 2, SuiteSucceeded: true},
		},
		{
			name: "names failed specs with state and message on one line",
			json: `[{"SuiteSucceeded":false,"SpecReports":[
				{"ContainerHierarchyTexts":["s3cli","put"],"LeafNodeText":"uploads","LeafNodeType":"It","State":"failed","NumAttempts":1,
				 "Failure":{"Message":"Expected\n    <int>: 1\nto equal 0"}},
				{"ContainerHierarchyTexts":["role"],"LeafNodeText":"waits","LeafNodeType":"It","State":"interrupted","NumAttempts":1}]}]`,
			want:       Summary{Failed: 2},
			wantFailed: []string{"[failed] s3cli put uploads: Expected <int>: 1 to equal 0", "[interrupted] role waits"},
		},
		{
			name: "counts a failed suite node as a failure",
			json: `[{"SuiteSucceeded":false,"SpecialSuiteFailureReasons":["Interrupted by Other"],"SpecReports":[
				{"LeafNodeType":"SynchronizedBeforeSuite","State":"panicked","NumAttempts":1,"Failure":{"Message":"no target"}}]}]`,
			want:       Summary{Failed: 1, SpecialFailures: []string{"Interrupted by Other"}},
			wantFailed: []string{"[panicked] SynchronizedBeforeSuite: no target"},
		},
		{name: "rejects an empty report", json: `[]`, wantErrText: "holds no suite"},
		{name: "rejects what is not JSON", json: `Running Suite`, wantErrText: "parsing Ginkgo JSON report"},
		{
			name:       "counts a state it does not know as a failure",
			json:       `[{"SpecReports":[{"LeafNodeText":"odd","LeafNodeType":"It","State":"exploded"}]}]`,
			want:       Summary{Failed: 1},
			wantFailed: []string{"[INVALID SPEC STATE] odd"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseReport([]byte(tt.json))
			if tt.wantErrText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrText) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErrText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Passed != tt.want.Passed || got.Failed != tt.want.Failed || got.Skipped != tt.want.Skipped || got.SuiteSucceeded != tt.want.SuiteSucceeded {
				t.Errorf("counts = %+v, want %+v", got, tt.want)
			}
			if strings.Join(got.SpecialFailures, "|") != strings.Join(tt.want.SpecialFailures, "|") {
				t.Errorf("special failures = %q, want %q", got.SpecialFailures, tt.want.SpecialFailures)
			}
			if strings.Join(got.FailedSpecs, "|") != strings.Join(tt.wantFailed, "|") {
				t.Errorf("failed specs = %q, want %q", got.FailedSpecs, tt.wantFailed)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	passed := Summary{Passed: 3, SuiteSucceeded: true}
	if err := verdict(passed, nil, nil, "", nil); err != nil {
		t.Errorf("a passing run: %v", err)
	}
	if err := verdict(passed, nil, nil, "stopped 3s before the function deadline", nil); err != nil {
		t.Errorf("a run that exited cleanly as the timer fired: %v", err)
	}
	focused := Summary{Passed: 1}
	if err := verdict(focused, nil, errExit(t, 197), "", nil); err == nil || !strings.Contains(err.Error(), "exit status 197") {
		t.Errorf("a run Ginkgo failed without a failed spec: %v", err)
	}
}

// errExit returns the *exec.ExitError of a shell exiting with code.
func errExit(t *testing.T, code int) error {
	t.Helper()
	err := runShell("exit " + itoa(code))
	if err == nil {
		t.Fatal("the shell exited 0")
	}
	return err
}
