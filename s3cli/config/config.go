// Package config reads, validates and resolves the JSON configuration file of s3cli.
//
// Parse returns either a fully resolved Config (defaults filled in, region
// derived, endpoint built) or one error whose message is a single line naming
// the field at fault and what it accepts. Secret values never appear in errors.
package config

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CredentialsSource says where s3cli takes its AWS credentials from.
type CredentialsSource string

// The credential sources a config may name.
const (
	// CredentialsStatic uses access_key_id, secret_access_key and session_token from the config.
	CredentialsStatic CredentialsSource = "static"
	// CredentialsEnvOrProfile uses the SDK's default chain: environment, web identity,
	// shared profile, container credentials, EC2 instance metadata (IMDSv2).
	CredentialsEnvOrProfile CredentialsSource = "env_or_profile"
	// CredentialsNone sends anonymous requests; s3cli is then read-only.
	CredentialsNone CredentialsSource = "none"
)

// Size units used for defaults and limits.
const (
	MiB = int64(1) << 20
	GiB = int64(1) << 30
)

// Defaults and limits of the transfer settings.
const (
	DefaultUploadPartSize      = 16 * MiB
	DefaultUploadConcurrency   = 8
	DefaultDownloadPartSize    = 16 * MiB
	DefaultDownloadConcurrency = 8
	MinUploadPartSize          = 5 * MiB // S3's smallest part but the last
	MaxPartSize                = 5 * GiB // S3's largest part and single PUT
	MinDownloadPartSize        = 1 * MiB
	MaxConcurrency             = 64
	DefaultSessionName         = "s3cli"
	// DefaultMultipartCopyThreshold is the largest object copied with one CopyObject (S3's limit).
	DefaultMultipartCopyThreshold = 5 * GiB
	// DefaultMultipartCopyPartSize is the part size of a multipart copy.
	DefaultMultipartCopyPartSize = 100 * MiB
)

// Provider names an S3-compatible service whose quirks s3cli knows, detected from the host.
type Provider string

// The providers s3cli tells apart; ProviderOther is any other S3-compatible store.
const (
	ProviderAWS     Provider = "aws"
	ProviderGoogle  Provider = "google"  // storage.googleapis.com
	ProviderAlibaba Provider = "alibaba" // oss-REGION.aliyuncs.com
	ProviderOther   Provider = ""
)

// Config is a validated s3cli configuration with every default filled in.
type Config struct {
	BucketName string
	// FolderName is prefixed to every key as FOLDER/KEY; "" for none. No trailing slash.
	FolderName        string
	CredentialsSource CredentialsSource
	AccessKeyID       string
	SecretAccessKey   string
	SessionToken      string
	// Region is the explicit region, else the one derived from the host, else us-east-1.
	Region string
	// Endpoint is the base URL of the S3 service (scheme://host[:port][/path]),
	// or "" to let the SDK resolve the AWS endpoint of Region.
	Endpoint string
	// CustomEndpoint is true when Endpoint is not an AWS host (an emulator, MinIO, Ceph...).
	CustomEndpoint bool
	// UsePathStyle selects https://host/bucket/key addressing over https://bucket.host/key.
	UsePathStyle  bool
	SSLVerifyPeer bool
	// CACert is PEM text of extra root certificates; empty for the system pool.
	CACert                string
	ServerSideEncryption  string
	SSEKMSKeyID           string
	AssumeRoleARN         string
	AssumeRoleExternalID  string
	AssumeRoleSessionName string
	MultipartUpload       bool
	UploadPartSize        int64
	UploadConcurrency     int
	DownloadPartSize      int64
	DownloadConcurrency   int
	// RequestChecksumCalculation is WhenSupported unless
	// request_checksum_calculation_enabled is false.
	RequestChecksumCalculation aws.RequestChecksumCalculation
	// ResponseChecksumValidation is WhenSupported unless
	// response_checksum_calculation_enabled is false.
	ResponseChecksumValidation aws.ResponseChecksumValidation
	// UploaderChecksums makes multipart uploads carry a CRC32 per part.
	UploaderChecksums bool

	// Provider is the service the host belongs to (AWS when there is no host).
	Provider Provider
	// SingleUploadThreshold, when > 0, is the largest file put in one PUT; larger
	// ones go multipart. 0: files up to the part size go in one PUT.
	SingleUploadThreshold int64
	// MaxSinglePut is the largest object one PUT may carry: 5 GiB, unlimited on Google.
	MaxSinglePut int64
	// MultipartCopyThreshold is the largest object copied with one CopyObject.
	MultipartCopyThreshold int64
	// MultipartCopyPartSize is the part size of a multipart copy.
	MultipartCopyPartSize int64
	// HTTPRequestTimeout bounds one HTTP request with its body (0: none).
	HTTPRequestTimeout time.Duration
	// HTTPResponseHeaderTimeout bounds the wait for a response's headers (0: the client's default).
	HTTPResponseHeaderTimeout time.Duration
	// CABundle is the path AWS_CA_BUNDLE names, whose certificates are trusted too.
	CABundle string
	// Warnings are one-line notes about the document (unknown keys, ignored
	// settings) for the caller to show; they never fail the config.
	Warnings []string
}

