package commands

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/s3cli-dev/s3cli/s3cli/client"
	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// Main runs the s3cli command line args (without the program name) and
// returns the exit code. It never panics on bad input and never prints a
// secret from the config.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, version string) int {
	g, code, done := parseGlobal(args, stdout, stderr, version)
	if done {
		return code
	}
	cmd, cmdArgs, code, done := parseCommand(g.rest, stdout, stderr)
	if done {
		return code
	}
	if g.configPath == "" {
		return usageError(stderr, "-c CONFIG is required: s3cli -c CONFIG.json "+cmd.Name+" "+cmd.Args)
	}
	return runCommand(ctx, g, cmd, cmdArgs, stdout, stderr)
}

// globalFlags are the flags before the command.
type globalFlags struct {
	configPath, logLevel, logFile string
	rest                          []string // the command and its arguments
}

// parseGlobal reads the flags before the command; done means Main returns code at once
// (-h, -v, a usage error).
func parseGlobal(args []string, stdout, stderr io.Writer, version string) (g globalFlags, code int, done bool) {
	fs := flag.NewFlagSet("s3cli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.configPath, "c", "", "path of the JSON config file")
	showVersion := fs.Bool("v", false, "print the version and exit")
	provider := fs.String("s", "s3", "storage provider (storage-cli's flag): s3 is the only one")
	fs.StringVar(&g.logLevel, "log-level", "warn", "debug, info, warn or error")
	fs.StringVar(&g.logFile, "log-file", "", "write the log to this file instead of stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, Usage())
			return g, ExitOK, true
		}
		return g, usageError(stderr, err.Error()), true
	}
	if *showVersion {
		fmt.Fprintf(stdout, "version %s\n", version) // as bosh-s3cli and storage-cli print it
		return g, ExitOK, true
	}
	if *provider != "s3" {
		return g, usageError(stderr, fmt.Sprintf("-s %q is not supported: s3cli speaks only the s3 provider (-s s3)", *provider)), true
	}
	g.rest = fs.Args()
	if len(g.rest) == 0 {
		return g, usageError(stderr, "no command given"), true
	}
	return g, 0, false
}

// parseCommand finds the command (help COMMAND included) and checks its arguments; done
// means Main returns code at once.
func parseCommand(rest []string, stdout, stderr io.Writer) (cmd *Command, cmdArgs []string, code int, done bool) {
	name, cmdArgs := rest[0], rest[1:]
	if name == "help" {
		if len(cmdArgs) == 0 {
			fmt.Fprint(stdout, Usage())
			return nil, nil, ExitOK, true
		}
		name, cmdArgs = cmdArgs[0], []string{"-h"}
	}
	cmd, ok := Find(name)
	if !ok {
		return nil, nil, usageError(stderr, fmt.Sprintf("unknown command %q", name)), true
	}
	cfs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfs.SetOutput(io.Discard)
	if err := cfs.Parse(cmdArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, cmd.Usage())
			return nil, nil, ExitOK, true
		}
		return nil, nil, usageError(stderr, fmt.Sprintf("%s: %v (a key starting with - goes after --)", name, err)), true
	}
	cmdArgs = cfs.Args()
	if n := len(cmdArgs); n < cmd.MinArgs || n > cmd.MaxArgs {
		return nil, nil, usageError(stderr, fmt.Sprintf("%s takes %s, got %d argument(s)\nusage: s3cli -c CONFIG %s %s", name, cmd.argCount(), n, name, cmd.Args)), true
	}
	for _, a := range cmdArgs {
		if a == "" {
			return nil, nil, usageError(stderr, fmt.Sprintf("%s: empty argument; keys and paths must not be empty", name)), true
		}
	}
	return cmd, cmdArgs, 0, false
}

