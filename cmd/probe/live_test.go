package main

import (
	"encoding/json"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/testnet"
)

// poll retries check until it returns true or the timeout passes.
func poll(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestLiveInterface(t *testing.T) {
	for _, mode := range []string{"afpacket", "xdp"} {
		t.Run(mode, func(t *testing.T) { testLiveInterface(t, mode) })
	}
}

func testLiveInterface(t *testing.T, mode string) {
	pair := testnet.VethPair(t)
	capIf := pair.Capture
	db := filepath.Join(t.TempDir(), "db")
	p := startProbe(t, "-i", capIf, "-m", "10.99.0.0/16", "--data-dir", db, "--disable-login", "--capture-mode", mode,
		"--drain-interval", "200ms", "--flow-idle-timeout", "2s", "--host-idle-timeout", "3s", "--remote-host-idle-timeout", "3s")

	cli, srv := net.IPv4(10, 99, 0, 1).To4(), net.IPv4(192, 0, 2, 80).To4()
	mac1, mac2 := net.HardwareAddr{2, 0x99, 0, 0, 0, 1}, net.HardwareAddr{2, 0x99, 0, 0, 0, 2}
	const n = 50
	var frames [][]byte
	wire := 0
	for i := 0; i < n; i++ {
		src, dst, sp, dp, sm, dm := cli, srv, 41000, 80, mac1, mac2
		if i%2 == 1 {
			src, dst, sp, dp, sm, dm = srv, cli, 80, 41000, mac2, mac1
		}
		eth := &layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), ACK: i != 0, SYN: i == 0, Window: 100}
		_ = tc.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tc, gopacket.Payload(make([]byte, 100))); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
		wire += len(buf.Bytes())
	}
	inj := pair.Injector(t)
	for _, f := range frames {
		inj.Send(t, f)
	}

	var hd map[string]any
	poll(t, 10*time.Second, "the host to carry every packet", func() bool {
		a := p.call(t, "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host=10.99.0.1", "", nil)
		if a.status != 200 {
			return false
		}
		hd = nil
		_ = json.Unmarshal(a.env.Rsp, &hd)
		return hd["packets.sent"] == float64(n/2) && hd["packets.rcvd"] == float64(n/2)
	})
	if hd["localhost"] != true || hd["mac"] != "02:99:00:00:00:01" {
		t.Errorf("host data: %v", hd)
	}
	a := p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", nil)
	var ifd map[string]any
	_ = json.Unmarshal(a.env.Rsp, &ifd)
	if ifd["ifname"] != capIf || ifd["packets"].(float64) < n {
		t.Errorf("interface data: %s", a.env.Rsp)
	}
	if cm, _ := ifd["capture_mode"].(string); (mode == "xdp") != strings.HasPrefix(cm, "xdp-") {
		t.Errorf("capture mode %q with --capture-mode %s", cm, mode)
	}

	// Idle flows and then hosts expire on a live interface.
	poll(t, 15*time.Second, "the flow to expire", func() bool {
		a := p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0", "", nil)
		var fa struct {
			TotalRows int `json:"totalRows"`
		}
		_ = json.Unmarshal(a.env.Rsp, &fa)
		return fa.TotalRows == 0
	})
	poll(t, 15*time.Second, "the hosts to expire", func() bool {
		a := p.call(t, "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host=10.99.0.1", "", nil)
		return a.status == 404
	})
	p.stop(t)

	// The expired flow went to the store with every packet.
	_, pkts, bytes := storedFlows(t, db, func(r *store.FlowRecord) bool {
		return r.ServerPort == 80 && r.Client.String() == "10.99.0.1"
	})
	if pkts != n || bytes != uint64(wire) {
		t.Errorf("stored %d packets %d bytes, want %d and %d", pkts, bytes, n, wire)
	}
}

// xdpAttached reports whether an XDP program is attached to ifname.
func xdpAttached(t *testing.T, ifname string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-d", "link", "show", "dev", ifname).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show: %v: %s", err, out)
	}
	return strings.Contains(string(out), "prog/xdp")
}

// TestXDPDetachOnExitAndCrash: a clean stop detaches the program, and so
// does a kill -9 (the attachment is a bpf link owned by the process), so
// the next start attaches again.
func TestXDPDetachOnExitAndCrash(t *testing.T) {
	capIf := testnet.VethPair(t).Capture
	args := []string{"-i", capIf, "--capture-mode", "xdp", "--disable-login"}
	p := startProbe(t, append(args, "--data-dir", filepath.Join(t.TempDir(), "a"))...)
	if !xdpAttached(t, capIf) {
		t.Fatal("no XDP program attached while the probe runs")
	}
	p.stop(t)
	if xdpAttached(t, capIf) {
		t.Fatal("XDP program still attached after SIGTERM")
	}
	p = startProbe(t, append(args, "--data-dir", filepath.Join(t.TempDir(), "b"))...)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	poll(t, 5*time.Second, "the program to go with the killed process", func() bool { return !xdpAttached(t, capIf) })
	startProbe(t, append(args, "--data-dir", filepath.Join(t.TempDir(), "c"))...)
	if !xdpAttached(t, capIf) {
		t.Fatal("no XDP program after restarting")
	}
}
