package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/firmware/appliance"
)

// TestEtherPortsIn lays out a /sys/class/net as the kernel does (a type
// file per interface, a device link for hardware) and checks which are
// monitor-port candidates.
func TestEtherPortsIn(t *testing.T) {
	sys := t.TempDir()
	for _, ifc := range []struct {
		name, typ string
		device    bool
	}{
		{"eth0", "1", true},
		{"enp3s0", "1\n", true}, // the kernel's newline
		{"lo", "772", false},
		{"br0", "1", false},    // bridge: Ethernet, no device
		{"veth1", "1", false},  // virtual
		{"wwan0", "519", true}, // hardware, not Ethernet
		{"notype", "", true},   // no type file
	} {
		dir := filepath.Join(sys, ifc.name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if ifc.typ != "" {
			if err := os.WriteFile(filepath.Join(dir, "type"), []byte(ifc.typ), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if ifc.device {
			if err := os.Mkdir(filepath.Join(dir, "device"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := etherPortsIn(sys)
	slices.Sort(got)
	if want := []string{"enp3s0", "eth0"}; !slices.Equal(got, want) {
		t.Errorf("etherPortsIn = %v, want %v", got, want)
	}
	if got := etherPortsIn(filepath.Join(sys, "missing")); len(got) != 0 {
		t.Errorf("no /sys/class/net: %v, want none", got)
	}
}

// TestExitRequest runs real processes that exit with each status: only
// the probe's request statuses are requests; a failure, a kill or an
// error that is no exit are not.
func TestExitRequest(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 1", 0},
		{"exit 2", 0},
		{"exit 3", appliance.ExitFactoryReset},
		{"exit 4", appliance.ExitUpdateStaged},
		{"exit 5", appliance.ExitReboot},
		{"exit 6", 0},
		{"kill -9 $$", 0},
	} {
		err := exec.Command("/bin/sh", "-c", tc.script).Run()
		if got := exitRequest(err); got != tc.want {
			t.Errorf("%q (%v): request %d, want %d", tc.script, err, got, tc.want)
		}
	}
	if got := exitRequest(fmt.Errorf("wrapped: %w", errors.New("fork failed"))); got != 0 {
		t.Errorf("not an exit: request %d, want 0", got)
	}
	// The supervisor may wrap the exit; the request still counts.
	err := exec.Command("/bin/sh", "-c", "exit 4").Run()
	if got := exitRequest(fmt.Errorf("probe: %w", err)); got != appliance.ExitUpdateStaged {
		t.Errorf("wrapped exit 4: request %d, want %d", got, appliance.ExitUpdateStaged)
	}
}

func TestParseControl(t *testing.T) {
	for _, tc := range []struct {
		line, cmd string
		kind      int
	}{
		{"status\n", "status", ctlStatus},
		{"reboot\n", "reboot", ctlReboot},
		{"poweroff\n", "poweroff", ctlPoweroff},
		{"  poweroff \r\n", "poweroff", ctlPoweroff},
		{"reboot", "reboot", ctlReboot}, // no newline: the peer closed
		{"REBOOT\n", "REBOOT", ctlUnknown},
		{"reboot now\n", "reboot now", ctlUnknown},
		{"\n", "", ctlUnknown},
		{"", "", ctlUnknown},
	} {
		cmd, kind := parseControl(tc.line)
		if cmd != tc.cmd || kind != tc.kind {
			t.Errorf("parseControl(%q) = %q, %d; want %q, %d", tc.line, cmd, kind, tc.cmd, tc.kind)
		}
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	if !waitFor(5*time.Second, time.Millisecond, func() bool { n++; return n == 3 }) || n != 3 {
		t.Errorf("condition true at the third try: %d tries", n)
	}
	n = 0
	start := time.Now()
	if waitFor(0, time.Millisecond, func() bool { n++; return false }) || n != 1 {
		t.Errorf("no time at all: %d tries, want 1 and false", n)
	}
	if waitFor(30*time.Millisecond, 5*time.Millisecond, func() bool { return false }) {
		t.Error("a condition never true was reported true")
	}
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("gave up after %v, before max", took)
	}
}
