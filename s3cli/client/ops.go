package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MaxSignDuration is the longest validity SigV4 allows a presigned URL.
const MaxSignDuration = 7 * 24 * time.Hour

// Delete removes key. Deleting a key that does not exist succeeds; a missing
// bucket is an error.
func (c *Client) Delete(ctx context.Context, key string) (err error) {
	defer unstall(&err)
	op := fmt.Sprintf("delete %q", key)
	if err := c.readOnly(op); err != nil {
		return err
	}
	_, err = c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(key))})
	if isNoSuchBucket(err) {
		return c.bucketMissing(op)
	}
	return opErr(op, err)
}

// listPrefix is the S3 prefix of a user prefix: FOLDER/PREFIX, FOLDER/ for
// the whole folder, nil (no prefix parameter) for the whole bucket.
func (c *Client) listPrefix(prefix string) *string {
	switch {
	case prefix != "":
		return aws.String(c.cfg.Key(prefix))
	case c.cfg.FolderName != "":
		return aws.String(c.cfg.FolderName + "/")
	}
	return nil
}

// DeleteRecursive removes every object whose key starts with prefix (inside
// folder_name; all of the folder, or the bucket, when prefix is empty), in
// batches of 1000 per DeleteObjects call. It returns how many were deleted.
func (c *Client) DeleteRecursive(ctx context.Context, prefix string) (_ int, err error) {
	defer unstall(&err)
	op := fmt.Sprintf("delete-recursive %q", prefix)
	if err := c.readOnly(op); err != nil {
		return 0, err
	}
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: &c.cfg.BucketName, Prefix: c.listPrefix(prefix), MaxKeys: c.pageSize})
	deleted := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if isNoSuchBucket(err) {
				return deleted, c.bucketMissing(op)
			}
			return deleted, opErr(op+": listing", err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, types.ObjectIdentifier{Key: o.Key})
		}
		out, err := c.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &c.cfg.BucketName,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return deleted, opErr(op, err)
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return deleted + len(ids) - len(out.Errors), &OpError{Op: op, Err: fmt.Errorf("%d of %d objects not deleted, first %q: %s: %s",
				len(out.Errors), len(ids), aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))}
		}
		deleted += len(ids)
	}
	return deleted, nil
}

// Exists reports whether key exists. A missing bucket is an ErrBucketMissing error.
func (c *Client) Exists(ctx context.Context, key string) (_ bool, err error) {
	defer unstall(&err)
	op := fmt.Sprintf("exists %q", key)
	_, err = c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(key))})
	switch {
	case err == nil:
		return true, nil
	case isNotFound(err):
		if err := c.bucketMustExist(ctx, op); err != nil {
			return false, err
		}
		return false, nil
	default:
		return false, opErr(op, err)
	}
}

// Sign returns a presigned SigV4 URL that allows method ("get" or "put") on key
// for d (1 second to 7 days). The URL signs no extra headers: a plain HTTP GET,
// or PUT of the body, works with it.
func (c *Client) Sign(ctx context.Context, key, method string, d time.Duration) (string, error) {
	op := fmt.Sprintf("sign %q", key)
	if c.cfg.ReadOnly() {
		return "", &OpError{Op: op, Err: errors.New("credentials_source none has no credentials to sign with")}
	}
	if d < time.Second || d > MaxSignDuration {
		return "", &OpError{Op: op, Err: fmt.Errorf("duration %s is not between 1s and 168h (7 days)", d)}
	}
	// No checksum headers in the signature: the URL's user sends a bare body.
	presign := s3.NewPresignClient(c.s3, s3.WithPresignExpires(d), s3.WithPresignClientFromClientOptions(func(o *s3.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}))
	bucket, objKey := &c.cfg.BucketName, aws.String(c.cfg.Key(key))
	var (
		req *v4.PresignedHTTPRequest
		err error
	)
	switch strings.ToLower(method) {
	case "get":
		req, err = presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: objKey})
	case "put":
		req, err = presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: objKey})
	default:
		return "", &OpError{Op: op, Err: fmt.Errorf("method %q is not one of get, put", method)}
	}
	if err != nil {
		return "", opErr(op, err)
	}
	return req.URL, nil
}

