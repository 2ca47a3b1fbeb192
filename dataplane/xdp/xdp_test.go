package xdp

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/dataplane/flow"
	"github.com/probe-appliance/probe/internal/fixture"
)

func load(t testing.TB, maxFlows int) *Dataplane {
	t.Helper()
	return loadOpts(t, Options{MaxFlows: maxFlows})
}

func loadOpts(t testing.TB, opts Options) *Dataplane {
	t.Helper()
	if os.Geteuid() != 0 {
		fixture.Missing(t, "loading BPF programs needs root")
	}
	d, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

func serialize(t testing.TB, l ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, l...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// tcp4 builds an Ethernet/IPv4/TCP frame, with optional VLAN tags.
func tcp4(t testing.TB, src, dst string, sp, dp uint16, syn, ack bool, tos uint8, payload int, vlans ...uint16) []byte {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	var ls []gopacket.SerializableLayer
	ls = append(ls, eth)
	if len(vlans) > 0 {
		eth.EthernetType = layers.EthernetTypeDot1Q
		for i, v := range vlans {
			next := layers.EthernetTypeDot1Q
			if i == len(vlans)-1 {
				next = layers.EthernetTypeIPv4
			}
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: v, Type: next})
		}
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, TOS: tos, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: syn, ACK: ack, Window: 100}
	_ = tc.SetNetworkLayerForChecksum(ip)
	ls = append(ls, ip, tc, gopacket.Payload(make([]byte, payload)))
	return serialize(t, ls...)
}

func run(t testing.TB, d *Dataplane, frames ...[]byte) {
	t.Helper()
	for _, f := range frames {
		ret, err := d.Program().Run(&ebpf.RunOptions{Data: f})
		if err != nil {
			t.Fatal(err)
		}
		if ret != 2 { // XDP_PASS
			t.Fatalf("program returned %d, want XDP_PASS", ret)
		}
	}
}

func drain(t testing.TB, d *Dataplane) []flow.Delta {
	t.Helper()
	var out []flow.Delta
	if _, err := d.Drain(func(x *flow.Delta) { out = append(out, *x) }); err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].A.Compare(out[j].A); c != 0 {
			return c < 0
		}
		return out[i].APort < out[j].APort
	})
	return out
}

func TestIPv4TCPBothDirections(t *testing.T) {
	d := load(t, 1024)
	f1 := tcp4(t, "192.168.1.10", "93.184.216.34", 40000, 443, true, false, 0, 0)
	f2 := tcp4(t, "93.184.216.34", "192.168.1.10", 443, 40000, true, true, 46<<2, 0)
	f3 := tcp4(t, "192.168.1.10", "93.184.216.34", 40000, 443, false, true, 0, 100)
	run(t, d, f1, f2, f3)
	got := drain(t, d)
	if len(got) != 1 {
		t.Fatalf("%d flows, want 1: %+v", len(got), got)
	}
	g := got[0]
	// 93.x sorts before 192.x: A is the server here.
	if g.A != netip.MustParseAddr("93.184.216.34") || g.APort != 443 || g.B != netip.MustParseAddr("192.168.1.10") || g.BPort != 40000 || g.Proto != 6 {
		t.Fatalf("key %+v", g)
	}
	if g.Pkts != [2]uint64{1, 2} || g.Bytes != [2]uint64{uint64(len(f2)), uint64(len(f1) + len(f3))} {
		t.Errorf("pkts %v bytes %v", g.Pkts, g.Bytes)
	}
	if g.Flags[flow.AtoB] != 0x12 || g.Flags[flow.BtoA] != 0x12 { // SYN|ACK both ways (SYN then ACK from B)
		t.Errorf("flags %#x %#x", g.Flags[0], g.Flags[1])
	}
	if g.DSCP[flow.AtoB] != 46 || g.DSCP[flow.BtoA] != 0 {
		t.Errorf("dscp %v", g.DSCP)
	}
	if g.FirstNs[flow.BtoA] == 0 || g.FirstNs[flow.AtoB] == 0 || g.FirstNs[flow.BtoA] > g.FirstNs[flow.AtoB] || g.LastNs < g.FirstNs[flow.AtoB] {
		t.Errorf("times first %v last %v", g.FirstNs, g.LastNs)
	}
	// Drained means gone: a second drain is empty.
	if again := drain(t, d); len(again) != 0 {
		t.Errorf("second drain returned %d flows", len(again))
	}
	c, err := d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c[CntPackets] != 3 || c[CntIPv4] != 3 || c[CntBytes] != uint64(len(f1)+len(f2)+len(f3)) {
		t.Errorf("counters %v", c)
	}
}

