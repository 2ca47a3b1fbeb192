package main

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/pcaptest"
)

// bcastFrame is one frame of the broadcast-domain capture: an ARP request
// (arp true) or a UDP datagram.
type bcastFrame struct {
	arp      bool
	ethDst   net.HardwareAddr
	src, dst net.IP
	port     uint16
}

func writeBcastCapture(t *testing.T, path string, frames []bcastFrame) {
	t.Helper()
	w := pcaptest.Create(t, path)
	ts := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, f := range frames {
		var ls []gopacket.SerializableLayer
		if f.arp {
			ls = []gopacket.SerializableLayer{
				&layers.Ethernet{SrcMAC: arpMacA, DstMAC: f.ethDst, EthernetType: layers.EthernetTypeARP},
				&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
					Operation: layers.ARPRequest, SourceHwAddress: arpMacA, SourceProtAddress: f.src.To4(), DstHwAddress: arpZero, DstProtAddress: f.dst.To4()},
			}
		} else {
			ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: f.src.To4(), DstIP: f.dst.To4()}
			udp := &layers.UDP{SrcPort: layers.UDPPort(f.port), DstPort: layers.UDPPort(f.port)}
			if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
				t.Fatal(err)
			}
			ls = []gopacket.SerializableLayer{
				&layers.Ethernet{SrcMAC: arpMacB, DstMAC: f.ethDst, EthernetType: layers.EthernetTypeIPv4},
				ip, udp, gopacket.Payload("broadcast"),
			}
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Second)
	}
}

// TestBcastDomainsFromBroadcastTraffic replays ARP and IPv4 broadcast
// traffic through the probe: get/interface/bcast_domains counts both, by
// the rule in controlplane/flowtable/arp.go (worked by hand below).
func TestBcastDomainsFromBroadcastTraffic(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "bcast.pcap")
	ip := func(s string) net.IP { return net.ParseIP(s) }
	writeBcastCapture(t, pcap, []bcastFrame{
		{true, arpBcast, ip("192.168.1.10"), ip("192.168.1.1"), 0},        // ARP: /28
		{true, arpBcast, ip("192.168.1.200"), ip("192.168.1.1"), 0},       // ARP: /24
		{false, arpBcast, ip("192.168.1.10"), ip("192.168.1.255"), 138},   // the /24's broadcast
		{false, arpBcast, ip("192.168.1.10"), ip("192.168.1.255"), 138},   // again
		{false, arpBcast, ip("192.168.1.200"), ip("255.255.255.255"), 67}, // the largest learnt holding .200: /24
		{false, arpBcast, ip("0.0.0.0"), ip("255.255.255.255"), 67},       // no source address: nothing
		{false, arpBcast, ip("10.7.7.7"), ip("10.7.7.255"), 137},          // .255 of its /24: learnt
		{false, arpMacG, ip("10.7.7.7"), ip("10.7.7.255"), 137},           // to one MAC: not a broadcast
		{false, arpBcast, ip("172.16.1.5"), ip("172.16.3.255"), 137},      // the local /22's broadcast
		{false, arpBcast, ip("10.20.30.40"), ip("255.255.255.255"), 5000}, // netmask unknown: nothing
	})
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "-m", "172.16.0.0/22")
	a := p.call(t, "GET", "/lua/rest/v2/get/interface/bcast_domains.lua?ifid=0", "", basic("admin", testAdminPassword))
	want := `{"bcast_domains":{"10.7.7.0/24":{"ghost_network":true,"hits":1},"172.16.0.0/22":{"ghost_network":true,"hits":1},` +
		`"192.168.1.0/24":{"ghost_network":true,"hits":4},"192.168.1.0/28":{"ghost_network":true,"hits":1}}}`
	if a.env.RC != 0 || string(a.env.Rsp) != want {
		t.Errorf("bcast_domains: %d %s\nwant %s", a.env.RC, a.env.Rsp, want)
	}
}
