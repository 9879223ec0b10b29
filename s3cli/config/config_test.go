package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Secrets used in the documents below; no error message may contain them.
const (
	testAccessKey = "AKIAEXAMPLEKEY123456"
	testSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken     = "FwoGZXIvYXdzEXAMPLETOKEN"
)

func mustParse(t *testing.T, doc string, env map[string]string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc), mapEnv(env))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return c
}

func mapEnv(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
}

func TestParseDefaults(t *testing.T) {
	c := mustParse(t, `{"bucket_name":"my-bucket"}`, nil)
	want := &Config{
		BucketName:                 "my-bucket",
		CredentialsSource:          CredentialsNone,
		Region:                     "us-east-1",
		SSLVerifyPeer:              true,
		MultipartUpload:            true,
		UploadPartSize:             DefaultUploadPartSize,
		UploadConcurrency:          DefaultUploadConcurrency,
		DownloadPartSize:           DefaultDownloadPartSize,
		DownloadConcurrency:        DefaultDownloadConcurrency,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
		UploaderChecksums:          true,
		Provider:                   ProviderAWS,
		MaxSinglePut:               MaxPartSize,
		MultipartCopyThreshold:     DefaultMultipartCopyThreshold,
		MultipartCopyPartSize:      DefaultMultipartCopyPartSize,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", *c, *want)
	}
	if !c.ReadOnly() {
		t.Error("no keys and no credentials_source should be read-only (none)")
	}
}

func TestParseFullConfig(t *testing.T) {
	doc := `{
	  "bucket_name": "blobs", "folder_name": "releases/",
	  "credentials_source": "static", "access_key_id": "` + testAccessKey + `",
	  "secret_access_key": "` + testSecret + `", "session_token": "` + testToken + `",
	  "region": "eu-central-1", "host": "minio.internal", "port": 9000, "use_ssl": false,
	  "ssl_verify_peer": false, "host_style": false,
	  "server_side_encryption": "aws:kms", "sse_kms_key_id": "alias/blobs",
	  "assume_role_arn": "arn:aws:iam::123456789012:role/blob-writer",
	  "assume_role_external_id": "ext-1", "assume_role_session_name": "ci@run",
	  "multipart_upload": false, "upload_part_size": 10485760, "upload_concurrency": 3,
	  "download_part_size": 2097152, "download_concurrency": 2,
	  "request_checksum_calculation_enabled": false, "response_checksum_calculation_enabled": false,
	  "uploader_request_checksum_calculation_enabled": false
	}`
	c := mustParse(t, doc, nil)
	want := &Config{
		BucketName: "blobs", FolderName: "releases",
		CredentialsSource: CredentialsStatic, AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: testToken,
		Region: "eu-central-1", Endpoint: "http://minio.internal:9000", CustomEndpoint: true, UsePathStyle: true,
		SSLVerifyPeer: false, ServerSideEncryption: "aws:kms", SSEKMSKeyID: "alias/blobs",
		AssumeRoleARN: "arn:aws:iam::123456789012:role/blob-writer", AssumeRoleExternalID: "ext-1", AssumeRoleSessionName: "ci@run",
		MultipartUpload: false, UploadPartSize: 10 * MiB, UploadConcurrency: 3, DownloadPartSize: 2 * MiB, DownloadConcurrency: 2,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		UploaderChecksums:          false,
		Provider:                   ProviderOther,
		MaxSinglePut:               MaxPartSize,
		MultipartCopyThreshold:     DefaultMultipartCopyThreshold,
		MultipartCopyPartSize:      DefaultMultipartCopyPartSize,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("full config:\n got %+v\nwant %+v", *c, *want)
	}
	if got := c.Secrets(); !slices.Equal(got, []string{testAccessKey, testSecret, testToken}) {
		t.Errorf("Secrets() = %d values, want the 3 secrets", len(got))
	}
	if got := c.Key("a/b"); got != "releases/a/b" {
		t.Errorf("Key = %q", got)
	}
}

