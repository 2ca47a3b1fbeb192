// Package reap lets process 1 (probeinit) reap the orphans the kernel hands
// it without stealing the exit status of its own children: those it starts
// are registered (Start, Run) and left to their exec.Cmd's Wait; any other
// zombie child is an orphan and is reaped by Orphans.
//
// A blind wait4(-1) would race with exec.Cmd.Wait on the supervised probe
// (whose exit status says whether it asked for a factory reset, an update
// or a reboot); a registry under one lock cannot.
package reap

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var (
	mu    sync.Mutex
	owned = map[int]bool{}
)

// Start starts c as a child whose exit status its owner collects with Wait.
func Start(c *exec.Cmd) error {
	mu.Lock()
	defer mu.Unlock()
	if err := c.Start(); err != nil {
		return err
	}
	owned[c.Process.Pid] = true
	return nil
}

// Wait waits for a child started with Start.
func Wait(c *exec.Cmd) error {
	err := c.Wait()
	mu.Lock()
	delete(owned, c.Process.Pid)
	mu.Unlock()
	return err
}

// Run starts c with Start and waits for it.
func Run(c *exec.Cmd) error {
	if err := Start(c); err != nil {
		return err
	}
	return Wait(c)
}

// Orphans reaps zombie children that nobody started with Start, on every
// SIGCHLD and every interval (a signal can be coalesced), until ctx ends;
// reaped is called with each one's pid (may be nil).
func Orphans(ctx context.Context, interval time.Duration, reaped func(pid int, status unix.WaitStatus)) {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, p := range Once() {
			if reaped != nil {
				reaped(p.Pid, p.Status)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-sig:
		case <-tick.C:
		}
	}
}

// Reaped is one orphan collected by Once.
type Reaped struct {
	Pid    int
	Status unix.WaitStatus
}

// Once reaps the orphan zombies present now.
func Once() []Reaped {
	mu.Lock()
	defer mu.Unlock()
	var out []Reaped
	for _, pid := range zombieChildren("/proc", os.Getpid()) {
		if owned[pid] {
			continue
		}
		var st unix.WaitStatus
		if p, err := unix.Wait4(pid, &st, unix.WNOHANG, nil); err == nil && p == pid {
			out = append(out, Reaped{Pid: pid, Status: st})
		}
	}
	return out
}

// zombieChildren lists the zombie processes in a /proc whose parent is ppid.
func zombieChildren(proc string, ppid int) []int {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil {
			continue
		}
		state, parent, err := parseStat(string(raw))
		if err == nil && state == "Z" && parent == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// parseStat reads the state and parent pid of a /proc/PID/stat line; the
// command name in parentheses may itself hold spaces and parentheses.
func parseStat(s string) (state string, ppid int, err error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, errors.New("reap: no command name in stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return "", 0, errors.New("reap: short stat")
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err
}
