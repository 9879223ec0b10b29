package config

import "testing"

func TestRegionFromHost(t *testing.T) {
	tests := []struct {
		host   string
		region string
		ok     bool
	}{
		// regional, dot form
		{"s3.eu-west-1.amazonaws.com", "eu-west-1", true},
		{"s3.us-east-1.amazonaws.com", "us-east-1", true},
		{"s3.us-gov-west-1.amazonaws.com", "us-gov-west-1", true},
		{"s3.ap-southeast-5.amazonaws.com", "ap-southeast-5", true},
		// legacy dash form
		{"s3-eu-west-1.amazonaws.com", "eu-west-1", true},
		{"s3-us-west-2.amazonaws.com", "us-west-2", true},
		{"s3-external-1.amazonaws.com", "us-east-1", true},
		{"s3-fips-us-gov-west-1.amazonaws.com", "us-gov-west-1", true},
		{"s3-website-us-east-1.amazonaws.com", "us-east-1", true},
		{"s3-website.eu-central-1.amazonaws.com", "eu-central-1", true},
		// global endpoint
		{"s3.amazonaws.com", "us-east-1", true},
		// dual-stack and FIPS
		{"s3.dualstack.eu-central-1.amazonaws.com", "eu-central-1", true},
		{"s3-fips.us-east-2.amazonaws.com", "us-east-2", true},
		{"s3-fips.dualstack.us-gov-east-1.amazonaws.com", "us-gov-east-1", true},
		{"s3.dualstack.us-east-1.amazonaws.com", "us-east-1", true},
		// other partitions
		{"s3.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"s3.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", true},
		{"s3.dualstack.cn-north-1.amazonaws.com.cn", "cn-north-1", true},
		{"s3.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1", true},
		// scheme, port, path, case, trailing dot
		{"https://s3.eu-west-2.amazonaws.com", "eu-west-2", true},
		{"http://s3.eu-west-2.amazonaws.com:80", "eu-west-2", true},
		{"s3.eu-west-3.amazonaws.com:443", "eu-west-3", true},
		{"https://s3-us-west-1.amazonaws.com:8443/", "us-west-1", true},
		{"S3.EU-NORTH-1.AMAZONAWS.COM", "eu-north-1", true},
		{"s3.sa-east-1.amazonaws.com.", "sa-east-1", true},
		// virtual-hosted: a bucket in front, even one that looks like s3
		{"my-bucket.s3.ap-south-1.amazonaws.com", "ap-south-1", true},
		{"s3.s3.eu-south-1.amazonaws.com", "eu-south-1", true},
		{"s3-logs.s3-eu-west-1.amazonaws.com", "eu-west-1", true},
		{"my.bucket.s3.amazonaws.com", "us-east-1", true},
		// access points and friends
		{"ap-111122223333.s3-accesspoint.us-west-2.amazonaws.com", "us-west-2", true},
		{"ap-111122223333.s3-accesspoint.dualstack.eu-west-1.amazonaws.com", "eu-west-1", true},
		// not AWS S3
		{"127.0.0.1", "", false},
		{"localhost:4566", "", false},
		{"http://minio.internal:9000", "", false},
		{"storage.googleapis.com", "", false},
		{"ec2.us-east-1.amazonaws.com", "", false},
		{"amazonaws.com", "", false},
		{"s3.eu-west-1.amazonaws.com.evil.example", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			region, ok := RegionFromHost(tt.host)
			if region != tt.region || ok != tt.ok {
				t.Errorf("RegionFromHost(%q) = %q, %v; want %q, %v", tt.host, region, ok, tt.region, tt.ok)
			}
			if IsAWSHost(tt.host) != tt.ok {
				t.Errorf("IsAWSHost(%q) = %v, want %v", tt.host, !tt.ok, tt.ok)
			}
		})
	}
}

func TestHostName(t *testing.T) {
	tests := map[string]string{
		"s3.example.com":               "s3.example.com",
		"S3.Example.COM.":              "s3.example.com",
		"s3.example.com:9000":          "s3.example.com",
		"https://s3.example.com:9000/": "s3.example.com",
		"http://[::1]:9000":            "::1",
		"s3.example.com/path":          "s3.example.com",
		" 10.0.0.1 ":                   "10.0.0.1",
	}
	for in, want := range tests {
		if got := HostName(in); got != want {
			t.Errorf("HostName(%q) = %q, want %q", in, got, want)
		}
	}
}
