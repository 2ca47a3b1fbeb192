package main

import (
	"strings"
	"testing"
	"time"
)

func TestFindKmsg(t *testing.T) {
	log := "6,1,0,-;Linux version 6.1.0\n" +
		"6,412,2951583,-;Run /init as init process\n" +
		" with arguments:\n" +
		"5,413,3000000,-;random: crng init done\n"
	for _, c := range []struct {
		prefix string
		want   time.Duration
		err    bool
	}{
		{"Run /init as init process", 2951583 * time.Microsecond, false},
		{"random: crng init done", 3 * time.Second, false},
		{"Freeing initrd", 0, true},
	} {
		got, err := findKmsg(strings.NewReader(log), c.prefix)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%q: %v %v, want %v (error %v)", c.prefix, got, err, c.want, c.err)
		}
	}
}

func TestBootTraceString(t *testing.T) {
	var tr bootTrace
	tr.markAt(stepKernel, 2500*time.Millisecond)
	tr.markAt(stepInit, 2612*time.Millisecond)
	tr.markAt(stepReady, 4100*time.Millisecond)
	if got, want := tr.String(), "kernel=2.500 init=2.612 ready=4.100"; got != want {
		t.Errorf("trace %q, want %q", got, want)
	}
}

func TestBootCPUParsing(t *testing.T) {
	busy, idle, ok := statBusy("cpu  100 5 50 300 20 1 2 0 7 0")
	if !ok || busy != 1580*time.Millisecond || idle != 3200*time.Millisecond {
		t.Errorf("statBusy = %v %v %v, want 1.58s 3.2s", busy, idle, ok)
	}
	if _, _, ok := statBusy("cpu0 1 2 3 4 5"); ok {
		t.Error("a per-CPU line read as the total")
	}
	if got, ok := procCPU("7 (pro be) S 1 7 7 0 -1 0 0 0 0 0 120 30 0 0"); !ok || got != 1500*time.Millisecond {
		t.Errorf("procCPU = %v %v, want 1.5s", got, ok)
	}
	if _, ok := procCPU("7 probe S"); ok {
		t.Error("procCPU read a line without a command name")
	}
}