func TestParsing(t *testing.T) {
	d := load(t, 1024)
	v6 := func(ext ...gopacket.SerializableLayer) []byte {
		eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, TrafficClass: 10 << 2, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		u := &layers.UDP{SrcPort: 5000, DstPort: 6000}
		_ = u.SetNetworkLayerForChecksum(ip)
		ls := []gopacket.SerializableLayer{eth, ip}
		if len(ext) > 0 {
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			ls = append(ls, ext...)
		} else {
			ip.NextHeader = layers.IPProtocolUDP
		}
		return serialize(t, append(ls, u, gopacket.Payload("x"))...)
	}
	hop := &layers.IPv6HopByHop{}
	hop.NextHeader = layers.IPProtocolUDP
	hop.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}

	dns := func(id uint16) []byte {
		eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP("10.0.0.1"), DstIP: net.ParseIP("10.0.0.53")}
		u := &layers.UDP{SrcPort: 33333, DstPort: 53}
		_ = u.SetNetworkLayerForChecksum(ip)
		q := &layers.DNS{ID: id, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{{Name: []byte("example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		return serialize(t, eth, ip, u, q)
	}
	icmp := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.ParseIP("10.0.0.1"), DstIP: net.ParseIP("10.0.0.2")},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, gopacket.Payload("ping"))
	gre := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4},
		&layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: net.ParseIP("10.0.0.1"), DstIP: net.ParseIP("10.0.0.3")},
		gopacket.Payload("gre-body"))
	arp := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: macA, SourceProtAddress: []byte{10, 0, 0, 1}, DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
	qinq := tcp4(t, "10.1.1.1", "10.1.1.2", 1000, 80, true, false, 0, 0, 100, 200)
	vlan := tcp4(t, "10.1.1.1", "10.1.1.2", 1000, 80, true, false, 0, 0, 300)
	truncTCP := tcp4(t, "10.9.9.9", "10.9.9.8", 1, 2, true, false, 0, 0)[:14+20+10]

	// BPF_PROG_TEST_RUN wants at least an Ethernet header: cut inside the tag.
	truncVLAN := tcp4(t, "10.9.9.9", "10.9.9.8", 1, 2, true, false, 0, 0, 7)[:16]
	run(t, d, v6(), v6(hop), dns(0x1111), dns(0x2222), icmp, gre, arp, qinq, vlan, truncTCP, truncVLAN)
	got := drain(t, d)
	type want struct {
		a          string
		aport      uint16
		vlan, priv uint16
		proto      uint8
		pkts       uint64
	}
	wants := []want{
		{"10.0.0.1", 0, 0, 0, 1, 1},           // ICMP
		{"10.0.0.1", 0, 0, 0, 47, 1},          // GRE, counted by protocol number
		{"10.0.0.1", 33333, 0, 0x1111, 17, 1}, // DNS transactions are separate flows
		{"10.0.0.1", 33333, 0, 0x2222, 17, 1},
		{"10.1.1.1", 1000, 100, 0, 6, 1}, // QinQ: outer VLAN
		{"10.1.1.1", 1000, 300, 0, 6, 1},
		{"2001:db8::1", 5000, 0, 0, 17, 2}, // with and without a hop-by-hop header
	}
	if len(got) != len(wants) {
		t.Fatalf("%d flows, want %d: %+v", len(got), len(wants), got)
	}
	// Both lists in one order: address, protocol, VLAN, transaction id.
	order := func(a netip.Addr, proto uint8, vlan, priv uint16) string {
		return fmt.Sprintf("%s/%03d/%04d/%05d", a.StringExpanded(), proto, vlan, priv)
	}
	sort.Slice(got, func(i, j int) bool {
		return order(got[i].A, got[i].Proto, got[i].VLAN, got[i].Priv) < order(got[j].A, got[j].Proto, got[j].VLAN, got[j].Priv)
	})
	sort.Slice(wants, func(i, j int) bool {
		wi, wj := wants[i], wants[j]
		return order(netip.MustParseAddr(wi.a), wi.proto, wi.vlan, wi.priv) < order(netip.MustParseAddr(wj.a), wj.proto, wj.vlan, wj.priv)
	})
	for i, w := range wants {
		g := got[i]
		if g.A.String() != w.a || g.APort != w.aport || g.VLAN != w.vlan || g.Priv != w.priv || g.Proto != w.proto || g.Pkts[0]+g.Pkts[1] != w.pkts {
			t.Errorf("flow %d: got %v:%d vlan %d priv %#x proto %d pkts %v; want %+v", i, g.A, g.APort, g.VLAN, g.Priv, g.Proto, g.Pkts, w)
		}
	}
	if g := got[len(got)-1]; g.DSCP[0] != 10 {
		t.Errorf("IPv6 DSCP %d, want 10", g.DSCP[0])
	}
	c, _ := d.Counters()
	if c[CntNonIP] != 1 || c[CntErrTruncL4] != 1 || c[CntErrTruncL2] != 1 || c[CntIPv6] != 2 || c[CntPackets] != 11 {
		t.Errorf("counters %v", c)
	}
}

