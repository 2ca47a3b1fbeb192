package main

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/testnet"
)

// mixedTraffic builds conversations of every kind the kernel parses: TCP
// over IPv4 and IPv6 with handshakes, UDP and DNS transactions, ICMP, a
// VLAN-tagged and a QinQ flow, ARP, and IPv4 broadcasts.
func mixedTraffic(t *testing.T) [][]byte {
	t.Helper()
	macA, macB := net.HardwareAddr{2, 0x55, 0, 0, 0, 1}, net.HardwareAddr{2, 0x55, 0, 0, 0, 2}
	var frames [][]byte
	ser := func(ls ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
	}
	ethFor := func(fromA bool, et layers.EthernetType) *layers.Ethernet {
		if fromA {
			return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
		}
		return &layers.Ethernet{SrcMAC: macB, DstMAC: macA, EthernetType: et}
	}
	tcpConv := func(cli, srv net.IP, cport, sport uint16, vlans []uint16, dataPkts int) {
		v6 := cli.To4() == nil
		step := func(fromCli, syn, ack, fin bool, payload int) {
			src, dst, sp, dp := cli, srv, cport, sport
			if !fromCli {
				src, dst, sp, dp = srv, cli, sport, cport
			}
			var ls []gopacket.SerializableLayer
			et := layers.EthernetTypeIPv4
			if v6 {
				et = layers.EthernetTypeIPv6
			}
			if len(vlans) > 0 {
				ls = append(ls, ethFor(fromCli, layers.EthernetTypeDot1Q))
				for i, v := range vlans {
					next := layers.EthernetTypeDot1Q
					if i == len(vlans)-1 {
						next = et
					}
					ls = append(ls, &layers.Dot1Q{VLANIdentifier: v, Type: next})
				}
			} else {
				ls = append(ls, ethFor(fromCli, et))
			}
			tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: syn, ACK: ack, FIN: fin, Window: 512}
			if v6 {
				ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
				_ = tc.SetNetworkLayerForChecksum(ip)
				ls = append(ls, ip)
			} else {
				ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst}
				_ = tc.SetNetworkLayerForChecksum(ip)
				ls = append(ls, ip)
			}
			ser(append(ls, tc, gopacket.Payload(make([]byte, payload)))...)
		}
		step(true, true, false, false, 0)
		step(false, true, true, false, 0)
		step(true, false, true, false, 0)
		for i := 0; i < dataPkts; i++ {
			step(true, false, true, false, 100+i)
			step(false, false, true, false, 1000+i)
		}
		step(true, false, true, true, 0)
		step(false, false, true, true, 0)
	}
	udpPkt := func(src, dst net.IP, sp, dp uint16, fromA bool, payload gopacket.SerializableLayer) {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		_ = u.SetNetworkLayerForChecksum(ip)
		ser(ethFor(fromA, layers.EthernetTypeIPv4), ip, u, payload)
	}
	lan := func(i byte) net.IP { return net.IPv4(10, 55, 0, i).To4() }
	for i := 0; i < 8; i++ {
		tcpConv(lan(byte(10+i%3)), net.IPv4(198, 51, 100, byte(1+i)).To4(), uint16(42000+i), 443, nil, 3+i)
	}
	tcpConv(net.ParseIP("2001:db8:55::10"), net.ParseIP("2001:db8:99::1"), 50000, 80, nil, 4)
	tcpConv(lan(20), lan(21), 50001, 8080, []uint16{10}, 2)
	tcpConv(lan(22), lan(23), 50002, 22, []uint16{100, 200}, 2)
	resolver := lan(1)
	for id := uint16(1); id <= 3; id++ {
		q := &layers.DNS{ID: id, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{{Name: []byte("host.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		udpPkt(lan(10), resolver, 53000, 53, true, q)
		r := &layers.DNS{ID: id, QR: true, RD: true, RA: true, QDCount: 1, ANCount: 1,
			Questions: q.Questions,
			Answers:   []layers.DNSResourceRecord{{Name: []byte("host.example"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: net.IPv4(198, 51, 100, 1)}}}
		udpPkt(resolver, lan(10), 53, 53000, false, r)
	}
	for i := 0; i < 4; i++ {
		udpPkt(lan(11), net.IPv4(203, 0, 113, 9).To4(), 40123, 123, true, gopacket.Payload(make([]byte, 48)))
	}
	ser(ethFor(true, layers.EthernetTypeIPv4),
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: lan(12), DstIP: net.IPv4(198, 51, 100, 7).To4()},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload("ping"))
	ser(ethFor(true, layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: macA, SourceProtAddress: lan(10),
		DstHwAddress: make([]byte, 6), DstProtAddress: lan(1)})
	// Broadcasts to the whole segment: two to the local /16's directed
	// broadcast, one to the limited broadcast.
	bcast := func(src, dst net.IP, port uint16) {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src, DstIP: dst}
		u := &layers.UDP{SrcPort: layers.UDPPort(port), DstPort: layers.UDPPort(port)}
		_ = u.SetNetworkLayerForChecksum(ip)
		ser(&layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeIPv4}, ip, u, gopacket.Payload("hello all"))
	}
	bcast(lan(10), net.IPv4(10, 55, 255, 255).To4(), 137)
	bcast(lan(10), net.IPv4(10, 55, 255, 255).To4(), 137)
	bcast(lan(11), net.IPv4(255, 255, 255, 255).To4(), 5000)
	return frames
}

// flowSummary is what both dataplanes must agree on for a flow.
func flowSummaries(t *testing.T, p *probeProc) []string {
	t.Helper()
	a := p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=1000&verbose=true", "", nil)
	var fa struct {
		TotalRows int `json:"totalRows"`
		Data      []struct {
			Key    string `json:"key"`
			Client struct {
				IP   string `json:"ip"`
				Port int    `json:"port"`
			} `json:"client"`
			Server struct {
				IP   string `json:"ip"`
				Port int    `json:"port"`
			} `json:"server"`
			VLAN      int            `json:"vlan"`
			Protocol  map[string]any `json:"protocol"`
			Bytes     int            `json:"bytes"`
			Packets   int            `json:"packets"`
			Breakdown map[string]int `json:"breakdown"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.env.Rsp, &fa); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fa.Data {
		out = append(out, fmt.Sprintf("%s %s:%d->%s:%d vlan=%d %v bytes=%d pkts=%d c2s=%d%%", f.Key, f.Client.IP, f.Client.Port,
			f.Server.IP, f.Server.Port, f.VLAN, f.Protocol["l4"], f.Bytes, f.Packets, f.Breakdown["cli2srv"]))
	}
	sort.Strings(out)
	return out
}

// hostSummaries lists the hosts, with their names when withNames (names
// come from payload: the XDP dataplane only has it with the slow path).
func hostSummaries(t *testing.T, p *probeProc, withNames bool) []string {
	t.Helper()
	a := p.call(t, "GET", "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=1000", "", nil)
	var ha struct {
		Data []struct {
			IP    string         `json:"ip"`
			Name  string         `json:"name"`
			VLAN  int            `json:"vlan"`
			Bytes map[string]int `json:"bytes"`
			Local bool           `json:"is_localhost"`
			Flows map[string]int `json:"num_flows"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.env.Rsp, &ha); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range ha.Data {
		line := fmt.Sprintf("%s@%d local=%v sent=%d rcvd=%d flows=%d/%d", h.IP, h.VLAN, h.Local, h.Bytes["sent"], h.Bytes["recvd"], h.Flows["as_client"], h.Flows["as_server"])
		if withNames {
			line += " name=" + h.Name
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// TestXDPMatchesUserspace runs a probe accounting in the kernel (XDP, with
// and without the AF_XDP slow path) and one with the userspace decoder
// (AF_PACKET), each on a veth pair of its own (the slow path takes packets
// away from the stack, so they cannot share one), feeds both the same
// frames and requires the same flows and hosts from both.
func TestXDPMatchesUserspace(t *testing.T) {
	for _, slow := range []bool{true, false} {
		t.Run(fmt.Sprintf("slow-path=%v", slow), func(t *testing.T) { testXDPMatchesUserspace(t, slow) })
	}
}

func testXDPMatchesUserspace(t *testing.T, slow bool) {
	kp, up := testnet.VethPair(t), testnet.VethPair(t)
	kIf, uIf := kp.Capture, up.Capture
	dir := t.TempDir()
	common := []string{"-m", "10.55.0.0/16", "--disable-login", "--drain-interval", "200ms"}
	kernel := startProbe(t, append(common, "-i", kIf, "--capture-mode", "xdp", fmt.Sprintf("--slow-path=%v", slow), "--data-dir", filepath.Join(dir, "k"))...)
	user := startProbe(t, append(common, "-i", uIf, "--capture-mode", "afpacket", "--data-dir", filepath.Join(dir, "u"))...)

	frames := mixedTraffic(t)
	for _, pair := range []testnet.Pair{kp, up} {
		inj := pair.Injector(t)
		for _, f := range frames {
			inj.Send(t, f)
		}
	}
	wantPkts := len(frames)
	for _, p := range []*probeProc{kernel, user} {
		poll(t, 10*time.Second, "every frame to be counted", func() bool {
			a := p.call(t, "GET", "/lua/rest/v1/get/interface/data.lua?ifid=0", "", nil)
			var ifd map[string]any
			_ = json.Unmarshal(a.env.Rsp, &ifd)
			n, _ := ifd["packets"].(float64)
			return int(n) >= wantPkts
		})
	}
	time.Sleep(500 * time.Millisecond) // a last drain and sync

	kf, uf := flowSummaries(t, kernel), flowSummaries(t, user)
	if strings.Join(kf, "\n") != strings.Join(uf, "\n") {
		t.Errorf("flows differ\nxdp:\n  %s\nafpacket:\n  %s", strings.Join(kf, "\n  "), strings.Join(uf, "\n  "))
	}
	if len(kf) != 18 { // 11 TCP, 3 DNS transactions, NTP, ICMP, 2 broadcasts
		t.Errorf("%d flows, want 18", len(kf))
	}
	kh, uh := hostSummaries(t, kernel, slow), hostSummaries(t, user, slow)
	if slow && !strings.Contains(strings.Join(uh, "\n"), "name=host.example") {
		t.Errorf("the DNS answer named no host: %v", uh)
	}
	if strings.Join(kh, "\n") != strings.Join(uh, "\n") {
		t.Errorf("hosts differ\nxdp:\n  %s\nafpacket:\n  %s", strings.Join(kh, "\n  "), strings.Join(uh, "\n  "))
	}
	// The ARP request (10.55.0.10 asking for 10.55.0.1: 4 bits apart, a
	// /28) reaches the table in every mode: over the slow path, or over
	// the ARP-only socket when XDP hands ARP to the stack. The broadcasts
	// hit the local /16 (flowtable/arp.go): its directed broadcast twice,
	// and the limited broadcast from 10.55.0.11, which the /16 holds (the
	// largest network known to hold it, larger than ARP's /28, whichever
	// was learnt first) - whether the slow path saw their Ethernet header
	// or only the kernel counted them, in whatever order its deltas came.
	for name, p := range map[string]*probeProc{"xdp": kernel, "afpacket": user} {
		const wantBD = `{"bcast_domains":{"10.55.0.0/16":{"ghost_network":true,"hits":3},"10.55.0.0/28":{"ghost_network":true,"hits":1}}}`
		var got string
		poll(t, 5*time.Second, name+" to learn the broadcast domain", func() bool {
			got = string(p.call(t, "GET", "/lua/rest/v2/get/interface/bcast_domains.lua?ifid=0", "", nil).env.Rsp)
			return got == wantBD
		})
		var arp []struct {
			IP   string `json:"ip"`
			MAC  string `json:"mac"`
			Sent int    `json:"arp_requests.sent"`
		}
		_ = json.Unmarshal(p.call(t, "GET", "/lua/rest/v2/get/interface/arp.lua?ifid=0", "", nil).env.Rsp, &arp)
		if len(arp) != 1 || arp[0].IP != "10.55.0.10" || arp[0].MAC != "02:55:00:00:00:01" || arp[0].Sent != 1 {
			t.Errorf("%s ARP table: %+v", name, arp)
		}
	}
}
