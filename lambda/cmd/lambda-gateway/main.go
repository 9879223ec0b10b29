// Command lambda-gateway serves the Lambda Invoke API in front of an AWS
// emulator that cannot run functions (moto), for scripts and the aws CLI:
//
//	lambda-gateway --upstream http://127.0.0.1:5000 [--listen 127.0.0.1:0] [--region us-east-1]
//
// Once it listens it prints LAMBDA_GATEWAY_URL=http://... on stdout; progress
// goes to stderr. It stops, killing every function process, on SIGINT or SIGTERM.
// Its own upstream calls use the SDK's default credential chain.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/s3cli-dev/s3cli/lambda/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "lambda-gateway:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("lambda-gateway", flag.ContinueOnError)
	flags.SetOutput(io.Discard) // errors are reported once, by main
	upstream := flags.String("upstream", "", "base URL of the AWS emulator to forward to (required), e.g. http://127.0.0.1:5000")
	listen := flags.String("listen", "127.0.0.1:0", "address to listen on")
	region := flags.String("region", "", "default region of the gateway's own calls (default: from the environment, else us-east-1)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: lambda-gateway --upstream URL [--listen ADDR] [--region REGION]")
			flags.SetOutput(stdout)
			flags.PrintDefaults()
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; see --help", flags.Arg(0))
	}
	if *upstream == "" {
		return errors.New("--upstream is required: the emulator's base URL, e.g. --upstream http://127.0.0.1:5000")
	}

	var opts []func(*config.LoadOptions) error
	if *region != "" {
		opts = append(opts, config.WithRegion(*region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	credCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cfg.Credentials.Retrieve(credCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("no AWS credentials for the gateway's own calls (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; any pair works on an emulator without IAM enforcement): %w", err)
	}

	g, err := gateway.Start(ctx, gateway.Config{Upstream: *upstream, AWS: cfg, Log: stderr, Listen: *listen})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "LAMBDA_GATEWAY_URL=%s\n", g.URL())
	<-ctx.Done()

	fmt.Fprintln(stderr, "lambda-gateway: stopping")
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return g.Close(closeCtx)
}
