package pcapfilter

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/pcaptest"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// variedFrames builds frames that exercise every primitive: IPv4 with
// options and fragments, IPv6 with a fragment header, ARP, VLAN and QinQ,
// SCTP, ICMP(v6), IGMP, broadcast and multicast.
func variedFrames(t testing.TB) [][]byte {
	t.Helper()
	macA, _ := net.ParseMAC("02:00:00:00:00:0a")
	macB, _ := net.ParseMAC("02:00:00:00:00:0b")
	bcast, _ := net.ParseMAC("ff:ff:ff:ff:ff:ff")
	mcast, _ := net.ParseMAC("01:00:5e:00:00:fb")
	mcast6, _ := net.ParseMAC("33:33:00:00:00:01")
	ip4 := func(s string) net.IP { return net.ParseIP(s).To4() }
	ip6 := func(s string) net.IP { return net.ParseIP(s) }
	eth := func(src, dst net.HardwareAddr, t layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: t}
	}
	v4 := func(src, dst string, p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: p, SrcIP: ip4(src), DstIP: ip4(dst)}
	}
	v6 := func(src, dst string, p layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: p, SrcIP: ip6(src), DstIP: ip6(dst)}
	}
	tcp := func(sp, dp uint16) *layers.TCP {
		return &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: 1, SYN: true, Window: 1024}
	}
	udp := func(sp, dp uint16) *layers.UDP {
		return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	}
	pay := func(n int) gopacket.Payload { return make(gopacket.Payload, n) }
	ser := func(ls ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		var nl gopacket.NetworkLayer
		for _, l := range ls {
			if n, ok := l.(gopacket.NetworkLayer); ok {
				nl = n
			}
			if c, ok := l.(interface {
				SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
			}); ok && nl != nil {
				_ = c.SetNetworkLayerForChecksum(nl)
			}
		}
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatalf("serialize: %v", err)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	withOpts := v4("10.0.0.1", "10.0.0.9", layers.IPProtocolTCP)
	withOpts.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	frag2 := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	frag2.FragOffset = 185
	frag1 := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	frag1.Flags = layers.IPv4MoreFragments
	v6frag := v6("2001:db8::1", "2001:db8::2", layers.IPProtocolIPv6Fragment)
	sctp := v4("192.168.1.7", "192.168.1.8", layers.IPProtocolSCTP)
	// SCTP common header: ports 9999 -> 36412, tag, checksum (unchecked here).
	sctpHdr := gopacket.Payload{0x27, 0x0f, 0x8e, 0x3c, 0, 0, 0, 1, 0, 0, 0, 0}
	arp := func(op uint16, sha net.HardwareAddr, spa, tpa string) *layers.ARP {
		return &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: op, SourceHwAddress: sha, SourceProtAddress: ip4(spa), DstHwAddress: make([]byte, 6), DstProtAddress: ip4(tpa)}
	}
	dot1q := func(id uint16, next layers.EthernetType) *layers.Dot1Q {
		return &layers.Dot1Q{VLANIdentifier: id, Type: next}
	}
	frames := [][]byte{
		ser(eth(macA, macB, layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP), tcp(1234, 80), pay(20)),
		ser(eth(macB, macA, layers.EthernetTypeIPv4), v4("10.0.0.2", "10.0.0.1", layers.IPProtocolTCP), tcp(80, 1234), pay(1200)),
		ser(eth(macA, mcast, layers.EthernetTypeIPv4), v4("192.168.1.5", "224.0.0.251", layers.IPProtocolUDP), udp(5353, 5353), pay(30)),
		ser(eth(macA, macB, layers.EthernetTypeIPv4), v4("10.0.0.1", "8.8.8.8", layers.IPProtocolUDP), udp(40000, 53), pay(30)),
		ser(eth(macB, macA, layers.EthernetTypeIPv4), v4("8.8.8.8", "10.0.0.1", layers.IPProtocolUDP), udp(53, 40000), pay(90)),
		ser(eth(macA, macB, layers.EthernetTypeIPv4), v4("10.0.0.1", "10.0.0.2", layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, pay(56)),
		ser(eth(macA, bcast, layers.EthernetTypeARP), arp(1, macA, "10.0.0.1", "10.0.0.2")),
		ser(eth(macB, macA, layers.EthernetTypeARP), arp(2, macB, "10.0.0.2", "10.0.0.1")),
		ser(eth(macA, macB, layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolTCP), tcp(443, 50000), pay(10)),
		ser(eth(macA, mcast6, layers.EthernetTypeIPv6), v6("fe80::1", "ff02::1", layers.IPProtocolUDP), udp(546, 547), pay(10)),
		ser(eth(macA, macB, layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8:1::5", layers.IPProtocolICMPv6), &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}, pay(8)),
		ser(eth(macA, macB, layers.EthernetTypeDot1Q), dot1q(10, layers.EthernetTypeIPv4), v4("10.1.0.1", "10.1.0.2", layers.IPProtocolUDP), udp(53, 1000), pay(12)),
		ser(eth(macA, macB, layers.EthernetTypeDot1Q), dot1q(20, layers.EthernetTypeIPv6), v6("2001:db8::1", "2001:db8::2", layers.IPProtocolTCP), tcp(22, 60000), pay(4)),
		ser(eth(macA, macB, layers.EthernetTypeQinQ), dot1q(100, layers.EthernetTypeDot1Q), dot1q(10, layers.EthernetTypeIPv4), v4("10.2.0.1", "10.2.0.2", layers.IPProtocolTCP), tcp(80, 3000), pay(4)),
		ser(eth(macA, macB, layers.EthernetTypeIPv4), frag1, udp(7000, 80), pay(1472)),
		// A non-first fragment whose payload would read as ports 80 -> 80.
		ser(eth(macA, macB, layers.EthernetTypeIPv4), frag2, gopacket.Payload{0, 80, 0, 80, 0, 0, 0, 0}),
		ser(eth(macA, macB, layers.EthernetTypeIPv4), withOpts, tcp(5555, 8080), pay(3)),
		ser(eth(macA, macB, layers.EthernetTypeIPv6), v6frag, &layers.IPv6Fragment{NextHeader: layers.IPProtocolTCP, Identification: 7}, tcp(443, 50001), pay(5)),
		ser(eth(macA, macB, layers.EthernetTypeIPv4), sctp, sctpHdr),
		ser(eth(macA, mcast, layers.EthernetTypeIPv4), v4("192.168.1.5", "224.0.0.1", layers.IPProtocolIGMP), gopacket.Payload{0x11, 0, 0xee, 0xff, 0, 0, 0, 0}),
		ser(eth(macB, bcast, layers.EthernetTypeIPv4), v4("192.168.1.255", "255.255.255.255", layers.IPProtocolUDP), udp(68, 67), pay(300)),
		// Truncated: an IPv4 header cut short (out-of-bounds loads reject).
		ser(eth(macA, macB, layers.EthernetTypeIPv4), gopacket.Payload{0x45, 0, 0, 40, 0, 0}),
	}
	return frames
}

// writeCapture writes frames as a microsecond pcap (tcpdump's default
// precision, so its -w output compares byte for byte), one µs apart.
func writeCapture(t testing.TB, frames [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "varied.pcap")
	w := pcaptest.Create(t, path)
	base := time.Unix(1700000000, 0)
	for i, fr := range frames {
		ci := gopacket.CaptureInfo{Timestamp: base.Add(time.Duration(i) * time.Microsecond), CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			t.Fatal(err)
		}
	}
	return path
}