// Secrets returns the secret values of the config (keys and token), so that
// output can be scrubbed of them.
func (c *Config) Secrets() []string {
	var s []string
	for _, v := range []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}

// ReadOnly reports whether the config can only read (anonymous access).
func (c *Config) ReadOnly() bool { return c.CredentialsSource == CredentialsNone }

// Key returns the object key of a user key: FOLDER/KEY, or KEY without a folder.
func (c *Config) Key(key string) string {
	if c.FolderName == "" {
		return key
	}
	return c.FolderName + "/" + key
}

// file mirrors the JSON document; pointers tell "absent" from "false" or 0.
type file struct {
	BucketName                                *string `json:"bucket_name"`
	FolderName                                *string `json:"folder_name"`
	CredentialsSource                         *string `json:"credentials_source"`
	AccessKeyID                               *string `json:"access_key_id"`
	SecretAccessKey                           *string `json:"secret_access_key"`
	SessionToken                              *string `json:"session_token"`
	Region                                    *string `json:"region"`
	Host                                      *string `json:"host"`
	Port                                      *int64  `json:"port"`
	UseSSL                                    *bool   `json:"use_ssl"`
	SSLVerifyPeer                             *bool   `json:"ssl_verify_peer"`
	CACert                                    *string `json:"ca_cert"`
	HostStyle                                 *bool   `json:"host_style"`
	ServerSideEncryption                      *string `json:"server_side_encryption"`
	SSEKMSKeyID                               *string `json:"sse_kms_key_id"`
	AssumeRoleARN                             *string `json:"assume_role_arn"`
	AssumeRoleExternalID                      *string `json:"assume_role_external_id"`
	AssumeRoleSessionName                     *string `json:"assume_role_session_name"`
	MultipartUpload                           *bool   `json:"multipart_upload"`
	UploadPartSize                            *int64  `json:"upload_part_size"`
	UploadConcurrency                         *int64  `json:"upload_concurrency"`
	DownloadPartSize                          *int64  `json:"download_part_size"`
	DownloadConcurrency                       *int64  `json:"download_concurrency"`
	RequestChecksumCalculationEnabled         *bool   `json:"request_checksum_calculation_enabled"`
	ResponseChecksumCalculationEnabled        *bool   `json:"response_checksum_calculation_enabled"`
	UploaderRequestChecksumCalculationEnabled *bool   `json:"uploader_request_checksum_calculation_enabled"`
	// storage-cli's transfer and timeout knobs.
	SingleUploadThreshold     *int64  `json:"single_upload_threshold"`
	MultipartCopyThreshold    *int64  `json:"multipart_copy_threshold"`
	MultipartCopyPartSize     *int64  `json:"multipart_copy_part_size"`
	HTTPRequestTimeout        *string `json:"http_request_timeout"`
	HTTPResponseHeaderTimeout *string `json:"http_response_header_timeout"`
	// Accepted and ignored: OpenStack Swift temp URLs and SigV2 have no place in an S3
	// client signing with SigV4 (ignoredWarnings notes when a config asks for them).
	SwiftAuthAccount *string         `json:"swift_auth_account"`
	SwiftTempURLKey  *string         `json:"swift_temp_url_key"`
	SignatureVersion json.RawMessage `json:"signature_version"`
	UseV2Signing     *bool           `json:"use_v2_signing"`
}

