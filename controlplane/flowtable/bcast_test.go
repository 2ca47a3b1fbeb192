package flowtable

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

func TestBcastIPDomain(t *testing.T) {
	learnt := map[netip.Prefix]bool{
		netip.MustParsePrefix("192.168.1.0/28"): true,
		netip.MustParsePrefix("192.168.1.0/24"): true,
		netip.MustParsePrefix("10.9.0.0/16"):    true,
		netip.MustParsePrefix("10.1.2.0/31"):    true,
		netip.MustParsePrefix("172.16.1.0/28"):  true, // inside the local /22
	}
	has := func(p netip.Prefix) bool { return learnt[p] }
	local := []netip.Prefix{netip.MustParsePrefix("172.16.0.0/22")}
	// Expected domains worked by hand from the rule in arp.go.
	cases := []struct {
		src, dst string
		noLearnt bool
		want     string // "" none
		noGuess  bool   // no Ethernet broadcast seen: rule 3 is off
	}{
		{"192.168.1.10", "255.255.255.255", false, "192.168.1.0/24", false}, // the largest learnt holding the source
		{"192.168.1.10", "192.168.1.255", false, "192.168.1.0/24", false},   // directed broadcast of the /24
		{"192.168.1.10", "192.168.1.15", false, "192.168.1.0/28", false},    // ... of the /28
		{"10.9.3.4", "10.9.255.255", false, "10.9.0.0/16", false},
		{"10.9.3.4", "10.9.3.255", false, "10.9.3.0/24", false}, // not the /16's: the .255 guess
		{"10.1.2.1", "255.255.255.255", false, "10.1.2.0/31", false},
		{"10.1.2.0", "10.1.2.1", false, "", false},                       // a /31 has no directed broadcast
		{"172.16.1.5", "172.16.3.255", false, "172.16.0.0/22", false},    // local network's broadcast
		{"172.16.1.5", "255.255.255.255", false, "172.16.0.0/22", false}, // the local /22 is larger than the learnt /28
		{"172.16.1.5", "172.16.1.15", false, "172.16.1.0/28", false},     // the learnt /28's own broadcast
		{"172.16.1.5", "172.16.1.255", false, "172.16.1.0/24", false},
		{"10.20.30.40", "255.255.255.255", false, "", false}, // netmask unknown
		{"0.0.0.0", "255.255.255.255", false, "", false},     // DHCP discover
		{"169.254.3.3", "169.254.3.255", false, "", false},   // link-local
		{"192.168.2.7", "192.168.1.255", false, "", false},   // another subnet's broadcast
		{"192.168.1.255", "192.168.1.255", false, "", false},
		{"192.168.1.10", "192.168.1.127", false, "", false}, // no /25 learnt, not .255
		{"192.168.1.10", "255.255.255.255", true, "", false},
		{"192.168.1.10", "192.168.1.255", true, "192.168.1.0/24", false},
		{"2001:db8::1", "ff02::1", false, "", false},
		{"10.9.3.4", "10.9.3.255", false, "", true},                      // the guess needs the Ethernet broadcast
		{"192.168.1.10", "192.168.1.255", false, "192.168.1.0/24", true}, // a learnt domain's does not
		{"172.16.1.5", "172.16.3.255", false, "172.16.0.0/22", true},     // nor a local network's
		{"192.168.1.10", "255.255.255.255", false, "192.168.1.0/24", true},
	}
	for _, c := range cases {
		fn := has
		if c.noLearnt {
			fn = nil
		}
		got, ok := BcastIPDomain(netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst), fn, local, !c.noGuess)
		if c.want == "" {
			if ok {
				t.Errorf("%s→%s: %v, want none", c.src, c.dst, got)
			}
			continue
		}
		if !ok || got != netip.MustParsePrefix(c.want) {
			t.Errorf("%s→%s (learnt %v): %v %v, want %s", c.src, c.dst, !c.noLearnt, got, ok, c.want)
		}
	}
}

