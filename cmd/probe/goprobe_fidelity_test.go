package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/pcaptest"
	"github.com/probe-appliance/probe/internal/testnet"
)

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
// data for the interface is goProbe's 500, and so is an unknown interface
// (goProbe v3 over its real database: the __dbpath recordings);
// answers are text/plain; the pcap counters restart at each writeout.
func TestGoProbeFidelityLive(t *testing.T) {
	const interval = 2 * time.Second
	pair := testnet.VethPairNamed(t, "gp")
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
		{"unknown interface", `{"Query":"sip","Ifaces":"gpnosuch0"}`, 500, "Internal Server Error: failed to execute query\n"},
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
	if s := packetStats(t, gp); s.LastWriteout > (interval+2*time.Second).Seconds()*2 {
		t.Errorf("last_writeout %v s right after a writeout", s.LastWriteout)
	}
}

// TestGoProbeDecoderChoices pins where the probe's decoder departs from
// goProbe v3's on purpose (README, goProbe section): an IPv4 datagram in
// fragments is accounted in full (goProbe dropped every fragment as a
// "Fragmented IP packet" error), a header with IHL < 5 is a decoding error
// (goProbe made a flow of it), and ARP is no flow (goProbe showed it as a
// 0.0.0.0 → 0.0.0.0 HOPOPT flow).
func TestGoProbeDecoderChoices(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "dec.pcap")
	w := pcaptest.Create(t, pcap)
	ts := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	macA, macB := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	write := func(frame []byte) int {
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(frame), Length: len(frame)}, frame); err != nil {
			t.Fatal(err)
		}
		return len(frame)
	}
	ser := func(l ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, l...); err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
	}
	src, dst := net.IPv4(10, 77, 0, 1).To4(), net.IPv4(10, 77, 0, 2).To4()

	// A 3000-byte UDP datagram to port 4789 in two fragments.
	udp := make([]byte, 8+3000)
	binary.BigEndian.PutUint16(udp[0:], 40000)
	binary.BigEndian.PutUint16(udp[2:], 4789)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	fragBytes := 0
	for _, f := range []struct {
		off   uint16 // in 8-byte units
		more  bool
		bytes []byte
	}{{0, true, udp[:1480]}, {185, false, udp[1480:]}} {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst, FragOffset: f.off, Id: 7}
		if f.more {
			ip.Flags = layers.IPv4MoreFragments
		}
		fragBytes += write(ser(eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(f.bytes)))
	}
	// IHL 4: a header shorter than IPv4's minimum.
	badIP := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 88, 0, 1).To4(), DstIP: net.IPv4(10, 88, 0, 2).To4()}
	badUDP := &layers.UDP{SrcPort: 1, DstPort: 2}
	_ = badUDP.SetNetworkLayerForChecksum(badIP)
	bad := ser(eth(layers.EthernetTypeIPv4), badIP, badUDP, gopacket.Payload(make([]byte, 20)))
	bad[14] = 0x44
	write(bad)
	// ARP who-has.
	write(ser(&layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: []byte{10, 77, 0, 1},
			DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 77, 0, 2}}))

	gpPort := freePort(t)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}

	a := gp.call(t, "POST", "/api/v1/_query", `{"Query":"sip,dip,proto","Ifaces":"dec.pcap","First":"2026-03-01T00:00:00Z","Sum":true}`, nil)
	// The rows' key is the query itself, which a struct tag cannot name.
	var top map[string]json.RawMessage
	var res struct {
		Rows []struct {
			SIP     string `json:"sip"`
			DIP     string `json:"dip"`
			Proto   string `json:"proto"`
			Packets int    `json:"packets"`
			Bytes   int    `json:"bytes"`
		}
	}
	if err := json.Unmarshal(a.body, &top); err != nil || a.status != 200 || json.Unmarshal(top["sip,dip,proto"], &res.Rows) != nil {
		t.Fatalf("_query: %d %s", a.status, a.body)
	}
	if len(res.Rows) != 1 {
		t.Fatalf("%s\nrows %+v; want only the fragmented datagram's (no ARP, no IHL 4 flow)", a.body, res.Rows)
	}
	if r := res.Rows[0]; r.SIP != "10.77.0.1" || r.DIP != "10.77.0.2" || r.Proto != "UDP" || r.Packets != 2 || r.Bytes != fragBytes {
		t.Errorf("fragmented datagram: %+v; want 2 packets, %d bytes", r, fragBytes)
	}
	a = gp.call(t, "GET", "/api/v1/stats/errors", "", nil)
	if want := `{"dec.pcap":{"bad_ip_header":1}}` + "\n"; a.status != 200 || string(a.body) != want {
		t.Errorf("stats/errors: %d %s; want %s", a.status, a.body, want)
	}
}
