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
	// Ctrl-C, SIGTERM or a hang-up (closed terminal, lost ssh session) cancels
	// the operation, which then cleans up after itself (aborts a multipart
	// upload, removes a partial download) and exits 130 or 143. Later signals
	// stay caught so that the cleanup, bounded in time, is not cut short.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		if s, ok := (<-sigs).(syscall.Signal); ok {
			cancel(commands.Interrupted{Signal: s})
		}
	}()
	code := commands.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, version)
	cancel(nil)
	os.Exit(code)
}
