package main

import (
	"slices"
	"testing"
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
