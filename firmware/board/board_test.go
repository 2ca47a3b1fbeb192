package board

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Every board file in the repository parses and passes the checks.
func TestRepositoryBoards(t *testing.T) {
	files, err := filepath.Glob("../../board/*/board.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("board files: %v %v", files, err)
	}
	for _, f := range files {
		b, err := Load(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := filepath.Base(filepath.Dir(f)); b.Name != want {
			t.Errorf("%s: name %q, want the directory's %q", f, b.Name, want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	good := `{"name":"x","management":"eth0","monitor":["eth1"],"modules":["virtio_net"],"console":["ttyS0"],"watchdog":{"device":"/dev/watchdog","timeout":"30s"},"data_label":"PROBEDATA"}`
	b, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(b.Watchdog.Timeout) != 30*time.Second {
		t.Errorf("timeout %v", b.Watchdog.Timeout)
	}
	for _, tc := range []struct{ from, to, msg string }{
		{`"monitor":["eth1"]`, `"monitor":["eth0"]`, "both management and monitor"},
		{`"monitor":["eth1"]`, `"monitor":["*","eth2"]`, "only entry"},
		{`"monitor":["eth1"]`, `"monitor":[]`, "no monitor"},
		{`"virtio_net"`, `"virtio net"`, "bad module name"},
		{`"30s"`, `"1s"`, "watchdog"},
		{`"30s"`, `30`, "duration must be a string"},
		{`"PROBEDATA"`, `"A_LABEL_LONGER_THAN_16"`, "data_label"},
		{`"name":"x"`, `"name":"x","nmae":"y"`, "unknown field"},
		{`"name":"x"`, `"name":"x","kernel_args":["quiet loud"]`, "bad kernel argument"},
		{`"name":"x"`, `"name":"x","kernel_args":[""]`, "bad kernel argument"},
	} {
		_, err := Parse([]byte(strings.Replace(good, tc.from, tc.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s -> %s: error %v, want one saying %q", tc.from, tc.to, err, tc.msg)
		}
	}
}

func TestCmdLine(t *testing.T) {
	b := &Board{Console: []string{"ttyS0,115200", "tty0"}, KernelArgs: []string{"apparmor=0", "cryptomgr.notests"}}
	if got, want := b.CmdLine(), "console=ttyS0,115200 console=tty0 apparmor=0 cryptomgr.notests"; got != want {
		t.Errorf("CmdLine = %q, want %q", got, want)
	}
	if got := (&Board{}).CmdLine(); got != "" {
		t.Errorf("empty board: %q", got)
	}
}

func TestMonitorPorts(t *testing.T) {
	all := &Board{Management: "eth0", Monitor: []string{AllOthers}}
	if got := all.MonitorPorts([]string{"eth0", "eth1", "eth2"}); !slices.Equal(got, []string{"eth1", "eth2"}) {
		t.Errorf("all others: %v", got)
	}
	fixed := &Board{Management: "eth0", Monitor: []string{"eth3"}}
	if got := fixed.MonitorPorts([]string{"eth0", "eth1"}); !slices.Equal(got, []string{"eth3"}) {
		t.Errorf("fixed list: %v", got)
	}
}

func TestLoadMissing(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.json")); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
