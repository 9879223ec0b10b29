//go:build !s3cli_function

package suite

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/s3cli-dev/s3cli/lambda/gateway"
)

// The moto targets cannot run provided.al2023 functions; the Lambda gateway runs them
// locally and forwards every other request to moto unchanged.
func init() {
	lambdaGateway = func(ctx context.Context, upstream string, cfg aws.Config) (string, func(context.Context) error, error) {
		g, err := gateway.Start(ctx, gateway.Config{Upstream: upstream, AWS: cfg, Log: os.Stderr})
		if err != nil {
			return "", nil, err
		}
		return g.URL(), g.Close, nil
	}
}
