package supervise

import (
	"context"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/syncbuf"
)

// A service that keeps failing is restarted with growing back-off and then
// reported unhealthy (the caller stops petting the watchdog).
func TestRestartsAndCrashLoop(t *testing.T) {
	var out syncbuf.Buffer
	s := &Supervisor{
		Command:    func() *exec.Cmd { return exec.Command("sh", "-c", "exit 3") },
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, StableAfter: time.Hour,
		MaxFailures: 4, FailureWindow: time.Minute, StopTimeout: time.Second,
		Log: log.New(&out, "", 0),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for s.Healthy() {
		if time.Now().After(deadline) {
			t.Fatalf("still healthy after %d starts:\n%s", s.Starts(), out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if s.Starts() < 4 {
		t.Errorf("%d starts", s.Starts())
	}
	log := out.String()
	if !strings.Contains(log, "exit status 3") || !strings.Contains(log, "restarting in 10ms") ||
		!strings.Contains(log, "restarting in 20ms") || !strings.Contains(log, "restarting in 40ms") ||
		strings.Contains(log, "restarting in 80ms") {
		t.Errorf("back-off not 10, 20, 40 ms capped:\n%s", log)
	}
}

// Failures older than the window are forgiven.
func TestHealthWindow(t *testing.T) {
	s := &Supervisor{MaxFailures: 2, FailureWindow: time.Minute}
	s.failures = []time.Time{time.Now().Add(-2 * time.Minute), time.Now().Add(-90 * time.Second), time.Now()}
	if !s.Healthy() {
		t.Error("old failures counted")
	}
	s.failures = append(s.failures, time.Now())
	if s.Healthy() {
		t.Error("two recent failures, still healthy")
	}
}

// Stopping sends SIGTERM and waits for the service to finish its shutdown;
// one that ignores SIGTERM is killed after the grace period.
func TestGracefulStop(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "clean")
	for _, tc := range []struct {
		name, script string
		clean        bool
	}{
		{"traps SIGTERM", `trap 'echo bye > ` + marker + `; exit 0' TERM; while :; do sleep 0.05; done`, true},
		{"ignores SIGTERM", `trap '' TERM; while :; do sleep 0.05; done`, false},
	} {
		os.Remove(marker)
		var out syncbuf.Buffer
		started := make(chan int, 1)
		s := &Supervisor{
			Command:    func() *exec.Cmd { return exec.Command("sh", "-c", tc.script) },
			MinBackoff: time.Second, MaxBackoff: time.Second, StableAfter: time.Minute,
			MaxFailures: 5, FailureWindow: time.Minute, StopTimeout: 500 * time.Millisecond,
			Started: func(pid int) { started <- pid },
			Log:     log.New(&out, "", 0),
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		<-started
		time.Sleep(200 * time.Millisecond) // let the trap be set
		t0 := time.Now()
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Run did not return", tc.name)
		}
		_, err := os.Stat(marker)
		if (err == nil) != tc.clean {
			t.Errorf("%s: clean shutdown marker present=%v", tc.name, err == nil)
		}
		killed := strings.Contains(out.String(), "killing it")
		if killed == tc.clean || (killed && time.Since(t0) < 500*time.Millisecond) {
			t.Errorf("%s: killed=%v after %s:\n%s", tc.name, killed, time.Since(t0), out.String())
		}
		if s.Starts() != 1 {
			t.Errorf("%s: restarted during shutdown (%d starts)", tc.name, s.Starts())
		}
	}
}

// An exit the caller recognises as a request ends supervision: no restart.
func TestExitedStops(t *testing.T) {
	var seen []string
	s := &Supervisor{
		Command:    func() *exec.Cmd { return exec.Command("sh", "-c", "exit 3") },
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, StableAfter: time.Minute,
		MaxFailures: 5, FailureWindow: time.Minute, StopTimeout: time.Second,
		Exited: func(err error) bool {
			seen = append(seen, err.Error())
			return true
		},
		Log: log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() { s.Run(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run went on after Exited said stop")
	}
	if s.Starts() != 1 || len(seen) != 1 || seen[0] != "exit status 3" {
		t.Errorf("starts %d, exits seen %v", s.Starts(), seen)
	}
}
