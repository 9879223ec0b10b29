// Package bench compares s3cli with the aws CLI (`aws s3 cp`) on one large
// file, put and get, against the same loopback S3 server (minis3, disk-backed,
// in the benchmark's own process so that its memory is not counted as the
// client's), and reports wall times, their ratio and each client's peak RSS.
//
// Run it with: go test -run XXX -bench . ./s3cli/bench
// S3CLI_BENCH_MIB (default 256) sets the file size, S3CLI_BENCH_ROUNDS
// (default 3) how many times each transfer runs (the best time counts).
package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Run is one measured child process.
type Run struct {
	Wall    time.Duration
	MaxRSS  int64 // bytes
	CPUUser time.Duration
	CPUSys  time.Duration
}

// Exec runs a command to completion with a deadline and measures it.
func Exec(ctx context.Context, env []string, name string, args ...string) (Run, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return Run{}, fmt.Errorf("%s %v: %w: %s", name, args, err, bytes.TrimSpace(out.Bytes()))
	}
	r := Run{Wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
		r.CPUUser = time.Duration(ru.Utime.Nano())
		r.CPUSys = time.Duration(ru.Stime.Nano())
	}
	return r, nil
}

// WriteRandomFile writes size pseudo-random (incompressible) bytes to path and
// returns their SHA-256.
func WriteRandomFile(path string, size int64) ([32]byte, error) {
	f, err := os.Create(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	rng := rand.NewChaCha8([32]byte{'s', '3', 'c', 'l', 'i'})
	if _, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rng, size)); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, f.Close()
}

// FileSHA256 hashes a file.
func FileSHA256(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// BuildS3CLI builds the s3cli binary into dir and returns its path.
func BuildS3CLI(ctx context.Context, dir string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	bin := filepath.Join(dir, "s3cli")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "-ldflags", "-X main.version=bench", "github.com/s3cli-dev/s3cli/s3cli")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building s3cli: %w: %s", err, out)
	}
	return bin, nil
}

// AWSEnv is the environment for the aws CLI against endpoint: dummy keys, path-style
// addressing, no shared files of the user.
func AWSEnv(dir, endpoint string) ([]string, error) {
	cfg := filepath.Join(dir, "aws-config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		return nil, err
	}
	return append(baseEnv(),
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"),
		"AWS_ACCESS_KEY_ID=AKIDBENCHMARK",
		"AWS_SECRET_ACCESS_KEY=benchmark-secret",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL="+endpoint,
		"AWS_EC2_METADATA_DISABLED=true",
	), nil
}

// S3CLIEnv is the environment for s3cli: nothing of the user's AWS settings.
func S3CLIEnv() []string { return baseEnv() }

func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG", "PYENV_ROOT", "PYENV_VERSION"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