func TestMapFullIsCounted(t *testing.T) {
	d := load(t, 4)
	for i := 0; i < 10; i++ {
		run(t, d, tcp4(t, "10.0.0.1", "10.0.0.2", uint16(1000+i), 80, true, false, 0, 0))
	}
	got := drain(t, d)
	c, _ := d.Counters()
	if len(got) != 4 || c[CntMapFull] != 6 {
		t.Errorf("%d flows kept, %d map-full; want 4 and 6", len(got), c[CntMapFull])
	}
}

// TestNoLossDuringDrains runs the program on one CPU while another
// goroutine drains over and over: every packet must come out of exactly
// one drain.
func TestNoLossDuringDrains(t *testing.T) {
	d := load(t, 65536)
	frames := make([][]byte, 16)
	for i := range frames {
		frames[i] = tcp4(t, "10.0.0.1", "10.0.1.1", uint16(2000+i), 80, false, true, 0, 10)
	}
	// Each Run syscall waits for an RCU grace period on this kernel (~16 ms),
	// so few calls with many repeats keep the test short.
	const rounds, repeat = 20, 500
	done := make(chan error, 1)
	go func() {
		for r := 0; r < rounds; r++ {
			for _, f := range frames {
				if _, err := d.Program().Run(&ebpf.RunOptions{Data: f, Repeat: repeat}); err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	var total uint64
	drains := 0
	add := func(x *flow.Delta) { total += x.Pkts[0] + x.Pkts[1] }
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		if _, err := d.Drain(add); err != nil {
			t.Fatal(err)
		}
		drains++
	}
	if _, err := d.Drain(add); err != nil {
		t.Fatal(err)
	}
	// cilium/ebpf reruns a test run that a signal interrupted (Go's
	// preemption signals do), so the program may have run a few packets
	// more than asked; its own packet counter says how many it ran.
	c, err := d.Counters()
	if err != nil {
		t.Fatal(err)
	}
	asked := uint64(rounds * len(frames) * repeat)
	if total != c[CntPackets] || total < asked {
		t.Errorf("drained %d packets over %d drains; the program ran %d (%d asked)", total, drains, c[CntPackets], asked)
	}
	t.Logf("%d packets over %d drains", total, drains)
}

// TestManyFlowsExactCounts sends more flows than the per-CPU flow cache
// has entries (so flows share entries and evict each other), interleaved,
// each a different number of packets in each direction, over several
// drains: every flow must come out with exactly its own packets and bytes.
// Once with an index roomy enough for every flow, once with an index of
// 16 entries, so that flows evict each other's entries all the time and
// take several slots a generation.
func TestManyFlowsExactCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"roomy index", Options{MaxFlows: 8192}},
		{"crowded index", Options{MaxFlows: 65536, indexBuckets: 8}},
	} {
		t.Run(c.name, func(t *testing.T) { manyFlowsExactCounts(t, c.opts) })
	}
}

