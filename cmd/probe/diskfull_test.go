package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/probe-appliance/probe/internal/fixture"
)

// TestDiskFullProbe runs the real probe with its data directory on a
// 64 MiB tmpfs (20 MiB of it taken by another file) and feeds it new flows
// through a FIFO until the store refuses flow history: the probe must not
// crash (Badger's mmaps fault with SIGBUS on a full file system), REST must
// keep answering, a system alert must be raised, and once the other file
// is deleted the alert must be released while flows keep coming.
func TestDiskFullProbe(t *testing.T) {
	mnt := fixture.Tmpfs(t, 64<<20)
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 20<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "feed.pcap")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	port := freePort(t)
	// --max-disk above the file system: retention must not free space
	// here, only deleting the other file does.
	cmd := exec.Command(probeBin, "-i", fifo, "--data-dir", filepath.Join(mnt, "db"), "--disable-login", "--max-disk", "1GB",
		"--http-addr", "127.0.0.1", "--http-port", fmt.Sprint(port), "--goprobe-api", "")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	}()
	opened := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() }) // the FIFO open waits for the probe
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	opened.Stop()
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	// The feeder: the same 8,000 flows in every 5-minute block of packet
	// time, so every block the probe closes writes 8,000 flow records.
	// Offline tables expire no flows; new flows in every block would fill
	// the table, and with 100,000s of flows the checks' passes hold it
	// long enough to starve the capture, which is not what this test is
	// about.
	const flowsPerBlock = 8000
	var stop atomic.Bool
	fed := make(chan int, 1)
	go func() {
		defer f.Close()
		base := time.Unix(1_700_000_100, 0)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		n := 0
		for ; n < 50_000_000 && !stop.Load(); n++ {
			blk, i := n/flowsPerBlock, n%flowsPerBlock
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
				SrcIP: net.IPv4(10, 0, byte(i>>8), byte(i)).To4(), DstIP: net.IPv4(192, 0, 2, 1).To4()}
			u := &layers.UDP{SrcPort: 5353, DstPort: 53}
			_ = u.SetNetworkLayerForChecksum(ip)
			buf := gopacket.NewSerializeBuffer()
			if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, u, gopacket.Payload(make([]byte, 32))); err != nil {
				break
			}
			ts := base.Add(time.Duration(blk)*5*time.Minute + time.Duration(i)*time.Millisecond)
			if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
				break // the probe went away: the checks below say why
			}
		}
		fed <- n
	}()
	defer func() {
		stop.Store(true)
		select {
		case <-fed:
		case <-time.After(10 * time.Second):
		}
	}()

	alive := func() {
		t.Helper()
		select {
		case <-exited:
			t.Fatalf("the probe died: %v; output:\n%s", exitErr, tail(out.String(), 30))
		default:
		}
	}
	storeAlert := func() (engaged bool) {
		t.Helper()
		alive()
		p := &probeProc{cmd: cmd, port: port, out: out}
		a := p.call(t, "GET", "/lua/rest/v1/get/all/alert/list.lua?ifid=-1&status=engaged", "", nil)
		if a.status != 200 {
			t.Fatalf("REST on a full disk: %d %s", a.status, a.body)
		}
		var rsp struct {
			Records []map[string]any `json:"records"`
		}
		if err := json.Unmarshal(a.env.Rsp, &rsp); err != nil {
			t.Fatalf("alert list: %s", a.body)
		}
		for _, r := range rsp.Records {
			if r["entity_val"] == "store" {
				return true
			}
		}
		return false
	}
	// REST comes up once the probe opened its input.
	poll(t, 10*time.Second, "the REST listener", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	start := time.Now()
	for deadline := time.Now().Add(90 * time.Second); !storeAlert(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			dumpGoroutines(t, cmd, out)
			t.Fatalf("no disk-full alert in 90 s")
		}
	}
	t.Logf("alert raised after %v", time.Since(start).Round(time.Millisecond))
	// Still full while the next blocks come: flow history refused (and
	// logged), the probe alive and answering, the alert engaged.
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out.String(), "flow history is not written until space returns"); {
		if !storeAlert() {
			t.Fatalf("the disk-full alert was released with the disk still full")
		}
		if time.Now().After(deadline) {
			dumpGoroutines(t, cmd, out)
			t.Fatalf("no flow write refused in 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The store logs history stopping once; the writer adds no line per
	// refused batch.
	if n := strings.Count(out.String(), `msg="writing flows"`); n > 0 {
		t.Errorf("the writer logged %d refused batches besides the store's message:\n%s", n, tail(out.String(), 20))
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	poll(t, 60*time.Second, "the disk-full alert to be released", func() bool { return !storeAlert() })
	// And it stays released: flows are stored again.
	for i := 0; i < 10; i++ {
		if storeAlert() {
			t.Fatalf("the disk-full alert came back with space free")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("alert released %v after space returned", time.Since(start).Round(time.Millisecond))
	alive()
	stop.Store(true)
	n := <-fed
	t.Logf("fed %d packets", n)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("probe exit after the disk-full episode: %v; output:\n%s", exitErr, tail(out.String(), 20))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("probe did not stop on SIGTERM")
	}
}

func tail(s string, n int) string { return lastLines(s, n) }

// dumpGoroutines logs the probe's output with its goroutines (SIGQUIT):
// a stalled capture shows who holds what.
func dumpGoroutines(t *testing.T, cmd *exec.Cmd, out *strings.Builder) {
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	time.Sleep(2 * time.Second)
	t.Logf("probe output and goroutines:\n%s", out.String())
}
