package checks

import (
	"net/netip"
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
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
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