func manyFlowsExactCounts(t *testing.T, opts Options) {
	const flows, drains = 6000, 3
	d := loadOpts(t, opts)
	type count struct{ pkts, bytes [2]uint64 }
	want := map[netip.Addr]*count{}
	got := map[netip.Addr]*count{}
	server := netip.MustParseAddr("10.200.0.1")
	collect := func(x *flow.Delta) {
		// The server sorts first: A is the server, B the client.
		if x.A != server || x.BPort != 5000 || x.APort != 80 {
			t.Errorf("unexpected flow %v:%d - %v:%d", x.A, x.APort, x.B, x.BPort)
			return
		}
		c := got[x.B]
		if c == nil {
			c = &count{}
			got[x.B] = c
		}
		for dir := 0; dir < 2; dir++ {
			c.pkts[dir] += x.Pkts[dir]
			c.bytes[dir] += x.Bytes[dir]
		}
	}
	for r := 0; r < drains; r++ {
		// Round-robin over the flows: flow i sends i%3+1 packets to the
		// server and (i+r)%2 back, one packet per flow per pass.
		for pass := 0; pass < 3; pass++ {
			for i := 0; i < flows; i++ {
				client := netip.AddrFrom4([4]byte{10, 201, byte(i >> 8), byte(i)})
				c := want[client]
				if c == nil {
					c = &count{}
					want[client] = c
				}
				if pass < i%3+1 {
					f := tcp4(t, client.String(), server.String(), 5000, 80, false, true, 0, i%7)
					run(t, d, f)
					c.pkts[flow.BtoA]++
					c.bytes[flow.BtoA] += uint64(len(f))
				}
				if pass < (i+r)%2 {
					f := tcp4(t, server.String(), client.String(), 80, 5000, false, true, 0, 0)
					run(t, d, f)
					c.pkts[flow.AtoB]++
					c.bytes[flow.AtoB] += uint64(len(f))
				}
			}
		}
		if _, err := d.Drain(collect); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d flows drained, want %d", len(got), len(want))
	}
	bad := 0
	for a, w := range want {
		if g := got[a]; g == nil || *g != *w {
			if bad++; bad <= 5 {
				t.Errorf("flow of %v: got %+v, want %+v", a, g, *w)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d flows counted wrong", bad, len(want))
	}
	if c, _ := d.Counters(); c[CntMapFull] != 0 {
		t.Errorf("%d packets found no slot", c[CntMapFull])
	}
}

// TestLoadRefusesTooManyFlows: a flow count whose maps could not be sized
// is an error from Load, not a wrapped-around map size.
func TestLoadRefusesTooManyFlows(t *testing.T) {
	if os.Geteuid() != 0 {
		fixture.Missing(t, "loading BPF programs needs root")
	}
	for _, n := range []int{1 << 30, 1 << 31} {
		if d, err := Load(Options{MaxFlows: n}); err == nil {
			d.Close()
			t.Errorf("Load with %d flows succeeded", n)
		}
	}
}

// TestSlotsUsed: the share of the generation's slots new flows took, up to
// all of them, and none after a drain.
func TestSlotsUsed(t *testing.T) {
	// An index roomier than 100 flows get (1024 buckets, not 128): with
	// 128, about one run in 7 000 has three of the 25 flows share all the
	// entries they may take (simulated), and the one without an entry
	// would take a second slot on a packet the flow cache misses; with
	// 1024, none of 20 000 simulated runs has.
	d := loadOpts(t, Options{MaxFlows: 100, indexBuckets: 1024})
	send := func(from, n int) {
		for i := from; i < from+n; i++ {
			if _, err := d.Program().Run(&ebpf.RunOptions{Data: tcp4(t, "10.9.0.1", "10.9.0.2", uint16(1000+i), 80, false, true, 0, 0)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, step := range []struct {
		from, n int
		drain   bool
		want    float64
	}{
		{0, 25, false, 0.25},
		{0, 25, false, 0.25}, // the same flows again: no new slots
		{25, 25, false, 0.5},
		{0, 0, true, 0},
		{100, 150, false, 1}, // more flows than slots
	} {
		if step.drain {
			if _, err := d.Drain(func(*flow.Delta) {}); err != nil {
				t.Fatal(err)
			}
		}
		send(step.from, step.n)
		if got, err := d.SlotsUsed(); err != nil || got != step.want {
			t.Errorf("after %+v: slots used %v (%v), want %v", step, got, err, step.want)
		}
	}
}
