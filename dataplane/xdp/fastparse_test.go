package xdp

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/dataplane/flow"
)

// ipv4Opts builds an Ethernet/IPv4 frame with a 4-byte router-alert
// option (so IHL 6: the program's general parse, not its fixed-offset
// one) carrying l4.
func ipv4Opts(t *testing.T, src, dst string, tos uint8, l4 ...gopacket.SerializableLayer) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, TOS: tos, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst),
		Options: []layers.IPv4Option{{OptionType: 0x94, OptionLength: 4, OptionData: []byte{0, 0}}}}
	switch l := l4[0].(type) {
	case *layers.TCP:
		ip.Protocol = layers.IPProtocolTCP
		_ = l.SetNetworkLayerForChecksum(ip)
	case *layers.UDP:
		ip.Protocol = layers.IPProtocolUDP
		_ = l.SetNetworkLayerForChecksum(ip)
	}
	f := serialize(t, append([]gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip}, l4...)...)
	if f[14] != 0x46 {
		t.Fatalf("IPv4 version/IHL %#x, want 0x46", f[14])
	}
	return f
}

func udp4(t *testing.T, src, dst string, sp, dp uint16, payload int) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
	_ = u.SetNetworkLayerForChecksum(ip)
	return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, u, gopacket.Payload(make([]byte, payload)))
}

// TestFastAndGeneralParseAgree sends each flow one frame the program
// parses at fixed offsets and one only its general parse takes (IPv4
// options, an IPv6 hop-by-hop header, or a UDP frame shorter than the
// fixed-offset check): both must
// land in the one flow, each in its direction, with every field of both.
func TestFastAndGeneralParseAgree(t *testing.T) {
	const client, server = "192.168.7.20", "10.7.7.7" // the server sorts first: it is A
	tcp := func(sp, dp uint16, syn, ack bool) *layers.TCP {
		return &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: syn, ACK: ack, Window: 100}
	}
	cases := []struct {
		name          string
		fast, general []byte // fast: client to server; general: server to client
		aport, bport  uint16
		proto         uint8
		flags         [2]uint8 // A to B, B to A
		dscp          [2]uint8
	}{
		{
			name:    "tcp",
			fast:    tcp4(t, client, server, 40001, 443, true, false, 10<<2, 0),
			general: ipv4Opts(t, server, client, 46<<2, tcp(443, 40001, true, true)),
			aport:   443, bport: 40001, proto: 6, flags: [2]uint8{0x12, 0x02}, dscp: [2]uint8{46, 10},
		},
		{
			name: "udp",
			fast: udp4(t, client, server, 40002, 4500, 20),
			// Cut to 42 bytes (gopacket pads to 60): under the fixed-offset check.
			general: udp4(t, server, client, 4500, 40002, 0)[:42],
			aport:   4500, bport: 40002, proto: 17,
		},
		{
			name:    "udp with options",
			fast:    udp4(t, client, server, 40003, 4501, 64),
			general: ipv4Opts(t, server, client, 0, &layers.UDP{SrcPort: 4501, DstPort: 40003}, gopacket.Payload(make([]byte, 30))),
			aport:   4501, bport: 40003, proto: 17,
		},
	}
	// IPv6: the general parse takes a frame with a hop-by-hop header, or
	// one shorter than the fixed-offset check.
	const client6, server6 = "2001:db8:7::20", "2001:db8:1::7"
	v6 := func(src, dst string, tc uint8, hop bool, l4 gopacket.SerializableLayer, payload int) []byte {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, TrafficClass: tc, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
		var proto layers.IPProtocol
		switch l := l4.(type) {
		case *layers.TCP:
			proto = layers.IPProtocolTCP
			_ = l.SetNetworkLayerForChecksum(ip)
		case *layers.UDP:
			proto = layers.IPProtocolUDP
			_ = l.SetNetworkLayerForChecksum(ip)
		}
		ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}, ip}
		ip.NextHeader = proto
		if hop {
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			h := &layers.IPv6HopByHop{}
			h.NextHeader = proto
			h.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			ls = append(ls, h)
		}
		return serialize(t, append(ls, l4, gopacket.Payload(make([]byte, payload)))...)
	}
	cases6 := []struct {
		name          string
		fast, general []byte
		aport, bport  uint16
		proto         uint8
		flags         [2]uint8
		dscp          [2]uint8
	}{
		{
			name:    "tcp6",
			fast:    v6(client6, server6, 10<<2|1, false, tcp(40004, 443, true, false), 0),
			general: v6(server6, client6, 46<<2, true, tcp(443, 40004, true, true), 0),
			aport:   443, bport: 40004, proto: 6, flags: [2]uint8{0x12, 0x02}, dscp: [2]uint8{46, 10},
		},
		{
			name:    "udp6",
			fast:    v6(client6, server6, 0, false, &layers.UDP{SrcPort: 40005, DstPort: 4500}, 20),
			general: v6(server6, client6, 0, false, &layers.UDP{SrcPort: 4500, DstPort: 40005}, 0)[:14+40+8],
			aport:   4500, bport: 40005, proto: 17,
		},
	}
	for _, c := range cases6 {
		t.Run(c.name, func(t *testing.T) {
			if len(c.general) >= 74 && (c.general[20] == 6 || c.general[20] == 17) {
				t.Fatalf("the general-parse frame would take the fixed-offset parse")
			}
			d := load(t, 1024)
			run(t, d, c.fast, c.general)
			got := drain(t, d)
			if len(got) != 1 {
				t.Fatalf("%d flows, want 1: %+v", len(got), got)
			}
			g := got[0]
			if g.A != netip.MustParseAddr(server6) || g.B != netip.MustParseAddr(client6) || g.APort != c.aport || g.BPort != c.bport ||
				g.Proto != c.proto || g.Pkts != [2]uint64{1, 1} || g.Bytes != [2]uint64{uint64(len(c.general)), uint64(len(c.fast))} ||
				g.Flags != c.flags || g.FirstFlags != c.flags || g.DSCP != c.dscp {
				t.Errorf("got %+v", g)
			}
			if cnt, _ := d.Counters(); cnt[CntIPv6] != 2 || cnt[CntPackets] != 2 || cnt[CntErrTruncL4] != 0 {
				t.Errorf("counters %v", cnt)
			}
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if len(c.general) >= 54 && c.general[14] == 0x45 {
				t.Fatalf("the general-parse frame would take the fixed-offset parse")
			}
			d := load(t, 1024)
			run(t, d, c.fast, c.general)
			got := drain(t, d)
			if len(got) != 1 {
				t.Fatalf("%d flows, want 1: %+v", len(got), got)
			}
			g := got[0]
			want := flow.Delta{
				A: netip.MustParseAddr(server), B: netip.MustParseAddr(client), APort: c.aport, BPort: c.bport, Proto: c.proto,
				Pkts: [2]uint64{1, 1}, Bytes: [2]uint64{uint64(len(c.general)), uint64(len(c.fast))},
				Flags: c.flags, FirstFlags: c.flags, DSCP: c.dscp,
			}
			if g.A != want.A || g.B != want.B || g.APort != want.APort || g.BPort != want.BPort || g.Proto != want.Proto ||
				g.VLAN != 0 || g.Priv != 0 || g.Pkts != want.Pkts || g.Bytes != want.Bytes ||
				g.Flags != want.Flags || g.FirstFlags != want.FirstFlags || g.DSCP != want.DSCP {
				t.Errorf("got  %+v\nwant %+v", g, want)
			}
			if g.MAC[0] != [6]byte(macA) || g.MAC[1] != [6]byte(macA) || !g.HasMAC[0] || !g.HasMAC[1] {
				t.Errorf("source MACs %v %v", g.MAC, g.HasMAC)
			}
			if cnt, _ := d.Counters(); cnt[CntIPv4] != 2 || cnt[CntPackets] != 2 || cnt[CntErrTruncL4] != 0 {
				t.Errorf("counters %v", cnt)
			}
		})
	}
}

