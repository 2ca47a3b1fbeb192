package main

import (
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
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

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/testnet"
)

const flDport = 9999

// flFrames are UDP frames of ten flows to port flDport, 100 bytes of
// payload each; wire is the frames' length (all the same).
func flFrames(t *testing.T) (frames [][]byte, wire int) {
	t.Helper()
	for i := range 10 {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0xf1, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0xf1, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 98, 0, 1).To4(), DstIP: net.IPv4(192, 0, 2, 9).To4()}
		u := &layers.UDP{SrcPort: layers.UDPPort(40000 + i), DstPort: flDport}
		_ = u.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, u, gopacket.Payload(make([]byte, 100))); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
		wire = len(buf.Bytes())
	}
	return frames, wire
}

// sendAt injects frames round robin at rate packets/s for d and returns
// how many it sent (the pacing catches up every 2 ms, so the rate holds on
// average whatever the timer resolution).
func sendAt(t *testing.T, inj *testnet.Injector, frames [][]byte, rate int, d time.Duration) int {
	t.Helper()
	start := time.Now()
	sent := 0
	for {
		el := time.Since(start)
		if el >= d {
			return sent
		}
		for due := int(el.Seconds() * float64(rate)); sent < due; sent++ {
			inj.Send(t, frames[sent%len(frames)])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// goProbeTotal asks a probe's goProbe API for the packets and bytes of
// the test's flows on iface.
func goProbeTotal(t *testing.T, gp *probeProc, iface string) (pkts, bytes int) {
	t.Helper()
	a := gp.call(t, "POST", "/api/v1/_query", fmt.Sprintf(`{"Query":"sip","Ifaces":%q,"Condition":"dport = %d","Sum":true}`, iface, flDport), nil)
	var res struct {
		Summary struct {
			TotalBytes   int `json:"total_bytes"`
			TotalPackets int `json:"total_packets"`
		} `json:"summary"`
	}
	// No matching flow yet is an answer without totals; nothing stored
	// yet is goProbe's 500 "failed to execute query".
	if a.status == 200 {
		if err := json.Unmarshal(a.body, &res); err != nil {
			t.Fatalf("_query: %v: %s", err, a.body)
		}
	} else if a.status != 500 || !strings.Contains(string(a.body), "failed to execute query") {
		t.Fatalf("_query: %d %s", a.status, a.body)
	}
	return res.Summary.TotalPackets, res.Summary.TotalBytes
}

// TestKillLosesAtMostOneFlushInterval captures a veth fed at a known rate,
// kills the probe with SIGKILL right after the last packet, restarts it on
// the same data directory and asks the store: what was flushed is all
// there (at most one flush interval of packets missing) and nothing is
// counted twice (never more than was sent, and no more after the restart
// has flushed again).
func TestKillLosesAtMostOneFlushInterval(t *testing.T) {
	cases := []struct {
		name     string
		interval time.Duration // 0: the default
		send     time.Duration
	}{
		{"default interval", 0, 8300 * time.Millisecond},
		{"1s interval", time.Second, 3700 * time.Millisecond},
	}
	// PROBE_FLUSH_SEND=200s: the default case sends that long (the
	// issue's run killed the probe 200 s into a block).
	if v := os.Getenv("PROBE_FLUSH_SEND"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Hour {
			t.Fatalf("PROBE_FLUSH_SEND=%q", v)
		}
		cases[0].send = d
	}
	const rate = 1000
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			interval := c.interval
			args := []string{"--capture-mode", "afpacket", "--disable-login"}
			if interval == 0 {
				interval = defaultFlushInterval
			} else {
				args = append(args, "--flush-interval", interval.String())
			}
			pair := testnet.VethPairNamed(t, "fl")
			db := filepath.Join(t.TempDir(), "db")
			p := startProbe(t, append(args, "-i", pair.Capture, "--data-dir", db)...)
			frames, wire := flFrames(t)
			inj := pair.Injector(t)
			sent := sendAt(t, inj, frames, rate, c.send)
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = p.cmd.Wait()

			gpPort := freePort(t)
			p = startProbe(t, append(args, "-i", pair.Capture, "--data-dir", db,
				"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")...)
			gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
			pkts, bytes := goProbeTotal(t, gp, pair.Capture)
			// After the restarted probe flushed (and merged, if a block
			// closed) at least once: the same numbers.
			time.Sleep(interval + time.Second)
			pkts2, bytes2 := goProbeTotal(t, gp, pair.Capture)
			p.stop(t)
			_, direct, directBytes := storedFlows(t, db, func(r *store.FlowRecord) bool { return r.ServerPort == flDport })

			lost := sent - pkts
			budget := int(interval.Seconds() * rate)
			t.Logf("flush interval %v, %d packets/s for %v: sent %d, stored %d, lost %d (one interval: %d)",
				interval, rate, c.send, sent, pkts, lost, budget)
			if pkts2 != pkts || bytes2 != bytes || int(direct) != pkts || int(directBytes) != bytes {
				t.Errorf("totals changed: %d packets %d bytes after the restart, %d/%d an interval later, %d/%d in the store after a stop",
					pkts, bytes, pkts2, bytes2, direct, directBytes)
			}
			if pkts > sent || bytes != pkts*wire {
				t.Errorf("stored %d packets %d bytes of %d sent (%d bytes each): counted twice?", pkts, bytes, sent, wire)
			}
			// Slack: the last flush's write may still be in the writer's
			// queue when the kill comes, and the capture ring hands
			// packets over every 10 ms.
			if slack := rate / 10; lost > budget+slack {
				t.Errorf("lost %d packets of %d, more than one flush interval (%d) + %d", lost, sent, budget, slack)
			}
		})
	}
}

