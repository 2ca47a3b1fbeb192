package decode

import (
	"bytes"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestDecode(t *testing.T) {
	for _, c := range decodeCases(t) {
		t.Run(c.name, func(t *testing.T) {
			p := Packet{Timestamp: 42, WireLen: 1234}
			kind := Decode(c.lt, c.frame, &p)
			if kind != c.kind {
				t.Errorf("kind = %v, want %v", kind, c.kind)
			}
			if p.Timestamp != 42 || p.WireLen != 1234 {
				t.Errorf("source fields clobbered: Timestamp %d WireLen %d", p.Timestamp, p.WireLen)
			}
			p.Timestamp, p.WireLen = 0, 0
			if d := diffPackets(p, c.want); d != "" {
				t.Error(d)
			}
		})
	}
}

// diffPackets lists the fields that differ, Payload compared by content.
func diffPackets(got, want Packet) string {
	var sb strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if name == "Payload" {
			if !bytes.Equal(got.Payload, want.Payload) {
				fmt.Fprintf(&sb, "Payload = %d bytes %q, want %d bytes %q\n", len(got.Payload), got.Payload, len(want.Payload), want.Payload)
			}
			continue
		}
		if g != w {
			fmt.Fprintf(&sb, "%s = %v, want %v\n", name, g, w)
		}
	}
	return sb.String()
}

func TestDecodeCoverage(t *testing.T) {
	kinds := map[ErrKind]bool{}
	links := map[LinkType]bool{}
	for _, c := range decodeCases(t) {
		kinds[c.kind] = true
		links[c.lt] = true
	}
	for k := range NumErrKinds {
		if !kinds[k] {
			t.Errorf("no case returns %v", k)
		}
	}
	for _, lt := range []LinkType{LinkNull, LinkEthernet, LinkRaw, LinkLoop, LinkLinuxSLL, LinkIPv4, LinkIPv6, LinkLinuxSLL2} {
		if !links[lt] {
			t.Errorf("no case for link type %d", lt)
		}
	}
}

