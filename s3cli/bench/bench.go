// Package bench compares s3cli with the aws CLI (`aws s3 cp`) and the MinIO
// client (`mc cp`) on one large file, put and get, against two loopback S3
// servers: gofakes3 in memory inside the benchmark's own process (so that its
// memory is not counted as the client's) and versitygw, a real S3 server built
// from the Go module proxy into a cache directory and run as a child process.
// It reports wall times, ratios and each client's peak RSS and CPU, and runs
// s3cli's put with the payload signing of before (SHA-256 of every part) beside
// today's (UNSIGNED-PAYLOAD with CRC32) on a 1 GiB file.
//
// Run it with: go test -run XXX -bench . ./s3cli/bench
// S3CLI_BENCH_MIB (default 256) sets the file size, S3CLI_BENCH_PAYLOAD_MIB
// (default 1024) the size of the signing comparison, S3CLI_BENCH_ROUNDS
// (default 3) how many times each transfer runs (the best time counts).
package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/s3cli-dev/s3cli/lambda/procgroup"
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
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	p, err := procgroup.Start(ctx, cmd)
	if err != nil {
		return Run{}, fmt.Errorf("%s %v: %w", name, args, err)
	}
	peak := watchPeakRSS(p.Pid())
	err = p.Wait()
	wall := time.Since(start)
	if err != nil {
		return Run{}, fmt.Errorf("%s %v: %w: %s", name, args, err, bytes.TrimSpace(out.Bytes()))
	}
	r := Run{Wall: wall, MaxRSS: peak()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		if r.MaxRSS == 0 {
			r.MaxRSS = ru.Maxrss * 1024 // KiB on Linux
		}
		r.CPUUser = time.Duration(ru.Utime.Nano())
		r.CPUSys = time.Duration(ru.Stime.Nano())
	}
	return r, nil
}

// watchPeakRSS samples the VmHWM of pid every 10 ms until the returned
// function is called (after Wait), which returns the last sample in bytes.
// rusage's maxrss cannot be used: Go starts children with vfork, so it counts
// the benchmark process's own memory (an in-memory S3 server) from before exec.
func watchPeakRSS(pid int) func() int64 {
	var (
		mu   sync.Mutex
		peak int64
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	path := fmt.Sprintf("/proc/%d/status", pid)
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if b, err := os.ReadFile(path); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						var kib int64
						if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib); err == nil {
							mu.Lock()
							peak = max(peak, kib*1024)
							mu.Unlock()
						}
					}
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
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

// ToolDir is where the benchmark keeps the servers and clients it builds from
// the Go module proxy: $XDG_CACHE_HOME/s3cli-bench/bin (~/.cache/...).
func ToolDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "s3cli-bench", "bin"), nil
}

// Tool is a program built from the Go module proxy with go install.
type Tool struct {
	Name    string // the binary's name
	Package string // the package path and version given to go install
	License string // printed beside the figures
}

// Versitygw is the Versity S3 Gateway (Apache-2.0), a real S3 server with a POSIX backend.
var Versitygw = Tool{Name: "versitygw", Package: "github.com/versity/versitygw/cmd/versitygw@v1.8.0", License: "Apache-2.0"}

// MC is the MinIO client (AGPL-3.0), run as a separate program only.
var MC = Tool{Name: "mc", Package: "github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9", License: "AGPL-3.0"}

// Install returns the tool's binary in ToolDir, building it there with go
// install when missing (minutes, once per machine).
func Install(ctx context.Context, t Tool) (string, error) {
	dir, err := ToolDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, t.Name)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", t.Package)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod", "GOWORK=off")
	cmd.Dir = os.TempDir() // outside this module: go install pkg@version builds on its own
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %w: %s", t.Package, err, lastLines(out, 5))
	}
	return bin, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// Server is an S3 server the benchmark runs as a child process.
type Server struct {
	URL  string
	proc *procgroup.Process
}

// StartVersitygw runs versitygw on a free loopback port with its POSIX backend
// in dataDir and one account (access, secret), and waits until it answers.
func StartVersitygw(ctx context.Context, bin, dataDir, access, secret string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", addr, "--quiet", "posix", dataDir)
	cmd.Env = baseEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := procgroup.Start(context.WithoutCancel(ctx), cmd, procgroup.WithStopSignal(syscall.SIGTERM))
	if err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	s := &Server{URL: "http://" + addr, proc: p}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("versitygw exited before it answered: %v: %s", p.Err(), bytes.TrimSpace(out.Bytes()))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("versitygw did not answer on %s within 30s", addr)
		}
	}
}

// Stop ends the server's process group: SIGTERM, SIGKILL after procgroup's grace, and waits.
func (s *Server) Stop() { _ = s.proc.Stop(context.Background()) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// MCEnv is the environment for mc with the alias "bench" at endpoint.
func MCEnv(endpoint, access, secret string) []string {
	u := strings.Replace(endpoint, "://", "://"+access+":"+secret+"@", 1)
	return append(baseEnv(), "MC_HOST_bench="+u)
}
