package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/s3cli-dev/s3cli/s3cli/internal/minis3"
)

// Goals of issue 3 for the 256 MiB file.
const maxRSS = 100 << 20

type fixture struct {
	dir, s3cli, cfg, src string
	sum                  [32]byte
	server               *minis3.Server
	awsEnv               []string
}

const bucket = "bench-bucket"

func setup(tb testing.TB, size int64, extra map[string]any) *fixture {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	bin, err := BuildS3CLI(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	data := filepath.Join(dir, "server")
	if err := os.Mkdir(data, 0o755); err != nil {
		tb.Fatal(err)
	}
	srv, err := minis3.Start(data)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	})
	srv.CreateBucket(bucket)
	cfg := map[string]any{
		"bucket_name": bucket, "host": srv.URL(),
		"access_key_id": "AKIDBENCHMARK", "secret_access_key": "benchmark-secret",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	doc, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "s3cli.json")
	if err := os.WriteFile(cfgPath, doc, 0o600); err != nil {
		tb.Fatal(err)
	}
	src := filepath.Join(dir, "source.bin")
	sum, err := WriteRandomFile(src, size)
	if err != nil {
		tb.Fatal(err)
	}
	awsEnv, err := AWSEnv(dir, srv.URL())
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{dir: dir, s3cli: bin, cfg: cfgPath, src: src, sum: sum, server: srv, awsEnv: awsEnv}
}

// roundTrip puts the source with tool ("s3cli" or "aws"), gets it back and
// checks the bytes.
func (f *fixture) roundTrip(tb testing.TB, tool, key string) (put, get Run) {
	tb.Helper()
	ctx := context.Background()
	out := filepath.Join(f.dir, "download-"+tool)
	var err error
	switch tool {
	case "s3cli":
		if put, err = Exec(ctx, S3CLIEnv(), f.s3cli, "-c", f.cfg, "put", f.src, key); err == nil {
			get, err = Exec(ctx, S3CLIEnv(), f.s3cli, "-c", f.cfg, "get", key, out)
		}
	case "aws":
		url := "s3://" + bucket + "/" + key
		if put, err = Exec(ctx, f.awsEnv, "aws", "s3", "cp", "--only-show-errors", f.src, url); err == nil {
			get, err = Exec(ctx, f.awsEnv, "aws", "s3", "cp", "--only-show-errors", url, out)
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	sum, err := FileSHA256(out)
	if err != nil {
		tb.Fatal(err)
	}
	if sum != f.sum {
		tb.Fatalf("%s: the downloaded file differs from the uploaded one", tool)
	}
	if err := os.Remove(out); err != nil {
		tb.Fatal(err)
	}
	return put, get
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkPutGet compares s3cli with `aws s3 cp` on one file (256 MiB by
// default): best wall time of S3CLI_BENCH_ROUNDS rounds each, their ratio, and
// peak RSS. It fails when s3cli is slower or its peak RSS reaches 100 MiB.
func BenchmarkPutGet(b *testing.B) {
	if _, err := exec.LookPath("aws"); err != nil {
		b.Skip("the aws CLI is not on PATH; it is the reference this benchmark compares with")
	}
	mib := envInt("S3CLI_BENCH_MIB", 256)
	rounds := envInt("S3CLI_BENCH_ROUNDS", 3)
	size := int64(mib) << 20
	f := setup(b, size, nil)
	b.SetBytes(size * 2)
	b.ResetTimer()
	for b.Loop() {
		best := map[string]*[2]Run{}
		for round := range rounds {
			order := []string{"s3cli", "aws"}
			if round%2 == 1 {
				order = []string{"aws", "s3cli"} // neither always goes first
			}
			for _, tool := range order {
				put, get := f.roundTrip(b, tool, fmt.Sprintf("%s-%d", tool, round))
				cur := best[tool]
				if cur == nil {
					best[tool] = &[2]Run{put, get}
					continue
				}
				cur[0] = better(cur[0], put)
				cur[1] = better(cur[1], get)
			}
		}
		s, a := best["s3cli"], best["aws"]
		fmt.Printf("\n%d MiB file, best of %d rounds, loopback minis3 server (disk-backed)\n", mib, rounds)
		fmt.Printf("%-6s %-8s %10s %10s %12s %10s\n", "op", "client", "wall", "MiB/s", "peak RSS", "CPU")
		for i, op := range []string{"put", "get"} {
			for _, row := range []struct {
				name string
				r    Run
			}{{"s3cli", s[i]}, {"aws", a[i]}} {
				fmt.Printf("%-6s %-8s %10s %10.0f %9.1f MiB %10s\n", op, row.name, row.r.Wall.Round(time.Millisecond),
					float64(mib)/row.r.Wall.Seconds(), float64(row.r.MaxRSS)/(1<<20), (row.r.CPUUser + row.r.CPUSys).Round(time.Millisecond))
			}
			fmt.Printf("%-6s aws/s3cli time ratio: %.2f (s3cli %.2fx faster)\n", op, a[i].Wall.Seconds()/s[i].Wall.Seconds(), a[i].Wall.Seconds()/s[i].Wall.Seconds())
		}
		rss := max(s[0].MaxRSS, s[1].MaxRSS)
		fmt.Printf("s3cli peak RSS: %.1f MiB (goal < 100 MiB)\n", float64(rss)/(1<<20))
		b.ReportMetric(a[0].Wall.Seconds()/s[0].Wall.Seconds(), "put-speedup")
		b.ReportMetric(a[1].Wall.Seconds()/s[1].Wall.Seconds(), "get-speedup")
		b.ReportMetric(float64(rss)/(1<<20), "s3cli-peak-RSS-MiB")
		if rss >= maxRSS {
			b.Errorf("s3cli peak RSS %.1f MiB, goal < 100 MiB", float64(rss)/(1<<20))
		}
		if s[0].Wall >= a[0].Wall || s[1].Wall >= a[1].Wall {
			b.Errorf("s3cli is not faster than aws s3 cp: put %s vs %s, get %s vs %s", s[0].Wall, a[0].Wall, s[1].Wall, a[1].Wall)
		}
	}
}

func better(a, b Run) Run {
	if b.Wall < a.Wall {
		a.Wall = b.Wall
	}
	a.MaxRSS = max(a.MaxRSS, b.MaxRSS) // the worst memory, the best time
	if b.CPUUser+b.CPUSys < a.CPUUser+a.CPUSys {
		a.CPUUser, a.CPUSys = b.CPUUser, b.CPUSys
	}
	return a
}

// TestHarnessRoundTrip runs the benchmark's machinery on a small file with
// small parts: the built s3cli puts (multipart, parallel) and gets (parallel
// ranges) through minis3, the bytes match, and a peak RSS is measured.
func TestHarnessRoundTrip(t *testing.T) {
	f := setup(t, 23<<20+12345, map[string]any{"upload_part_size": 5 << 20, "download_part_size": 3 << 20, "upload_concurrency": 3})
	put, get := f.roundTrip(t, "s3cli", "dir/harness")
	if put.MaxRSS <= 0 || get.MaxRSS <= 0 {
		t.Errorf("no peak RSS measured: put %d, get %d", put.MaxRSS, get.MaxRSS)
	}
	if up := f.server.Uploads(bucket); len(up) != 0 {
		t.Errorf("multipart uploads left behind: %v", up)
	}
	t.Logf("s3cli put %s (RSS %.1f MiB), get %s (RSS %.1f MiB)", put.Wall, float64(put.MaxRSS)/(1<<20), get.Wall, float64(get.MaxRSS)/(1<<20))
}
