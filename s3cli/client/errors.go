package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Sentinel errors callers classify with errors.Is.
var (
	// ErrObjectMissing: the bucket exists, the object does not.
	ErrObjectMissing = errors.New("object does not exist")
	// ErrBucketMissing: the bucket itself does not exist.
	ErrBucketMissing = errors.New("bucket does not exist")
	// ErrReadOnly: the operation writes and credentials_source is none.
	ErrReadOnly = errors.New("credentials_source none is anonymous and read-only")
)

// OpError is an operation's failure: what was done, and the cause in one short line.
type OpError struct {
	Op  string // e.g. `put "a/b"`
	Err error
}

// Error prints the operation and, for an S3 error, only its code, message and HTTP status.
func (e *OpError) Error() string { return e.Op + ": " + describe(e.Err) }

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

func opErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Err: err}
}

// describe shortens SDK errors ("operation error S3: PutObject, https response
// error StatusCode: 403, RequestID: ..., api error AccessDenied: Access Denied")
// to "AccessDenied: Access Denied (HTTP 403)".
func describe(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err.Error()
	}
	msg := ae.ErrorCode()
	if m := ae.ErrorMessage(); m != "" && m != msg {
		msg += ": " + m
	}
	if st := httpStatus(err); st != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", st)
	}
	var rerr *awshttp.ResponseError
	if errors.As(err, &rerr) && rerr.ServiceRequestID() != "" {
		msg += ", request id " + rerr.ServiceRequestID()
	}
	return msg
}

func httpStatus(err error) int {
	var rerr *awshttp.ResponseError
	if errors.As(err, &rerr) {
		return rerr.HTTPStatusCode()
	}
	return 0
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound is true for a 404 on an object or bucket: HEAD answers carry no
// body, so they arrive as the bare code NotFound.
func isNotFound(err error) bool {
	switch errorCode(err) {
	case "NotFound", "NoSuchKey", "NoSuchBucket", "404":
		return true
	}
	return httpStatus(err) == http.StatusNotFound
}

func isNoSuchBucket(err error) bool { return errorCode(err) == "NoSuchBucket" }

// missing explains a 404 on key: ErrBucketMissing when the bucket is gone,
// else ErrObjectMissing. Both name the S3 error code and status, as every S3
// error line does (HEAD answers carry no body, so S3's own code is not there to quote).
func (c *Client) missing(ctx context.Context, op, key string) error {
	if err := c.bucketMustExist(ctx, op); err != nil {
		return err
	}
	return &OpError{Op: op, Err: fmt.Errorf("NoSuchKey: %w: %q in bucket %q (HTTP 404)", ErrObjectMissing, key, c.cfg.BucketName)}
}

// bucketMustExist returns nil when the bucket exists, an ErrBucketMissing
// OpError when it does not, and the API error otherwise. It lists at most one
// key rather than calling HeadBucket: both need s3:ListBucket on AWS, but the
// listing answers with a NoSuchBucket body, and emulators that enforce IAM
// (moto) authorize HeadBucket by an action no AWS policy names.
func (c *Client) bucketMustExist(ctx context.Context, op string) error {
	_, err := c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &c.cfg.BucketName, MaxKeys: aws.Int32(1)})
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return c.bucketMissing(op)
	default:
		return opErr(op+": checking bucket "+fmt.Sprintf("%q", c.cfg.BucketName), err)
	}
}

func (c *Client) bucketMissing(op string) error {
	return &OpError{Op: op, Err: fmt.Errorf("NoSuchBucket: %w: %q (HTTP 404)", ErrBucketMissing, c.cfg.BucketName)}
}

// readOnly refuses a write when credentials_source is none.
func (c *Client) readOnly(op string) error {
	if c.cfg.ReadOnly() {
		return &OpError{Op: op, Err: fmt.Errorf("refused: %w; use credentials_source static or env_or_profile to write", ErrReadOnly)}
	}
	return nil
}