// runCommand opens the log, loads the config, builds the client, runs cmd and turns its outcome into
// an exit code and at most one error line.
func runCommand(ctx context.Context, g globalFlags, cmd *Command, cmdArgs []string, stdout, stderr io.Writer) int {
	logger, logs, closeLog, err := openLog(g.logLevel, g.logFile, stderr)
	var uerr *UsageError
	if errors.As(err, &uerr) {
		return usageError(stderr, uerr.Msg)
	} else if err != nil {
		fmt.Fprintf(stderr, "s3cli: %v\n", err)
		return ExitError
	}
	defer closeLog()
	// fail prints the one error line on stderr, and into the log file when there is one.
	fail := func(code int, msg string) int {
		fmt.Fprintf(stderr, "s3cli: %s\n", msg)
		if g.logFile != "" {
			logger.Error(msg)
		}
		return code
	}

	cfg, err := config.Load(g.configPath)
	if err != nil {
		return fail(ExitError, err.Error())
	}
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}
	redact := redactor(cfg.Secrets())
	logs.setRedactor(redact)
	c, err := client.New(ctx, cfg, client.WithLogger(logger))
	if err != nil {
		return fail(ExitError, redact(err.Error()))
	}
	err = cmd.Run(ctx, &Env{Client: c, Bucket: cfg.BucketName, Stdout: stdout, Stderr: stderr}, cmdArgs)
	var intr Interrupted
	switch {
	case errors.As(context.Cause(ctx), &intr):
		msg := "interrupted by " + intr.Name()
		if err != nil {
			msg += ": " + redact(oneLine(err.Error()))
		}
		return fail(intr.ExitCode(), msg)
	case err == nil:
		return ExitOK
	case errors.Is(err, errMissing):
		return ExitMissing // exists wrote bosh-s3cli's line already
	case errors.As(err, &uerr):
		return usageError(stderr, uerr.Msg)
	default:
		return fail(ExitError, redact(oneLine(err.Error())))
	}
}

// Interrupted is the cause main cancels the context with when a signal arrives.
type Interrupted struct{ Signal syscall.Signal }

func (i Interrupted) Error() string { return "interrupted by " + i.Name() }

// Name is the signal's name: SIGINT, SIGTERM, SIGHUP.
func (i Interrupted) Name() string {
	switch i.Signal {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return i.Signal.String()
}

// ExitCode is 130 after SIGINT and 143 after SIGTERM or SIGHUP (a hang-up ends
// the command as a termination request does); 128+N for any other signal.
func (i Interrupted) ExitCode() int {
	if i.Signal == syscall.SIGHUP {
		return 128 + int(syscall.SIGTERM)
	}
	return 128 + int(i.Signal)
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "s3cli: %s\nRun 's3cli -h' for usage.\n", msg)
	return ExitUsage
}

// oneLine keeps an error on one line of output.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// redactor replaces every secret (of four characters or more) in a message.
func redactor(secrets []string) func(string) string {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= 4 {
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	if len(pairs) == 0 {
		return func(s string) string { return s }
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

func (c *Command) argCount() string {
	switch {
	case c.MinArgs == c.MaxArgs && c.MinArgs == 0:
		return "no arguments"
	case c.MinArgs == c.MaxArgs && c.MinArgs == 1:
		return "1 argument"
	case c.MinArgs == c.MaxArgs:
		return fmt.Sprintf("%d arguments", c.MinArgs)
	}
	return fmt.Sprintf("%d to %d arguments", c.MinArgs, c.MaxArgs)
}

// Usage returns the help text of s3cli -h.
func Usage() string {
	var b strings.Builder
	b.WriteString(`Usage: s3cli [-s s3] [-log-level LEVEL] [-log-file PATH] -c CONFIG.json COMMAND [ARGS...]
       s3cli -v                 print the version
       s3cli -h                 print this help
       s3cli COMMAND -h         print the help of COMMAND

Flags:
  -c CONFIG.json     the JSON config (required for every command)
  -s s3              storage-cli's provider flag; s3 is the only provider
  -log-level LEVEL   debug, info, warn (default) or error; debug adds the SDK's request log
  -log-file PATH     append the log there instead of writing it to stderr

Commands:
`)
	for _, c := range List {
		fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimSpace(c.Name+" "+c.Args), c.Summary)
	}
	fmt.Fprintf(&b, `
Exit codes: 0 success; 1 error (S3, config, network, local file, missing object or bucket);
            2 usage error; 3 exists: the object does not exist (the bucket does);
            130 interrupted by SIGINT, 143 by SIGTERM or SIGHUP (a multipart upload is aborted).

Config (JSON) fields: %s.
Keys may also go after "--" (s3cli -c c.json delete -- -odd-key).
`, strings.Join(config.Fields(), ", "))
	return b.String()
}

// Usage returns the help text of COMMAND -h.
func (c *Command) Usage() string {
	return fmt.Sprintf("Usage: s3cli -c CONFIG.json %s\n\n%s\n", strings.TrimSpace(c.Name+" "+c.Args), c.Help)
}
