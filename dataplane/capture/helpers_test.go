package capture

import (
	"net"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/dataplane/decode"
)

var (
	testSrcMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}
	testDstMAC = net.HardwareAddr{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}
)

const testDstPort = 9999

// udpFrame builds an Ethernet/IPv4/UDP frame whose source port identifies it,
// optionally 802.1Q-tagged, padded with payloadLen bytes.
func udpFrame(tb testing.TB, srcPort uint16, vlan uint16, payloadLen int) []byte {
	tb.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IP{192, 0, 2, 1}, DstIP: net.IP{192, 0, 2, 2}}
	udp := &layers.UDP{SrcPort: layers.UDPPort(srcPort), DstPort: testDstPort}
	_ = udp.SetNetworkLayerForChecksum(ip)
	ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: testSrcMAC, DstMAC: testDstMAC, EthernetType: layers.EthernetTypeIPv4}}
	if vlan != 0 {
		ls[0].(*layers.Ethernet).EthernetType = layers.EthernetTypeDot1Q
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: vlan, Type: layers.EthernetTypeIPv4})
	}
	ls = append(ls, ip, udp, gopacket.Payload(make([]byte, payloadLen)))
	return serialize(tb, ls...)
}

// rawIPv6Frame is a bare IPv6/UDP packet, for LINKTYPE_RAW interfaces.
func rawIPv6Frame(tb testing.TB, srcPort uint16) []byte {
	tb.Helper()
	ip := &layers.IPv6{Version: 6, HopLimit: 9, NextHeader: layers.IPProtocolUDP,
		SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
	udp := &layers.UDP{SrcPort: layers.UDPPort(srcPort), DstPort: testDstPort}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return serialize(tb, ip, udp, gopacket.Payload("v6"))
}

func serialize(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// seen is what a recorder keeps of one packet: the Packet outlives the
// call, so only copies are kept.
type seen struct {
	kind      decode.ErrKind
	ts        int64
	wireLen   uint32
	ipVersion uint8
	hasMAC    bool
	srcPort   uint16
	dstPort   uint16
	vlan      uint16
	payload   int
}

// recorder is a Handler that keeps what it saw; safe to read from another
// goroutine than the one running Run.
type recorder struct {
	mu   sync.Mutex
	pkts []seen
	// match, if set, selects the packets kept (live interfaces carry noise).
	match func(*decode.Packet) bool
}

func (r *recorder) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	if r.match != nil && !r.match(p) {
		return
	}
	r.mu.Lock()
	r.pkts = append(r.pkts, seen{kind, p.Timestamp, p.WireLen, p.IPVersion, p.HasMAC, p.SrcPort, p.DstPort, p.VLAN, len(p.Payload)})
	r.mu.Unlock()
}

func (r *recorder) snapshot() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.pkts...)
}

// counter is the cheapest Handler, for benchmarks.
type counter struct{ n, bytes uint64 }

func (c *counter) HandlePacket(p *decode.Packet, _ decode.ErrKind) {
	c.n++
	c.bytes += uint64(p.WireLen)
}
