package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// launchFlag makes the bench binary a launcher: it runs the command after
// it and writes the command's wait4 rusage as JSON to fd 3.
//
// Why: Linux records a process's peak RSS (ru_maxrss) across exec, and
// Go starts children sharing the parent's memory until they exec, so a
// tool started straight from the bench would report the bench's own
// peak (tens of MiB of captures and buffers) as its floor. Started from
// this small, fresh process, a tool's floor is the launcher's few MiB,
// which the read floor (tcpdump) row shows.
const launchFlag = "-launch-rusage"

// launched is what the launcher reports.
type launched struct {
	CPU    int64 // ns, user+sys
	MaxRSS int64 // bytes
	Floor  int64 // bytes: the launcher's RSS when the command started
	Exit   int
}

// launchMain is the launcher: SIGTERM to it kills the command (kill -9),
// so a caller can stop a tool that does not exit by itself.
func launchMain(args []string) {
	report := os.NewFile(3, "report")
	if len(args) == 0 || report == nil {
		fmt.Fprintln(os.Stderr, "launcher: no command or no fd 3")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// The peak so far is the launcher's start-up; from here it is the
	// current RSS (Linux ≥ 4.0), the floor the command inherits.
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	floor := selfRSS()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "launcher: %v\n", err)
		os.Exit(2)
	}
	go func() {
		<-sig
		cmd.Process.Kill()
	}()
	_ = cmd.Wait()
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	out := launched{Exit: cmd.ProcessState.ExitCode(), Floor: floor}
	if ru != nil {
		cpu, rss := fromRusage(ru)
		out.CPU, out.MaxRSS = int64(cpu), rss
	}
	if err := json.NewEncoder(report).Encode(out); err != nil {
		os.Exit(2)
	}
	os.Exit(0)
}

// selfRSS is this process's resident set (VmRSS) in bytes, 0 if unknown.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(l, "VmRSS: %d kB", &kb); err == nil {
			return kb * 1024
		}
	}
	return 0
}
