package flowtable

import (
	"net/netip"
	"runtime"
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// BenchmarkChurn is the packet path under churn as tools/bench's churn
// capture makes it: flows of 10 packets, 1,000 open at a time, a new
// client host per flow, the first packet from either side (so a TCP
// flow seen first from its server makes ntopng's second, swapped flow),
// and the hosts synced every 4,096 packets as the periodic reads do. It
// reports the cost per packet and the allocations per new flow.
func BenchmarkChurn(b *testing.B) {
	const window, perFlow = 1000, 10
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, MaxFlows: 1 << 22, MaxHosts: 1 << 22})
	var p decode.Packet
	rnd := uint32(1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		block := i / (window * perFlow)
		id := block*window + i%window
		rnd = rnd*1664525 + 1013904223
		c2s := rnd&(1<<16) == 0
		cli, srv, sport, dport := churnPeers(id, 443, c2s)
		p = decode.Packet{Timestamp: t0 + int64(i)*10_000, WireLen: 60 + rnd>>25, IPVersion: 4, Src: cli, Dst: srv,
			Proto: decode.ProtoTCP, SrcPort: sport, DstPort: dport, TCPFlags: decode.TCPAck | decode.TCPPsh, TCPWindow: 1024}
		tb.HandlePacket(&p, decode.ErrNone)
		if i&4095 == 4095 {
			tb.View(func(View) {})
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	var flows uint64
	tb.View(func(v View) { flows = v.Stats().FlowsCreated })
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pkt")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(max(flows, 1)), "allocs/flow")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(max(flows, 1)), "B/flow")
}

// churnPeers are the benchmarks' flow id as tools/bench's captures make
// it: a client of its own in 172.16/12, one of some 3,000 servers on
// port, and the packet's direction (c2s: from the client).
func churnPeers(id int, port uint16, c2s bool) (src, dst netip.Addr, sport, dport uint16) {
	src = netip.AddrFrom4([4]byte{172, 16 + byte(id>>16)&15, byte(id >> 8), byte(id)})
	dst = netip.AddrFrom4([4]byte{10, byte(id % 251), byte(id % 13), 1})
	sport, dport = uint16(20000+id%40000), port
	if !c2s {
		return dst, src, dport, sport
	}
	return src, dst, sport, dport
}
