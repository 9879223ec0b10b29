package suite

import (
	"os"

	"github.com/s3cli-dev/s3cli/lambda/gateway"
)

// The moto targets cannot run provided.al2023 functions; the Lambda gateway runs them
// locally and forwards every other request to moto unchanged. Kept in a file of its own so
// the function's build of the suite can leave the gateway out.
func init() { lambdaGateway = gateway.Front(os.Stderr) }
