package flowtable

import (
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// UpdateRates looks only at what moved since the last update (and what
// still shows a rate): a flow that rests falls to zero, one that starts
// again is measured from its counters at the last update it was in, and a
// flow expired meanwhile is dropped. Expected rates: packets × wire bytes
// × 8 over the seconds between the updates.
func TestRatesFollowWhatMoved(t *testing.T) {
	remote2 := netip.MustParseAddr("93.184.216.35")
	a := func(ts int64) *decode.Packet { return tcp(ts, local, remote, 40000, 443, decode.TCPAck, 100, nil) }
	b := func(ts int64) *decode.Packet { return tcp(ts, local, remote2, 40001, 443, decode.TCPAck, 200, nil) }
	type rates struct{ flowA, flowB, hostRemote, hostRemote2, hostLocal float64 }
	steps := []struct {
		pkts []*decode.Packet
		at   time.Duration // wall clock of the update after the packets
		want rates         // bits per second
	}{
		{pkts: []*decode.Packet{a(t0), b(t0)}, at: 0},
		{pkts: []*decode.Packet{a(t0 + 1e9), a(t0 + 1e9 + 1)}, at: 2 * time.Second,
			want: rates{flowA: 2 * 100 * 8 / 2.0, hostRemote: 2 * 100 * 8 / 2.0, hostLocal: 2 * 100 * 8 / 2.0}},
		{at: 3 * time.Second}, // everything rests: every rate falls to zero
		{at: 4 * time.Second},
		{pkts: []*decode.Packet{b(t0 + 4e9), b(t0 + 4e9 + 1), b(t0 + 4e9 + 2)}, at: 5 * time.Second,
			want: rates{flowB: 3 * 200 * 8, hostRemote2: 3 * 200 * 8, hostLocal: 3 * 200 * 8}},
		{at: 6 * time.Second},
	}
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	wall := time.Unix(1_800_000_000, 0)
	for i, s := range steps {
		for _, p := range s.pkts {
			tb.HandlePacket(p, decode.ErrNone)
		}
		tb.UpdateRates(wall.Add(s.at))
		var got rates
		tb.View(func(v View) {
			v.EachFlow(func(f *Flow) {
				switch f.Server {
				case remote:
					got.flowA = f.ThptBps
				case remote2:
					got.flowB = f.ThptBps
				}
			})
			got.hostRemote = v.Host(HostKey{remote, 0}).ThptBps
			got.hostRemote2 = v.Host(HostKey{remote2, 0}).ThptBps
			got.hostLocal = v.Host(HostKey{local, 0}).ThptBps
		})
		if got != s.want {
			t.Fatalf("step %d: rates %+v, want %+v", i, got, s.want)
		}
	}
	if n, m := len(tb.rateFlows), len(tb.rateHosts); n != 0 || m != 0 {
		t.Errorf("after a quiet update %d flows and %d hosts still listed, want none", n, m)
	}
}

// Flows and hosts that expire leave the rate lists, whether or not
// UpdateRates is called.
func TestRateListsDropExpired(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, FlowIdle: time.Second, RemoteHostIdle: time.Second, LocalHostIdle: time.Second})
	const n = 3000
	for i := range n {
		dst := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		tb.HandlePacket(tcp(t0, local, dst, uint16(1024+i), 443, decode.TCPAck, 100, nil), decode.ErrNone)
	}
	tb.Tick(t0 + 10e9) // syncs (listing them), then expires them all
	tb.Tick(t0 + 20e9)
	if l, f := len(tb.rateFlows), len(tb.flows); l > 2*f+1024 {
		t.Errorf("%d flows listed for %d in the table", l, f)
	}
	if l, h := len(tb.rateHosts), len(tb.hosts); l > 2*h+1024 {
		t.Errorf("%d hosts listed for %d in the table", l, h)
	}
	tb.UpdateRates(time.Unix(1_800_000_000, 0))
	if len(tb.rateFlows) != 0 || len(tb.rateHosts) != 0 {
		t.Errorf("after an update %d flows, %d hosts listed, want none", len(tb.rateFlows), len(tb.rateHosts))
	}
}

// An offline table with ExpireOffline expires idle flows and hosts on its
// packet clock (their records go out as they leave); without it every
// flow stays, as ntopng keeps a pcap's.
func TestOfflineExpiryOnThePacketClock(t *testing.T) {
	late := netip.MustParseAddr("93.184.216.99")
	for _, c := range []struct {
		expire      bool
		flows       int
		hostRemote  bool
		recordsLeft int // records handed out before the end
	}{{false, 2, true, 0}, {true, 1, false, 1}} {
		var records int
		tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, ExpireOffline: c.expire,
			OnRecords: func(rs []store.FlowRecord) { records += len(rs) }})
		start := t0 + 61e9 // 03:05:01, a block's first minute
		tb.HandlePacket(tcp(start, local, remote, 40000, 443, decode.TCPAck, 100, nil), decode.ErrNone)
		// 61 s later (FlowIdle is 60 s, a remote host's idle time too),
		// in the same 5-minute block.
		tb.HandlePacket(tcp(start+61e9, local, late, 40001, 443, decode.TCPAck, 100, nil), decode.ErrNone)
		var flows int
		var hostRemote bool
		tb.View(func(v View) { flows, hostRemote = v.NumFlows(), v.Host(HostKey{remote, 0}) != nil })
		if flows != c.flows || hostRemote != c.hostRemote || records != c.recordsLeft {
			t.Errorf("expire %v: %d flows, remote host kept %v, %d records out; want %d, %v, %d",
				c.expire, flows, hostRemote, records, c.flows, c.hostRemote, c.recordsLeft)
		}
	}
}
