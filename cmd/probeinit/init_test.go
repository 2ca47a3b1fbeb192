package main

import (
	"slices"
	"testing"
	"time"
)

func TestConsoleNames(t *testing.T) {
	for _, c := range []struct {
		cmdline string
		want    []string
	}{
		{"console=ttyS0,115200 console=tty0 panic=5 quiet probe.slot=a", []string{"ttyS0", "tty0"}},
		{"console=ttyS0,115200 apparmor=0 maxcpus=1", []string{"ttyS0"}},
		{"quiet", nil},
		{"console=null console=../sda console= console=hvc0", []string{"hvc0"}},
	} {
		if got := consoleNames(c.cmdline); !slices.Equal(got, c.want) {
			t.Errorf("consoleNames(%q) = %v, want %v", c.cmdline, got, c.want)
		}
	}
}

// What waits for the end of the boot (the rescue shell, the late modules)
// goes on once REST answered, and a second end of the boot is harmless.
func TestAfterBoot(t *testing.T) {
	boot := newBootGate()
	done := make(chan struct{})
	go func() {
		boot.wait()
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("wait returned before the boot ended")
	case <-time.After(50 * time.Millisecond):
	}
	boot.end()
	boot.end()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("wait still waits after end")
	}
	boot.wait() // returns at once now
}
