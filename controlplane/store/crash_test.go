package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv makes the test binary a crash child: it opens the store
// in the directory named by the variable and writes configuration until it
// is killed, printing every change a write acknowledged.
const crashChildEnv = "STORE_CRASH_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv("STORE_CRASH_CHILD_BASE")))
	}
	if dir := os.Getenv(fullChildEnv); dir != "" {
		os.Exit(fullChild(dir))
	}
	os.Exit(m.Run())
}

func crashChild(dir, baseS string) int {
	base, _ := strconv.Atoi(baseS)
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	// Each change is announced ("try") before it is made and acknowledged
	// after the write returned: a change killed in between may or may not
	// be there, an acknowledged one must.
	say := func(f string, a ...any) { fmt.Fprintf(out, f, a...); out.Flush() }
	// Bounded even if nobody kills us.
	for i := base; i < base+100000; i++ {
		key := "k" + strconv.Itoa(i)
		say("try %d\n", i)
		var err error
		if i%5 == 0 {
			err = s.PutTTL("sessions", key, i, time.Hour)
		} else {
			err = s.Put("cfg", key, i)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		say("put %d\n", i)
		if i%4 == 3 {
			del := i - 2
			ns := "cfg"
			if del%5 == 0 {
				ns = "sessions"
			}
			say("try %d\n", del)
			if err := s.Delete(ns, "k"+strconv.Itoa(del)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			say("del %d\n", del)
		}
	}
	s.Close()
	return 0
}

// TestCrashKeepsAcknowledgedConfig kills a real child process (this test
// binary) with SIGKILL at random points while it writes configuration,
// 30 times on the same store, and checks after each kill that every write
// and delete the child saw acknowledged is in the reopened store.
func TestCrashKeepsAcknowledgedConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 30 processes")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 19))
	deadline := time.Now().Add(50 * time.Second)
	const runs = 30
	totalPuts, totalDels := 0, 0
	for run := 0; run < runs; run++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d runs in time", run, runs)
		}
		base := run * 1_000_000
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "STORE_CRASH_CHILD_BASE="+strconv.Itoa(base))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill once the child acknowledged its first write, then after a
		// random 0-300 ms more.
		first := <-lines
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		acked := []string{first}
		for l := range lines {
			acked = append(acked, l)
		}
		_ = cmd.Wait()
		if first == "" {
			t.Fatalf("run %d: child acknowledged nothing: %s", run, stderr.String())
		}
		want := map[int]bool{} // key -> must exist (true) or must be gone (false)
		inFlight := -1         // the change announced but not acknowledged
		for _, l := range acked {
			op, n, ok := strings.Cut(l, " ")
			i, err := strconv.Atoi(n)
			if !ok || err != nil {
				continue // a line torn by the kill
			}
			switch op {
			case "try":
				inFlight = i
				continue
			case "put":
				totalPuts++
			default:
				totalDels++
			}
			want[i] = op == "put"
			inFlight = -1
		}
		delete(want, inFlight)
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("run %d: reopen after kill: %v", run, err)
		}
		lost := 0
		for i, present := range want {
			ns := "cfg"
			if i%5 == 0 {
				ns = "sessions"
			}
			var v int
			found, err := s.Get(ns, "k"+strconv.Itoa(i), &v)
			if err != nil {
				t.Fatalf("run %d: get k%d: %v", run, i, err)
			}
			if found != present || (found && v != i) {
				lost++
				if lost <= 5 {
					t.Errorf("run %d: k%d: found=%v value=%d, acknowledged %s", run, i, found, v, map[bool]string{true: "put", false: "delete"}[present])
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("run %d: close: %v", run, err)
		}
		if lost > 0 {
			t.Fatalf("run %d: %d acknowledged changes lost", run, lost)
		}
	}
	t.Logf("%d runs: %d acknowledged puts and %d deletes, all found after SIGKILL", runs, totalPuts, totalDels)
}
