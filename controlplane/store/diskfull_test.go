package store

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/probe-appliance/probe/internal/fixture"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const fullChildEnv = "STORE_FULL_CHILD_DIR"

// fullChild fills the store in dir with flows until history is refused,
// then configuration until that is refused, reporting each step on
// stdout; after "freed" on stdin it waits for Health to clear and writes
// flows again. Any SIGBUS kills it, which the parent sees.
func fullChild(dir string) int {
	say := func(f string, a ...any) { fmt.Printf(f+"\n", a...) }
	fail := func(f string, a ...any) int { fmt.Fprintf(os.Stderr, f+"\n", a...); return 1 }
	s, err := Open(dir, Options{})
	if err != nil {
		return fail("open: %v", err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	batches := 0
	for ; batches < 5000; batches++ {
		recs := realisticFlows(rng, 2000, 1, 1_700_000_000+int64(batches)*60)
		err := s.WriteFlows(recs)
		if errors.Is(err, ErrDiskFull) {
			break
		}
		if err != nil {
			return fail("write flows: %v", err)
		}
	}
	h := s.Health()
	if !h.Degraded {
		return fail("history refused but Health not degraded: %+v", h)
	}
	say("history-full batches=%d free=%d reason=%q", batches, h.FreeBytes, h.Reason)
	// Configuration goes on in the reserve.
	cfg := 0
	big := strings.Repeat("c", 4000)
	for ; cfg < 100000; cfg++ {
		err := s.Put("cfg", strconv.Itoa(cfg), big)
		if errors.Is(err, ErrDiskFull) {
			break
		}
		if err != nil {
			return fail("put: %v", err)
		}
	}
	say("config-full records=%d free=%d", cfg, s.Health().FreeBytes)
	// Reads keep working on a full disk.
	var v string
	if found, err := s.Get("cfg", "0", &v); err != nil || !found || v != big {
		return fail("read back on a full disk: found=%v err=%v", found, err)
	}
	n := 0
	if err := s.ScanFlows(1, 0, 1<<40, func(*FlowRecord) error { n++; return nil }); err != nil {
		return fail("scan on a full disk: %v", err)
	}
	say("read flows=%d", n)
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "freed" {
		return fail("no freed from parent")
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Health().Degraded {
		if time.Now().After(deadline) {
			return fail("Health still degraded 10 s after space was freed: %+v", s.Health())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.WriteFlows(realisticFlows(rng, 2000, 1, 1_700_000_000)); err != nil {
		return fail("write flows after space returned: %v", err)
	}
	if err := s.Put("cfg", "after", "ok"); err != nil {
		return fail("put after space returned: %v", err)
	}
	say("resumed")
	if err := s.Close(); err != nil {
		return fail("close: %v", err)
	}
	return 0
}

// TestDiskFull fills a store on a small tmpfs (64 MiB, with 20 MiB of it
// taken by another file) in a child process: flow history must be refused
// with ErrDiskFull and Health degraded, configuration still written into
// the reserve, nothing may crash (Badger's mmaps fault with SIGBUS on a
// full file system), and once the other file is deleted Health clears and
// writes resume. Then the store must reopen with what was acknowledged.
func TestDiskFull(t *testing.T) {
	mnt := fixture.Tmpfs(t, 64<<20)
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 20<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "data")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fullChildEnv+"="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(45*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	sc := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		t.Helper()
		if !sc.Scan() {
			cmd.Wait()
			t.Fatalf("child ended before %q: %v\n%s", prefix, cmd.ProcessState, lastLines(stderr.String(), 20))
		}
		if !strings.HasPrefix(sc.Text(), prefix) {
			t.Fatalf("child said %q, want %q", sc.Text(), prefix)
		}
		t.Log(sc.Text())
		return sc.Text()
	}
	expect("history-full")
	expect("config-full")
	expect("read flows")
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, "freed")
	expect("resumed")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	// What was acknowledged is there after a restart on the same disk.
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v string
	if found, err := s.Get("cfg", "after", &v); err != nil || !found || v != "ok" {
		t.Fatalf("after restart: found=%v err=%v", found, err)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
