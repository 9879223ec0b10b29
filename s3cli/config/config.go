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
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
	f, err := decode(data)
	if err != nil {
		return nil, err
	}
	return resolve(f, lookupEnv)
}

func decode(data []byte) (*file, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("config: the file is empty; it must be a JSON object with at least bucket_name")
	}
	// Check the keys first, exactly (encoding/json would match them case-insensitively).
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, jsonError(err)
	}
	if keys == nil {
		return nil, errors.New("config: must be a JSON object, not null")
	}
	known := Fields()
	var unknown []string
	for k := range keys {
		if !slices.Contains(known, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		noun := "field"
		if len(unknown) > 1 {
			noun = "fields"
		}
		return nil, fmt.Errorf("config: unknown %s %s; known fields: %s", noun, strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(err)
	}
	return &f, nil
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
	return c, nil
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
	region := str(f.Region)
	if f.Region != nil && !regionNamePattern.MatchString(region) {
		return fmt.Errorf("config: region %q is not a region name like us-east-1 (lowercase letters, digits and dashes)", region)
	}

	var port int
	if f.Port != nil {
		if *f.Port < 1 || *f.Port > 65535 {
			return fmt.Errorf("config: port %d is not between 1 and 65535", *f.Port)
		}
		port = int(*f.Port)
	}

	host, hostField := str(f.Host), "host"
	if f.Host != nil && strings.TrimSpace(host) == "" {
		return errors.New(`config: host is empty; leave it out to use AWS, or give a host name like "s3.example.com"`)
	}
	if host == "" {
		if v, ok := envEndpoint(lookupEnv); ok {
			host, hostField = v.value, v.name
		}
	}

	u, err := endpointURL(host, hostField, f.UseSSL, port)
	if err != nil {
		return err
	}
	if region == "" {
		if r, ok := RegionFromHost(host); ok {
			region = r
		} else {
			region = DefaultRegion
		}
	}
	c.Region = region

	if host == "" {
		// The AWS endpoint of the region, which the SDK resolves itself (with
		// FIPS/dual-stack settings) unless plain HTTP or a port forces us to name it.
		if f.UseSSL != nil && !*f.UseSSL || port != 0 {
			scheme := "https"
			if f.UseSSL != nil && !*f.UseSSL {
				scheme = "http"
			}
			hp := "s3." + region + "." + awsDomainForRegion(region)
			if port != 0 {
				hp = net.JoinHostPort(hp, strconv.Itoa(port))
			}
			c.Endpoint = scheme + "://" + hp
		}
		c.UsePathStyle = f.HostStyle != nil && !*f.HostStyle
		return nil
	}
	c.Endpoint = u
	c.CustomEndpoint = !IsAWSHost(host)
	if c.CustomEndpoint {
		c.UsePathStyle = !boolOr(f.HostStyle, false)
	} else {
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
	if hasScheme && useSSL != nil && *useSSL != (u.Scheme == "https") {
		return "", fmt.Errorf("config: %s %q says %s but use_ssl is %t; drop the scheme or use_ssl", field, host, u.Scheme, *useSSL)
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
	return nil
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
