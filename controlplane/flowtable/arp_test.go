package flowtable

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
)

func TestBcastDomainOf(t *testing.T) {
	// Expected domains worked by hand from ntopng's rule: /(32 − bit
	// length of the difference), network = sender AND target.
	cases := []struct {
		s, t string
		want string // "" none
	}{
		{"192.168.1.10", "192.168.1.1", "192.168.1.0/28"},
		{"192.168.1.1", "192.168.1.254", "192.168.1.0/24"},
		{"192.168.1.254", "192.168.1.1", "192.168.1.0/24"},
		{"10.0.0.1", "10.0.1.1", "10.0.0.0/23"},
		{"10.0.0.5", "10.0.0.5", ""},       // gratuitous: no difference
		{"0.0.0.0", "10.0.0.5", ""},        // RFC 5227 probe
		{"169.254.1.1", "169.254.3.3", ""}, // link-local
		{"10.0.0.1", "192.168.0.1", "0.0.0.0/0"},
	}
	for _, c := range cases {
		got, ok := BcastDomainOf(netip.MustParseAddr(c.s), netip.MustParseAddr(c.t))
		if c.want == "" {
			if ok {
				t.Errorf("%s→%s: %v, want none", c.s, c.t, got)
			}
			continue
		}
		if !ok || got != netip.MustParsePrefix(c.want) {
			t.Errorf("%s→%s: %v %v, want %s", c.s, c.t, got, ok, c.want)
		}
	}
}

func arpPkt(ts int64, op uint16, eth [2][6]byte, sha [6]byte, spa string, tha [6]byte, tpa string) *decode.Packet {
	return &decode.Packet{Timestamp: ts, WireLen: 60, HasMAC: true, SrcMAC: eth[0], DstMAC: eth[1], EtherType: decode.EtherTypeARP,
		ARP: decode.ARP{Op: op, SenderMAC: sha, SenderIP: netip.MustParseAddr(spa).As4(), TargetMAC: tha, TargetIP: netip.MustParseAddr(tpa).As4()}}
}

func TestARPLearning(t *testing.T) {
	a, b, c := [6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0xb}, [6]byte{2, 0, 0, 0, 0, 0xc}
	tb := New(Config{MaxHosts: 4})
	tb.HandlePacket(arpPkt(1e9, decode.ARPRequest, [2][6]byte{a, bcastMAC}, a, "192.168.1.10", zeroMAC, "192.168.1.1"), decode.ErrNone)
	tb.HandlePacket(arpPkt(2e9, decode.ARPReply, [2][6]byte{b, a}, b, "192.168.1.1", a, "192.168.1.10"), decode.ErrNone)
	// c claims 192.168.1.1 in a reply: the association changes once.
	tb.HandlePacket(arpPkt(3e9, decode.ARPReply, [2][6]byte{c, a}, c, "192.168.1.1", a, "192.168.1.10"), decode.ErrNone)
	tb.HandlePacket(arpPkt(4e9, decode.ARPReply, [2][6]byte{c, a}, c, "192.168.1.1", a, "192.168.1.10"), decode.ErrNone)
	// MACs a, broadcast, b, c fill MaxHosts: d's frames count in no MAC;
	// its third address is a fifth binding, past MaxHosts too.
	d := [6]byte{2, 0, 0, 0, 0, 0xd}
	for i, ip := range []string{"192.168.1.20", "192.168.1.21", "192.168.1.22"} {
		tb.HandlePacket(arpPkt(int64(5+i)*1e9, decode.ARPRequest, [2][6]byte{d, bcastMAC}, d, ip, zeroMAC, "192.168.1.1"), decode.ErrNone)
	}
	tb.View(func(v View) {
		st := v.ARPStats()
		if st.Requests != 4 || st.Replies != 3 || st.MACsMissed != 3 || st.BindingsMissed != 1 {
			t.Errorf("stats %+v", st)
		}
		doms := map[netip.Prefix]uint64{}
		v.BcastDomains(func(d BcastDomain) { doms[d.Prefix] = d.Hits })
		if len(doms) != 2 || doms[netip.MustParsePrefix("192.168.1.0/28")] != 4 || doms[netip.MustParsePrefix("192.168.1.0/27")] != 3 {
			t.Errorf("domains %v", doms)
		}
		binds := map[string][6]byte{}
		v.ARPBindings(func(x ARPBinding) { binds[x.IP.String()] = x.MAC })
		if len(binds) != 4 || binds["192.168.1.1"] != c || binds["192.168.1.10"] != a || binds["192.168.1.21"] != d {
			t.Errorf("bindings %v", binds)
		}
		if got := v.ARPCounters(a); got != (ARPCounters{RequestsSent: 1, RepliesRcvd: 3}) {
			t.Errorf("a: %+v", got)
		}
		if got := v.ARPCounters(c); got != (ARPCounters{RepliesSent: 2}) {
			t.Errorf("c: %+v", got)
		}
		if got := v.ARPCounters(bcastMAC); got != (ARPCounters{RequestsRcvd: 4}) {
			t.Errorf("broadcast: %+v", got)
		}
		var evs []ARPEvent
		last := v.ARPEvents(0, func(e ARPEvent) { evs = append(evs, e) })
		if last != 1 || len(evs) != 1 || evs[0].IP.String() != "192.168.1.1" || evs[0].OldMAC != b || evs[0].NewMAC != c || evs[0].At != 3e9 {
			t.Errorf("events %+v last %d", evs, last)
		}
		if v.ARPEvents(last, func(ARPEvent) { t.Error("event after the last") }) != last {
			t.Error("last moved")
		}
	})
}

