package function

import (
	"cmp"
	"path/filepath"
	"strings"

	"github.com/s3cli-dev/s3cli/fixtures/settings"
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

	// Emulators inject their endpoint; on AWS neither is set and the regional endpoint applies.
	inside := settings.Settings{
		Target:         settings.Ambient,
		Region:         cmp.Or(ev.Region, vars["AWS_REGION"], vars["AWS_DEFAULT_REGION"]),
		S3CLIBin:       filepath.Join(taskRoot, "s3cli"),
		Bucket:         ev.BucketName,
		DeniedBucket:   ev.DeniedBucketName,
		S3Host:         cmp.Or(ev.S3Host, vars["AWS_ENDPOINT_URL_S3"], vars["AWS_ENDPOINT_URL"]),
		IAMEnforced:    ev.IAMEnforced,
		IAMEnforcedSet: true,
	}
	for _, kv := range inside.Environ(settings.FunctionVars...) {
		key, value, _ := strings.Cut(kv, "=")
		if key == "AWS_REGION" && value == "" {
			continue // nothing better than what the function had
		}
		set(key, value)
	}
	if inside.Region != "" {
		set("AWS_DEFAULT_REGION", inside.Region)
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
