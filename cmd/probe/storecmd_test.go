package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// runProbe runs the built probe to its end (bounded) and returns its exit
// status and output.
func runProbe(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(probeBin, args...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(timeout, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
			t.Fatalf("probe %v: killed (%v) after %v; output:\n%s", args, ws.Signal(), timeout, out)
		}
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

// storedPackets sums the packets of every stored flow of ifid 0.
func storedPackets(t *testing.T, dir string) uint64 {
	t.Helper()
	_, pkts, _ := storedFlows(t, dir, func(*store.FlowRecord) bool { return true })
	return pkts
}

// TestStoreBackupRestoreCheck runs `probe store check`, `backup` and
// `restore` on a real probe's data directory: the restored store has the
// changed admin password (admin/admin refused) and every stored packet;
// then damage makes check exit 1 naming the file, and the probe refuse to
// start with a message instead of serving a new store with admin/admin.
func TestStoreBackupRestoreCheck(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "c.pcap")
	tr := writeCapture(t, pcap, 10)
	db := filepath.Join(dir, "db")
	p := startProbe(t, "-i", pcap, "--data-dir", db)
	p.stop(t)
	// What the probe stored (read with the store package, not through
	// backup): a capture's non-IP packets make no flow.
	want := storedPackets(t, db)
	if want == 0 || want > uint64(tr.packets) {
		t.Fatalf("the probe stored %d packets of %d", want, tr.packets)
	}

	code, out := runProbe(t, 60*time.Second, "store", "check", "--data-dir", db)
	if code != 0 || !strings.Contains(out, "0 problems") {
		t.Fatalf("check of a sound store: %d\n%s", code, out)
	}
	backup := filepath.Join(dir, "probe.backup")
	if code, out := runProbe(t, 60*time.Second, "store", "backup", backup, "--data-dir", db); code != 0 {
		t.Fatalf("backup: %d\n%s", code, out)
	}
	// Restore refuses a directory holding a store.
	if code, out := runProbe(t, 60*time.Second, "store", "restore", backup, "--data-dir", db); code == 0 || !strings.Contains(out, "already holds a store") {
		t.Fatalf("restore over a store: %d\n%s", code, out)
	}
	restored := filepath.Join(dir, "restored")
	if code, out := runProbe(t, 60*time.Second, "store", "restore", backup, "--data-dir", restored); code != 0 {
		t.Fatalf("restore: %d\n%s", code, out)
	}
	if got := storedPackets(t, restored); got != want {
		t.Errorf("restored store: %d packets, the original %d", got, want)
	}
	r := startProbe(t, "-i", pcap, "--data-dir", restored, keepDefaultAdmin)
	if a := r.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basic("admin", testAdminPassword)); a.status != 200 {
		t.Errorf("restored store: the changed password: %d %s", a.status, a.body)
	}
	if a := r.call(t, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basic("admin", "admin")); a.status == 200 {
		t.Errorf("restored store: admin/admin answered 200")
	}
	// A running probe holds its directory: check says so, it is no damage.
	if code, out := runProbe(t, 60*time.Second, "store", "check", "--data-dir", restored); code != 2 || !strings.Contains(out, "stop the probe") {
		t.Errorf("check of a running probe's directory: exit %d, want 2 saying to stop the probe:\n%s", code, out)
	}
	r.stop(t)

	// Damage: 4 KiB of garbage in the middle of a table.
	ents, _ := os.ReadDir(db)
	var sst string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") {
			sst = filepath.Join(db, e.Name())
		}
	}
	if sst == "" {
		t.Fatalf("no table in %s: %v", db, ents)
	}
	fi, _ := os.Stat(sst)
	f, err := os.OpenFile(sst, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := make([]byte, 4096)
	for i := range g {
		g[i] = byte(rand.Uint32())
	}
	if _, err := f.WriteAt(g, max(0, fi.Size()/2-2048)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	code, out = runProbe(t, 60*time.Second, "store", "check", "--data-dir", db)
	if code != 1 || !strings.Contains(out, "damaged: file "+sst) {
		t.Errorf("check of a damaged table: exit %d, want 1 naming %s:\n%s", code, sst, out)
	}
	code, out = runProbe(t, 60*time.Second, "-i", pcap, "--data-dir", db, "--http-addr", "127.0.0.1", "--http-port", fmt.Sprint(freePort(t)), "--goprobe-api", "")
	if code == 0 || !strings.Contains(out, filepath.Base(sst)) {
		t.Errorf("probe on a damaged table: exit %d, want non-zero naming %s:\n%s", code, sst, out)
	}

	// MANIFEST gone: never a new empty store (with admin/admin).
	if err := os.Remove(filepath.Join(restored, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	code, out = runProbe(t, 60*time.Second, "-i", pcap, "--data-dir", restored, "--http-addr", "127.0.0.1", "--http-port", fmt.Sprint(freePort(t)), "--goprobe-api", "")
	if code == 0 || !strings.Contains(out, "no MANIFEST") {
		t.Errorf("probe without MANIFEST: exit %d, want non-zero saying so:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(restored, "MANIFEST")); err == nil {
		t.Errorf("the probe created a new MANIFEST over the old data")
	}
	code, out = runProbe(t, 60*time.Second, "store", "check", "--data-dir", restored)
	if code != 1 || !strings.Contains(out, "no MANIFEST") {
		t.Errorf("check without MANIFEST: exit %d:\n%s", code, out)
	}
}

// TestShutdownWithoutDataDir deletes the data directory of a running
// probe and sends SIGTERM: Badger cannot write its memtable and retries
// forever, but the probe must exit within a bounded time, non-zero, saying
// what was lost.
func TestShutdownWithoutDataDir(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "c.pcap")
	writeCapture(t, pcap, 10)
	db := filepath.Join(dir, "db")
	p := startProbe(t, "-i", pcap, "--data-dir", db)
	if err := os.RemoveAll(db); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() <= 0 {
			t.Errorf("probe exited with %v, want a non-zero status; output:\n%s", err, p.out)
		}
		if !strings.Contains(p.out.String(), "close timed out") {
			t.Errorf("probe did not say what was lost; output:\n%s", p.out)
		}
		t.Logf("exited %v after SIGTERM: %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("probe still running 40 s after SIGTERM; output:\n%s", lastLines(p.out.String(), 20))
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