func TestARPEventRing(t *testing.T) {
	a, b := [6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0xb}
	tb := New(Config{})
	n := maxARPEvents + 10
	for i := 0; i <= n; i++ {
		m := a
		if i%2 == 1 {
			m = b
		}
		tb.HandlePacket(arpPkt(int64(i+1)*1e9, decode.ARPReply, [2][6]byte{m, bcastMAC}, m, "10.0.0.1", zeroMAC, "10.0.0.2"), decode.ErrNone)
	}
	tb.View(func(v View) {
		var seqs []uint64
		last := v.ARPEvents(0, func(e ARPEvent) { seqs = append(seqs, e.Seq) })
		if last != uint64(n) || len(seqs) != maxARPEvents || seqs[0] != uint64(n-maxARPEvents+1) || seqs[len(seqs)-1] != uint64(n) {
			t.Fatalf("last %d, %d events from %d to %d", last, len(seqs), seqs[0], seqs[len(seqs)-1])
		}
		seqs = seqs[:0]
		v.ARPEvents(uint64(n-3), func(e ARPEvent) { seqs = append(seqs, e.Seq) })
		if len(seqs) != 3 {
			t.Fatalf("after n-3: %v", seqs)
		}
	})
}

// TestARPLearnerCountsNothing: frames fed through ARPLearner teach the ARP
// state but add nothing to the interface totals (the kernel counted them).
func TestARPLearnerCountsNothing(t *testing.T) {
	a := [6]byte{2, 0, 0, 0, 0, 0xa}
	tb := New(Config{})
	l := ARPLearner{tb}
	l.HandlePacket(arpPkt(1e9, decode.ARPRequest, [2][6]byte{a, bcastMAC}, a, "192.168.1.10", zeroMAC, "192.168.1.1"), decode.ErrNone)
	l.HandlePacket(&decode.Packet{Timestamp: 2e9, WireLen: 60, EtherType: 0x88CC}, decode.ErrNone) // LLDP: ignored
	tb.View(func(v View) {
		if s := v.Stats(); s.Packets != 0 || s.Bytes != 0 {
			t.Errorf("totals %d packets %d bytes, want 0", s.Packets, s.Bytes)
		}
		if st := v.ARPStats(); st.Requests != 1 {
			t.Errorf("ARP stats %+v", st)
		}
	})
}