// TestQuerySeesLiveFlowsWithinFlushInterval: live traffic shows in the
// goProbe API's _query within one flush interval, not at the end of the
// 5-minute block, and then in db/flows and `probe query` too.
func TestQuerySeesLiveFlowsWithinFlushInterval(t *testing.T) {
	const interval = 2 * time.Second
	pair := testnet.VethPairNamed(t, "fl")
	gpPort := freePort(t)
	api := fmt.Sprintf("127.0.0.1:%d", gpPort)
	p := startProbe(t, "-i", pair.Capture, "--capture-mode", "afpacket", "--disable-login", "--flush-interval", interval.String(),
		"--data-dir", filepath.Join(t.TempDir(), "db"), "--goprobe-api", api, "--goprobe-api-rate", "-1")
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
	frames, wire := flFrames(t)
	inj := pair.Injector(t)
	const n = 300
	for i := range n {
		inj.Send(t, frames[i%len(frames)])
	}
	sentAt := time.Now()
	poll(t, interval+3*time.Second, "_query to show the live flows", func() bool {
		pkts, _ := goProbeTotal(t, gp, pair.Capture)
		return pkts == n
	})
	t.Logf("_query showed %d live packets %v after they were sent (flush interval %v)", n, time.Since(sentAt).Round(10*time.Millisecond), interval)
	if _, bytes := goProbeTotal(t, gp, pair.Capture); bytes != n*wire {
		t.Errorf("_query: %d bytes, want %d", bytes, n*wire)
	}
	// ntopng's db/flows reads the same store (its rows may be several
	// partial records per flow until the block closes; they add up).
	a := p.call(t, "GET", fmt.Sprintf("/lua/pro/rest/v1/get/db/flows.lua?ifid=0&maxhits_clause=100000&begin_time_clause=0&end_time_clause=4000000000&select_clause=TOTAL_BYTES&where_clause=L4_DST_PORT=%d", flDport), "", nil)
	var rows []map[string]float64
	if err := json.Unmarshal(a.env.Rsp, &rows); err != nil || a.status != 200 {
		t.Fatalf("db/flows: %d %s", a.status, a.body)
	}
	dbBytes := 0
	for _, r := range rows {
		dbBytes += int(r["TOTAL_BYTES"])
	}
	if dbBytes != n*wire {
		t.Errorf("db/flows: %d bytes in %d rows, want %d", dbBytes, len(rows), n*wire)
	}
	out, err := exec.Command(probeBin, "query", "--api", "http://"+api, "-i", pair.Capture, "-c", fmt.Sprintf("dport = %d", flDport),
		"--sum", "-e", "json", "sip").CombinedOutput()
	if err != nil {
		t.Fatalf("probe query: %v\n%s", err, out)
	}
	if got := summaryBytes(t, out); got != n*wire {
		t.Errorf("probe query: %d bytes, want %d: %s", got, n*wire, strings.TrimSpace(string(out)))
	}
}