// TestBcastDomainsFromIP: broadcast packets with and without an Ethernet
// broadcast destination, and a kernel dataplane's deltas of such a flow.
func TestBcastDomainsFromIP(t *testing.T) {
	a, b := [6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0xb}
	ip := netip.MustParseAddr
	eth := func(p *decode.Packet, src, dst [6]byte) *decode.Packet {
		p.HasMAC, p.SrcMAC, p.DstMAC = true, src, dst
		return p
	}
	tb := New(Config{})
	// ARP teaches 192.168.1.0/24 (.1 and .200 differ in 8 bits).
	tb.HandlePacket(arpPkt(1e9, decode.ARPRequest, [2][6]byte{a, bcastMAC}, a, "192.168.1.200", zeroMAC, "192.168.1.1"), decode.ErrNone)
	pkts := []*decode.Packet{
		eth(udp(2e9, ip("192.168.1.200"), ip("192.168.1.255"), 138, 138, []byte("x")), a, bcastMAC), // /24 hit
		eth(udp(3e9, ip("192.168.1.200"), ip("192.168.1.255"), 138, 138, []byte("x")), a, bcastMAC), // /24 hit
		eth(udp(4e9, ip("192.168.1.200"), ip("255.255.255.255"), 68, 67, []byte("x")), a, bcastMAC), // /24 hit
		eth(udp(5e9, ip("192.168.1.200"), ip("192.168.1.255"), 139, 139, []byte("x")), a, b),        // unicast MAC: none
		udp(6e9, ip("192.168.1.200"), ip("192.168.1.255"), 138, 138, []byte("x")),                   // no MAC: none
		eth(udp(7e9, ip("10.5.5.5"), ip("10.5.5.255"), 137, 137, []byte("x")), b, bcastMAC),         // learns 10.5.5.0/24
		eth(udp(8e9, ip("0.0.0.0"), ip("255.255.255.255"), 68, 67, []byte("x")), b, bcastMAC),       // none
		eth(udp(9e9, ip("10.5.5.5"), ip("255.255.255.255"), 5000, 5000, []byte("x")), b, bcastMAC),  // 10.5.5.0/24 now known
	}
	for _, p := range pkts {
		tb.HandlePacket(p, decode.ErrNone)
	}
	// The kernel dataplane drains 5 more packets of the 10.5.5.5 → .255
	// flow, 4 of the unicast-MAC one (the packet path saw it: no
	// broadcast), and flows it never sent to the slow path: 3 packets to
	// 10.6.6.255 (no MAC to tell: not counted), 2 to 192.168.1.255 (the
	// learnt /24's broadcast) and 6 to 255.255.255.255 from 10.5.5.9 (the
	// learnt /24 holding it).
	tb.ApplyDeltas([]flow.Delta{
		{A: ip("10.5.5.5"), B: ip("10.5.5.255"), APort: 137, BPort: 137, Proto: 17, Pkts: [2]uint64{5, 0}, Bytes: [2]uint64{500, 0}, FirstNs: [2]int64{10e9, 0}, LastNs: 11e9},
		{A: ip("192.168.1.200"), B: ip("192.168.1.255"), APort: 139, BPort: 139, Proto: 17, Pkts: [2]uint64{4, 0}, Bytes: [2]uint64{400, 0}, FirstNs: [2]int64{10e9, 0}, LastNs: 11e9},
		{A: ip("10.6.6.6"), B: ip("10.6.6.255"), APort: 137, BPort: 137, Proto: 17, Pkts: [2]uint64{3, 0}, Bytes: [2]uint64{300, 0}, FirstNs: [2]int64{10e9, 0}, LastNs: 11e9},
		{A: ip("192.168.1.77"), B: ip("192.168.1.255"), APort: 138, BPort: 138, Proto: 17, Pkts: [2]uint64{2, 0}, Bytes: [2]uint64{200, 0}, FirstNs: [2]int64{10e9, 0}, LastNs: 11e9},
		{A: ip("10.5.5.9"), B: ip("255.255.255.255"), APort: 68, BPort: 67, Proto: 17, Pkts: [2]uint64{6, 0}, Bytes: [2]uint64{600, 0}, FirstNs: [2]int64{10e9, 0}, LastNs: 11e9},
	}, DataplaneCounts{Packets: 20, Bytes: 2000})
	want := map[netip.Prefix]uint64{
		netip.MustParsePrefix("192.168.1.0/24"): 1 + 3 + 2,
		netip.MustParsePrefix("10.5.5.0/24"):    1 + 1 + 5 + 6,
	}
	tb.View(func(v View) {
		got := map[netip.Prefix]uint64{}
		v.BcastDomains(func(d BcastDomain) { got[d.Prefix] = d.Hits })
		if len(got) != len(want) {
			t.Fatalf("domains %v, want %v", got, want)
		}
		for p, n := range want {
			if got[p] != n {
				t.Errorf("%s: %d hits, want %d", p, got[p], n)
			}
		}
	})
}

