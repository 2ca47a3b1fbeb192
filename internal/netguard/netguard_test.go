package netguard

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// flaky fails Accept with errs in order, then accepts from the real one.
type flaky struct {
	net.Listener
	errs []error
}

func (f *flaky) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

func TestAcceptWaitsOutResourceErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	enfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ENFILE)}
	g := Wrap(&flaky{Listener: ln, errs: []error{emfile, emfile, enfile, emfile}}, "test", nil)
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := g.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	c.Close()
	if n := g.Retries.Load(); n != 4 {
		t.Errorf("%d retries, want 4", n)
	}
}

func TestAcceptReturnsOnClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := Wrap(ln, "test", nil)
	ln.Close()
	done := make(chan error, 1)
	go func() { _, err := g.Accept(); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept on a closed listener: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept on a closed listener did not return")
	}
}

func TestRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{os.NewSyscallError("accept4", syscall.EMFILE), true},
		{os.NewSyscallError("accept4", syscall.ENFILE), true},
		{os.NewSyscallError("accept4", syscall.ENOBUFS), true},
		{os.NewSyscallError("accept4", syscall.ECONNABORTED), true},
		{net.ErrClosed, false},
		{os.NewSyscallError("accept4", syscall.EBADF), false},
		{os.NewSyscallError("accept4", syscall.EINVAL), false},
	} {
		if got := Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