func TestCredentialsSource(t *testing.T) {
	tests := []struct {
		doc  string
		want CredentialsSource
	}{
		{`{"bucket_name":"bkt"}`, CredentialsNone},
		{`{"bucket_name":"bkt","access_key_id":"a","secret_access_key":"s"}`, CredentialsStatic},
		{`{"bucket_name":"bkt","credentials_source":"static","access_key_id":"a","secret_access_key":"s"}`, CredentialsStatic},
		{`{"bucket_name":"bkt","credentials_source":"env_or_profile"}`, CredentialsEnvOrProfile},
		{`{"bucket_name":"bkt","credentials_source":"none"}`, CredentialsNone},
		{`{"bucket_name":"bkt","credentials_source":""}`, CredentialsNone},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.doc, nil).CredentialsSource; got != tt.want {
			t.Errorf("%s: credentials source %q, want %q", tt.doc, got, tt.want)
		}
	}
}

// TestValidationMessages checks that each invalid value gives a one-line error
// naming the field and what it accepts.
func TestValidationMessages(t *testing.T) {
	keys := `"access_key_id":"` + testAccessKey + `","secret_access_key":"` + testSecret + `"`
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty file", ``, "config: the file is empty"},
		{"blank file", "  \n", "config: the file is empty"},
		{"null", `null`, "config: must be a JSON object, not null"},
		{"array", `[1]`, "config: must be a JSON object, not an array"},
		{"string doc", `"x"`, "config: must be a JSON object, not a string"},
		{"syntax", `{"bucket_name": }`, "config: invalid JSON at byte"},
		{"truncated", `{"bucket_name": "x"`, "config: invalid JSON"},
		{"trailing garbage", `{"bucket_name":"bkt"} {}`, "config: invalid JSON"},
		{"key case", `{"Bucket_Name":"bkt"}`, `config: bucket_name is required`},
		{"key twice", `{"bucket_name":"a-bkt","region":"eu-west-1","bucket_name":"bkt"}`, `config: key "bucket_name" is given twice; keep one`},
		{"folder dot-dot", `{"bucket_name":"bkt","folder_name":"a/../b"}`, `config: folder_name "a/../b" has a "." or ".." segment`},
		{"single put above 5 GiB", `{"bucket_name":"bkt","single_upload_threshold":5368709121}`, "config: single_upload_threshold 5368709121 is more than one PUT takes"},
		{"negative single put", `{"bucket_name":"bkt","single_upload_threshold":-1}`, "config: single_upload_threshold -1 is not between"},
		{"negative copy threshold", `{"bucket_name":"bkt","multipart_copy_threshold":-1}`, "config: multipart_copy_threshold -1 is not between"},
		{"small copy part", `{"bucket_name":"bkt","multipart_copy_part_size":1048576}`, "config: multipart_copy_part_size 1048576 is not between 5242880 (5 MiB) and 5368709120 (5 GiB)"},
		{"timeout without unit", `{"bucket_name":"bkt","http_request_timeout":"30"}`, `config: http_request_timeout "30" has no unit`},
		{"timeout garbage", `{"bucket_name":"bkt","http_response_header_timeout":"soon"}`, `config: http_response_header_timeout "soon" is not a duration`},
		{"timeout negative", `{"bucket_name":"bkt","http_request_timeout":"-1s"}`, `config: http_request_timeout "-1s" must be more than 0`},
		{"missing bucket", `{}`, "config: bucket_name is required"},
		{"empty bucket", `{"bucket_name":""}`, "config: bucket_name is required"},
		{"bad bucket", `{"bucket_name":"a/b"}`, `config: bucket_name "a/b" is not a valid bucket name`},
		{"short bucket", `{"bucket_name":"ab"}`, `config: bucket_name "ab" is not a valid bucket name`},
		{"bucket type", `{"bucket_name":5}`, "config: bucket_name must be a string, not a number"},
		{"folder slash", `{"bucket_name":"bkt","folder_name":"/"}`, `config: folder_name "/" would make keys start with a slash`},
		{"credentials source", `{"bucket_name":"bkt","credentials_source":"ambient"}`, `config: credentials_source "ambient" is not one of static, env_or_profile, none`},
		{"static without keys", `{"bucket_name":"bkt","credentials_source":"static"}`, "config: credentials_source static needs both access_key_id and secret_access_key"},
		{"static half keys", `{"bucket_name":"bkt","access_key_id":"` + testAccessKey + `"}`, "config: credentials_source static needs both access_key_id and secret_access_key"},
		{"token only", `{"bucket_name":"bkt","session_token":"` + testToken + `"}`, "config: credentials_source static needs both"},
		{"env with keys", `{"bucket_name":"bkt","credentials_source":"env_or_profile",` + keys + `}`, "config: credentials_source env_or_profile takes no access_key_id, secret_access_key or session_token"},
		{"none with keys", `{"bucket_name":"bkt","credentials_source":"none",` + keys + `}`, "config: credentials_source none takes no access_key_id"},
		{"none with token", `{"bucket_name":"bkt","credentials_source":"none","session_token":"` + testToken + `"}`, "config: credentials_source none takes no"},
		{"secret type", `{"bucket_name":"bkt","secret_access_key":12345678901234}`, "config: secret_access_key must be a string"},
		{"region", `{"bucket_name":"bkt","region":"US East 1"}`, `config: region "US East 1" is not a region name like us-east-1`},
		{"port high", `{"bucket_name":"bkt","port":70000}`, "config: port 70000 is not between 1 and 65535"},
		{"port string", `{"bucket_name":"bkt","port":"9000"}`, "config: port must be a whole number, not a string"},
		{"port float", `{"bucket_name":"bkt","port":90.5}`, "config: port must be a whole number, not number 90.5"},
		{"host blank", `{"bucket_name":"bkt","host":"  "}`, "config: host is blank"},
		{"host scheme", `{"bucket_name":"bkt","host":"ftp://x.example"}`, `config: host "ftp://x.example" has scheme "ftp"; use http://, https:// or no scheme`},
		{"host user", `{"bucket_name":"bkt","host":"https://u:p@x.example"}`, "config: host must not carry user information"},
		{"host query", `{"bucket_name":"bkt","host":"https://x.example/?a=b"}`, "must not carry a query or fragment"},
		{"host garbage", `{"bucket_name":"bkt","host":"http://"}`, `config: host "http://" is not a host name or URL`},
		{"host bad port", `{"bucket_name":"bkt","host":"x.example:99999"}`, `config: host "x.example:99999" has port "99999", which is not between 1 and 65535`},
		{"host port conflict", `{"bucket_name":"bkt","host":"x.example:9000","port":9001}`, `config: host "x.example:9000" names port 9000 but port is 9001; give the port once`},
		{"scheme vs use_ssl", `{"bucket_name":"bkt","host":"http://x.example","use_ssl":true}`, `config: host "http://x.example" says http but use_ssl is true`},
		{"use_ssl type", `{"bucket_name":"bkt","use_ssl":"yes"}`, "config: use_ssl must be true or false, not a string"},
		{"ssl_verify_peer type", `{"bucket_name":"bkt","ssl_verify_peer":1}`, "config: ssl_verify_peer must be true or false, not a number"},
		{"host_style type", `{"bucket_name":"bkt","host_style":"false"}`, "config: host_style must be true or false"},
		{"ca_cert", `{"bucket_name":"bkt","ca_cert":"not a certificate"}`, "config: ca_cert holds no PEM certificate"},
		{"sse", `{"bucket_name":"bkt","server_side_encryption":"aes256"}`, `config: server_side_encryption "aes256" is not one of AES256, aws:kms, aws:kms:dsse`},
		{"kms key without kms", `{"bucket_name":"bkt","server_side_encryption":"AES256","sse_kms_key_id":"k"}`, `config: sse_kms_key_id needs server_side_encryption "aws:kms"`},
		{"kms key alone", `{"bucket_name":"bkt","sse_kms_key_id":"k"}`, "config: sse_kms_key_id needs server_side_encryption"},
		{"role arn", `{"bucket_name":"bkt","credentials_source":"env_or_profile","assume_role_arn":"my-role"}`, `config: assume_role_arn "my-role" is not an IAM role ARN like arn:aws:iam::123456789012:role/NAME`},
		{"role with none", `{"bucket_name":"bkt","credentials_source":"none","assume_role_arn":"arn:aws:iam::123456789012:role/r"}`, "config: assume_role_arn needs credentials"},
		{"external id alone", `{"bucket_name":"bkt","assume_role_external_id":"x1"}`, "config: assume_role_external_id needs assume_role_arn"},
		{"session name alone", `{"bucket_name":"bkt","assume_role_session_name":"x1"}`, "config: assume_role_session_name needs assume_role_arn"},
		{"session name", `{"bucket_name":"bkt",` + keys + `,"assume_role_arn":"arn:aws:iam::123456789012:role/r","assume_role_session_name":"has space"}`, `config: assume_role_session_name "has space" must be 2 to 64`},
		{"external id", `{"bucket_name":"bkt",` + keys + `,"assume_role_arn":"arn:aws:iam::123456789012:role/r","assume_role_external_id":"x"}`, "config: assume_role_external_id must be 2 to 1224"},
		{"multipart type", `{"bucket_name":"bkt","multipart_upload":"true"}`, "config: multipart_upload must be true or false"},
		{"upload part small", `{"bucket_name":"bkt","upload_part_size":1024}`, "config: upload_part_size 1024 is not between 5242880 (5 MiB) and 5368709120 (5 GiB) (0 or absent means 16777216 (16 MiB))"},
		{"upload part big", `{"bucket_name":"bkt","upload_part_size":6442450944}`, "config: upload_part_size 6442450944 is not between"},
		{"upload part negative", `{"bucket_name":"bkt","upload_part_size":-1}`, "config: upload_part_size -1 is not between"},
		{"upload part string", `{"bucket_name":"bkt","upload_part_size":"5MB"}`, "config: upload_part_size must be a whole number, not a string"},
		{"download part small", `{"bucket_name":"bkt","download_part_size":1000}`, "config: download_part_size 1000 is not between 1048576 (1 MiB) and 5368709120 (5 GiB)"},
		{"upload concurrency", `{"bucket_name":"bkt","upload_concurrency":-2}`, "config: upload_concurrency -2 is not between 1 and 64 (0 or absent means 8)"},
		{"download concurrency", `{"bucket_name":"bkt","download_concurrency":65}`, "config: download_concurrency 65 is not between 1 and 64"},
		{"checksum type", `{"bucket_name":"bkt","request_checksum_calculation_enabled":"no"}`, "config: request_checksum_calculation_enabled must be true or false"},
		{"response checksum type", `{"bucket_name":"bkt","response_checksum_calculation_enabled":0}`, "config: response_checksum_calculation_enabled must be true or false"},
		{"concurrency type", `{"bucket_name":"bkt","uploader_request_checksum_calculation_enabled":null,"upload_concurrency":true}`, "config: upload_concurrency must be a whole number, not true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), nil)
			if err == nil {
				t.Fatalf("Parse(%s) succeeded, want error %q", tt.doc, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\n does not contain %q", msg, tt.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, s := range []string{testAccessKey, testSecret, testToken, "12345678901234"} {
				if strings.Contains(msg, s) {
					t.Errorf("error %q shows a secret", msg)
				}
			}
		})
	}
}