// List calls fn with every key under prefix (inside folder_name, shown
// without it), page by page, in S3's lexicographic order.
func (c *Client) List(ctx context.Context, prefix string, fn func(key string) error) (err error) {
	defer unstall(&err)
	op := fmt.Sprintf("list %q", prefix)
	strip := ""
	if c.cfg.FolderName != "" {
		strip = c.cfg.FolderName + "/"
	}
	p := s3.NewListObjectsV2Paginator(c.s3, &s3.ListObjectsV2Input{Bucket: &c.cfg.BucketName, Prefix: c.listPrefix(prefix), MaxKeys: c.pageSize})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if isNoSuchBucket(err) {
				return c.bucketMissing(op)
			}
			return opErr(op, err)
		}
		for _, o := range page.Contents {
			if err := fn(strings.TrimPrefix(aws.ToString(o.Key), strip)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Properties are the facts `properties` prints about an object.
type Properties struct {
	ETag          string    `json:"etag"`
	LastModified  time.Time `json:"last_modified"`
	ContentLength int64     `json:"content_length"`
}

// Properties returns the object's properties, or nil (no error) when the
// object does not exist in an existing bucket.
func (c *Client) Properties(ctx context.Context, key string) (_ *Properties, err error) {
	defer unstall(&err)
	op := fmt.Sprintf("properties %q", key)
	out, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(key))})
	switch {
	case err == nil:
		return &Properties{
			ETag:          strings.Trim(aws.ToString(out.ETag), `"`),
			LastModified:  aws.ToTime(out.LastModified).UTC(),
			ContentLength: aws.ToInt64(out.ContentLength),
		}, nil
	case isNotFound(err):
		if err := c.bucketMustExist(ctx, op); err != nil {
			return nil, err
		}
		return nil, nil
	default:
		return nil, opErr(op, err)
	}
}

// EnsureStorageExists creates the bucket when it does not exist (in the
// configured region); an existing bucket, or one created concurrently by the
// same account, is success.
func (c *Client) EnsureStorageExists(ctx context.Context) (err error) {
	defer unstall(&err)
	op := fmt.Sprintf("ensure-storage-exists %q", c.cfg.BucketName)
	_, err = c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &c.cfg.BucketName})
	switch {
	case err == nil:
		return nil
	case !isNotFound(err):
		return opErr(op, err)
	case c.cfg.ReadOnly():
		return &OpError{Op: op, Err: fmt.Errorf("the bucket does not exist and %w", ErrReadOnly)}
	}
	in := &s3.CreateBucketInput{Bucket: &c.cfg.BucketName}
	if c.cfg.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(c.cfg.Region)}
	}
	_, err = c.s3.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) {
		return nil
	}
	if err != nil {
		return opErr(op+": creating bucket", err)
	}
	return s3.NewBucketExistsWaiter(c.s3).Wait(ctx, &s3.HeadBucketInput{Bucket: &c.cfg.BucketName}, time.Minute)
}

// Copy copies src to dst inside the bucket, server-side: one CopyObject up to
// 5 GiB, parallel UploadPartCopy parts above that.
func (c *Client) Copy(ctx context.Context, src, dst string) (err error) {
	defer unstall(&err)
	op := fmt.Sprintf("copy %q to %q", src, dst)
	if err := c.readOnly(op); err != nil {
		return err
	}
	srcKey := c.cfg.Key(src)
	head, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.BucketName, Key: &srcKey})
	if err != nil {
		if isNotFound(err) {
			return c.missing(ctx, op, src)
		}
		return opErr(op, err)
	}
	source := copySource(c.cfg.BucketName, srcKey)
	size := aws.ToInt64(head.ContentLength)
	if size <= c.cfg.MultipartCopyThreshold {
		in := &s3.CopyObjectInput{Bucket: &c.cfg.BucketName, Key: aws.String(c.cfg.Key(dst)), CopySource: &source, CopySourceIfMatch: head.ETag}
		c.sse(&in.ServerSideEncryption, &in.SSEKMSKeyId)
		_, err := c.s3.CopyObject(ctx, in)
		return opErr(op, err)
	}
	ps := PartSize(size, c.cfg.MultipartCopyPartSize)
	nparts := (size + ps - 1) / ps
	return c.multipart(ctx, op, dst, false, func(ctx context.Context, u *upload) error {
		return parallel(ctx, op, c.cfg.UploadConcurrency, indices(nparts), func(ctx context.Context, _ int, i int64) error {
			first := i * ps
			last := min(first+ps, size) - 1
			number := aws.Int32(int32(i + 1))
			out, err := c.s3.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
				Bucket: &c.cfg.BucketName, Key: u.key, UploadId: u.id, PartNumber: number,
				CopySource: &source, CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", first, last)), CopySourceIfMatch: head.ETag,
			})
			if err != nil {
				return opErr(fmt.Sprintf("%s: part %d", op, i+1), err)
			}
			u.done(types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: number})
			return nil
		})
	})
}

// copySource is the x-amz-copy-source value: bucket/key, percent-encoded
// except for unreserved characters and the slashes between segments.
func copySource(bucket, key string) string {
	const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/"
	var b strings.Builder
	for _, ch := range []byte(bucket + "/" + key) {
		if strings.IndexByte(unreserved, ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}
