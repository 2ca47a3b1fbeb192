// Package netguard keeps a listener serving when accepting fails for a
// while: out of descriptors (EMFILE, ENFILE), out of kernel memory
// (ENOBUFS, ENOMEM), a connection aborted before it was accepted. Servers
// such as fasthttp's return from Serve on such an error, which ends the
// probe; here Accept waits and tries again instead, with a capped
// exponential back-off (so a full descriptor table is not spun on), logs
// once per burst and goes on once descriptors are free again.
package netguard

import (
	"errors"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// Back-off bounds: the first retry is quick (a descriptor freed by an
// idle timeout is used at once), later ones at most MaxDelay apart.
const (
	MinDelay = 5 * time.Millisecond
	MaxDelay = time.Second
)

// Listener is a net.Listener whose Accept survives resource errors.
type Listener struct {
	net.Listener
	name string
	log  *slog.Logger

	// Retries counts accept errors waited out (tests and metrics read it).
	Retries atomic.Uint64
}

// Wrap returns ln guarded; name says which listener in the log.
func Wrap(ln net.Listener, name string, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.Default()
	}
	return &Listener{Listener: ln, name: name, log: log}
}

// Accept returns the next connection, waiting out resource errors; it
// returns an error only for one that retrying cannot fix (the listener
// closed).
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	var failed uint64
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			if failed > 0 {
				l.log.Info("accepting connections again", "listener", l.name, "failed_accepts", failed)
			}
			return c, nil
		}
		if !Retryable(err) {
			return nil, err
		}
		if failed == 0 {
			l.log.Warn("cannot accept connections: waiting for resources", "listener", l.name, "err", err)
		}
		failed++
		l.Retries.Add(1)
		delay = min(max(2*delay, MinDelay), MaxDelay)
		time.Sleep(delay)
	}
}

// Retryable reports whether an accept error is one a later accept may not
// have: resource exhaustion, or a connection the peer dropped early.
func Retryable(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EAGAIN, syscall.EINTR, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