// Fields lists every key a config file may hold, in documentation order.
func Fields() []string {
	t := reflect.TypeFor[file]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
	}
	return names
}

// secretFields are never echoed, not even their JSON type.
var secretFields = map[string]bool{"access_key_id": true, "secret_access_key": true, "session_token": true}

// Load reads and parses the config file at path, consulting the process
// environment for AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when the file names no host.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, os.LookupEnv)
}

// Parse validates a config document. lookupEnv (nil for none) supplies
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
// used as the endpoint when the document has no host, as every AWS SDK does.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}
	f, warnings, err := decode(data)
	if err != nil {
		return nil, err
	}
	c, err := resolve(f, lookupEnv)
	if err != nil {
		return nil, err
	}
	c.Warnings = append(warnings, c.Warnings...)
	return c, nil
}

func decode(data []byte) (*file, []string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil, errors.New("config: the file is empty; it must be a JSON object with at least bucket_name")
	}
	// Check the keys first, exactly (encoding/json would match them case-insensitively).
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, nil, jsonError(err)
	}
	if keys == nil {
		return nil, nil, errors.New("config: must be a JSON object, not null")
	}
	if k := duplicateKey(data); k != "" {
		return nil, nil, fmt.Errorf("config: key %q is given twice; keep one (JSON readers disagree on which one wins)", k)
	}
	known := Fields()
	var warnings []string
	for k := range keys {
		if !slices.Contains(known, k) {
			warnings = append(warnings, fmt.Sprintf("config: unknown key %q ignored; did you mean %q?", k, nearest(k, known)))
			delete(keys, k)
		}
	}
	slices.Sort(warnings)
	// Decode the known keys only, exactly: encoding/json alone would also match
	// them case-insensitively.
	knownDoc, err := json.Marshal(keys)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(knownDoc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, jsonError(err)
	}
	return &f, warnings, nil
}

// duplicateKey returns the first top-level key of the object in data that
// occurs twice, or "".
func duplicateKey(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := t.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// nearest returns the known key closest to k in edit distance (ignoring case).
func nearest(k string, known []string) string {
	best, bestD := "", -1
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// jsonError turns an encoding/json error into a one-line message that names
// the field and never shows a value.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("config: invalid JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("config: invalid JSON: the document ends too early")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("config: must be a JSON object, not %s", jsonKind(typ.Value))
		}
		want := "a string"
		switch typ.Type.Kind() {
		case reflect.Bool:
			want = "true or false"
		case reflect.Int, reflect.Int64:
			want = "a whole number"
		}
		got := jsonKind(typ.Value)
		if secretFields[typ.Field] {
			return fmt.Errorf("config: %s must be %s", typ.Field, want)
		}
		return fmt.Errorf("config: %s must be %s, not %s", typ.Field, want, got)
	default:
		return fmt.Errorf("config: invalid JSON: %w", err)
	}
}

// jsonKind names the JSON type of an UnmarshalTypeError value for a message
// ("string" -> "a string"; "number 1.5" stays as it is).
func jsonKind(v string) string {
	switch v {
	case "string", "number":
		return "a " + v
	case "array", "object":
		return "an " + v
	case "bool":
		return "true or false"
	}
	return v
}

