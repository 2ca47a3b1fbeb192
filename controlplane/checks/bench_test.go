package checks

import (
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// benchTable holds n TCP flows between 1000 local clients and 5000 remote
// servers: with data both ways (answered, so no check fires), or SYNs
// alone (never answered: every flow carries an alert).
func benchTable(b *testing.B, n int, answered bool) *flowtable.Table {
	b.Helper()
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true, MaxFlows: n + 1, MaxHosts: n + 1})
	for i := 0; i < n; i++ {
		cli := netip.AddrFrom4([4]byte{192, 168, byte(i % 1000 / 250), byte(i%250 + 1)})
		srv := netip.AddrFrom4([4]byte{198, 51, byte(i % 5000 / 250), byte(i%250 + 1)})
		sp := uint16(1024 + i/1000)
		ts := t0 + int64(i)*1000
		tb.HandlePacket(tcp(ts, cli, srv, sp, 443, decode.TCPSyn), decode.ErrNone)
		if !answered {
			continue
		}
		tb.HandlePacket(tcp(ts+1e6, srv, cli, 443, sp, decode.TCPSyn|decode.TCPAck), decode.ErrNone)
		for _, p := range []*decode.Packet{tcp(ts+2e6, cli, srv, sp, 443, decode.TCPAck|decode.TCPPsh), tcp(ts+3e6, srv, cli, 443, sp, decode.TCPAck|decode.TCPPsh)} {
			p.Payload, p.TCPWindow, p.TCPSeq = []byte("data"), 1024, 1
			tb.HandlePacket(p, decode.ErrNone)
		}
	}
	return tb
}

// benchPasses times passes over tb once a first (untimed) pass has met
// every flow, and reports ns per flow.
func benchPasses(b *testing.B, tb *flowtable.Table, n int) {
	st := memStore(b)
	e, err := New(Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	ifc := Iface{Table: tb}
	now := t0 + int64(200*time.Second)
	e.Run(ifc, now, false)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now += int64(time.Second)
		e.Run(ifc, now, false)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/flow")
}

// BenchmarkPass is one housekeeping pass over 100 000 active flows (and
// their ~6000 hosts) with the default checks, once the engine knows them:
// the steady-state cost per pass. ns/flow is the cost per flow and host.
func BenchmarkPass(b *testing.B) {
	const n = 100000
	tb := benchTable(b, n, true)
	var hosts int
	tb.View(func(v flowtable.View) { hosts = v.NumHosts() })
	benchPasses(b, tb, n)
	b.ReportMetric(float64(hosts), "hosts")
}

// BenchmarkViewBaseline is the same table walked with no checks: what any
// housekeeping pass costs, to compare the checks against.
func BenchmarkViewBaseline(b *testing.B) {
	const n = 100000
	tb := benchTable(b, n, true)
	b.ResetTimer()
	var sum uint64
	for i := 0; i < b.N; i++ {
		tb.View(func(v flowtable.View) {
			v.EachFlow(func(f *flowtable.Flow) { sum += f.PktsC2S })
			v.AscendHosts(func(h *flowtable.Host) bool { sum += h.Traffic.PktsSent; return true })
		})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/flow")
	_ = sum
}

// BenchmarkPassAllAlerted is the worst case: every one of 100 000 flows
// carries an alert (SYNs never answered; the first pass raises and stores
// them), so each pass looks up its state.
func BenchmarkPassAllAlerted(b *testing.B) {
	const n = 100000
	benchPasses(b, benchTable(b, n, false), n)
}

// churnBatch adds n new flows to tb from flow number from on, spread over
// one second from start, as the churn capture makes them: a new remote
// client per flow, servers from a pool, one flow in ten a DNS query to a
// server no list allows (an alert each), the others TCP with data both
// ways.
func churnBatch(tb *flowtable.Table, from, n int, start int64) {
	for i := from; i < from+n; i++ {
		cli := netip.AddrFrom4([4]byte{172, 16 + byte(i>>16)&15, byte(i >> 8), byte(i)})
		srv := netip.AddrFrom4([4]byte{10, byte(i % 251), byte(i % 13), 1})
		ts := start + int64(i-from)*int64(time.Second)/int64(n)
		sp := uint16(20000 + i%40000)
		if i%10 == 4 {
			tb.HandlePacket(udp(ts, cli, srv, sp, 53), decode.ErrNone)
			continue
		}
		for j, p := range []*decode.Packet{tcp(ts, cli, srv, sp, 443, decode.TCPAck|decode.TCPPsh), tcp(ts+1e5, srv, cli, 443, sp, decode.TCPAck|decode.TCPPsh)} {
			p.Payload, p.TCPWindow, p.TCPSeq = []byte("data"), 1024, uint32(1+j)
			tb.HandlePacket(p, decode.ErrNone)
		}
	}
}

// BenchmarkChurnPasses is the passes over a capture under churn, every
// flow new: four seconds of 15 000 new flows (and as many new hosts) each,
// a pass after each second, the last one final. Only the passes are timed;
// ns/flow is their cost per new flow, cpu-ns/flow the process CPU they
// took (less disturbed by other work on the machine than wall time).
func BenchmarkChurnPasses(b *testing.B) {
	const perSec, secs = 15000, 4
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Open("", store.Options{InMemory: true})
		if err != nil {
			b.Fatal(err)
		}
		e, err := New(Options{Store: st})
		if err != nil {
			b.Fatal(err)
		}
		tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true, MaxFlows: 1 << 20, MaxHosts: 1 << 20})
		ifc := Iface{Table: tb}
		for s := 0; s < secs; s++ {
			start := t0 + int64(s)*int64(time.Second)
			churnBatch(tb, s*perSec, perSec, start)
			runtime.GC() // the table's garbage is not the passes'
			b.StartTimer()
			c := cpuTime(b)
			e.Run(ifc, start+int64(time.Second), s == secs-1)
			cpu += cpuTime(b) - c
			b.StopTimer()
		}
		st.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(perSec*secs), "ns/flow")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/(perSec*secs), "cpu-ns/flow")
}

// cpuTime is the process's CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
