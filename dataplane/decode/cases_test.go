package decode

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

type decodeCase struct {
	name  string
	lt    LinkType
	frame []byte
	kind  ErrKind
	want  Packet
}

// decodeCases is the shared corpus of TestDecode, the fuzz seeds and the
// gopacket cross-check.
func decodeCases(tb testing.TB) []decodeCase {
	tb.Helper()
	var cs []decodeCase
	add := func(name string, lt LinkType, frame []byte, kind ErrKind, want Packet) {
		cs = append(cs, decodeCase{name, lt, frame, kind, want})
	}
	ser := func(ls ...gopacket.SerializableLayer) []byte { return serialize(tb, ls...) }
	eth4, eth6 := ethL(layers.EthernetTypeIPv4), ethL(layers.EthernetTypeIPv6)

	// --- Ethernet / IPv4 ---
	{
		ip := ip4L(layers.IPProtocolTCP)
		tcp, pl := tcpL(ip), payload(100)
		f := ser(eth4, ip, tcp, pl)
		full := withMAC(withTCP(want4(6, int(ip.Length)), tcp, pl))
		add("eth/ipv4/tcp", LinkEthernet, f, ErrNone, full)

		tso := append([]byte(nil), f...)
		binary.BigEndian.PutUint16(tso[14+2:], 0)
		add("eth/ipv4/tcp total-length-0 (TSO)", LinkEthernet, tso, ErrNone, with(full, func(p *Packet) { p.IPLen = 0 }))

		// Fixed TCP header complete, MSS option cut by the snaplen.
		add("eth/ipv4/tcp snaplen cuts tcp options", LinkEthernet, f[:14+20+22], ErrNone,
			with(full, func(p *Packet) { p.Payload = []byte{} }))
		add("eth/ipv4/tcp truncated l4 (10 bytes)", LinkEthernet, f[:14+20+10], ErrTruncatedL4,
			withMAC(with(want4(6, int(ip.Length)), func(p *Packet) { p.SrcPort, p.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort) })))
		add("eth/ipv4/tcp truncated l4 (2 bytes)", LinkEthernet, f[:14+20+2], ErrTruncatedL4, withMAC(want4(6, int(ip.Length))))
		add("eth/ipv4 truncated ip (19 bytes)", LinkEthernet, f[:14+19], ErrTruncatedIP, withMAC(Packet{EtherType: 0x0800}))
		add("eth truncated link (13 bytes)", LinkEthernet, f[:13], ErrTruncatedLink, Packet{})
		add("eth empty", LinkEthernet, nil, ErrTruncatedLink, Packet{})

		ihl4 := append([]byte(nil), f...)
		ihl4[14] = 0x44
		add("eth/ipv4 ihl 4", LinkEthernet, ihl4, ErrBadIPHeader, withMAC(Packet{EtherType: 0x0800}))
		short := append([]byte(nil), f...)
		binary.BigEndian.PutUint16(short[14+2:], 19)
		add("eth/ipv4 total length < ihl", LinkEthernet, short, ErrBadIPHeader, withMAC(Packet{EtherType: 0x0800}))

		doff4 := append([]byte(nil), f...)
		doff4[14+20+12] = 0x40
		add("eth/ipv4/tcp data offset 4", LinkEthernet, doff4, ErrBadL4Header, with(full, func(p *Packet) { p.Payload = nil }))
		doff15 := append([]byte(nil), f...)
		doff15[14+20+12] = 0xF0 // 60-byte header in a 124-byte segment: fine
		add("eth/ipv4/tcp data offset 15", LinkEthernet, doff15, ErrNone, with(full, func(p *Packet) { p.Payload = []byte(pl)[60-24:] }))
	}
	{
		// TCP header claiming more than its IP packet holds.
		ip := ip4L(layers.IPProtocolTCP)
		tcp, pl := tcpL(ip), payload(10)
		f := ser(eth4, ip, tcp, pl)
		f[14+20+12] = 0xF0
		add("eth/ipv4/tcp data offset beyond ip length", LinkEthernet, f, ErrBadL4Header,
			withMAC(withTCP(want4(6, int(ip.Length)), tcp, nil)))
	}
	{
		ip := ip4L(layers.IPProtocolTCP)
		tcp, pl := tcpL(ip), payload(1000)
		f := ser(eth4, ip, tcp, pl)
		add("eth/ipv4/tcp snaplen 158", LinkEthernet, f[:158], ErrNone,
			withMAC(withTCP(want4(6, int(ip.Length)), tcp, pl[:158-14-20-24])))
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		ip.Options = []layers.IPv4Option{{OptionType: 148, OptionLength: 4, OptionData: []byte{0, 0}}} // router alert
		udp, pl := udpL(ip), payload(20)
		f := ser(eth4, ip, udp, pl)
		if ip.IHL != 6 {
			tb.Fatalf("router alert option: IHL %d, want 6", ip.IHL)
		}
		add("eth/ipv4+options/udp", LinkEthernet, f, ErrNone, withMAC(withUDP(want4(17, int(ip.Length)), udp, pl)))
		add("eth/ipv4+options truncated ip", LinkEthernet, f[:14+22], ErrTruncatedIP, withMAC(Packet{EtherType: 0x0800}))
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		udp, pl := udpL(ip), payload(4)
		f := ser(eth4, ip, udp, pl)
		if len(f) != 60 {
			tb.Fatalf("padded frame is %d bytes, want 60", len(f))
		}
		add("eth/ipv4/udp with ethernet padding", LinkEthernet, f, ErrNone, withMAC(withUDP(want4(17, int(ip.Length)), udp, pl)))
	}
	{
		ip := ip4L(layers.IPProtocolICMPv4)
		icmp, pl := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 77, Seq: 3}, payload(32)
		add("eth/ipv4/icmp echo", LinkEthernet, ser(eth4, ip, icmp, pl), ErrNone,
			withMAC(withICMP(want4(1, int(ip.Length)), 8, 0, pl)))
	}
	{
		ip := ip4L(layers.IPProtocolICMPv4)
		pl := gopacket.Payload{3, 1, 0, 0} // 4 of the 8 header bytes
		f := ser(eth4, ip, pl)
		add("eth/ipv4/icmp truncated l4", LinkEthernet, f, ErrTruncatedL4, withMAC(withICMP(want4(1, int(ip.Length)), 3, 1, nil)))
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		f := ser(eth4, ip, gopacket.Payload{0xC0, 0x01, 0x00, 0x35, 0x00})
		add("eth/ipv4/udp 5-byte datagram", LinkEthernet, f, ErrTruncatedL4,
			withMAC(with(want4(17, int(ip.Length)), func(p *Packet) { p.SrcPort, p.DstPort = 0xC001, 53 })))
	}
	{
		outer := ip4L(layers.IPProtocolGRE)
		gre := &layers.GRE{Protocol: layers.EthernetTypeIPv4}
		inner := ip4L(layers.IPProtocolUDP)
		udp := udpL(inner)
		f := ser(eth4, outer, gre, inner, udp, payload(30))
		add("eth/ipv4/gre (other protocol)", LinkEthernet, f, ErrNone,
			withMAC(with(want4(47, int(outer.Length)), func(p *Packet) { p.Payload = f[14+20 : 14+int(outer.Length)] })))
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		ip.Flags = layers.IPv4MoreFragments
		udp, pl := udpL(ip), payload(40)
		add("eth/ipv4 first fragment/udp", LinkEthernet, ser(eth4, ip, udp, pl), ErrNone,
			withMAC(withUDP(want4(17, int(ip.Length)), udp, pl)))
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		ip.FragOffset = 185
		pl := payload(64)
		add("eth/ipv4 non-first fragment", LinkEthernet, ser(eth4, ip, pl), ErrNone,
			withMAC(with(want4(17, int(ip.Length)), func(p *Packet) { p.Fragment = true; p.Payload = pl })))
	}

	// --- Ethernet / IPv6 ---
	{
		ip := ip6L(layers.IPProtocolUDP)
		udp, pl := udpL(ip), payload(25)
		f := ser(eth6, ip, udp, pl)
		add("eth/ipv6/udp", LinkEthernet, f, ErrNone, withMAC(withUDP(want6(17, int(ip.Length)), udp, pl)))
		add("eth/ipv6 truncated ip (39 bytes)", LinkEthernet, f[:14+39], ErrTruncatedIP, withMAC(Packet{EtherType: 0x86DD}))
	}
	{
		ip := ip6L(layers.IPProtocolTCP)
		tcp, pl := tcpL(ip), payload(10)
		f := ser(eth6, ip, tcp, pl)
		add("eth/ipv6/tcp", LinkEthernet, f, ErrNone, withMAC(withTCP(want6(6, int(ip.Length)), tcp, pl)))
		add("eth/ipv6/tcp snaplen 58 (ports only)", LinkEthernet, f[:58], ErrTruncatedL4,
			withMAC(with(want6(6, int(ip.Length)), func(p *Packet) { p.SrcPort, p.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort) })))
		add("eth/ipv4 ethertype with ipv6 packet", LinkEthernet, append(ethBytes(tb, 0x0800), f[14:]...), ErrBadIPVersion, withMAC(Packet{EtherType: 0x0800}))
	}
	{
		ip := ip6L(layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		_ = icmp.SetNetworkLayerForChecksum(ip)
		echo, pl := &layers.ICMPv6Echo{Identifier: 7, SeqNumber: 9}, payload(16)
		add("eth/ipv6/icmpv6 echo", LinkEthernet, ser(eth6, ip, icmp, echo, pl), ErrNone,
			withMAC(withICMP(want6(58, int(ip.Length)), 128, 0, pl)))
	}
	{
		ip := ip6L(layers.IPProtocolIPv6HopByHop)
		tcp, pl := tcpL(ip), payload(12)
		f := ser(eth6, ip, hopByHop(layers.IPProtocolTCP), tcp, pl)
		add("eth/ipv6/hop-by-hop/tcp", LinkEthernet, f, ErrNone, withMAC(withTCP(want6(6, int(ip.Length)), tcp, pl)))
		add("eth/ipv6/hop-by-hop cut by capture", LinkEthernet, f[:14+40+4], ErrTruncatedIP, withMAC(want6(0, int(ip.Length))))

		// The chain runs past the payload length: malformed, whatever was captured.
		bad := append([]byte(nil), f...)
		bad[14+40+1] = 30 // 248-byte hop-by-hop header
		add("eth/ipv6/hop-by-hop longer than payload", LinkEthernet, bad, ErrBadIPHeader, withMAC(want6(0, int(ip.Length))))
		tiny := append([]byte(nil), f...)
		binary.BigEndian.PutUint16(tiny[14+4:], 4)
		add("eth/ipv6 payload length 4 with extension header", LinkEthernet, tiny, ErrBadIPHeader, withMAC(want6(0, 4)))
	}
	{
		ip := ip6L(layers.IPProtocolIPv6Routing)
		udp, pl := udpL(ip), payload(9)
		add("eth/ipv6/routing/udp", LinkEthernet, ser(eth6, ip, routing(layers.IPProtocolUDP), udp, pl), ErrNone,
			withMAC(withUDP(want6(17, int(ip.Length)), udp, pl)))
	}
	{
		ip := ip6L(layers.IPProtocolIPv6Destination)
		tcp, pl := tcpL(ip), payload(3)
		add("eth/ipv6/destination-options/tcp", LinkEthernet, ser(eth6, ip, destOpts(layers.IPProtocolTCP), tcp, pl), ErrNone,
			withMAC(withTCP(want6(6, int(ip.Length)), tcp, pl)))
	}
	{
		ip := ip6L(layers.IPProtocolAH)
		tcp, pl := tcpL(ip), payload(7)
		f := ser(eth6, ip, ahHeader(layers.IPProtocolTCP, 12), tcp, pl)
		add("eth/ipv6/ah/tcp", LinkEthernet, f, ErrNone, withMAC(withTCP(want6(6, int(ip.Length)), tcp, pl)))
		add("eth/ipv6/ah cut by capture", LinkEthernet, f[:14+40+10], ErrTruncatedIP, withMAC(want6(0, int(ip.Length))))
	}
	{
		ip := ip6L(layers.IPProtocolIPv6Fragment)
		udp, pl := udpL(ip), payload(33)
		add("eth/ipv6/fragment first/udp", LinkEthernet, ser(eth6, ip, fragment6(layers.IPProtocolUDP, 0, true), udp, pl), ErrNone,
			withMAC(withUDP(want6(17, int(ip.Length)), udp, pl)))
	}
	{
		ip := ip6L(layers.IPProtocolIPv6Fragment)
		pl := payload(48)
		add("eth/ipv6/fragment non-first", LinkEthernet, ser(eth6, ip, fragment6(layers.IPProtocolUDP, 100, true), pl), ErrNone,
			withMAC(with(want6(17, int(ip.Length)), func(p *Packet) { p.Fragment = true; p.Payload = pl })))
	}
	{
		ip := ip6L(layers.IPProtocol(135))
		add("eth/ipv6/mobility", LinkEthernet, ser(eth6, ip, mobilityHeader(1)), ErrNone,
			withMAC(with(want6(59, int(ip.Length)), func(p *Packet) { p.Payload = []byte{} })))
	}
	{
		ip := ip6L(layers.IPProtocolESP)
		pl := payload(40)
		add("eth/ipv6/esp", LinkEthernet, ser(eth6, ip, pl), ErrNone,
			withMAC(with(want6(50, int(ip.Length)), func(p *Packet) { p.Payload = pl })))
	}
	{
		ip := ip6L(layers.IPProtocolNoNextHeader)
		f := ser(eth6, ip)
		add("eth/ipv6/no-next-header with padding", LinkEthernet, f, ErrNone,
			withMAC(with(want6(59, 0), func(p *Packet) { p.Payload = []byte{} })))
	}
	{
		ip := ip6L(layers.IPProtocolIPv6HopByHop)
		udp, pl := udpL(ip), payload(21)
		f := ser(eth6, ip,
			hopByHop(layers.IPProtocolIPv6Destination),
			destOpts(layers.IPProtocolIPv6Routing),
			routing(layers.IPProtocolAH),
			ahHeader(layers.IPProtocolIPv6Fragment, 4),
			fragment6(layers.IPProtocolIPv6Destination, 0, true),
			destOpts(layers.IPProtocolUDP),
			udp, pl)
		add("eth/ipv6 full extension chain/udp", LinkEthernet, f, ErrNone, withMAC(withUDP(want6(17, int(ip.Length)), udp, pl)))
	}
	{
		ip := ip6L(layers.IPProtocolGRE)
		gre := &layers.GRE{Protocol: layers.EthernetTypeIPv6}
		inner := ip6L(layers.IPProtocolNoNextHeader)
		f := ser(eth6, ip, gre, inner)
		add("eth/ipv6/gre (other protocol)", LinkEthernet, f, ErrNone,
			withMAC(with(want6(47, int(ip.Length)), func(p *Packet) { p.Payload = f[14+40:] })))
	}

	// --- VLAN tags ---
	{
		ip := ip4L(layers.IPProtocolUDP)
		udp, pl := udpL(ip), payload(30)
		f := ser(ethL(layers.EthernetTypeDot1Q), dot1q(100, layers.EthernetTypeIPv4), ip, udp, pl)
		add("eth/802.1q/ipv4/udp", LinkEthernet, f, ErrNone,
			withMAC(with(withUDP(want4(17, int(ip.Length)), udp, pl), func(p *Packet) { p.VLAN = 100 })))
		add("eth/802.1q tag cut", LinkEthernet, f[:16], ErrTruncatedLink, withMAC(Packet{}))
	}
	{
		ip := ip6L(layers.IPProtocolTCP)
		tcp, pl := tcpL(ip), payload(30)
		f := ser(ethL(layers.EthernetTypeQinQ), dot1q(200, layers.EthernetTypeDot1Q), dot1q(100, layers.EthernetTypeIPv6), ip, tcp, pl)
		add("eth/802.1ad/802.1q/ipv6/tcp", LinkEthernet, f, ErrNone,
			withMAC(with(withTCP(want6(6, int(ip.Length)), tcp, pl), func(p *Packet) { p.VLAN, p.InnerVLAN = 200, 100 })))
		add("eth/802.1ad inner tag cut", LinkEthernet, f[:20], ErrTruncatedLink, withMAC(Packet{VLAN: 200}))
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		udp, pl := udpL(ip), payload(5)
		f := ser(ethL(0x9100), dot1q(300, layers.EthernetTypeDot1Q), dot1q(301, layers.EthernetTypeDot1Q), dot1q(302, layers.EthernetTypeIPv4), ip, udp, pl)
		add("eth/0x9100/802.1q/802.1q/ipv4/udp (three tags)", LinkEthernet, f, ErrNone,
			withMAC(with(withUDP(want4(17, int(ip.Length)), udp, pl), func(p *Packet) { p.VLAN, p.InnerVLAN = 300, 301 })))
	}
	{
		f := ser(ethL(layers.EthernetTypeDot1Q), dot1q(42, layers.EthernetTypeARP), arpL())
		// The ARP fields come from arpL's values, not from the decoder.
		a := ARP{Op: ARPRequest, SenderMAC: [6]byte(macSrc), SenderIP: [4]byte(ip4Src), TargetIP: [4]byte(ip4Dst)}
		add("eth/802.1q/arp", LinkEthernet, f, ErrNone, withMAC(Packet{EtherType: 0x0806, VLAN: 42, ARP: a}))
		add("eth/arp", LinkEthernet, ser(ethL(layers.EthernetTypeARP), arpL()), ErrNone, withMAC(Packet{EtherType: 0x0806, ARP: a}))
		add("eth/lldp", LinkEthernet, ser(ethL(layers.EthernetTypeLinkLayerDiscovery), payload(40)), ErrNone, withMAC(Packet{EtherType: 0x88CC}))
	}

	// --- Linux cooked captures ---
	{
		ip := ip4L(layers.IPProtocolTCP)
		tcp, pl := tcpL(ip), payload(50)
		f := ser(sllHeader(0x0800), ip, tcp, pl)
		add("sll/ipv4/tcp", LinkLinuxSLL, f, ErrNone, withTCP(want4(6, int(ip.Length)), tcp, pl))
		add("sll truncated link", LinkLinuxSLL, f[:15], ErrTruncatedLink, Packet{})
		add("sll/802.2 (non-IP)", LinkLinuxSLL, ser(sllHeader(0x0004), payload(20)), ErrNone, Packet{EtherType: 0x0004})
	}
	{
		ip := ip4L(layers.IPProtocolUDP)
		udp, pl := udpL(ip), payload(8)
		add("sll/802.1q/ipv4/udp", LinkLinuxSLL, ser(sllHeader(0x8100), dot1q(77, layers.EthernetTypeIPv4), ip, udp, pl), ErrNone,
			with(withUDP(want4(17, int(ip.Length)), udp, pl), func(p *Packet) { p.VLAN = 77 }))
	}
	{
		ip := ip6L(layers.IPProtocolUDP)
		udp, pl := udpL(ip), payload(11)
		f := ser(sll2Header(0x86DD), ip, udp, pl)
		add("sll2/ipv6/udp", LinkLinuxSLL2, f, ErrNone, withUDP(want6(17, int(ip.Length)), udp, pl))
		add("sll2 truncated link", LinkLinuxSLL2, f[:19], ErrTruncatedLink, Packet{})
	}
	{
		ip := ip4L(layers.IPProtocolICMPv4)
		icmp, pl := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0)}, payload(8)
		add("sll2/ipv4/icmp", LinkLinuxSLL2, ser(sll2Header(0x0800), ip, icmp, pl), ErrNone, withICMP(want4(1, int(ip.Length)), 0, 0, pl))
	}

	// --- Raw IP ---
	{
		ip4 := ip4L(layers.IPProtocolUDP)
		udp4, pl4 := udpL(ip4), payload(6)
		f4 := ser(ip4, udp4, pl4)
		w4 := withUDP(want4(17, int(ip4.Length)), udp4, pl4)
		ip6 := ip6L(layers.IPProtocolTCP)
		tcp6, pl6 := tcpL(ip6), payload(6)
		f6 := ser(ip6, tcp6, pl6)
		w6 := withTCP(want6(6, int(ip6.Length)), tcp6, pl6)

		add("raw/ipv4/udp", LinkRaw, f4, ErrNone, w4)
		add("raw/ipv6/tcp", LinkRaw, f6, ErrNone, w6)
		add("ipv4/udp (228)", LinkIPv4, f4, ErrNone, w4)
		add("ipv6/tcp (229)", LinkIPv6, f6, ErrNone, w6)
		add("228 carrying ipv6", LinkIPv4, f6, ErrBadIPVersion, Packet{})
		add("229 carrying ipv4", LinkIPv6, f4, ErrBadIPVersion, Packet{})
		add("raw version 5", LinkRaw, append([]byte{0x50}, f4[1:]...), ErrBadIPVersion, Packet{})
		add("raw empty", LinkRaw, []byte{}, ErrTruncatedIP, Packet{})
		add("228 empty", LinkIPv4, nil, ErrTruncatedIP, Packet{})
		add("229 short", LinkIPv6, f6[:20], ErrTruncatedIP, Packet{})

		// --- BSD loopback ---
		loop := func(fam layers.ProtocolFamily, ls ...gopacket.SerializableLayer) []byte {
			return ser(append([]gopacket.SerializableLayer{&layers.Loopback{Family: fam}}, ls...)...)
		}
		add("null(le)/ipv4/udp", LinkNull, loop(layers.ProtocolFamilyIPv4, ip4, udp4, pl4), ErrNone, w4)
		add("null(be)/ipv4/udp", LinkNull, ser(familyHeader(binary.BigEndian, 2), ip4, udp4, pl4), ErrNone, w4)
		add("null(le) af 30 darwin/ipv6", LinkNull, loop(layers.ProtocolFamilyIPv6Darwin, ip6, tcp6, pl6), ErrNone, w6)
		add("null(le) af 28 freebsd/ipv6", LinkNull, loop(layers.ProtocolFamilyIPv6FreeBSD, ip6, tcp6, pl6), ErrNone, w6)
		add("null(be) af 24 bsd/ipv6", LinkNull, ser(familyHeader(binary.BigEndian, 24), ip6, tcp6, pl6), ErrNone, w6)
		add("null(le) af 10 linux/ipv6", LinkNull, ser(familyHeader(binary.LittleEndian, 10), ip6, tcp6, pl6), ErrNone, w6)
		add("null af 7 (non-IP)", LinkNull, ser(familyHeader(binary.LittleEndian, 7), payload(10)), ErrNone, Packet{})
		add("null af 2 carrying ipv6", LinkNull, ser(familyHeader(binary.LittleEndian, 2), ip6, tcp6, pl6), ErrBadIPVersion, Packet{})
		add("null truncated link", LinkNull, []byte{2, 0, 0}, ErrTruncatedLink, Packet{})
		add("loop af 2/ipv4/udp", LinkLoop, ser(familyHeader(binary.BigEndian, 2), ip4, udp4, pl4), ErrNone, w4)
		add("loop af 24/ipv6/tcp", LinkLoop, ser(familyHeader(binary.BigEndian, 24), ip6, tcp6, pl6), ErrNone, w6)
		add("loop truncated link", LinkLoop, nil, ErrTruncatedLink, Packet{})

		add("unsupported link type (radiotap)", LinkType(127), f4, ErrUnsupportedLinkType, Packet{})
	}
	return cs
}

func arpL() *layers.ARP {
	return &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
		SourceHwAddress: macSrc, SourceProtAddress: ip4Src,
		DstHwAddress: make([]byte, 6), DstProtAddress: ip4Dst,
	}
}

// ethBytes is a bare Ethernet header with the given ethertype, for splicing
// a mismatching network layer behind it.
func ethBytes(tb testing.TB, et uint16) []byte {
	tb.Helper()
	return serialize(tb, ethL(layers.EthernetType(et)))[:14]
}