var (
	bucketPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$`)
	roleARNPattern     = regexp.MustCompile(`^arn:[a-z-]+:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	regionNamePattern  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func resolve(f *file, lookupEnv func(string) (string, bool)) (*Config, error) {
	c := &Config{
		BucketName:            str(f.BucketName),
		FolderName:            strings.TrimRight(str(f.FolderName), "/"),
		AccessKeyID:           str(f.AccessKeyID),
		SecretAccessKey:       str(f.SecretAccessKey),
		SessionToken:          str(f.SessionToken),
		SSLVerifyPeer:         boolOr(f.SSLVerifyPeer, true),
		CACert:                str(f.CACert),
		ServerSideEncryption:  str(f.ServerSideEncryption),
		SSEKMSKeyID:           str(f.SSEKMSKeyID),
		AssumeRoleARN:         str(f.AssumeRoleARN),
		AssumeRoleExternalID:  str(f.AssumeRoleExternalID),
		AssumeRoleSessionName: str(f.AssumeRoleSessionName),
		MultipartUpload:       boolOr(f.MultipartUpload, true),
		UploaderChecksums:     boolOr(f.UploaderRequestChecksumCalculationEnabled, true),
	}

	// bucket_name
	switch {
	case c.BucketName == "":
		return nil, errors.New("config: bucket_name is required")
	case !bucketPattern.MatchString(c.BucketName):
		return nil, fmt.Errorf("config: bucket_name %q is not a valid bucket name (3 to 255 letters, digits, dots, dashes or underscores, starting and ending with a letter or digit)", c.BucketName)
	}
	if f.FolderName != nil && strings.Trim(*f.FolderName, "/") == "" && *f.FolderName != "" {
		return nil, errors.New(`config: folder_name "/" would make keys start with a slash; leave folder_name out for the bucket root`)
	}
	if HasDotSegment(c.FolderName) {
		return nil, fmt.Errorf(`config: folder_name %q has a "." or ".." segment, which URL normalisers resolve to another folder or bucket`, c.FolderName)
	}

	if err := resolveCredentials(c, f); err != nil {
		return nil, err
	}
	if err := resolveEndpoint(c, f, lookupEnv); err != nil {
		return nil, err
	}
	if err := resolveEncryption(c); err != nil {
		return nil, err
	}
	if err := resolveAssumeRole(c); err != nil {
		return nil, err
	}
	if err := resolveTransfers(c, f); err != nil {
		return nil, err
	}
	if err := resolveTimeouts(c, f); err != nil {
		return nil, err
	}
	if v, ok := lookupEnv("AWS_CA_BUNDLE"); ok {
		c.CABundle = strings.TrimSpace(v)
	}
	c.Warnings = append(c.Warnings, ignoredWarnings(f)...)

	if c.CACert != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(c.CACert)) {
		return nil, errors.New("config: ca_cert holds no PEM certificate; give the CA's certificate as PEM text (-----BEGIN CERTIFICATE----- ...)")
	}

	c.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	if !boolOr(f.RequestChecksumCalculationEnabled, true) {
		c.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
	c.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenSupported
	if !boolOr(f.ResponseChecksumCalculationEnabled, true) {
		c.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}
	applyProvider(c, f)
	return c, nil
}

// applyProvider sets what a known provider needs, as bosh-s3cli and storage-cli do.
func applyProvider(c *Config, f *file) {
	switch c.Provider {
	case ProviderAWS:
		// S3 always takes multipart uploads: a false multipart_upload is the zero
		// value json.Marshal writes for their config structs, and bosh-s3cli ignores it here too.
		c.MultipartUpload = true
	case ProviderGoogle:
		// GCS's XML API has no multipart upload or part copy, and no 5 GiB limit on one PUT.
		c.MultipartUpload = false
		c.MaxSinglePut = math.MaxInt64
		if f.MultipartCopyThreshold == nil || *f.MultipartCopyThreshold == 0 {
			c.MultipartCopyThreshold = math.MaxInt64
		}
		c.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	case ProviderAlibaba:
		c.MultipartUpload = true // as bosh-s3cli does: OSS takes multipart uploads
		// OSS refuses aws-chunked bodies with trailing checksums.
		c.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		c.UploaderChecksums = false
	}
}

// ignoredWarnings notes settings that ask for something s3cli does not do.
func ignoredWarnings(f *file) []string {
	var w []string
	if str(f.SwiftAuthAccount) != "" || str(f.SwiftTempURLKey) != "" {
		w = append(w, "config: swift_auth_account and swift_temp_url_key are ignored: s3cli signs S3 presigned URLs, not OpenStack Swift temp URLs")
	}
	v := strings.Trim(string(bytes.TrimSpace(f.SignatureVersion)), `"`)
	if v == "2" || boolOr(f.UseV2Signing, false) {
		w = append(w, "config: signature_version 2 / use_v2_signing ignored: s3cli always signs with SigV4, which every S3 region and compatible store accepts")
	}
	return w
}

// HasDotSegment reports whether the /-separated key has a "." or ".." segment.
func HasDotSegment(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func resolveCredentials(c *Config, f *file) error {
	src := str(f.CredentialsSource)
	hasKeys := c.AccessKeyID != "" || c.SecretAccessKey != "" || c.SessionToken != ""
	switch CredentialsSource(src) {
	case "":
		if hasKeys {
			c.CredentialsSource = CredentialsStatic
		} else {
			c.CredentialsSource = CredentialsNone
		}
	case CredentialsStatic, CredentialsEnvOrProfile, CredentialsNone:
		c.CredentialsSource = CredentialsSource(src)
	default:
		return fmt.Errorf("config: credentials_source %q is not one of static, env_or_profile, none", src)
	}
	switch c.CredentialsSource {
	case CredentialsStatic:
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return errors.New("config: credentials_source static needs both access_key_id and secret_access_key")
		}
	case CredentialsEnvOrProfile, CredentialsNone:
		if hasKeys {
			return fmt.Errorf("config: credentials_source %s takes no access_key_id, secret_access_key or session_token; remove them or use credentials_source static", c.CredentialsSource)
		}
	}
	return nil
}

// resolveEndpoint settles region, endpoint URL and addressing style.
func resolveEndpoint(c *Config, f *file, lookupEnv func(string) (string, bool)) error {
	// "" and 0 mean unset: bosh-s3cli and storage-cli write every key of their struct.
	region := str(f.Region)
	if region != "" && !regionNamePattern.MatchString(region) {
		return fmt.Errorf("config: region %q is not a region name like us-east-1 (lowercase letters, digits and dashes)", region)
	}

	var port int
	if f.Port != nil && *f.Port != 0 {
		if *f.Port < 1 || *f.Port > 65535 {
			return fmt.Errorf("config: port %d is not between 1 and 65535", *f.Port)
		}
		port = int(*f.Port)
	}

	host, hostField := str(f.Host), "host"
	if host != "" && strings.TrimSpace(host) == "" {
		return errors.New(`config: host is blank; leave it out (or "") to use AWS, or give a host name like "s3.example.com"`)
	}
	if host == "" {
		if v, ok := envEndpoint(lookupEnv); ok {
			host, hostField = v.value, v.name
		}
	}

	c.Provider = ProviderOf(host)
	if c.Provider == ProviderAlibaba {
		port = 0 // OSS is reached on its scheme's port, as bosh-s3cli and storage-cli do
		host = withoutPort(host)
	}
	u, err := endpointURL(host, hostField, f.UseSSL, port)
	if err != nil {
		return err
	}
	if region == "" {
		if r, ok := RegionFromHost(host); ok {
			region = r
		} else if r, ok := alibabaRegion(host); ok {
			region = r
		} else {
			region = DefaultRegion
		}
	}
	c.Region = region

	if host == "" {
		// The AWS endpoint of the region, which the SDK resolves itself (with
		// FIPS/dual-stack settings). use_ssl and port apply to a host only, as in
		// bosh-s3cli and storage-cli: their configs carry "use_ssl": false and
		// "port": 0 whenever the struct field was not set.
		c.UsePathStyle = f.HostStyle != nil && !*f.HostStyle
		return nil
	}
	c.Endpoint = u
	c.CustomEndpoint = !IsAWSHost(host)
	switch {
	case c.Provider == ProviderAlibaba:
		c.UsePathStyle = false // OSS serves virtual-hosted requests only
	case c.CustomEndpoint:
		c.UsePathStyle = !boolOr(f.HostStyle, false)
	default:
		c.UsePathStyle = f.HostStyle != nil && !*f.HostStyle
	}
	return nil
}

type envValue struct{ name, value string }

// envEndpoint returns the S3 endpoint the environment configures, as the AWS
// SDKs read it: AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL, neither when
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
func envEndpoint(lookupEnv func(string) (string, bool)) (envValue, bool) {
	if v, _ := lookupEnv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); strings.EqualFold(v, "true") {
		return envValue{}, false
	}
	for _, name := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if v, ok := lookupEnv(name); ok && strings.TrimSpace(v) != "" {
			return envValue{name, strings.TrimSpace(v)}, true
		}
	}
	return envValue{}, false
}