// TestDecodeAgainstGopacket cross-checks addresses and ports with gopacket's
// own decoder wherever it understands the frame.
func TestDecodeAgainstGopacket(t *testing.T) {
	checked := 0
	for _, c := range decodeCases(t) {
		if c.kind != ErrNone || c.want.IPVersion == 0 || c.want.Fragment {
			continue
		}
		var p Packet
		Decode(c.lt, c.frame, &p)
		gp := gopacket.NewPacket(c.frame, layers.LinkType(c.lt), gopacket.Default)
		nl := gp.NetworkLayer()
		if nl == nil {
			continue
		}
		src, _ := netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
		dst, _ := netip.AddrFromSlice(nl.NetworkFlow().Dst().Raw())
		if src != p.Src || dst != p.Dst {
			t.Errorf("%s: addresses %v > %v, gopacket says %v > %v", c.name, p.Src, p.Dst, src, dst)
		}
		if p.Proto != 6 && p.Proto != 17 {
			checked++
			continue // tunnels: gopacket reports the inner transport
		}
		switch tl := gp.TransportLayer().(type) {
		case *layers.TCP:
			if uint16(tl.SrcPort) != p.SrcPort || uint16(tl.DstPort) != p.DstPort || tl.Seq != p.TCPSeq {
				t.Errorf("%s: tcp %d>%d seq %d, gopacket says %d>%d seq %d", c.name, p.SrcPort, p.DstPort, p.TCPSeq, tl.SrcPort, tl.DstPort, tl.Seq)
			}
			if !bytes.Equal(tl.Payload, p.Payload) {
				t.Errorf("%s: tcp payload %d bytes, gopacket says %d", c.name, len(p.Payload), len(tl.Payload))
			}
		case *layers.UDP:
			if uint16(tl.SrcPort) != p.SrcPort || uint16(tl.DstPort) != p.DstPort {
				t.Errorf("%s: udp %d>%d, gopacket says %d>%d", c.name, p.SrcPort, p.DstPort, tl.SrcPort, tl.DstPort)
			}
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d frames cross-checked", checked)
	}
}

func TestDecodeResetsReusedPacket(t *testing.T) {
	cs := decodeCases(t)
	for _, prev := range cs {
		for _, c := range cs {
			var fresh Packet
			Decode(c.lt, c.frame, &fresh)
			reused := Packet{Timestamp: 7, WireLen: 9}
			Decode(prev.lt, prev.frame, &reused)
			Decode(c.lt, c.frame, &reused)
			if reused.Timestamp != 7 || reused.WireLen != 9 {
				t.Fatalf("%s after %s: source fields clobbered", c.name, prev.name)
			}
			reused.Timestamp, reused.WireLen = 0, 0
			if d := diffPackets(reused, fresh); d != "" {
				t.Fatalf("%s after %s: stale fields:\n%s", c.name, prev.name, d)
			}
		}
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	cs := decodeCases(t)
	var p Packet
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range cs {
			Decode(c.lt, c.frame, &p)
		}
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.1f times per corpus pass", allocs)
	}
}

// fuzzLinkTypes maps the fuzzer's selector byte to a link type, so that
// mutations are spent on frames rather than on unsupported link numbers.
var fuzzLinkTypes = []LinkType{LinkEthernet, LinkLinuxSLL, LinkLinuxSLL2, LinkRaw, LinkIPv4, LinkIPv6, LinkNull, LinkLoop, 127}

func FuzzDecode(f *testing.F) {
	for _, c := range decodeCases(f) {
		for i, lt := range fuzzLinkTypes {
			if lt == c.lt {
				f.Add(uint8(i), c.frame)
			}
		}
	}
	// A fully populated packet to decode over, to catch fields left stale.
	var dirty Packet
	Decode(LinkEthernet, decodeCases(f)[0].frame, &dirty)
	dirty.VLAN, dirty.InnerVLAN, dirty.Fragment, dirty.ICMPType = 1, 2, true, 3

	f.Fuzz(func(t *testing.T, sel uint8, frame []byte) {
		lt := fuzzLinkTypes[int(sel)%len(fuzzLinkTypes)]
		p := Packet{Timestamp: -5, WireLen: 77}
		kind := Decode(lt, frame, &p)
		checkInvariants(t, frame, &p, kind)

		again := dirty
		if k := Decode(lt, frame, &again); k != kind {
			t.Fatalf("kind %v on a reused packet, %v on a fresh one", k, kind)
		}
		again.Timestamp, again.WireLen = p.Timestamp, p.WireLen
		if !samePacket(again, p) {
			t.Fatalf("reused packet differs:\n%s", diffPackets(again, p))
		}
	})
}

// samePacket is diffPackets without reflection, for the fuzz loop.
func samePacket(a, b Packet) bool {
	return a.Timestamp == b.Timestamp && a.WireLen == b.WireLen &&
		a.HasMAC == b.HasMAC && a.SrcMAC == b.SrcMAC && a.DstMAC == b.DstMAC &&
		a.EtherType == b.EtherType && a.VLAN == b.VLAN && a.InnerVLAN == b.InnerVLAN &&
		a.IPVersion == b.IPVersion && a.Src == b.Src && a.Dst == b.Dst &&
		a.DSCP == b.DSCP && a.TTL == b.TTL && a.IPLen == b.IPLen && a.Fragment == b.Fragment &&
		a.Proto == b.Proto && a.SrcPort == b.SrcPort && a.DstPort == b.DstPort &&
		a.TCPFlags == b.TCPFlags && a.TCPSeq == b.TCPSeq && a.TCPAck == b.TCPAck && a.TCPWindow == b.TCPWindow &&
		a.ICMPType == b.ICMPType && a.ICMPCode == b.ICMPCode && a.ARP == b.ARP &&
		bytes.Equal(a.Payload, b.Payload)
}

// samePacketFields keeps samePacket honest when Packet grows a field.
const samePacketFields = 26

func TestSamePacketCoversPacket(t *testing.T) {
	if n := reflect.TypeFor[Packet]().NumField(); n != samePacketFields {
		t.Fatalf("Packet has %d fields, samePacket compares %d: update it", n, samePacketFields)
	}
}

func checkInvariants(t *testing.T, frame []byte, p *Packet, kind ErrKind) {
	t.Helper()
	if kind >= NumErrKinds {
		t.Fatalf("kind %d out of range", kind)
	}
	if p.Timestamp != -5 || p.WireLen != 77 {
		t.Fatalf("source fields clobbered")
	}
	if len(p.Payload) > 0 {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(p.Payload)))
		fs := uintptr(unsafe.Pointer(unsafe.SliceData(frame)))
		if start < fs || start+uintptr(len(p.Payload)) > fs+uintptr(len(frame)) {
			t.Fatalf("payload [%#x,+%d) outside frame [%#x,+%d)", start, len(p.Payload), fs, len(frame))
		}
	}
	if p.Fragment && (p.SrcPort|p.DstPort != 0 || p.TCPFlags != 0 || p.TCPSeq != 0 || p.ICMPType != 0) {
		t.Fatalf("fragment with transport fields: %+v", p)
	}
	if p.DSCP > 63 {
		t.Fatalf("DSCP %d", p.DSCP)
	}
	switch p.IPVersion {
	case 0:
		if p.Src.IsValid() || p.Dst.IsValid() || p.Proto != 0 || len(p.Payload) != 0 {
			t.Fatalf("non-IP packet with L3/L4 fields: %+v", p)
		}
	case 4:
		if !p.Src.Is4() || !p.Dst.Is4() || p.EtherType != 0x0800 {
			t.Fatalf("IPv4 packet with %v > %v ethertype %#x", p.Src, p.Dst, p.EtherType)
		}
	case 6:
		if !p.Src.Is6() || !p.Dst.Is6() || p.EtherType != 0x86DD {
			t.Fatalf("IPv6 packet with %v > %v ethertype %#x", p.Src, p.Dst, p.EtherType)
		}
	default:
		t.Fatalf("IPVersion %d", p.IPVersion)
	}
	if kind == ErrNone && p.IPVersion == 4 && p.IPLen != 0 && len(p.Payload) > int(p.IPLen) {
		t.Fatalf("payload %d bytes in a %d-byte IPv4 packet", len(p.Payload), p.IPLen)
	}
}

func BenchmarkDecode(b *testing.B) {
	cs := decodeCases(b)
	pick := func(name string) decodeCase {
		for _, c := range cs {
			if c.name == name {
				return c
			}
		}
		b.Fatalf("no case %q", name)
		return decodeCase{}
	}
	// Roughly a campus uplink: mostly IPv4 TCP/UDP, some IPv6, VLANs, ARP.
	mix := []decodeCase{
		pick("eth/ipv4/tcp"), pick("eth/ipv4/tcp"), pick("eth/ipv4/tcp snaplen 158"),
		pick("eth/ipv4/udp with ethernet padding"), pick("eth/ipv4+options/udp"),
		pick("eth/ipv6/tcp"), pick("eth/ipv6/udp"), pick("eth/ipv6/icmpv6 echo"),
		pick("eth/802.1q/ipv4/udp"), pick("eth/802.1ad/802.1q/ipv6/tcp"),
		pick("eth/arp"), pick("eth/ipv4/icmp echo"),
	}
	var p Packet
	var sink uint32
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := &mix[i%len(mix)]
		Decode(c.lt, c.frame, &p)
		sink += uint32(p.SrcPort)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
	_ = sink
}
