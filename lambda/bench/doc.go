// Package bench measures the warm invoke overhead of the local executor
// (lambda/runtimeapi) against the AWS Lambda Runtime Interface Emulator, with
// the same trivial aws-lambda-go function. Run it with
//
//	go test -run '^$' -bench . ./lambda/bench
//
// The emulator is taken from PATH or GOPATH/bin, else built into a temporary
// directory from the Go module proxy; without it the comparison is skipped.
package bench