// BenchmarkARPFrame is the cost of one ARP frame through HandlePacket
// (counting plus learning), against an IPv4 TCP packet of an existing flow
// in the same run as the baseline (b.Run "tcp").
func BenchmarkARPFrame(b *testing.B) {
	const n = 4096
	arps := make([]*decode.Packet, n)
	for i := range arps {
		m := [6]byte{2, 0, 0, 0, byte(i >> 8), byte(i)}
		op := uint16(decode.ARPRequest)
		if i%2 == 1 {
			op = decode.ARPReply
		}
		arps[i] = arpPkt(int64(i+1)*1e6, op, [2][6]byte{m, bcastMAC}, m, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String(), zeroMAC, "10.0.0.1")
	}
	src, dst := netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("10.1.1.1")
	tcpPkt := &decode.Packet{Timestamp: 1e9, WireLen: 60, IPVersion: 4, Src: src, Dst: dst, Proto: decode.ProtoTCP, SrcPort: 40000, DstPort: 443, TCPFlags: decode.TCPAck}
	b.Run("tcp", func(b *testing.B) {
		tb := New(Config{Offline: true})
		for i := 0; i < b.N; i++ {
			tb.HandlePacket(tcpPkt, decode.ErrNone)
		}
	})
	b.Run("arp", func(b *testing.B) {
		tb := New(Config{Offline: true})
		for i := 0; i < b.N; i++ {
			tb.HandlePacket(arps[i%n], decode.ErrNone)
		}
	})
}

// TestARPClaimsAndExpiry: the IPs each MAC's replies hold, moved when
// another MAC answers for one, and given back when bindings age out of a
// live table (LocalHostIdle 300 s by default).
func TestARPClaimsAndExpiry(t *testing.T) {
	a, m := [6]byte{2, 0, 0, 0, 0, 0xa}, [6]byte{2, 0, 0, 0, 0, 0x66}
	tb := New(Config{})
	reply := func(ts int64, mac [6]byte, ip string) {
		tb.HandlePacket(arpPkt(ts, decode.ARPReply, [2][6]byte{mac, a}, mac, ip, a, "10.0.0.99"), decode.ErrNone)
	}
	for i, ip := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"} {
		reply(int64(i+1)*1e9, m, ip)
	}
	reply(4e9, a, "10.0.0.1")   // a takes .1 back
	reply(5e9, m, "10.0.0.3")   // m again: no change
	reply(400e9, m, "10.0.0.4") // much later: .2, .3 and .1 are older than 300 s then
	claims := func() map[[6]byte]int {
		got := map[[6]byte]int{}
		tb.View(func(v View) { v.ARPClaims(func(mac [6]byte, n int) { got[mac] = n }) })
		return got
	}
	// The reply target pair (a, 10.0.0.99) is a binding too, held by a.
	if got := claims(); len(got) != 2 || got[m] != 3 || got[a] != 2 {
		t.Fatalf("claims before expiry %v", got)
	}
	var ips []string
	tb.View(func(v View) { v.ARPClaimed(m, func(b ARPBinding) { ips = append(ips, b.IP.String()) }) })
	if len(ips) != 3 {
		t.Errorf("m holds %v", ips)
	}
	tb.Tick(400e9)
	// At 400 s, .2 (2 s) and .3 (5 s) and .1 (4 s) are gone; .99 was seen
	// at 400 s as the last reply's target, .4 at 400 s.
	if got := claims(); len(got) != 2 || got[m] != 1 || got[a] != 1 {
		t.Errorf("claims after expiry %v", got)
	}
	n := 0
	tb.View(func(v View) { v.ARPBindings(func(ARPBinding) { n++ }) })
	if n != 2 {
		t.Errorf("%d bindings after expiry, want 2", n)
	}
	// A capture file's table keeps its bindings.
	off := New(Config{Offline: true})
	off.HandlePacket(arpPkt(1e9, decode.ARPReply, [2][6]byte{m, a}, m, "10.0.0.1", a, "10.0.0.99"), decode.ErrNone)
	off.Tick(4000e9)
	off.View(func(v View) {
		k := 0
		v.ARPBindings(func(ARPBinding) { k++ })
		if k != 2 {
			t.Errorf("offline: %d bindings, want 2", k)
		}
	})
}
