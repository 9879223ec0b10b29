// Command function is the test function of the gateway tests: a real
// aws-lambda-go function that calls AWS through AWS_ENDPOINT_URL with the
// credentials its environment holds.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

type event struct {
	Action string `json:"action"`
	Marker string `json:"marker"`
}

type result struct {
	Arn      string `json:"arn,omitempty"`
	Buckets  int    `json:"buckets"`
	Version  string `json:"version,omitempty"`
	Endpoint string `json:"endpoint"`
	Greeting string `json:"greeting"`
}

func handle(ctx context.Context, ev event) (*result, error) {
	fmt.Println("hello from the function:", ev.Action, ev.Marker)
	res := &result{Endpoint: os.Getenv("AWS_ENDPOINT_URL"), Greeting: os.Getenv("GREETING")}
	switch ev.Action {
	case "error":
		return nil, errors.New("the function failed on purpose")
	case "version":
		b, err := os.ReadFile(filepath.Join(os.Getenv("LAMBDA_TASK_ROOT"), "VERSION"))
		res.Version = string(b)
		return res, err
	case "whoami":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("GetCallerIdentity: %w", err)
		}
		res.Arn = aws.ToString(id.Arn)
		out, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
		if err != nil {
			return nil, fmt.Errorf("ListBuckets: %w", err)
		}
		res.Buckets = len(out.Buckets)
	}
	return res, nil
}

func main() { lambda.Start(handle) }
