// Package commands is the command line of s3cli: flag parsing, the command
// table, help texts, running a command against a client and exit codes.
package commands

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/s3cli-dev/s3cli/s3cli/client"
	"github.com/s3cli-dev/s3cli/s3cli/config"
)

// Exit codes of s3cli.
const (
	ExitOK      = 0 // success
	ExitError   = 1 // the operation failed (S3 error, bad config, missing object or bucket, I/O)
	ExitUsage   = 2 // bad command line: unknown command or flag, wrong number of arguments, bad DURATION
	ExitMissing = 3 // exists: the bucket exists, the object does not
)

// Command is one s3cli command.
type Command struct {
	Name    string
	Args    string // argument synopsis, e.g. "LOCAL_FILE KEY"
	Summary string // one line for the command list
	Help    string // paragraph for COMMAND -h
	MinArgs int
	MaxArgs int
	Run     func(ctx context.Context, e *Env, args []string) error
}

// Env is what a command runs with.
type Env struct {
	Client *client.Client
	Bucket string // bucket_name, for messages
	Stdout io.Writer
	Stderr io.Writer
}

// UsageError is a bad command line (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// errMissing makes exists exit 3.
var errMissing = errors.New("object does not exist")

// List is the command table, in help order.
var List = []Command{
	{
		Name: "put", Args: "LOCAL_FILE KEY", MinArgs: 2, MaxArgs: 2,
		Summary: "upload LOCAL_FILE to KEY",
		Help: "Uploads LOCAL_FILE to KEY. Files larger than upload_part_size go as a multipart upload of\n" +
			"upload_concurrency parallel parts (retried); on failure, Ctrl-C, SIGTERM or SIGHUP the upload is aborted so no\n" +
			"parts are left behind. LOCAL_FILE may be a pipe (e.g. /dev/stdin). Refused with credentials_source none.",
		Run: func(ctx context.Context, e *Env, a []string) error { return e.Client.Put(ctx, a[0], a[1]) },
	},
	{
		Name: "get", Args: "KEY LOCAL_FILE", MinArgs: 2, MaxArgs: 2,
		Summary: "download KEY to LOCAL_FILE",
		Help: "Downloads KEY to LOCAL_FILE with download_concurrency parallel ranged GETs into a temporary\n" +
			"file beside LOCAL_FILE, which is fsynced and renamed into place only when complete: a failed\n" +
			"get leaves LOCAL_FILE untouched and no partial file.",
		Run: func(ctx context.Context, e *Env, a []string) error { return e.Client.Get(ctx, a[0], a[1]) },
	},
	{
		Name: "delete", Args: "KEY", MinArgs: 1, MaxArgs: 1,
		Summary: "delete KEY (succeeds when it is already gone)",
		Help:    "Deletes KEY. Deleting a missing key succeeds; a missing bucket is an error. Refused with credentials_source none.",
		Run:     func(ctx context.Context, e *Env, a []string) error { return e.Client.Delete(ctx, a[0]) },
	},
	{
		Name: "delete-recursive", Args: "[PREFIX]", MinArgs: 0, MaxArgs: 1,
		Summary: "delete every key starting with PREFIX (all keys without it)",
		Help: "Deletes every object whose key starts with PREFIX (inside folder_name); without PREFIX, every\n" +
			"object of the folder, or of the bucket when folder_name is unset. Refused with credentials_source none.",
		Run: func(ctx context.Context, e *Env, a []string) error {
			_, err := e.Client.DeleteRecursive(ctx, optional(a))
			return err
		},
	},
	{
		Name: "exists", Args: "KEY", MinArgs: 1, MaxArgs: 1,
		Summary: "exit 0 when KEY exists, 3 when it does not",
		Help: "Exits 0 when KEY exists and 3 when the bucket exists but KEY does not, writing bosh-s3cli's\n" +
			"line \"File 'KEY' exists in bucket 'BUCKET'\" (or \"does not exist\") on stderr. A missing bucket\nis an error (exit 1).",
		Run: func(ctx context.Context, e *Env, a []string) error {
			ok, err := e.Client.Exists(ctx, a[0])
			if err != nil {
				return err
			}
			if !ok {
				fmt.Fprintf(e.Stderr, "File '%s' does not exist in bucket '%s'\n", a[0], e.Bucket)
				return fmt.Errorf("%w: %q", errMissing, a[0])
			}
			fmt.Fprintf(e.Stderr, "File '%s' exists in bucket '%s'\n", a[0], e.Bucket)
			return nil
		},
	},
	{
		Name: "sign", Args: "KEY get|put DURATION", MinArgs: 3, MaxArgs: 3,
		Summary: "print a presigned URL for KEY (no trailing newline)",
		Help: "Prints a presigned SigV4 URL that allows a plain HTTP GET or PUT of KEY for DURATION, without a\n" +
			"trailing newline. DURATION is a Go duration (15m, 1h30m) or whole seconds (900), 1s to 7 days.\n" +
			"Keys with a \".\" or \"..\" segment are refused: URL normalisers would turn them into another key or bucket.",
		Run: func(ctx context.Context, e *Env, a []string) error {
			method := strings.ToLower(a[1])
			if method != "get" && method != "put" {
				return &UsageError{fmt.Sprintf("sign: method %q is not one of get, put", a[1])}
			}
			d, err := ParseDuration(a[2])
			if err != nil {
				return &UsageError{"sign: " + err.Error()}
			}
			if config.HasDotSegment(a[0]) {
				return &UsageError{fmt.Sprintf(`sign: key %q has a "." or ".." segment, which URL normalisers turn into another key or bucket`, a[0])}
			}
			url, err := e.Client.Sign(ctx, a[0], method, d)
			if err != nil {
				return err
			}
			_, err = io.WriteString(e.Stdout, url)
			return err
		},
	},
	{
		Name: "copy", Args: "SRC_KEY DST_KEY", MinArgs: 2, MaxArgs: 2,
		Summary: "copy SRC_KEY to DST_KEY inside the bucket",
		Help:    "Copies SRC_KEY to DST_KEY server-side (multipart above 5 GiB). Refused with credentials_source none.",
		Run:     func(ctx context.Context, e *Env, a []string) error { return e.Client.Copy(ctx, a[0], a[1]) },
	},
	{
		Name: "list", Args: "[PREFIX]", MinArgs: 0, MaxArgs: 1,
		Summary: "print the keys starting with PREFIX, one per line",
		Help:    "Prints every key starting with PREFIX (inside folder_name, printed without it), one per line,\nfollowing every page of the listing.",
		Run: func(ctx context.Context, e *Env, a []string) error {
			w := bufio.NewWriter(e.Stdout)
			err := e.Client.List(ctx, optional(a), func(key string) error {
				_, err := fmt.Fprintln(w, key)
				return err
			})
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			return err
		},
	},
	{
		Name: "properties", Args: "KEY", MinArgs: 1, MaxArgs: 1,
		Summary: "print KEY's etag, last_modified and content_length as JSON ({} when missing)",
		Help:    "Prints {\"etag\", \"last_modified\", \"content_length\"} of KEY as JSON, or {} when KEY does not exist.",
		Run: func(ctx context.Context, e *Env, a []string) error {
			p, err := e.Client.Properties(ctx, a[0])
			if err != nil {
				return err
			}
			var out []byte
			if p == nil {
				out = []byte("{}")
			} else if out, err = json.MarshalIndent(p, "", "  "); err != nil {
				return err
			}
			_, err = fmt.Fprintf(e.Stdout, "%s\n", out)
			return err
		},
	},
	{
		Name: "ensure-storage-exists", Args: "", MinArgs: 0, MaxArgs: 0,
		Summary: "create the bucket if it does not exist",
		Help:    "Creates bucket_name in the configured region when it does not exist; an existing bucket is success.",
		Run:     func(ctx context.Context, e *Env, _ []string) error { return e.Client.EnsureStorageExists(ctx) },
	},
}

func optional(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// Find returns the command called name.
func Find(name string) (*Command, bool) {
	for i := range List {
		if List[i].Name == name {
			return &List[i], true
		}
	}
	return nil, false
}

// ParseDuration reads a sign DURATION: a Go duration ("15m") or whole seconds ("900").
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 1 {
			return 0, fmt.Errorf("duration %s seconds is not positive; give 1 to 604800 seconds", s)
		}
		if n > int64(client.MaxSignDuration/time.Second) {
			return 0, fmt.Errorf("duration %s seconds is more than 7 days (604800)", s)
		}
		d = time.Duration(n) * time.Second
	} else if d, err = time.ParseDuration(s); err != nil {
		return 0, fmt.Errorf("duration %q is neither a Go duration (15m, 1h) nor whole seconds (900)", s)
	}
	if d < time.Second || d > client.MaxSignDuration {
		return 0, fmt.Errorf("duration %q is not between 1s and 168h (7 days)", s)
	}
	return d, nil
}
