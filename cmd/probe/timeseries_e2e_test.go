package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/testnet"
)

// ethOverhead is what ntopng adds to each frame in interface byte counts
// (preamble, inter-frame gap, CRC): iface:traffic counts it, hosts do not.
const ethOverhead = 24

// tsAnswer is the part of ts.lua's answer the tests read.
type tsAnswer struct {
	Start  int64 `json:"start"`
	Step   int64 `json:"step"`
	Count  int   `json:"count"`
	Series []struct {
		Label string    `json:"label"`
		Data  []float64 `json:"data"`
	} `json:"series"`
	Statistics struct {
		Total float64 `json:"total"`
	} `json:"statistics"`
}

// amount is a counter series' bytes: its per-second rates times the step.
func (a tsAnswer) amount(label string) float64 {
	sum := 0.0
	for _, s := range a.Series {
		if s.Label == label {
			for _, v := range s.Data {
				sum += v * float64(a.Step)
			}
		}
	}
	return sum
}

func (p *probeProc) ts(t *testing.T, query string) tsAnswer {
	t.Helper()
	a := p.call(t, "GET", "/lua/rest/v2/get/timeseries/ts.lua?"+query, "", nil)
	if a.env.RCStr != "OK" {
		t.Fatalf("ts.lua?%s: %d %s", query, a.status, a.body)
	}
	var out tsAnswer
	if err := json.Unmarshal(a.env.Rsp, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// captureTruth is what tshark reads in a capture: bytes per second with
// the Ethernet overhead, and each address's IPv4 bytes sent and received.
type captureTruth struct {
	first, last int64
	perSec      map[int64]float64
	sent, rcvd  map[string]float64
	l4          map[string]float64 // IPv4 bytes per l4/protocol/consts name (tcp, udp, icmp, other_ip)
	ipv6        bool
}

func tsharkTruth(t *testing.T, pcap string) captureTruth {
	out, err := exec.Command(fixture.Tool(t, "tshark"), "-r", pcap, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
		"-e", "frame.time_epoch", "-e", "frame.len", "-e", "ip.src", "-e", "ip.dst", "-e", "ip.proto", "-e", "ipv6.src").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	tr := captureTruth{first: math.MaxInt64, perSec: map[int64]float64{}, sent: map[string]float64{}, rcvd: map[string]float64{}, l4: map[string]float64{}}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 6 {
			t.Fatalf("tshark line %q", line)
		}
		secStr, _, _ := strings.Cut(f[0], ".")
		sec, err1 := strconv.ParseInt(secStr, 10, 64)
		n, err2 := strconv.ParseFloat(f[1], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("tshark line %q", line)
		}
		tr.first, tr.last = min(tr.first, sec), max(tr.last, sec)
		tr.perSec[sec] += n + ethOverhead
		if f[2] != "" {
			tr.sent[f[2]] += n
			tr.rcvd[f[3]] += n
			l4 := map[string]string{"6": "tcp", "17": "udp", "1": "icmp"}[f[4]]
			if l4 == "" {
				l4 = "other_ip"
			}
			tr.l4[l4] += n
		}
		if f[5] != "" {
			tr.ipv6 = true
		}
	}
	return tr
}

// A replayed capture draws iface:traffic and host:traffic at the
// capture's own (2020) times, with the bytes tshark counts in it.
func TestTimeSeriesOfAReplayedCapture(t *testing.T) {
	pcap := fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_01.pcap")
	tr := tsharkTruth(t, pcap)
	db := filepath.Join(t.TempDir(), "db")
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", db, "--disable-login")
	checkReplayedCapture(t, p, tr)
	// Restarted with the same capture, the probe reads it again; its
	// series are not added twice.
	p.stop(t)
	p = startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", db, "--disable-login")
	checkReplayedCapture(t, p, tr)
}

func checkReplayedCapture(t *testing.T, p *probeProc, tr captureTruth) {
	t.Helper()
	span := tr.last - tr.first + 1
	a := p.ts(t, fmt.Sprintf("ts_schema=iface:traffic&ts_query=ifid:0&epoch_begin=%d&epoch_end=%d&limit=%d", tr.first, tr.last, span))
	if a.Start != tr.first || a.Step != 1 || a.Count != int(span) || len(a.Series) != 1 {
		t.Fatalf("start %d step %d count %d, want %d 1 %d", a.Start, a.Step, a.Count, tr.first, span)
	}
	total := 0.0
	for i, v := range a.Series[0].Data {
		want := tr.perSec[tr.first+int64(i)]
		total += want
		if !near(v, want) {
			t.Errorf("%s: %v bytes/s, tshark counts %v", time.Unix(tr.first+int64(i), 0).UTC(), v, want)
		}
	}
	if !near(a.Statistics.Total, total) {
		t.Errorf("statistics.total %v, tshark %v", a.Statistics.Total, total)
	}

	// Every local host tshark saw, at the capture's 5-minute buckets.
	hosts := 0
	for ip := range tr.sent {
		if !strings.HasPrefix(ip, "192.168.1.") {
			continue
		}
		hosts++
		h := p.ts(t, fmt.Sprintf("ts_schema=host:traffic&ts_query=ifid:0,host:%s&epoch_begin=%d&epoch_end=%d", ip, tr.first-600, tr.last+600))
		if got := h.amount("bytes_sent"); !near(got, tr.sent[ip]) {
			t.Errorf("%s: %v bytes sent, tshark %v", ip, got, tr.sent[ip])
		}
		if got := h.amount("bytes_rcvd"); !near(got, tr.rcvd[ip]) {
			t.Errorf("%s: %v bytes received, tshark %v", ip, got, tr.rcvd[ip])
		}
	}
	if hosts == 0 {
		t.Fatal("no local host in the capture")
	}
	t.Logf("%d seconds, %.0f bytes; %d local hosts' host:traffic as tshark counts it; L4 bytes %v", span, total, hosts, tr.l4)
	// Remote hosts are not recorded; the capture's minute is.
	for ip := range tr.sent {
		if !strings.HasPrefix(ip, "192.168.1.") {
			h := p.ts(t, fmt.Sprintf("ts_schema=host:traffic&ts_query=ifid:0,host:%s&epoch_begin=%d&epoch_end=%d", ip, tr.first-600, tr.last+600))
			if h.Statistics.Total != 0 {
				t.Errorf("remote %s recorded: %v", ip, h.Statistics.Total)
			}
			break
		}
	}
	// iface:l4protos: the bytes of each L4 protocol (IPv4 only here: the
	// truth counts no IPv6).
	if tr.ipv6 {
		t.Fatal("the capture has IPv6: the L4 truth would miss it")
	}
	for _, l4 := range []string{"tcp", "udp", "icmp", "other_ip"} {
		a := p.ts(t, fmt.Sprintf("ts_schema=iface:l4protos&ts_query=ifid:0,l4proto:%s&epoch_begin=%d&epoch_end=%d", l4, tr.first-600, tr.last+600))
		if !near(a.Statistics.Total, tr.l4[l4]) {
			t.Errorf("iface:l4protos %s: %v bytes, tshark %v", l4, a.Statistics.Total, tr.l4[l4])
		}
	}
	if n := p.ts(t, fmt.Sprintf("ts_schema=iface:hosts&ts_query=ifid:0&epoch_begin=%d&epoch_end=%d", tr.first-60, tr.last+60)); n.Statistics.Total == 0 {
		t.Error("iface:hosts empty at the capture's minute")
	}
}

// Live traffic draws on the wall clock: the injected frames' bytes in
// iface:traffic within seconds, and the local host's in host:traffic at
// the next minute sample.
func TestTimeSeriesOfLiveTraffic(t *testing.T) {
	pair := testnet.VethPair(t)
	p := startProbe(t, "-i", pair.Capture, "-m", "10.99.0.0/16", "--data-dir", filepath.Join(t.TempDir(), "db"), "--disable-login",
		"--capture-mode", "afpacket")
	begin := time.Now().Unix()
	cli, srv := net.IPv4(10, 99, 0, 1).To4(), net.IPv4(192, 0, 2, 80).To4()
	mac1, mac2 := net.HardwareAddr{2, 0x99, 0, 0, 0, 1}, net.HardwareAddr{2, 0x99, 0, 0, 0, 2}
	inj := pair.Injector(t)
	var wire, sent, rcvd float64
	for i := range 40 {
		src, dst, sp, dp, sm, dm := cli, srv, 41000, 80, mac1, mac2
		if i%2 == 1 {
			src, dst, sp, dp, sm, dm = srv, cli, 80, 41000, mac2, mac1
		}
		eth := &layers.Ethernet{SrcMAC: sm, DstMAC: dm, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
		tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), ACK: i != 0, SYN: i == 0, Window: 100}
		_ = tc.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tc, gopacket.Payload(make([]byte, 100+i))); err != nil {
			t.Fatal(err)
		}
		inj.Send(t, buf.Bytes())
		n := float64(len(buf.Bytes()))
		wire += n + ethOverhead
		if i%2 == 0 {
			sent += n
		} else {
			rcvd += n
		}
		if i%10 == 9 {
			time.Sleep(400 * time.Millisecond) // a few seconds of traffic
		}
	}
	window := func() string { return fmt.Sprintf("epoch_begin=%d&epoch_end=%d", begin-1, time.Now().Unix()+1) }
	var got float64
	poll(t, 15*time.Second, "iface:traffic to carry the injected bytes", func() bool {
		got = p.ts(t, "ts_schema=iface:traffic&ts_query=ifid:0&limit=600&"+window()).Statistics.Total
		return near(got, wire)
	})
	// host:traffic is sampled at the minute.
	var h tsAnswer
	poll(t, 75*time.Second, "host:traffic at the next minute", func() bool {
		h = p.ts(t, "ts_schema=host:traffic&ts_query=ifid:0,host:10.99.0.1&"+window())
		return h.amount("bytes_sent") > 0
	})
	if !near(h.amount("bytes_sent"), sent) || !near(h.amount("bytes_rcvd"), rcvd) {
		t.Errorf("host:traffic %v sent %v received, injected %v and %v", h.amount("bytes_sent"), h.amount("bytes_rcvd"), sent, rcvd)
	}
	if now := time.Now().Unix(); h.Start < begin-600 || h.Start > now {
		t.Errorf("host:traffic starts at %d, not on the wall clock (%d..%d)", h.Start, begin, now)
	}
}
