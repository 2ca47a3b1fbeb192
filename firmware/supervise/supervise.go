// Package supervise keeps one service process running: it restarts it when
// it exits, with exponential back-off that resets once the process stayed up
// for a while, stops it gracefully (SIGTERM, then SIGKILL after a grace
// period), and says whether it is healthy so that the caller can stop petting
// the hardware watchdog when the service is crash-looping — then the box
// reboots, which is what an unattended appliance should do.
package supervise

import (
	"context"
	"errors"
	"log"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Supervisor runs Command again and again until its context ends.
type Supervisor struct {
	// Command builds a fresh *exec.Cmd for every start.
	Command func() *exec.Cmd
	// MinBackoff and MaxBackoff bound the wait before a restart.
	MinBackoff, MaxBackoff time.Duration
	// StableAfter is how long a run must last for the back-off to reset.
	StableAfter time.Duration
	// MaxFailures exits within FailureWindow make the service unhealthy.
	MaxFailures   int
	FailureWindow time.Duration
	// StopTimeout is the grace between SIGTERM and SIGKILL.
	StopTimeout time.Duration
	// Start and Wait start the process and wait for it (nil: the
	// exec.Cmd's own); process 1 passes reap.Start and reap.Wait so that
	// its orphan reaper leaves the service's exit status alone.
	Start, Wait func(*exec.Cmd) error
	// Started is called after each successful start (may be nil).
	Started func(pid int)
	// Exited sees how each run ended (may be nil); true ends supervision
	// (the service asked for something other than a restart).
	Exited func(err error) (stop bool)
	Log    *log.Logger

	mu       sync.Mutex
	failures []time.Time
	starts   int
}

// Healthy reports whether the service is not crash-looping.
func (s *Supervisor) Healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recentFailures(time.Now())) < s.MaxFailures
}

// Starts is how many times the service was started.
func (s *Supervisor) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

func (s *Supervisor) recentFailures(now time.Time) []time.Time {
	i := 0
	for i < len(s.failures) && now.Sub(s.failures[i]) > s.FailureWindow {
		i++
	}
	s.failures = s.failures[i:]
	return s.failures
}

// Run supervises until ctx ends, then stops the service and returns.
func (s *Supervisor) Run(ctx context.Context) error {
	backoff := s.MinBackoff
	for {
		cmd := s.Command()
		// Its own process group: a SIGTERM for the probe must not reach the
		// supervisor's console session, and the kill reaches any children.
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Setpgid = true
		start := time.Now()
		var err error
		if s.Start != nil {
			err = s.Start(cmd)
		} else {
			err = cmd.Start()
		}
		if err == nil {
			s.mu.Lock()
			s.starts++
			s.mu.Unlock()
			if s.Started != nil {
				s.Started(cmd.Process.Pid)
			}
			err = s.wait(ctx, cmd)
			if ctx.Err() != nil {
				return nil
			}
		}
		ran := time.Since(start)
		s.Log.Printf("%s exited after %s: %v", cmd.Path, ran.Round(time.Millisecond), exitReason(err))
		if s.Exited != nil && s.Exited(err) {
			return nil
		}
		s.mu.Lock()
		s.failures = append(s.failures, time.Now())
		s.mu.Unlock()
		if ran >= s.StableAfter {
			backoff = s.MinBackoff
		}
		s.Log.Printf("restarting in %s", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, s.MaxBackoff)
	}
}

// wait returns when the process exits; if ctx ends first it stops it.
func (s *Supervisor) wait(ctx context.Context, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		if s.Wait != nil {
			done <- s.Wait(cmd)
			return
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.Log.Printf("stopping %s (pid %d)", cmd.Path, cmd.Process.Pid)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case <-time.After(s.StopTimeout):
		s.Log.Printf("%s did not stop within %s: killing it", cmd.Path, s.StopTimeout)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return <-done
	}
}

func exitReason(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.String()
	default:
		return err.Error()
	}
}
