//go:build s3cli_function

package suite

import "github.com/s3cli-dev/s3cli/fixtures/targets"

// lambdaGateway is nil in the function's build: inside Lambda the suite runs against the
// ambient target, which needs no gateway, and the build stays free of it.
var lambdaGateway targets.LambdaGatewayFunc