// endpointURL builds scheme://host[:port][/path] from the host field (bare or with a
// scheme, port or path), use_ssl and port. A scheme in the host wins over a use_ssl
// that is not set; a contradiction between them is an error, as is a port given twice
// with two values.
func endpointURL(host, field string, useSSL *bool, port int) (string, error) {
	if host == "" {
		return "", nil
	}
	raw := strings.TrimSpace(host)
	hasScheme := strings.Contains(raw, "://")
	if !hasScheme {
		scheme := "https"
		if useSSL != nil && !*useSSL {
			scheme = "http"
		}
		raw = scheme + "://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("config: %s %q is not a host name or URL (like s3.example.com, s3.example.com:9000 or https://s3.example.com)", field, host)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("config: %s %q has scheme %q; use http://, https:// or no scheme", field, host, u.Scheme)
	case u.User != nil:
		return "", fmt.Errorf("config: %s must not carry user information; put credentials in access_key_id and secret_access_key", field)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("config: %s %q must not carry a query or fragment", field, host)
	case strings.ContainsAny(u.Hostname(), " \t"):
		return "", fmt.Errorf("config: %s %q is not a host name", field, host)
	}
	// A scheme wins over "use_ssl": false (the zero value their tools write), but
	// plain http:// is refused when use_ssl asks for TLS.
	if hasScheme && useSSL != nil && *useSSL && u.Scheme == "http" {
		return "", fmt.Errorf("config: %s %q says http but use_ssl is true; drop the scheme or use_ssl", field, host)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("config: %s %q has port %q, which is not between 1 and 65535", field, host, p)
		}
		if port != 0 && port != n {
			return "", fmt.Errorf("config: %s %q names port %d but port is %d; give the port once", field, host, n, port)
		}
	} else if port != 0 {
		u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func resolveEncryption(c *Config) error {
	switch c.ServerSideEncryption {
	case "", "AES256", "aws:kms", "aws:kms:dsse":
	default:
		return fmt.Errorf("config: server_side_encryption %q is not one of AES256, aws:kms, aws:kms:dsse", c.ServerSideEncryption)
	}
	if c.SSEKMSKeyID != "" && !strings.HasPrefix(c.ServerSideEncryption, "aws:kms") {
		return errors.New(`config: sse_kms_key_id needs server_side_encryption "aws:kms" (or "aws:kms:dsse")`)
	}
	return nil
}

func resolveAssumeRole(c *Config) error {
	if c.AssumeRoleARN == "" {
		switch {
		case c.AssumeRoleExternalID != "":
			return errors.New("config: assume_role_external_id needs assume_role_arn")
		case c.AssumeRoleSessionName != "":
			return errors.New("config: assume_role_session_name needs assume_role_arn")
		}
		return nil
	}
	if !roleARNPattern.MatchString(c.AssumeRoleARN) {
		return fmt.Errorf("config: assume_role_arn %q is not an IAM role ARN like arn:aws:iam::123456789012:role/NAME", c.AssumeRoleARN)
	}
	if c.CredentialsSource == CredentialsNone {
		return errors.New("config: assume_role_arn needs credentials to assume the role with; use credentials_source static or env_or_profile")
	}
	if n := len(c.AssumeRoleExternalID); n > 0 && (n < 2 || n > 1224 || !externalIDPattern.MatchString(c.AssumeRoleExternalID)) {
		return errors.New("config: assume_role_external_id must be 2 to 1224 letters, digits or any of _+=,.@:/-")
	}
	if c.AssumeRoleSessionName == "" {
		c.AssumeRoleSessionName = DefaultSessionName
	} else if !sessionNamePattern.MatchString(c.AssumeRoleSessionName) {
		return fmt.Errorf("config: assume_role_session_name %q must be 2 to 64 letters, digits or any of _+=,.@-", c.AssumeRoleSessionName)
	}
	return nil
}

func resolveTransfers(c *Config, f *file) error {
	var err error
	if c.UploadPartSize, err = sizeField("upload_part_size", f.UploadPartSize, DefaultUploadPartSize, MinUploadPartSize, MaxPartSize); err != nil {
		return err
	}
	if c.DownloadPartSize, err = sizeField("download_part_size", f.DownloadPartSize, DefaultDownloadPartSize, MinDownloadPartSize, MaxPartSize); err != nil {
		return err
	}
	n, err := sizeField("upload_concurrency", f.UploadConcurrency, DefaultUploadConcurrency, 1, MaxConcurrency)
	if err != nil {
		return err
	}
	c.UploadConcurrency = int(n)
	if n, err = sizeField("download_concurrency", f.DownloadConcurrency, DefaultDownloadConcurrency, 1, MaxConcurrency); err != nil {
		return err
	}
	c.DownloadConcurrency = int(n)

	c.MaxSinglePut = MaxPartSize
	// single_upload_threshold may exceed 5 GiB on Google only; checked there.
	if c.SingleUploadThreshold, err = sizeField("single_upload_threshold", f.SingleUploadThreshold, 0, 1, math.MaxInt64); err != nil {
		return err
	}
	if c.SingleUploadThreshold > MaxPartSize && ProviderOf(str(f.Host)) != ProviderGoogle {
		return fmt.Errorf("config: single_upload_threshold %d is more than one PUT takes, %s (0 or absent: files up to upload_part_size go in one PUT)", c.SingleUploadThreshold, human(MaxPartSize))
	}
	// Above 5 GiB only for stores whose CopyObject takes more (Google).
	if c.MultipartCopyThreshold, err = sizeField("multipart_copy_threshold", f.MultipartCopyThreshold, DefaultMultipartCopyThreshold, 1, math.MaxInt64); err != nil {
		return err
	}
	if c.MultipartCopyPartSize, err = sizeField("multipart_copy_part_size", f.MultipartCopyPartSize, DefaultMultipartCopyPartSize, MinUploadPartSize, MaxPartSize); err != nil {
		return err
	}
	return nil
}

func resolveTimeouts(c *Config, f *file) error {
	var err error
	if c.HTTPRequestTimeout, err = durationField("http_request_timeout", f.HTTPRequestTimeout); err != nil {
		return err
	}
	c.HTTPResponseHeaderTimeout, err = durationField("http_response_header_timeout", f.HTTPResponseHeaderTimeout)
	return err
}

// durationField reads an optional positive Go duration with a unit ("" or absent: 0).
func durationField(name string, v *string) (time.Duration, error) {
	s := strings.TrimSpace(str(v))
	if s == "" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, fmt.Errorf("config: %s %q has no unit; write it like 30s or 2m", name, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("config: %s %q is not a duration like 30s or 2m", name, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("config: %s %q must be more than 0", name, s)
	}
	return d, nil
}

// sizeField applies a default (absent or 0) and checks the [lo, hi] range.
func sizeField(name string, v *int64, def, lo, hi int64) (int64, error) {
	if v == nil || *v == 0 {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, fmt.Errorf("config: %s %d is not between %s and %s (0 or absent means %s)", name, *v, human(lo), human(hi), human(def))
	}
	return *v, nil
}

// human prints a limit; byte counts at or above 1 MiB also in MiB/GiB.
func human(n int64) string {
	switch {
	case n >= GiB && n%GiB == 0:
		return fmt.Sprintf("%d (%d GiB)", n, n/GiB)
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d (%d MiB)", n, n/MiB)
	}
	return strconv.FormatInt(n, 10)
}
