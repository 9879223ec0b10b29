package gateway

import (
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Front returns what fixtures/targets calls to put a gateway in front of an emulator
// (targets.LambdaGatewayFunc): it starts one on loopback for upstream with the admin config,
// and hands back its URL and its Close. The suite and fixtures/cmd/rehearse wire it the same way.
func Front(log io.Writer) func(ctx context.Context, upstream string, cfg aws.Config) (string, func(context.Context) error, error) {
	return func(ctx context.Context, upstream string, cfg aws.Config) (string, func(context.Context) error, error) {
		g, err := Start(ctx, Config{Upstream: upstream, AWS: cfg, Log: log})
		if err != nil {
			return "", nil, err
		}
		return g.URL(), g.Close, nil
	}
}
