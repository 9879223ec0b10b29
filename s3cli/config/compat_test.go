package config

import (
	"math"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// boshConfig and storageConfig are what bosh-s3cli's and storage-cli's
// integration suites write: json.Marshal of their config struct, so every key
// is present and unset ones hold their zero value.
const boshConfig = `{"access_key_id":"AKIDBOSH","secret_access_key":"bosh-secret","bucket_name":"bkt","folder_name":"",
"credentials_source":"","host":"127.0.0.1","port":5000,"region":"","ssl_verify_peer":false,"use_ssl":false,
"server_side_encryption":"","sse_kms_key_id":"","assume_role_arn":"","multipart_upload":false,"host_style":false,
"swift_auth_account":"","swift_temp_url_key":""}`

const storageConfig = `{"access_key_id":"AKIDSTORAGE","secret_access_key":"storage-secret","bucket_name":"bkt","folder_name":"",
"credentials_source":"","host":"","port":0,"region":"eu-west-1","ssl_verify_peer":false,"use_ssl":false,
"http_request_timeout":"","http_response_header_timeout":"","server_side_encryption":"","sse_kms_key_id":"",
"assume_role_arn":"","host_style":false,"swift_auth_account":"","swift_temp_url_key":"",
"request_checksum_calculation_enabled":false,"response_checksum_calculation_enabled":false,
"uploader_request_checksum_calculation_enabled":false,"download_concurrency":0,"download_part_size":0,
"upload_concurrency":0,"upload_part_size":0,"multipart_copy_threshold":0,"multipart_copy_part_size":0,
"single_upload_threshold":0,"multipart_upload":false,"signature_version":"0","use_v2_signing":false}`

func TestPeerConfigsParse(t *testing.T) {
	bosh := mustParse(t, boshConfig, nil)
	if bosh.Endpoint != "http://127.0.0.1:5000" || !bosh.UsePathStyle || bosh.SSLVerifyPeer || bosh.CredentialsSource != CredentialsStatic ||
		bosh.MultipartUpload || bosh.Region != DefaultRegion || len(bosh.Warnings) != 0 {
		t.Errorf("bosh-s3cli config: %+v", *bosh)
	}
	st := mustParse(t, storageConfig, nil)
	if st.Endpoint != "" || st.Provider != ProviderAWS || st.Region != "eu-west-1" || !st.MultipartUpload ||
		st.UploadPartSize != DefaultUploadPartSize || st.UploadConcurrency != DefaultUploadConcurrency ||
		st.MultipartCopyThreshold != DefaultMultipartCopyThreshold || st.MultipartCopyPartSize != DefaultMultipartCopyPartSize ||
		st.SingleUploadThreshold != 0 || st.HTTPRequestTimeout != 0 || st.UploaderChecksums ||
		st.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired || len(st.Warnings) != 0 {
		t.Errorf("storage-cli config: %+v", *st)
	}
}

func TestTransferAndTimeoutKeys(t *testing.T) {
	c := mustParse(t, `{"bucket_name":"bkt","single_upload_threshold":1048576,"multipart_copy_threshold":10485760,
		"multipart_copy_part_size":5242880,"http_request_timeout":"90s","http_response_header_timeout":"1m"}`, nil)
	if c.SingleUploadThreshold != MiB || c.MultipartCopyThreshold != 10*MiB || c.MultipartCopyPartSize != 5*MiB ||
		c.HTTPRequestTimeout.String() != "1m30s" || c.HTTPResponseHeaderTimeout.String() != "1m0s" {
		t.Errorf("%+v", *c)
	}
}

func TestProviders(t *testing.T) {
	g := mustParse(t, `{"bucket_name":"bkt","host":"storage.googleapis.com","multipart_upload":true,"single_upload_threshold":10737418240}`, nil)
	if g.Provider != ProviderGoogle || g.MultipartUpload || g.MaxSinglePut != math.MaxInt64 || g.MultipartCopyThreshold != math.MaxInt64 ||
		g.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired || !g.UploaderChecksums {
		t.Errorf("google: %+v", *g)
	}
	a := mustParse(t, `{"bucket_name":"bkt","host":"oss-cn-beijing.aliyuncs.com","port":8443,"multipart_upload":false}`, nil)
	if a.Provider != ProviderAlibaba || !a.MultipartUpload || a.Endpoint != "https://oss-cn-beijing.aliyuncs.com" || a.Region != "cn-beijing" || a.UsePathStyle ||
		a.UploaderChecksums || a.RequestChecksumCalculation != aws.RequestChecksumCalculationWhenRequired {
		t.Errorf("alibaba: %+v", *a)
	}
	aws := mustParse(t, `{"bucket_name":"bkt","host":"s3.eu-west-1.amazonaws.com","multipart_upload":false}`, nil)
	if aws.Provider != ProviderAWS || !aws.MultipartUpload {
		t.Errorf("aws: multipart_upload false must be ignored as bosh-s3cli does: %+v", *aws)
	}
	other := mustParse(t, `{"bucket_name":"bkt","host":"minio.internal","multipart_upload":false}`, nil)
	if other.Provider != ProviderOther || other.MultipartUpload {
		t.Errorf("other: %+v", *other)
	}
	for host, want := range map[string]Provider{
		"": ProviderAWS, "https://s3.amazonaws.com": ProviderAWS, "http://storage.googleapis.com:80": ProviderGoogle,
		"oss-cn-hangzhou-internal.aliyuncs.com": ProviderAlibaba, "aliyuncs.com": ProviderOther, "127.0.0.1": ProviderOther,
	} {
		if got := ProviderOf(host); got != want {
			t.Errorf("ProviderOf(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestWarnings(t *testing.T) {
	c := mustParse(t, `{"bucket_name":"bkt","bucket":"x","upload_concurency":2,"swift_auth_account":"acct","signature_version":"2"}`, nil)
	want := []string{
		`config: unknown key "bucket" ignored; did you mean "bucket_name"?`,
		`config: unknown key "upload_concurency" ignored; did you mean "upload_concurrency"?`,
		"config: swift_auth_account and swift_temp_url_key are ignored",
		"config: signature_version 2 / use_v2_signing ignored",
	}
	if len(c.Warnings) != len(want) {
		t.Fatalf("warnings %q", c.Warnings)
	}
	for i, w := range want {
		if !strings.HasPrefix(c.Warnings[i], w) {
			t.Errorf("warning %d = %q, want %q", i, c.Warnings[i], w)
		}
	}
	if c.UploadConcurrency != DefaultUploadConcurrency {
		t.Error("an unknown key changed a setting")
	}
	if c := mustParse(t, `{"bucket_name":"bkt","signature_version":4,"use_v2_signing":false}`, nil); len(c.Warnings) != 0 {
		t.Errorf("SigV4 settings warned: %q", c.Warnings)
	}
	if c := mustParse(t, `{"bucket_name":"bkt"}`, map[string]string{"AWS_CA_BUNDLE": " /etc/ca.pem "}); c.CABundle != "/etc/ca.pem" {
		t.Errorf("CABundle %q", c.CABundle)
	}
}
