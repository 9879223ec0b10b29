package config

import (
	"net"
	"net/url"
	"regexp"
	"strings"
)

// DefaultRegion is used when the config names no region and the host says none.
const DefaultRegion = "us-east-1"

// regionPattern matches AWS region names such as us-east-1, us-gov-west-1,
// cn-north-1 or eusc-de-east-1: lowercase words joined by dashes, ending in a number.
var regionPattern = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)*-[0-9]+$`)

// awsDomains are the DNS suffixes of the AWS partitions whose S3 hosts we derive
// regions from, longest first so that .amazonaws.com.cn is not taken for .amazonaws.com.
var awsDomains = []string{".amazonaws.com.cn", ".amazonaws.com", ".amazonaws.eu"}

// s3Variants are the words that may follow "s3-" or "s3." in an S3 host name
// without being a region (s3-fips.us-east-1, s3.dualstack.eu-west-1, ...).
var s3Variants = map[string]bool{
	"fips": true, "dualstack": true, "accesspoint": true, "website": true,
	"control": true, "object-lambda": true, "outposts": true,
}

// HostName returns the bare, lowercase host name of host, which may carry a
// scheme, a port, a path or a trailing dot.
func HostName(host string) string {
	h := strings.TrimSpace(host)
	if strings.Contains(h, "://") {
		if u, err := url.Parse(h); err == nil {
			h = u.Host
		}
	} else if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h = h[:i]
	}
	if name, _, err := net.SplitHostPort(h); err == nil {
		h = name
	}
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// IsAWSHost reports whether host (scheme and port allowed) is an AWS S3 endpoint,
// for which virtual-hosted addressing is the default.
func IsAWSHost(host string) bool {
	_, ok := awsS3Labels(HostName(host))
	return ok
}

// awsS3Labels returns the labels of an AWS S3 host name in front of its partition
// domain (["bucket", "s3", "us-west-2"] for bucket.s3.us-west-2.amazonaws.com), and
// whether the name is an AWS S3 host at all.
func awsS3Labels(name string) ([]string, bool) {
	for _, d := range awsDomains {
		if rest, ok := strings.CutSuffix(name, d); ok && rest != "" {
			labels := strings.Split(rest, ".")
			for _, l := range labels {
				if l == "s3" || strings.HasPrefix(l, "s3-") {
					return labels, true
				}
			}
			return nil, false
		}
	}
	return nil, false
}

// RegionFromHost derives the AWS region from an S3 host name such as
// s3.eu-west-1.amazonaws.com, s3-eu-west-1.amazonaws.com,
// s3.dualstack.eu-west-1.amazonaws.com, s3-fips.us-gov-west-1.amazonaws.com,
// s3.cn-north-1.amazonaws.com.cn or s3.eusc-de-east-1.amazonaws.eu, with or
// without scheme, port or a bucket in front. The global s3.amazonaws.com and
// s3-external-1.amazonaws.com give us-east-1. It returns false for hosts that
// are not AWS S3 hosts.
func RegionFromHost(host string) (string, bool) {
	labels, ok := awsS3Labels(HostName(host))
	if !ok {
		return "", false
	}
	// The right-most s3 label is the service one: a bucket name in front of it
	// may itself contain "s3".
	svc := -1
	for i, l := range labels {
		if l == "s3" || strings.HasPrefix(l, "s3-") {
			svc = i
		}
	}
	// Legacy dash form: s3-REGION, s3-fips-REGION, s3-website-REGION, s3-external-1.
	if rest, ok := strings.CutPrefix(labels[svc], "s3-"); ok {
		if rest == "external-1" {
			return "us-east-1", true
		}
		for {
			word, tail, found := strings.Cut(rest, "-")
			if !found || !s3Variants[word] {
				break
			}
			rest = tail
		}
		if regionPattern.MatchString(rest) {
			return rest, true
		}
	}
	// Dot form: s3.REGION, s3.dualstack.REGION, s3-fips.dualstack.REGION, ...
	for _, l := range labels[svc+1:] {
		if s3Variants[l] {
			continue
		}
		if regionPattern.MatchString(l) {
			return l, true
		}
		break
	}
	// s3.amazonaws.com and friends: the global endpoint lives in us-east-1.
	return DefaultRegion, true
}
