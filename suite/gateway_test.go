//go:build !s3cli_function

package suite

import (
	"github.com/s3cli-dev/s3cli/fixtures/targets"
	"github.com/s3cli-dev/s3cli/lambda/gateway"
)

// lambdaGateway puts the Lambda gateway in front of the moto targets, which cannot run
// provided.al2023 functions: it runs them locally and forwards every other request to moto
// unchanged. The function's build of the suite leaves it out (function_build_test.go).
var lambdaGateway targets.LambdaGatewayFunc = gateway.Front(progressOut{})
