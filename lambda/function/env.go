package function

import (
	"path/filepath"
	"strconv"
	"strings"
)

// SuiteEnv returns the environment for integration.test: base (the function's
// own environment, which carries the execution role's credentials) with the
// suite's settings from the event laid over it. Later entries win, so each
// overridden variable appears once.
func SuiteEnv(base []string, ev Event, taskRoot string) []string {
	vars := map[string]string{}
	var order []string
	set := func(key, value string) {
		if _, ok := vars[key]; !ok {
			order = append(order, key)
		}
		vars[key] = value
	}
	for _, kv := range base {
		key, value, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			continue
		}
		set(key, value)
	}

	s3Host := ev.S3Host
	if s3Host == "" {
		// Emulators inject their endpoint; on AWS neither is set and the regional endpoint applies.
		s3Host = firstNonEmpty(vars["AWS_ENDPOINT_URL_S3"], vars["AWS_ENDPOINT_URL"])
	}
	region := firstNonEmpty(ev.Region, vars["AWS_REGION"], vars["AWS_DEFAULT_REGION"])

	set("S3CLI_TARGET", "ambient")
	set("S3CLI_BUCKET", ev.BucketName)
	set("S3CLI_DENIED_BUCKET", ev.DeniedBucketName)
	set("S3CLI_IAM_ENFORCED", strconv.FormatBool(ev.IAMEnforced))
	set("S3CLI_S3_HOST", s3Host)
	set("S3CLI_BIN", filepath.Join(taskRoot, "s3cli"))
	if region != "" {
		set("AWS_REGION", region)
		set("AWS_DEFAULT_REGION", region)
	}
	if vars["HOME"] == "" {
		// Lambda sets no HOME; the SDK and Go's caches look for one, and /tmp is the writable place.
		set("HOME", "/tmp")
	}

	env := make([]string, 0, len(order))
	for _, key := range order {
		env = append(env, key+"="+vars[key])
	}
	return env
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
