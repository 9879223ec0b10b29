// Command s3cli is a command-line S3 client for blobstores: put, get, delete,
// delete-recursive, exists, sign, copy, list, properties and
// ensure-storage-exists, configured by a JSON file. Run `s3cli -h` for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/s3cli-dev/s3cli/s3cli/commands"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	// Ctrl-C or SIGTERM cancels the operation, which then cleans up after
	// itself (aborts a multipart upload, removes a partial download).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := commands.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, version)
	stop()
	os.Exit(code)
}