// TestIPv6Direction checks that A is the endpoint that sorts lower
// (address as a big-endian number, then port) whichever half of the
// addresses differs, in both directions.
func TestIPv6Direction(t *testing.T) {
	cases := []struct{ lo, hi string }{
		{"2001:db8::1", "2001:db9::1"},        // the first 64 bits differ
		{"2001:db8::1:0", "2001:db8::ffff:1"}, // only the last 64
		{"fe80::1", "2001:db8::1"},            // the first byte decides, against its last
	}
	for _, c := range cases {
		d := load(t, 1024)
		frame := func(src, dst string, sp, dp uint16) []byte {
			ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
			tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), ACK: true, Window: 100}
			_ = tc.SetNetworkLayerForChecksum(ip)
			return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}, ip, tc)
		}
		lo, hi := c.lo, c.hi
		if netip.MustParseAddr(lo).Compare(netip.MustParseAddr(hi)) > 0 {
			lo, hi = hi, lo
		}
		// Two packets from the higher address, one from the lower; and
		// a flow between one address and itself, ordered by port.
		run(t, d, frame(hi, lo, 5000, 80), frame(lo, hi, 80, 5000), frame(hi, lo, 5000, 80), frame(lo, lo, 9000, 7000))
		got := drain(t, d)
		if len(got) != 2 {
			t.Fatalf("%s/%s: %d flows, want 2: %+v", lo, hi, len(got), got)
		}
		for _, g := range got {
			if g.B == g.A {
				if g.APort != 7000 || g.BPort != 9000 || g.Pkts != [2]uint64{0, 1} {
					t.Errorf("%s to itself: %+v", lo, g)
				}
				continue
			}
			if g.A != netip.MustParseAddr(lo) || g.B != netip.MustParseAddr(hi) || g.APort != 80 || g.BPort != 5000 || g.Pkts != [2]uint64{1, 2} {
				t.Errorf("%s/%s: A %v:%d B %v:%d pkts %v", lo, hi, g.A, g.APort, g.B, g.BPort, g.Pkts)
			}
		}
	}
}