// TestEndpoint covers URL building from host, port and use_ssl, the derived
// region and the addressing style.
func TestEndpoint(t *testing.T) {
	tests := []struct {
		name      string
		fields    string
		env       map[string]string
		endpoint  string
		region    string
		pathStyle bool
		custom    bool
	}{
		{"AWS default", ``, nil, "", "us-east-1", false, false},
		{"AWS region", `"region":"eu-west-1"`, nil, "", "eu-west-1", false, false},
		{"AWS host_style false", `"host_style":false`, nil, "", "us-east-1", true, false},
		// use_ssl and port apply to a host only, as in bosh-s3cli and storage-cli.
		{"AWS use_ssl false without host", `"region":"eu-west-1","use_ssl":false`, nil, "", "eu-west-1", false, false},
		{"AWS port without host", `"region":"eusc-de-east-1","port":8443`, nil, "", "eusc-de-east-1", false, false},
		{"zero values mean unset", `"region":"","host":"","port":0,"credentials_source":""`, nil, "", "us-east-1", false, false},
		{"https scheme wins over use_ssl false", `"host":"https://x.example","use_ssl":false`, nil, "https://x.example", "us-east-1", true, true},
		{"Google", `"host":"storage.googleapis.com","port":443,"use_ssl":true`, nil, "https://storage.googleapis.com:443", "us-east-1", true, true},
		{"Alibaba: virtual-hosted, port stripped, region from the host", `"host":"oss-cn-hangzhou.aliyuncs.com:443","port":443,"use_ssl":true,"host_style":false`, nil, "https://oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou", false, true},
		{"Alibaba internal with scheme", `"host":"https://oss-ap-southeast-1-internal.aliyuncs.com"`, nil, "https://oss-ap-southeast-1-internal.aliyuncs.com", "ap-southeast-1", false, true},
		{"AWS host derives region", `"host":"s3.ap-northeast-1.amazonaws.com"`, nil, "https://s3.ap-northeast-1.amazonaws.com", "ap-northeast-1", false, false},
		{"AWS legacy host", `"host":"s3-eu-west-1.amazonaws.com"`, nil, "https://s3-eu-west-1.amazonaws.com", "eu-west-1", false, false},
		{"AWS dualstack host", `"host":"https://s3.dualstack.us-west-2.amazonaws.com:443"`, nil, "https://s3.dualstack.us-west-2.amazonaws.com:443", "us-west-2", false, false},
		{"AWS FIPS host", `"host":"s3-fips.us-gov-west-1.amazonaws.com"`, nil, "https://s3-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1", false, false},
		{"AWS China host", `"host":"s3.cn-northwest-1.amazonaws.com.cn"`, nil, "https://s3.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", false, false},
		{"AWS EU host", `"host":"s3.eusc-de-east-1.amazonaws.eu"`, nil, "https://s3.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1", false, false},
		{"explicit region wins", `"host":"s3.eu-west-1.amazonaws.com","region":"eu-west-2"`, nil, "https://s3.eu-west-1.amazonaws.com", "eu-west-2", false, false},
		{"AWS host path style", `"host":"s3.eu-west-1.amazonaws.com","host_style":false`, nil, "https://s3.eu-west-1.amazonaws.com", "eu-west-1", true, false},
		{"custom host", `"host":"minio.internal"`, nil, "https://minio.internal", "us-east-1", true, true},
		{"custom host http", `"host":"minio.internal","use_ssl":false`, nil, "http://minio.internal", "us-east-1", true, true},
		{"custom host port field", `"host":"minio.internal","port":9000`, nil, "https://minio.internal:9000", "us-east-1", true, true},
		{"custom host with port", `"host":"minio.internal:9000"`, nil, "https://minio.internal:9000", "us-east-1", true, true},
		{"same port twice", `"host":"minio.internal:9000","port":9000`, nil, "https://minio.internal:9000", "us-east-1", true, true},
		{"scheme wins over unset use_ssl", `"host":"http://127.0.0.1:5000"`, nil, "http://127.0.0.1:5000", "us-east-1", true, true},
		{"scheme agrees with use_ssl", `"host":"https://127.0.0.1:5000","use_ssl":true`, nil, "https://127.0.0.1:5000", "us-east-1", true, true},
		{"scheme and port field", `"host":"http://localhost","port":4566`, nil, "http://localhost:4566", "us-east-1", true, true},
		{"trailing slash", `"host":"http://localhost:4566/"`, nil, "http://localhost:4566", "us-east-1", true, true},
		{"path prefix", `"host":"https://gw.example/s3/"`, nil, "https://gw.example/s3", "us-east-1", true, true},
		{"ipv6", `"host":"[::1]","port":9000,"use_ssl":false`, nil, "http://[::1]:9000", "us-east-1", true, true},
		{"custom host_style", `"host":"minio.internal","host_style":true`, nil, "https://minio.internal", "us-east-1", false, true},
		{"custom region", `"host":"minio.internal","region":"eu-west-1"`, nil, "https://minio.internal", "eu-west-1", true, true},
		{"env endpoint", ``, map[string]string{"AWS_ENDPOINT_URL": "http://localhost:4566"}, "http://localhost:4566", "us-east-1", true, true},
		{"env S3 endpoint first", ``, map[string]string{"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2"}, "http://b:2", "us-east-1", true, true},
		{"env endpoint ignored", ``, map[string]string{"AWS_ENDPOINT_URL": "http://a:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}, "", "us-east-1", false, false},
		{"host beats env", `"host":"minio.internal"`, map[string]string{"AWS_ENDPOINT_URL": "http://a:1"}, "https://minio.internal", "us-east-1", true, true},
		{"env AWS endpoint", ``, map[string]string{"AWS_ENDPOINT_URL_S3": "https://s3.eu-west-3.amazonaws.com"}, "https://s3.eu-west-3.amazonaws.com", "eu-west-3", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"bucket_name":"bkt"`
			if tt.fields != "" {
				doc += "," + tt.fields
			}
			c := mustParse(t, doc+"}", tt.env)
			if c.Endpoint != tt.endpoint || c.Region != tt.region || c.UsePathStyle != tt.pathStyle || c.CustomEndpoint != tt.custom {
				t.Errorf("got endpoint %q region %q path-style %v custom %v; want %q %q %v %v",
					c.Endpoint, c.Region, c.UsePathStyle, c.CustomEndpoint, tt.endpoint, tt.region, tt.pathStyle, tt.custom)
			}
		})
	}
}

func TestEnvEndpointErrorsNameTheVariable(t *testing.T) {
	_, err := Parse([]byte(`{"bucket_name":"bkt"}`), mapEnv(map[string]string{"AWS_ENDPOINT_URL": "ftp://x"}))
	if err == nil || !strings.Contains(err.Error(), `config: AWS_ENDPOINT_URL "ftp://x" has scheme "ftp"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestCACert(t *testing.T) {
	pemText := testCertPEM(t)
	doc, _ := json.Marshal(map[string]any{"bucket_name": "bkt", "ca_cert": pemText})
	c := mustParse(t, string(doc), nil)
	if c.CACert != pemText {
		t.Error("ca_cert not kept")
	}
}

func TestFields(t *testing.T) {
	f := Fields()
	if len(f) != 35 || f[0] != "bucket_name" || f[len(f)-1] != "use_v2_signing" {
		t.Errorf("Fields() = %v", f)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	if err := os.WriteFile(p, []byte(`{"bucket_name":"bkt","region":"eu-west-1"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	c, err := Load(p)
	if err != nil || c.Region != "eu-west-1" {
		t.Fatalf("Load = %+v, %v", c, err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil || !strings.HasPrefix(err.Error(), "reading config: ") {
		t.Errorf("Load(missing) error = %v", err)
	}
}

func TestPartSizeLimitsAccepted(t *testing.T) {
	c := mustParse(t, `{"bucket_name":"bkt","upload_part_size":5242880,"download_part_size":5368709120,"upload_concurrency":64,"download_concurrency":1}`, nil)
	if c.UploadPartSize != 5*MiB || c.DownloadPartSize != 5*GiB || c.UploadConcurrency != 64 || c.DownloadConcurrency != 1 {
		t.Errorf("limits not accepted: %+v", c)
	}
	c = mustParse(t, `{"bucket_name":"bkt","upload_part_size":0,"upload_concurrency":0}`, nil)
	if c.UploadPartSize != DefaultUploadPartSize || c.UploadConcurrency != DefaultUploadConcurrency {
		t.Errorf("0 does not mean default: %+v", c)
	}
}

func testCertPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
