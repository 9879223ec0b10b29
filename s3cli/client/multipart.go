package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// upload is one multipart upload being filled with parts.
type upload struct {
	key, id *string

	mu    sync.Mutex
	parts []types.CompletedPart
}

// done records a part that arrived.
func (u *upload) done(p types.CompletedPart) {
	u.mu.Lock()
	u.parts = append(u.parts, p)
	u.mu.Unlock()
}

// multipart is the one skeleton of put and copy: it creates a multipart upload
// of key, lets fill send the parts (in parallel, in any order), and completes
// the upload with the parts in order. When fill fails, a part is missing,
// completing fails or ctx ends (Ctrl-C), the upload is aborted with a context
// of its own, and an abort that fails too is reported, so that no parts are
// left behind unknown. checksums declares CRC32 part checksums at creation.
func (c *Client) multipart(ctx context.Context, op, key string, checksums bool, fill func(ctx context.Context, u *upload) error) (err error) {
	u := &upload{key: aws.String(c.cfg.Key(key))}
	create := &s3.CreateMultipartUploadInput{Bucket: &c.cfg.BucketName, Key: u.key}
	c.sse(&create.ServerSideEncryption, &create.SSEKMSKeyId)
	if checksums {
		create.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	}
	opts := c.uploaderOpts()
	// Created on a context an interrupt does not cancel: a signal that lands while the server
	// is creating the upload would otherwise lose its id, and the upload with it. The
	// interrupt is honoured right after, by aborting what was created.
	cctx, cancel := detach(ctx)
	created, err := c.s3.CreateMultipartUpload(cctx, create, opts...)
	cancel()
	if err != nil {
		return opErr(op+": starting multipart upload", err)
	}
	u.id = created.UploadId
	defer func() {
		if err != nil {
			err = c.abort(ctx, u, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, context.Cause(ctx))
	}

	if err := fill(ctx, u); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	slices.SortFunc(u.parts, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	for i, p := range u.parts {
		if *p.PartNumber != int32(i+1) {
			return fmt.Errorf("%s: part %d is missing", op, i+1)
		}
	}
	if len(u.parts) == 0 {
		return fmt.Errorf("%s: no parts to complete the multipart upload with", op)
	}
	_, err = c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &c.cfg.BucketName, Key: u.key, UploadId: u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	}, opts...)
	return opErr(op+": completing multipart upload", err)
}

// abort aborts u after cause, alive even when ctx was cancelled, and adds a
// failed abort to cause.
func (c *Client) abort(ctx context.Context, u *upload, cause error) error {
	actx, cancel := detach(ctx)
	defer cancel()
	_, err := c.s3.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: &c.cfg.BucketName, Key: u.key, UploadId: u.id})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("%w; aborting the multipart upload also failed, parts may remain until a lifecycle rule removes them: %s", cause, describe(err))
	}
	return cause
}
