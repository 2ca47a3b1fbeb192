package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long the probe gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// probeProc is a running probe and the means to observe its exit.
type probeProc struct {
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	exited  chan struct{}
	waitErr error // valid once exited is closed
}

// startProbe launches the probe with its output in logPath.
func startProbe(bin string, args []string, dir, logPath string) (*probeProc, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create probe log: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start probe: %w", err)
	}
	p := &probeProc{cmd: cmd, log: log, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop asks the probe to exit like an operator would and reports whether it
// honoured the "SIGTERM means clean exit" contract.
func (p *probeProc) stop() error {
	defer p.log.Close()
	select {
	case <-p.exited:
		return fmt.Errorf("probe had already exited: %s", p.exitDetail())
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal probe: %w", err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("probe exit after SIGTERM not clean: %s", p.exitDetail())
		}
		return nil
	case <-time.After(stopGrace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("probe ignored SIGTERM for %s, killed", stopGrace)
	}
}

// exitDetail describes how the probe ended, with its last log line since that
// is usually the error message.
func (p *probeProc) exitDetail() string {
	detail := "exit status 0"
	if p.waitErr != nil {
		detail = p.waitErr.Error()
	}
	if last := lastLine(p.logPath); last != "" {
		detail += ": " + last
	}
	return detail
}

func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 200 {
		last = last[:200] + "…"
	}
	return last
}

// waitPort polls until something accepts connections on localhost:port.
func (p *probeProc) waitPort(ctx context.Context, port int, timeout time.Duration) error {
	addr := net.JoinHostPort("localhost", strconv.Itoa(port))
	return p.waitFor(ctx, timeout, "HTTP port "+strconv.Itoa(port), func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// waitFile polls until path exists (the probe's ready file).
func (p *probeProc) waitFile(ctx context.Context, path string, timeout time.Duration) error {
	return p.waitFor(ctx, timeout, "ready file", func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

// waitFor polls cond, failing fast if the probe dies meanwhile.
func (p *probeProc) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("probe exited while waiting for %s: %s", what, p.exitDetail())
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %s", what, timeout)
		}
	}
}

// portInUse tells whether something already listens on the port; the
// snippets hard-code it, so a leftover server would answer in our place.
func portInUse(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("localhost", strconv.Itoa(port)), 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// runSnippet runs a test's shell snippet the way run.sh does (bash <file>)
// and returns its stdout. A non-zero exit is not an error upstream: whatever
// was printed is the output. stderr goes to a side file for --keep.
func runSnippet(ctx context.Context, dir, phase, script string, timeout time.Duration) ([]byte, error) {
	scriptPath := dir + "/" + phase + ".sh"
	if err := os.WriteFile(scriptPath, []byte(script), 0o644); err != nil {
		return nil, fmt.Errorf("write %s snippet: %w", phase, err)
	}
	stderr, err := os.Create(dir + "/" + phase + ".stderr")
	if err != nil {
		return nil, fmt.Errorf("create %s stderr: %w", phase, err)
	}
	defer stderr.Close()

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", scriptPath)
	cmd.Dir = dir
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	// Own process group so a timeout also kills the curl children, which
	// would otherwise keep the stdout pipe open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return stdout.Bytes(), fmt.Errorf("%s snippet: %w after %s", phase, ctx.Err(), timeout)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return stdout.Bytes(), fmt.Errorf("run %s snippet: %w", phase, err)
	}
	return stdout.Bytes(), nil
}