// TestBcastDomainsCap: broadcast traffic learns no more domains than ARP may.
func TestBcastDomainsCap(t *testing.T) {
	tb := New(Config{})
	for i := 0; i < maxBcastDomains+5; i++ {
		src := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})
		dst := netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 255})
		p := udp(int64(i+1)*1e6, src, dst, 137, 137, []byte("x"))
		p.HasMAC, p.DstMAC = true, bcastMAC
		tb.HandlePacket(p, decode.ErrNone)
	}
	tb.View(func(v View) {
		n := 0
		v.BcastDomains(func(BcastDomain) { n++ })
		if n != maxBcastDomains || v.ARPStats().DomainsMissed != 5 {
			t.Errorf("%d domains, %d missed", n, v.ARPStats().DomainsMissed)
		}
	})
}

// BenchmarkBcastPacket is the cost of an IPv4 broadcast packet through
// HandlePacket (accounting plus the domain lookup), against the same
// packet sent to one MAC in the same run (b.Run "unicast", the baseline:
// no lookup).
func BenchmarkBcastPacket(b *testing.B) {
	a, g := [6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0xb}
	src, dst := netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("192.168.1.255")
	for _, c := range []struct {
		name string
		to   [6]byte
	}{{"unicast", g}, {"broadcast", bcastMAC}} {
		b.Run(c.name, func(b *testing.B) {
			tb := New(Config{Offline: true})
			// A learnt /28 and /24, as ARP leaves them.
			tb.HandlePacket(arpPkt(1, decode.ARPRequest, [2][6]byte{a, bcastMAC}, a, "192.168.1.10", zeroMAC, "192.168.1.1"), decode.ErrNone)
			tb.HandlePacket(arpPkt(2, decode.ARPRequest, [2][6]byte{a, bcastMAC}, a, "192.168.1.200", zeroMAC, "192.168.1.1"), decode.ErrNone)
			p := udp(1e9, src, dst, 138, 138, []byte("x"))
			p.HasMAC, p.SrcMAC, p.DstMAC = true, a, c.to
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tb.HandlePacket(p, decode.ErrNone)
			}
		})
	}
}

// TestBcastDomainChoiceFollowsLearning: a flow's later packets are counted
// by the domains known then, not those of its first packet.
func TestBcastDomainChoiceFollowsLearning(t *testing.T) {
	a := [6]byte{2, 0, 0, 0, 0, 0xa}
	tb := New(Config{LocalNets: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/22")}})
	send := func(ts int64) {
		p := udp(ts, netip.MustParseAddr("172.16.1.5"), netip.MustParseAddr("255.255.255.255"), 5000, 5000, []byte("x"))
		p.HasMAC, p.SrcMAC, p.DstMAC = true, a, bcastMAC
		tb.HandlePacket(p, decode.ErrNone)
	}
	send(1e9) // the local /22
	send(2e9)
	// ARP between 172.16.1.5 and 172.16.200.1 (50940 apart: 16 bits): a /16.
	tb.HandlePacket(arpPkt(3e9, decode.ARPRequest, [2][6]byte{a, bcastMAC}, a, "172.16.1.5", zeroMAC, "172.16.200.1"), decode.ErrNone)
	send(4e9) // the /16 now: the largest known holding the source
	got := map[string]uint64{}
	tb.View(func(v View) { v.BcastDomains(func(d BcastDomain) { got[d.Prefix.String()] = d.Hits }) })
	if len(got) != 2 || got["172.16.0.0/22"] != 2 || got["172.16.0.0/16"] != 2 {
		t.Errorf("domains %v, want the /22 hit twice, the /16 by ARP and the last packet", got)
	}
}
