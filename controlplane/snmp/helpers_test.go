package snmp

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLogger sends a component's log to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// tool finds a net-snmp program; scripts/install-deps.sh installs them.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s not installed (scripts/install-deps.sh installs snmpd and snmp)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// freeUDPPort is a loopback UDP port nobody listens on right now.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// toolEnv keeps net-snmp from loading MIBs (Debian ships almost none, and
// numeric OIDs are what the tests use) and from sharing persistent state
// (engine boots, localized users) between instances.
func toolEnv(dir string) []string {
	return append(os.Environ(), "MIBS=", "MIBDIRS="+dir, "SNMP_PERSISTENT_DIR="+dir, "SNMPCONFPATH="+dir)
}

// snmpdConf is the agent every snmpd test runs: v1/v2c communities (one
// that sees only the interfaces group), one v3 user per auth/priv pair
// tested, and ifOperStatus/ifAdminStatus of lo
// (ifIndex 1 on Linux) made writable so a test can flip them with snmpset
// without touching the real interface.
const snmpdConf = `rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
rocommunity ifonly 127.0.0.1 .1.3.6.1.2.1.2
createUser probeuser SHA "authpass123" AES "privpass123"
createUser sha256user SHA-256 "authpass256" AES-256 "privpass256"
createUser md5user MD5 "authpassmd5" DES "privpassdes"
createUser authonly SHA "authpass123"
rouser probeuser priv
rouser sha256user priv
rouser md5user priv
rouser authonly auth
sysLocation test rack
sysContact probe-tests
sysName snmpd-under-test
sysObjectID .1.3.6.1.4.1.8072.3.2.10
override -rw .1.3.6.1.2.1.2.2.1.8.1 integer 1
override -rw .1.3.6.1.2.1.2.2.1.7.1 integer 1
`

type snmpd struct {
	port int
	dir  string
}

// startSnmpd runs a real net-snmp agent on a free loopback port for the
// test, and stops it (by its own pid) when the test ends.
func startSnmpd(t testing.TB) *snmpd {
	t.Helper()
	bin := tool(t, "snmpd")
	dir := t.TempDir()
	conf := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(conf, []byte(snmpdConf), 0o600); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		port := freeUDPPort(t)
		var out bytes.Buffer
		cmd := exec.Command(bin, "-f", "-Lo", "-C", "-c", conf, "-p", filepath.Join(dir, "pid"),
			fmt.Sprintf("udp:127.0.0.1:%d", port))
		cmd.Env = toolEnv(dir)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		s := &snmpd{port: port, dir: dir}
		if s.waitReady(exited) {
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return s
		}
		cmd.Process.Kill()
		<-exited
		if attempt == 2 {
			t.Fatalf("snmpd did not start: %s", out.String())
		}
	}
}

func (s *snmpd) waitReady(exited chan struct{}) bool {
	d := s.device(V2c)
	d.Timeout = 200 * time.Millisecond
	d.Retries = 0
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if _, err := Probe(context.Background(), d); err == nil {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// device is a Device for this snmpd; v3 uses probeuser (SHA/AES).
func (s *snmpd) device(v Version) Device {
	d := Device{Host: "127.0.0.1", Port: uint16(s.port), Version: v, Timeout: time.Second, Retries: 1, PollInterval: time.Second}
	if v == V3 {
		d.USMUser = USMUser{Username: "probeuser", Level: AuthPriv, AuthProtocol: SHA, AuthPassphrase: "authpass123",
			PrivProtocol: AES, PrivPassphrase: "privpass123"}
	} else {
		d.Community = "public"
	}
	if err := d.Validate(); err != nil {
		panic(err)
	}
	return d
}

func (s *snmpd) target() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

// runTool runs a net-snmp command line tool and returns its standard
// output; stderr (where net-snmp chats about its config directories) goes
// into the error.
func runTool(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool(t, name), args...)
	cmd.Env = toolEnv(t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), err
}

// events collects a poller's events for a test.
type events struct {
	mu  sync.Mutex
	evs []Event
	ch  chan Event
}

func newEvents() *events { return &events{ch: make(chan Event, 1024)} }

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
	select {
	case e.ch <- ev:
	default:
	}
}

// wait returns the first event (from now on) that match accepts.
func (e *events) wait(t testing.TB, timeout time.Duration, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-e.ch:
			if match(ev) {
				return ev
			}
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			t.Fatalf("no matching event within %v; got %+v", timeout, e.evs)
			return Event{}
		}
	}
}

func (e *events) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.evs...)
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func findIface(ds DeviceState, name string) (Interface, bool) {
	for _, i := range ds.Interfaces {
		if i.Name == name || i.Descr == name {
			return i, true
		}
	}
	return Interface{}, false
}

func hasKind(kind EventKind) func(Event) bool {
	return func(e Event) bool { return e.Kind == kind }
}
