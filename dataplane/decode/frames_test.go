package decode

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Frames for the tests are built with gopacket's serializers so expected
// values come from the layer structs, not from the decoder under test.
// Headers gopacket cannot serialize (cooked captures, BSD loopback in network
// order, AH, mobility) get tiny test-local layers written from the RFCs.

var (
	macSrc = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}
	macDst = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}
	ip4Src = net.IP{192, 0, 2, 1}
	ip4Dst = net.IP{198, 51, 100, 7}
	ip6Src = net.ParseIP("2001:db8::1")
	ip6Dst = net.ParseIP("2001:db8:ffff::2")
)

const (
	tos4      = 0xB8 // DSCP 46 (EF), ECN 0
	ttl4      = 64
	dscp4     = 46
	tclass6   = 0x29 // DSCP 10 (AF11), ECN 1
	hopLimit6 = 57
	dscp6     = 10
)

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func ethL(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macSrc, DstMAC: macDst, EthernetType: et}
}

func dot1q(vid uint16, next layers.EthernetType) *layers.Dot1Q {
	return &layers.Dot1Q{Priority: 5, VLANIdentifier: vid, Type: next}
}

func ip4L(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TOS: tos4, TTL: ttl4, Id: 0x1234, Protocol: proto, SrcIP: ip4Src, DstIP: ip4Dst}
}

func ip6L(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, TrafficClass: tclass6, FlowLabel: 0xBEEF, HopLimit: hopLimit6, NextHeader: next, SrcIP: ip6Src, DstIP: ip6Dst}
}

func tcpL(nl gopacket.NetworkLayer) *layers.TCP {
	t := &layers.TCP{
		SrcPort: 40123, DstPort: 443, Seq: 0xDEADBEEF, Ack: 0x01020304,
		SYN: true, ACK: true, ECE: true, Window: 64240,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xB4}}},
	}
	_ = t.SetNetworkLayerForChecksum(nl)
	return t
}

const tcpFlagsWant = TCPSyn | TCPAck | TCPEce

func udpL(nl gopacket.NetworkLayer) *layers.UDP {
	u := &layers.UDP{SrcPort: 53124, DstPort: 53}
	_ = u.SetNetworkLayerForChecksum(nl)
	return u
}

// hopByHop carries one 4-byte option: 2+6 bytes needs no padding, which
// gopacket gets wrong for other sizes.
func hopByHop(next layers.IPProtocol) *layers.IPv6HopByHop {
	h := &layers.IPv6HopByHop{Options: []*layers.IPv6HopByHopOption{{OptionType: 0x1E, OptionData: []byte{1, 2, 3, 4}}}}
	h.NextHeader = next
	return h
}

func destOpts(next layers.IPProtocol) *layers.IPv6Destination {
	d := &layers.IPv6Destination{Options: []*layers.IPv6DestinationOption{{OptionType: 0x1E, OptionData: []byte{9, 8, 7, 6}}}}
	d.NextHeader = next
	return d
}

func routing(next layers.IPProtocol) *layers.IPv6Routing {
	r := &layers.IPv6Routing{RoutingType: 0, SegmentsLeft: 1, Reserved: []byte{0, 0, 0, 0}, SourceRoutingIPs: []net.IP{net.ParseIP("2001:db8::99")}}
	r.NextHeader = next
	return r
}

func fragment6(next layers.IPProtocol, off uint16, more bool) *layers.IPv6Fragment {
	return &layers.IPv6Fragment{NextHeader: next, FragmentOffset: off, MoreFragments: more, Identification: 0xCAFE}
}

func payload(n int) gopacket.Payload {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte('a' + i%26)
	}
	return p
}

// prependLayer is a test-local header: fixed bytes prepended as-is.
type prependLayer []byte

func (l prependLayer) LayerType() gopacket.LayerType { return gopacket.LayerTypePayload }
func (l prependLayer) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	bs, err := b.PrependBytes(len(l))
	if err != nil {
		return err
	}
	copy(bs, l)
	return nil
}

// sllHeader is a Linux cooked v1 header (pcap-linktype(7)): packet type,
// ARPHRD type, address length, 8 address bytes, protocol.
func sllHeader(proto uint16) prependLayer {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 0) // PACKET_HOST
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], macSrc)
	binary.BigEndian.PutUint16(h[14:], proto)
	return h
}

// sll2Header is a Linux cooked v2 header: protocol, reserved, ifindex,
// ARPHRD type, packet type, address length, 8 address bytes.
func sll2Header(proto uint16) prependLayer {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], proto)
	binary.BigEndian.PutUint32(h[4:], 3)
	binary.BigEndian.PutUint16(h[8:], 1)
	h[10] = 4 // PACKET_OUTGOING
	h[11] = 6
	copy(h[12:], macSrc)
	return h
}

func familyHeader(order binary.ByteOrder, fam uint32) prependLayer {
	h := make([]byte, 4)
	order.PutUint32(h, fam)
	return h
}

// ahHeader is an IPsec AH header (RFC 4302) with an icv-byte ICV; its length
// field counts 4-byte words minus 2.
func ahHeader(next layers.IPProtocol, icv int) prependLayer {
	h := make([]byte, 12+icv)
	h[0] = byte(next)
	h[1] = byte(len(h)/4 - 2)
	binary.BigEndian.PutUint32(h[4:], 0x1000) // SPI
	binary.BigEndian.PutUint32(h[8:], 7)      // sequence
	return h
}

// mobilityHeader is a Mobile IPv6 header (RFC 6275): payload proto (59),
// length in 8-byte units minus 1, MH type, reserved, checksum, message data.
func mobilityHeader(units int) prependLayer {
	h := make([]byte, (units+1)*8)
	h[0] = 59
	h[1] = byte(units)
	h[2] = 5 // binding update
	return h
}

// Expected-value helpers, written from the constants above.

func withMAC(p Packet) Packet {
	p.HasMAC = true
	copy(p.SrcMAC[:], macSrc)
	copy(p.DstMAC[:], macDst)
	return p
}

func want4(proto uint8, ipLen int) Packet {
	return Packet{
		EtherType: 0x0800, IPVersion: 4,
		Src: netip.AddrFrom4([4]byte(ip4Src)), Dst: netip.AddrFrom4([4]byte(ip4Dst)),
		DSCP: dscp4, TTL: ttl4, IPLen: uint16(ipLen), Proto: proto,
	}
}

func want6(proto uint8, payloadLen int) Packet {
	return Packet{
		EtherType: 0x86DD, IPVersion: 6,
		Src: netip.AddrFrom16([16]byte(ip6Src)), Dst: netip.AddrFrom16([16]byte(ip6Dst)),
		DSCP: dscp6, TTL: hopLimit6, IPLen: uint16(40 + payloadLen), Proto: proto,
	}
}

func withTCP(p Packet, t *layers.TCP, pl []byte) Packet {
	p.SrcPort, p.DstPort = uint16(t.SrcPort), uint16(t.DstPort)
	p.TCPSeq, p.TCPAck, p.TCPWindow = t.Seq, t.Ack, t.Window
	p.TCPFlags = tcpFlagsWant
	p.Payload = pl
	return p
}

func withUDP(p Packet, u *layers.UDP, pl []byte) Packet {
	p.SrcPort, p.DstPort = uint16(u.SrcPort), uint16(u.DstPort)
	p.Payload = pl
	return p
}

func withICMP(p Packet, typ, code uint8, pl []byte) Packet {
	p.ICMPType, p.ICMPCode = typ, code
	p.Payload = pl
	return p
}

func with(p Packet, f func(*Packet)) Packet {
	f(&p)
	return p
}
