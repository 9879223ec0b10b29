package commands

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/s3cli-dev/s3cli/s3cli/client"
	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// Main runs the s3cli command line args (without the program name) and
// returns the exit code. It never panics on bad input and never prints a
// secret from the config.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, version string) int {
	fs := flag.NewFlagSet("s3cli", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("c", "", "path of the JSON config file")
	showVersion := fs.Bool("v", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, Usage())
			return ExitOK
		}
		return usageError(stderr, err.Error())
	}
	if *showVersion {
		fmt.Fprintf(stdout, "s3cli version %s\n", version)
		return ExitOK
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError(stderr, "no command given")
	}
	name, cmdArgs := rest[0], rest[1:]
	if name == "help" {
		if len(cmdArgs) == 0 {
			fmt.Fprint(stdout, Usage())
			return ExitOK
		}
		name, cmdArgs = cmdArgs[0], []string{"-h"}
	}
	cmd, ok := Find(name)
	if !ok {
		return usageError(stderr, fmt.Sprintf("unknown command %q", name))
	}

	cfs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfs.SetOutput(io.Discard)
	if err := cfs.Parse(cmdArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, cmd.Usage())
			return ExitOK
		}
		return usageError(stderr, fmt.Sprintf("%s: %v (a key starting with - goes after --)", name, err))
	}
	cmdArgs = cfs.Args()
	if n := len(cmdArgs); n < cmd.MinArgs || n > cmd.MaxArgs {
		return usageError(stderr, fmt.Sprintf("%s takes %s, got %d argument(s)\nusage: s3cli -c CONFIG %s %s", name, cmd.argCount(), n, name, cmd.Args))
	}
	for _, a := range cmdArgs {
		if a == "" {
			return usageError(stderr, fmt.Sprintf("%s: empty argument; keys and paths must not be empty", name))
		}
	}
	if *configPath == "" {
		return usageError(stderr, "-c CONFIG is required: s3cli -c CONFIG.json "+name+" "+cmd.Args)
	}

	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "s3cli: %v\n", err)
		return ExitError
	}
	redact := redactor(cfg.Secrets())
	c, err := client.New(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "s3cli: %s\n", redact(err.Error()))
		return ExitError
	}
	err = cmd.Run(ctx, &Env{Client: c, Stdout: stdout, Stderr: stderr}, cmdArgs)
	var uerr *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errMissing):
		fmt.Fprintf(stderr, "s3cli: %s\n", redact(err.Error()))
		return ExitMissing
	case errors.As(err, &uerr):
		return usageError(stderr, uerr.Msg)
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "s3cli: interrupted: %s\n", redact(oneLine(err.Error())))
		return ExitError
	default:
		fmt.Fprintf(stderr, "s3cli: %s\n", redact(oneLine(err.Error())))
		return ExitError
	}
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
	b.WriteString(`Usage: s3cli -c CONFIG.json COMMAND [ARGS...]
       s3cli -v                 print the version
       s3cli -h                 print this help
       s3cli COMMAND -h         print the help of COMMAND

Commands:
`)
	for _, c := range List {
		fmt.Fprintf(&b, "  %-28s %s\n", strings.TrimSpace(c.Name+" "+c.Args), c.Summary)
	}
	fmt.Fprintf(&b, `
Exit codes: 0 success; 1 error (S3, config, network, local file, missing object or bucket);
            2 usage error; 3 exists: the object does not exist (the bucket does).

Config (JSON) fields: %s.
Keys may also go after "--" (s3cli -c c.json delete -- -odd-key).
`, strings.Join(config.Fields(), ", "))
	return b.String()
}

// Usage returns the help text of COMMAND -h.
func (c *Command) Usage() string {
	return fmt.Sprintf("Usage: s3cli -c CONFIG.json %s\n\n%s\n", strings.TrimSpace(c.Name+" "+c.Args), c.Help)
}
