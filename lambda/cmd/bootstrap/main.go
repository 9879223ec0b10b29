// Command bootstrap is the test-runner Lambda function for the provided.al2023
// runtime: it runs the compiled suite (integration.test) next to it in the
// package and returns the suite's counts, or an error naming what failed.
package main

import (
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/s3cli-dev/s3cli/lambda/function"
)

func main() {
	runner := function.NewRunner()
	// A misspelt event field is an error rather than a silently default value.
	lambda.StartWithOptions(runner.Handle, lambda.WithDisallowUnknownFields(true))
}
