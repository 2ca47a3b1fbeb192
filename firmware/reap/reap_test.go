package reap

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	for _, c := range []struct {
		line  string
		state string
		ppid  int
		bad   bool
	}{
		{"42 (sleep) Z 1 42 42 0 -1", "Z", 1, false},
		{"43 (a b) c)) S 7 43 43 0", "S", 7, false},
		{"44 sleep Z 1", "", 0, true},
		{"45 (x) Z", "", 0, true},
	} {
		st, pp, err := parseStat(c.line)
		if (err != nil) != c.bad || (!c.bad && (st != c.state || pp != c.ppid)) {
			t.Errorf("parseStat(%q) = %q %d %v", c.line, st, pp, err)
		}
	}
}

// As a child subreaper the test process gets its grandchildren's orphans,
// as process 1 does: they are reaped, and a registered child's exit status
// still reaches its own Wait.
func TestOrphansReapedOwnedKept(t *testing.T) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
	defer unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

	own := exec.Command("sh", "-c", "exit 3")
	if err := Start(own); err != nil {
		t.Fatal(err)
	}
	// sh leaves a background sleep behind: it becomes our orphan.
	if out, err := exec.Command("sh", "-c", "sleep 0.2 & echo $!").Output(); err != nil {
		t.Fatal(err)
	} else if len(out) == 0 {
		t.Fatal("no orphan pid")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan int, 4)
	go Orphans(ctx, 50*time.Millisecond, func(pid int, _ unix.WaitStatus) { got <- pid })
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the orphan was not reaped within 10 s")
	}
	// The owned child exited long ago and was left for its Wait.
	err := Wait(own)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("owned child's Wait: %v, want exit status 3", err)
	}
	if zs := zombieChildren("/proc", os.Getpid()); len(zs) != 0 {
		t.Errorf("zombies left: %v", zs)
	}
}
