package flowtable

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// A reader that keeps the generation of its last look is told the hosts
// that changed since (new ones, those with packets), each once, and the
// hosts that left; one that fell behind the log of hosts that left is told
// to look at every host.
func TestChangedAndGoneHosts(t *testing.T) {
	a, b, c := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	sec := int64(time.Second)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	tb := New(Config{Offline: true, ExpireOffline: true, FlowIdle: time.Second, RemoteHostIdle: time.Second})
	look := func(since uint64) (gen uint64, changed, gone []string) {
		tb.View(func(v View) {
			gen = v.Generation()
			v.ChangedHosts(since, func(h *Host) bool {
				changed = append(changed, h.Key.String())
				return true
			})
			if !v.GoneHosts(since, func(k HostKey) { gone = append(gone, k.String()) }) {
				gone = []string{"everything"}
			}
		})
		slices.Sort(changed)
		slices.Sort(gone)
		return gen, changed, gone
	}
	steps := []struct {
		name          string
		pkts          []*decode.Packet
		changed, gone []string
	}{
		{"new hosts", []*decode.Packet{udp(t0, a, b, 1000, 53, nil), udp(t0+1, b, a, 53, 1000, nil)}, []string{"10.0.0.1", "10.0.0.2"}, nil},
		{"nothing", nil, nil, nil},
		{"one more packet, a new host", []*decode.Packet{udp(t0+2, a, b, 1000, 53, nil), udp(t0+3, a, c, 1001, 53, nil)}, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}, nil},
		// Every host expired before the packet that brings a and c back.
		{"a and c talk later", []*decode.Packet{udp(t0+5*sec, a, c, 1002, 80, nil)}, []string{"10.0.0.1", "10.0.0.3"}, []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
	}
	var since uint64
	for _, s := range steps {
		for _, p := range s.pkts {
			tb.HandlePacket(p, decode.ErrNone)
		}
		gen, changed, gone := look(since)
		if !slices.Equal(changed, s.changed) || !slices.Equal(gone, s.gone) {
			t.Errorf("%s: changed %v, gone %v; want %v, %v", s.name, changed, gone, s.changed, s.gone)
		}
		since = gen
	}

	// Many hosts come and go: the log of those that left is trimmed, and a
	// reader older than what it keeps must look at every host.
	ts := t0 + 10*sec
	for i := 0; i < maxGone+10; i++ {
		ts += 2 * sec
		src := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		tb.HandlePacket(udp(ts, src, a, 1000, 53, nil), decode.ErrNone)
	}
	if _, _, gone := look(since); !slices.Equal(gone, []string{"everything"}) {
		t.Errorf("reader behind the trimmed log: told %d hosts left, want to look at every host", len(gone))
	}
	if n := len(tb.changed); n > 2*len(tb.hosts)+1024 {
		t.Errorf("changed log holds %d entries for %d hosts", n, len(tb.hosts))
	}
}

// A reader of the flow logs that keeps the generation of its last look is
// told every flow whose packets were applied since, each once (the walk
// of every flow with Changed is the oracle), and every flow that left or
// was retired since; nothing it is told as gone is still a live flow.
// Random traffic with role swaps and expiry; the log of flows that left is
// made small, so that a reader behind it is told to look at every flow.
func TestChangedAndGoneFlowsMatchWalk(t *testing.T) {
	defer func(n int) { maxGoneFlows = n }(maxGoneFlows)
	maxGoneFlows = 64
	r := rand.New(rand.NewPCG(3, 5))
	sec := int64(time.Second)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	tb := New(Config{Offline: true, ExpireOffline: true, FlowIdle: 2 * time.Second, RemoteHostIdle: 3 * time.Second})
	type id struct {
		hash  uint32
		first int64
	}
	addr := func() netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + r.IntN(6))}) }
	var since uint64
	live := map[id]bool{} // at the last look
	told, trimmed := 0, 0
	for step := 0; step < 400; step++ {
		for range r.IntN(20) {
			now += int64(r.IntN(200)) * int64(time.Millisecond)
			a, b := addr(), addr()
			port := uint16(1024 + r.IntN(8))
			switch r.IntN(3) {
			case 0:
				tb.HandlePacket(udp(now, a, b, port, 53, nil), decode.ErrNone)
			case 1: // mid-stream from the server's side: the next packet the other way swaps roles
				tb.HandlePacket(tcp(now, b, a, 80, port, decode.TCPAck, 60, []byte("x")), decode.ErrNone)
			case 2:
				tb.HandlePacket(tcp(now, a, b, port, 80, decode.TCPAck, 60, []byte("y")), decode.ErrNone)
			}
		}
		if step%50 == 49 {
			// A burst larger than the log of flows that left, all gone
			// before the next look.
			for i := range 100 {
				tb.HandlePacket(udp(now, addr(), addr(), uint16(2000+i), 123, nil), decode.ErrNone)
			}
			tb.Tick(now)
			now += 3 * sec
		}
		if r.IntN(10) == 0 {
			now += 3 * sec // idle: flows expire
		}
		tb.Tick(now)
		tb.View(func(v View) {
			want := map[*Flow]bool{}
			now := map[id]bool{}
			v.EachFlow(func(f *Flow) {
				if f.synced > since {
					want[f] = true
				}
				if !f.Retired() {
					now[id{f.HashID, f.FirstSeen}] = true
				}
			})
			got := map[*Flow]bool{}
			v.ChangedFlows(since, func(f *Flow) bool {
				if got[f] {
					t.Fatalf("step %d: flow %d told twice", step, f.HashID)
				}
				got[f] = true
				return true
			})
			if len(got) != len(want) {
				t.Fatalf("step %d: %d flows told changed, the walk finds %d", step, len(got), len(want))
			}
			for f := range want {
				if !got[f] {
					t.Fatalf("step %d: flow %d changed, not told", step, f.HashID)
				}
			}
			gone := map[id]bool{}
			if !v.GoneFlows(since, func(g GoneFlow) { gone[id{g.HashID, g.FirstSeen}] = true }) {
				trimmed++
			} else {
				for k := range live {
					if !now[k] && !gone[k] {
						t.Fatalf("step %d: flow %v left, not told", step, k)
					}
				}
				for k := range gone {
					if now[k] {
						t.Fatalf("step %d: flow %v told gone, still live", step, k)
					}
				}
				told += len(gone)
			}
			live, since = now, v.Generation()
		})
		if n := len(tb.changedFlows); n > 2*len(tb.flows)+1024 {
			t.Fatalf("step %d: changed log holds %d entries for %d flows", step, n, len(tb.flows))
		}
	}
	if told == 0 || trimmed == 0 {
		t.Errorf("flows told gone %d, looks behind the trimmed log %d: the traffic does not exercise both", told, trimmed)
	}
}
