// Command package builds the Lambda deployment package (bootstrap,
// integration.test and s3cli for linux/amd64, zipped deterministically):
//
//	go run ./lambda/cmd/package -o bin/deployment.zip [-suite ./suite]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/s3cli-dev/s3cli/lambda/pack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("package", flag.ContinueOnError)
	out := fs.String("o", "bin/deployment.zip", "where to write the zip")
	dir := fs.String("C", ".", "a directory inside the Go module to package")
	version := fs.String("version", "", "s3cli version to build in (main.version); empty keeps its default")
	suite := fs.String("suite", pack.DefaultSuite, "the Ginkgo test package compiled as integration.test (make package SUITE_PKG=./path)")
	timeout := fs.Duration("timeout", 20*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: package [-o bin/deployment.zip] [-C dir] [-suite ./suite] [-version v] [-timeout 20m]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see -h", fs.Arg(0))
	}
	root, err := pack.ModuleRoot(*dir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	p, err := pack.Build(ctx, root, *out, pack.WithLog(os.Stderr), pack.WithVersion(*version), pack.WithSuite(*suite))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d files, %.1f MB, in %.1fs\n", p.Path, len(p.Entries), float64(p.Size)/(1<<20), p.Duration.Seconds())
	return nil
}
