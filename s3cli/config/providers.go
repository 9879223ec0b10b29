package config

import (
	"regexp"
	"strings"
)

// alibabaHost matches Alibaba Cloud OSS endpoints: oss-REGION.aliyuncs.com and
// oss-REGION-internal.aliyuncs.com, REGION like cn-hangzhou or ap-southeast-1.
var alibabaHost = regexp.MustCompile(`^oss-([a-z]+-[a-z]+(?:-[0-9]+)?)(?:-internal)?\.aliyuncs\.com$`)

// ProviderOf tells which service a config's host belongs to: AWS for no host or
// an AWS S3 host, Google Cloud Storage for storage.googleapis.com, Alibaba OSS
// for oss-REGION.aliyuncs.com, else ProviderOther. Scheme and port are allowed.
func ProviderOf(host string) Provider {
	if strings.TrimSpace(host) == "" || IsAWSHost(host) {
		return ProviderAWS
	}
	switch name := HostName(host); {
	case name == "storage.googleapis.com":
		return ProviderGoogle
	case alibabaHost.MatchString(name):
		return ProviderAlibaba
	}
	return ProviderOther
}

// alibabaRegion derives the region from an OSS host (oss-cn-hangzhou.aliyuncs.com: cn-hangzhou).
func alibabaRegion(host string) (string, bool) {
	m := alibabaHost.FindStringSubmatch(HostName(host))
	if m == nil {
		return "", false
	}
	return m[1], true
}

// withoutPort drops the port (and any path) of host, keeping a scheme if it has one.
func withoutPort(host string) string {
	if scheme, _, ok := strings.Cut(strings.TrimSpace(host), "://"); ok {
		return scheme + "://" + HostName(host)
	}
	return HostName(host)
}
