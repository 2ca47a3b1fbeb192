package decode

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func arpOp(op uint16, sha net.HardwareAddr, spa net.IP, tha net.HardwareAddr, tpa net.IP) *layers.ARP {
	return &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: sha, SourceProtAddress: spa.To4(), DstHwAddress: tha, DstProtAddress: tpa.To4()}
}

func TestDecodeARP(t *testing.T) {
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	req := arpOp(layers.ARPRequest, macSrc, net.IP{192, 168, 1, 10}, zero, net.IP{192, 168, 1, 1})
	rep := arpOp(layers.ARPReply, macDst, net.IP{192, 168, 1, 1}, macSrc, net.IP{192, 168, 1, 10})
	rarp := arpOp(3, macSrc, net.IP{0, 0, 0, 0}, macSrc, net.IP{0, 0, 0, 0})
	ipv6arp := arpOp(layers.ARPRequest, macSrc, net.IP{192, 168, 1, 10}, zero, net.IP{192, 168, 1, 1})
	ipv6arp.Protocol = layers.EthernetTypeIPv6
	full := serialize(t, ethL(layers.EthernetTypeARP), req)
	cases := []struct {
		name  string
		frame []byte
		want  *layers.ARP // nil: not an ARP request/reply
		vlan  uint16
	}{
		{"request", full, req, 0},
		{"reply", serialize(t, ethL(layers.EthernetTypeARP), rep), rep, 0},
		{"request in a VLAN", serialize(t, ethL(layers.EthernetTypeDot1Q), dot1q(42, layers.EthernetTypeARP), req), req, 42},
		{"RARP opcode", serialize(t, ethL(layers.EthernetTypeARP), rarp), nil, 0},
		{"not IPv4 protocol", serialize(t, ethL(layers.EthernetTypeARP), ipv6arp), nil, 0},
		{"cut short", full[:ethernetLen+arpIPv4Len-1], nil, 0},
		{"header only", full[:ethernetLen], nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			if k := Decode(LinkEthernet, c.frame, &p); k != ErrNone {
				t.Fatalf("kind %v, want none", k)
			}
			if p.IPVersion != 0 || p.EtherType != EtherTypeARP || p.VLAN != c.vlan {
				t.Fatalf("ipversion %d ethertype %#x vlan %d", p.IPVersion, p.EtherType, p.VLAN)
			}
			if c.want == nil {
				if p.ARP.Op != 0 {
					t.Fatalf("ARP op %d, want 0", p.ARP.Op)
				}
				return
			}
			checkARP(t, &p.ARP, c.want)
		})
	}
}

func checkARP(t *testing.T, got *ARP, want *layers.ARP) {
	t.Helper()
	spa, _ := netip.AddrFromSlice(want.SourceProtAddress)
	tpa, _ := netip.AddrFromSlice(want.DstProtAddress)
	if got.Op != want.Operation || got.Sender() != spa || got.Target() != tpa ||
		!bytes.Equal(got.SenderMAC[:], want.SourceHwAddress) || !bytes.Equal(got.TargetMAC[:], want.DstHwAddress) {
		t.Fatalf("got %+v, want op %d %v/%v -> %v/%v", got, want.Operation, want.SourceHwAddress, spa, want.DstHwAddress, tpa)
	}
}

// FuzzARP feeds arbitrary ARP bodies behind an Ethernet header: Decode
// never panics, and whatever it reports as ARP is what gopacket's own ARP
// decoder reads from the same bytes.
func FuzzARP(f *testing.F) {
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	f.Add(serialize(f, arpOp(layers.ARPRequest, macSrc, net.IP{10, 0, 0, 1}, zero, net.IP{10, 0, 0, 2})))
	f.Add(serialize(f, arpOp(layers.ARPReply, macDst, net.IP{10, 0, 0, 2}, macSrc, net.IP{10, 0, 0, 1})))
	f.Add([]byte{0, 1, 8, 0, 6, 4, 0, 1})
	f.Add([]byte{})
	eth := serialize(f, ethL(layers.EthernetTypeARP))
	f.Fuzz(func(t *testing.T, body []byte) {
		frame := append(append([]byte(nil), eth...), body...)
		var p Packet
		if k := Decode(LinkEthernet, frame, &p); k != ErrNone {
			t.Fatalf("kind %v", k)
		}
		if p.ARP.Op == 0 {
			return
		}
		pkt := gopacket.NewPacket(body, layers.LayerTypeARP, gopacket.NoCopy)
		l, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP)
		if !ok || l.AddrType != layers.LinkTypeEthernet || l.Protocol != layers.EthernetTypeIPv4 {
			t.Fatalf("decoded ARP %+v from bytes gopacket does not read as Ethernet/IPv4 ARP", p.ARP)
		}
		checkARP(t, &p.ARP, l)
	})
}
