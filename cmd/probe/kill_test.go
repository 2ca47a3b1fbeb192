package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/controlplane/store"
)

// TestKillDuringIngest feeds the probe a capture through a FIFO, block by
// block of packet time, kills it with SIGKILL while it waits for more, and
// then opens the store: every 5-minute block it had finished must be there
// with exactly its packets and bytes, and the store must open cleanly.
func TestKillDuringIngest(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "feed.pcap")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	db := filepath.Join(dir, "db")
	port := freePort(t)
	cmd := exec.Command(probeBin, "-i", fifo, "--data-dir", db, "--disable-login",
		"--http-addr", "127.0.0.1", "--http-port", fmt.Sprint(port), "--goprobe-api", "127.0.0.1:0")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the probe to open it
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1_700_000_100, 0) // block aligned
	const blocks = 5
	wantPkts := map[int64]uint64{}
	wantBytes := map[int64]uint64{}
	written := 0
	send := func(ts time.Time, i int) {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 0, 0, byte(1+i%3)).To4(), DstIP: net.IPv4(10, 0, 1, 1).To4()}
		u := &layers.UDP{SrcPort: layers.UDPPort(30000 + i%5), DstPort: 9999}
		_ = u.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, u, gopacket.Payload(make([]byte, 20+i%50))); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
		blk := store.BlockStart(ts.Unix())
		wantPkts[blk]++
		wantBytes[blk] += uint64(len(data))
		written++
	}
	for b := 0; b < blocks; b++ {
		for i := 0; i < 40; i++ {
			send(base.Add(time.Duration(b)*5*time.Minute+time.Duration(i)*5*time.Second), i)
		}
	}
	// One packet of the next block closes the last full one; it is the
	// "current interval" a kill may lose.
	send(base.Add(blocks*5*time.Minute+time.Second), 0)

	// Wait until the probe counted everything, give the writer a moment,
	// then kill it hard while it waits on the FIFO.
	p := &probeProc{cmd: cmd, port: port, out: out}
	// The REST listener comes up once the probe opened its inputs.
	poll(t, 10*time.Second, "the REST listener", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	poll(t, 10*time.Second, "the probe to read every packet", func() bool {
		a := p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", nil)
		var ifd map[string]any
		_ = json.Unmarshal(a.env.Rsp, &ifd)
		n, _ := ifd["packets"].(float64)
		return int(n) == written
	})
	time.Sleep(500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	st, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatalf("store does not open after kill -9: %v\n%s", err, out)
	}
	defer st.Close()
	gotPkts := map[int64]uint64{}
	gotBytes := map[int64]uint64{}
	if err := st.ScanFlows(0, 0, 1<<40, func(r *store.FlowRecord) error {
		blk := store.BlockStart(r.LastSeen)
		gotPkts[blk] += r.PktsC2S + r.PktsS2C
		gotBytes[blk] += r.BytesC2S + r.BytesS2C
		return nil
	}); err != nil {
		t.Fatalf("scanning after kill -9: %v", err)
	}
	for b := 0; b < blocks; b++ {
		blk := store.BlockStart(base.Unix()) + int64(b)*store.BlockSeconds
		if gotPkts[blk] != wantPkts[blk] || gotBytes[blk] != wantBytes[blk] {
			t.Errorf("block %d: stored %d packets %d bytes, want %d and %d", b, gotPkts[blk], gotBytes[blk], wantPkts[blk], wantBytes[blk])
		}
	}
	if len(gotPkts) > blocks+1 {
		t.Errorf("stored blocks %v", gotPkts)
	}
}