// TestFlushIntervalBounds: an interval outside 1 s..5 min is refused at
// start, naming the flag and the bounds, with a non-zero exit code.
func TestFlushIntervalBounds(t *testing.T) {
	for _, v := range []string{"0s", "500ms", "301s", "1h"} {
		out, err := exec.Command(probeBin, "-i", "lo", "--flush-interval", v, "--data-dir", t.TempDir()).CombinedOutput()
		d, _ := time.ParseDuration(v)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(string(out), "--flush-interval "+d.String()) ||
			!strings.Contains(string(out), "want 1s to 5m0s") {
			t.Errorf("--flush-interval %s: %v\n%s", v, err, out)
		}
	}
}

// TestKillAtRandomPoints kills the probe with SIGKILL at random points of
// live ingest, run after run on the same data directory (PROBE_KILL_RUNS
// runs, default 3; the crash-consistency check uses 30): after
// each kill the store opens, holds at most what was sent in all, and lost
// at most one flush interval (plus the capture's and writer's latency) of
// that run's packets.
func TestKillAtRandomPoints(t *testing.T) {
	runs := 3
	if v := os.Getenv("PROBE_KILL_RUNS"); v != "" {
		if _, err := fmt.Sscan(v, &runs); err != nil || runs < 1 || runs > 1000 {
			t.Fatalf("PROBE_KILL_RUNS=%q", v)
		}
	}
	const rate, interval = 1000, time.Second
	pair := testnet.VethPairNamed(t, "fl")
	db := filepath.Join(t.TempDir(), "db")
	frames, wire := flFrames(t)
	inj := pair.Injector(t)
	stored := func() (pkts, bytes int) {
		_, p, b := storedFlows(t, db, func(r *store.FlowRecord) bool { return r.ServerPort == flDport })
		return int(p), int(b)
	}
	totalSent, worst, before := 0, 0, 0 // before: stored up to the last kill
	for run := range runs {
		p := startProbe(t, "-i", pair.Capture, "--capture-mode", "afpacket", "--disable-login",
			"--flush-interval", interval.String(), "--data-dir", db)
		d := 1200*time.Millisecond + time.Duration(mrand.Int64N(int64(3300*time.Millisecond)))
		sent := sendAt(t, inj, frames, rate, d)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = p.cmd.Wait()
		totalSent += sent
		after, bytes := stored()
		lost := sent - (after - before)
		worst = max(worst, lost)
		t.Logf("run %d: sent %d over %v, stored %d, lost %d", run, sent, d.Round(time.Millisecond), after-before, lost)
		if after > totalSent || bytes != after*wire {
			t.Fatalf("run %d: the store holds %d packets %d bytes of %d sent in all (%d bytes each)", run, after, bytes, totalSent, wire)
		}
		if lost > rate*int(interval/time.Second)+rate/10 {
			t.Errorf("run %d: lost %d packets of %d at %d/s, more than one flush interval (%v)", run, lost, sent, rate, interval)
		}
		before = after
	}
	t.Logf("%d kills: worst loss %d packets (one interval: %d)", runs, worst, rate*int(interval/time.Second))
}
