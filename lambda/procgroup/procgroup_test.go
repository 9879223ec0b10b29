package procgroup

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func shell(script string) *exec.Cmd { return exec.Command("sh", "-c", script) }

func TestStopSendsTheStopSignalFirst(t *testing.T) {
	p := startReady(t, `trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.05; done`, WithGrace(5*time.Second))
	start := time.Now()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %s: the child should have ended on SIGINT, long before the grace period", d)
	}
	if !strings.Contains(p.Tail(), "got INT") {
		t.Errorf("the child did not see SIGINT; its output: %q", p.Tail())
	}
	if got := p.ExitDescription(); got != "exit status 3" {
		t.Errorf("ExitDescription = %q, want exit status 3", got)
	}
	if !p.Stopping() {
		t.Error("Stopping is false after Stop")
	}
}

func TestStopKillsAChildThatIgnoresTheSignalAfterTheGrace(t *testing.T) {
	p := startReady(t, `trap '' INT TERM; echo ready; sleep 30`, WithGrace(300*time.Millisecond))
	start := time.Now()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Stop took %s, want the grace period (300ms) and a little", d)
	}
	if got := p.ExitDescription(); got != "killed by signal SIGKILL" {
		t.Errorf("ExitDescription = %q, want killed by signal SIGKILL", got)
	}
}

func TestStopLeavesNoProcessOfTheGroup(t *testing.T) {
	// The grandchild ignores SIGINT and outlives the shell unless the whole group is killed.
	p, err := Start(context.Background(), shell(`(trap '' INT; exec sleep 30) & echo "$!"; wait`), WithTail(1024), WithGrace(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var grandchild int
	waitFor(t, "the grandchild's pid", func() bool {
		grandchild, _ = strconv.Atoi(strings.TrimSpace(p.Tail()))
		return grandchild > 0
	})
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the grandchild to be gone", func() bool {
		return errors.Is(syscall.Kill(grandchild, 0), syscall.ESRCH)
	})
	if err := syscall.Kill(-p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Stop (kill -0: %v)", p.Pid(), err)
	}
}

func TestRunStopsTheChildWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Run(ctx, shell(`trap 'echo cleaning up; exit 1' INT; while :; do sleep 0.05; done`), WithTail(1024))
	if err == nil {
		t.Fatal("Run returned nil for a child stopped by its context")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run error %q does not wrap the context's error", err)
	}
	if !strings.Contains(err.Error(), "cleaning up") {
		t.Errorf("Run error %q does not quote the child's last output", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Run took %s after a 300ms deadline", d)
	}
}

func TestAnExitBeforeStopIsSeenAsSuch(t *testing.T) {
	p, err := Start(context.Background(), shell(`echo started; exec sleep 30`), WithTail(1024))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to start", func() bool { return strings.Contains(p.Tail(), "started") })
	// Someone else kills it (kill -9 of an emulator mid-run).
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if p.Stopping() {
		t.Error("Stopping is true though nobody called Stop")
	}
	if got := p.ExitDescription(); got != "killed by signal SIGKILL" {
		t.Errorf("ExitDescription = %q", got)
	}
	if p.Uptime() <= 0 || p.Uptime() > 10*time.Second {
		t.Errorf("Uptime = %s", p.Uptime())
	}
}

func TestDescribe(t *testing.T) {
	exit1 := exec.Command("sh", "-c", "exit 1").Run()
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, "exit status 0"},
		{exit1, "exit status 1"},
		{errors.New("no such file"), "no such file"},
	} {
		if got := Describe(c.err); got != c.want {
			t.Errorf("Describe(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestLastLines(t *testing.T) {
	if got := LastLines("a\n\nb\nc\nd\n", 2); got != "c | d" {
		t.Errorf("LastLines = %q", got)
	}
}

func TestTailKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 4}
	_, _ = b.Write([]byte("abc"))
	_, _ = b.Write([]byte("defg"))
	if got := b.String(); got != "defg" {
		t.Errorf("tail = %q, want defg", got)
	}
}

// startReady starts script with a tail and opts and waits until it has printed "ready".
func startReady(t *testing.T, script string, opts ...Option) *Process {
	t.Helper()
	p, err := Start(context.Background(), shell(script), append([]Option{WithTail(1024)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to be ready", func() bool { return strings.Contains(p.Tail(), "ready") })
	return p
}
