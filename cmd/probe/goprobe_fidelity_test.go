package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/testnet"
)

// gpVeth is a veth pair of this file's tests (names start with "gp"): the
// capture end here, the injecting end in a namespace of its own. Both go
// when the test ends.
func gpVeth(t *testing.T) testnet.Pair {
	t.Helper()
	var id [3]byte
	rand.Read(id[:])
	h := hex.EncodeToString(id[:])
	p := testnet.Pair{Capture: "gpc" + h, Peer: "gpi" + h, NS: "gp-" + h}
	if out, err := exec.Command("ip", "netns", "add", p.NS).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (need root and ip(8)): %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", p.Capture).Run()
		exec.Command("ip", "netns", "del", p.NS).Run()
	})
	for _, args := range [][]string{
		{"ip", "link", "add", p.Capture, "type", "veth", "peer", "name", p.Peer, "netns", p.NS},
		{"ip", "netns", "exec", p.NS, "sh", "-c", fmt.Sprintf("echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6", p.Peer)},
		{"ip", "link", "set", p.Capture, "up"},
		{"ip", "-n", p.NS, "link", "set", p.Peer, "up"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	os.WriteFile("/proc/sys/net/ipv6/conf/"+p.Capture+"/disable_ipv6", []byte("1"), 0o644)
	return p
}

// gpPacketStats is GET /api/v1/stats/packets?debug=1 of the real probe.
type gpPacketStats struct {
	LoggedRcvd   uint64  `json:"logged_rcvd"`
	PcapRcvd     uint64  `json:"pcap_rcvd"`
	LastWriteout float64 `json:"last_writeout"`
	Ifaces       map[string]struct {
		Stats struct {
			Pcap *struct{ PacketsReceived uint64 } `json:"pcap"`
		} `json:"stats"`
	} `json:"ifaces"`
}

func packetStats(t *testing.T, gp *probeProc) gpPacketStats {
	t.Helper()
	a := gp.call(t, "GET", "/api/v1/stats/packets?debug=1", "", nil)
	var s gpPacketStats
	if err := json.Unmarshal(a.body, &s); err != nil || a.status != 200 {
		t.Fatalf("stats/packets: %d %s", a.status, a.body)
	}
	return s
}

// TestGoProbeFidelityLive checks, on a live capture of the real probe, the
// goProbe v3 behaviours its clients see (issue 22): last_writeout counts
// from the start before the first writeout; _query over a store without
// data for the interface is goProbe's 500; an unknown interface its 400;
// answers are text/plain; the pcap counters restart at each writeout.
func TestGoProbeFidelityLive(t *testing.T) {
	const interval = 2 * time.Second
	pair := gpVeth(t)
	gpPort := freePort(t)
	startedAt := time.Now()
	p := startProbe(t, "-i", pair.Capture, "--capture-mode", "afpacket", "--disable-login", "--flush-interval", interval.String(),
		"--data-dir", filepath.Join(t.TempDir(), "db"), "--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}

	// Before the first writeout: seconds since the start, not 9223372037.
	st := packetStats(t, gp)
	if up := time.Since(startedAt).Seconds(); st.LastWriteout < 0 || st.LastWriteout > up {
		t.Errorf("last_writeout %v s before the first writeout; want at most the %.1f s since the start", st.LastWriteout, up)
	}

	const textPlain = "text/plain; charset=utf-8"
	query := func(body string) answer { return gp.call(t, "POST", "/api/v1/_query", body, nil) }
	errorCases := []struct {
		name, body string
		status     int
		answer     string
	}{
		{"nothing stored yet", fmt.Sprintf(`{"Query":"sip","Ifaces":%q}`, pair.Capture), 500, "Internal Server Error: failed to execute query\n"},
		{"unknown interface", `{"Query":"sip","Ifaces":"gpnosuch0"}`, 400, "Bad Request: failed to prepare query. Invalid arguments provided\n"},
	}
	for _, c := range errorCases {
		a := query(c.body)
		if a.status != c.status || string(a.body) != c.answer || a.header.Get("Content-Type") != textPlain ||
			a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("X-Probe-Query-Error") != "" {
			t.Errorf("%s: %d %q %v; want %d %q", c.name, a.status, a.body, a.header, c.status, c.answer)
		}
	}

	frames, _ := flFrames(t)
	inj := pair.Injector(t)
	const n = 200
	for i := range n {
		inj.Send(t, frames[i%len(frames)])
	}
	poll(t, 3*interval+3*time.Second, "the packets to be written out", func() bool {
		pkts, _ := goProbeTotal(t, gp, pair.Capture)
		return pkts == n
	})
	a := query(fmt.Sprintf(`{"Query":"sip","Ifaces":%q,"Sum":true}`, pair.Capture))
	if a.status != 200 || a.header.Get("Content-Type") != textPlain {
		t.Errorf("_query answer: %d %v", a.status, a.header)
	}
	// The writeout that stored them restarted the counters (goProbe:
	// pcap_rcvd and packets_logged count since the last writeout).
	poll(t, 2*interval+time.Second, "the pcap counters to restart after the writeout", func() bool {
		s := packetStats(t, gp)
		ifc, ok := s.Ifaces[pair.Capture]
		return s.PcapRcvd == 0 && s.LoggedRcvd == 0 && ok && ifc.Stats.Pcap != nil && ifc.Stats.Pcap.PacketsReceived == 0
	})
	if s := packetStats(t, gp); s.LastWriteout > (interval + 2*time.Second).Seconds()*2 {
		t.Errorf("last_writeout %v s right after a writeout", s.LastWriteout)
	}
}
