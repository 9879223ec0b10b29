package function

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func runShell(script string) error { return exec.Command("sh", "-c", script).Run() }

func itoa(i int) string { return strconv.Itoa(i) }

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; dup {
			m[k+"#dup"] = v
		}
		m[k] = v
	}
	return m
}

func TestSuiteEnv(t *testing.T) {
	lambdaEnv := []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=ASIAEXAMPLE", "LAMBDA_TASK_ROOT=/var/task",
		"AWS_ENDPOINT_URL=http://10.0.0.1:4566", "S3CLI_TARGET=aws", "HOME=",
	}
	tests := []struct {
		name string
		base []string
		ev   Event
		want map[string]string
	}{
		{
			name: "event fields and fixed settings over the function's environment",
			base: lambdaEnv,
			ev:   Event{BucketName: "b1", DeniedBucketName: "b2", IAMEnforced: true, Region: "eu-west-1"},
			want: map[string]string{
				"S3CLI_TARGET": "ambient", "S3CLI_BUCKET": "b1", "S3CLI_DENIED_BUCKET": "b2",
				"S3CLI_IAM_ENFORCED": "1", "S3CLI_S3_HOST": "http://10.0.0.1:4566",
				"S3CLI_BIN": "/var/task/s3cli", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
				"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "HOME": "/tmp",
			},
		},
		{
			name: "explicit s3_host wins; region falls back to the function's",
			base: lambdaEnv,
			ev:   Event{BucketName: "b1", S3Host: "https://s3.example.com:9000"},
			want: map[string]string{"S3CLI_S3_HOST": "https://s3.example.com:9000", "AWS_REGION": "us-east-1", "S3CLI_IAM_ENFORCED": "0", "S3CLI_DENIED_BUCKET": ""},
		},
		{
			name: "the S3-specific endpoint wins over the general one",
			base: append(slices.Clone(lambdaEnv), "AWS_ENDPOINT_URL_S3=http://10.0.0.2:9000"),
			ev:   Event{BucketName: "b1"},
			want: map[string]string{"S3CLI_S3_HOST": "http://10.0.0.2:9000"},
		},
		{
			name: "on AWS no endpoint: the regional one applies",
			base: []string{"AWS_REGION=ap-south-1", "HOME=/home/sbx_user"},
			ev:   Event{BucketName: "b1"},
			want: map[string]string{"S3CLI_S3_HOST": "", "AWS_REGION": "ap-south-1", "HOME": "/home/sbx_user"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := envMap(SuiteEnv(tt.base, tt.ev, "/var/task"))
			for k, want := range tt.want {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("%s = %q (set: %v), want %q", k, v, ok, want)
				}
			}
			for k := range got {
				if strings.HasSuffix(k, "#dup") {
					t.Errorf("%s appears twice", strings.TrimSuffix(k, "#dup"))
				}
			}
		})
	}
}

func TestEventValidate(t *testing.T) {
	tests := []struct {
		ev      Event
		wantErr string
	}{
		{Event{BucketName: "b"}, ""},
		{Event{LabelFilter: "canary-failure"}, ""},
		{Event{}, `bucket_name is required to run the "iam-role" specs`},
		{Event{LabelFilter: "iam-role\n--ginkgo.focus=x", BucketName: "b"}, "label_filter"},
		{Event{BucketName: "b c"}, "bucket_name"},
		{Event{BucketName: "b", S3Host: "http://x\n"}, "s3_host"},
		{Event{BucketName: "b", Focus: "AWS STANDARD IAM ROLE", Skip: "denied|maximal"}, ""},
		{Event{BucketName: "b", Focus: "a\n--ginkgo.dry-run"}, "focus"},
		{Event{BucketName: "b", Skip: "(unclosed"}, "skip \"(unclosed\" is not a regular expression"},
	}
	for _, tt := range tests {
		err := tt.ev.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.ev, err, tt.wantErr)
		}
	}
}

func TestLineWriterForwardsWholeLines(t *testing.T) {
	var out strings.Builder
	w := newLineWriter(&out, 2)
	_, _ = w.Write([]byte("first li"))
	w.Note("runner: note")
	_, _ = w.Write([]byte("ne\nsecond\nthird\nunterminated"))
	w.Flush()
	want := "runner: note\nfirst line\nsecond\nthird\nunterminated\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if got := strings.Join(w.Tail(), "|"); got != "third|unterminated" {
		t.Errorf("tail = %q, want the last two lines", got)
	}
}
