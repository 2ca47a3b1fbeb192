package flowtable

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestFlowCacheFollowsTheMap: across traffic that makes, swaps (a TCP
// flow first seen from its server) and expires flows, more of them than
// the cache has slots, every cached key is one the map maps to the same
// flow, and every packet lands on the flow the map holds for it.
func TestFlowCacheFollowsTheMap(t *testing.T) {
	tb := New(Config{Offline: true, ExpireOffline: true, FlowIdle: time.Second, RemoteHostIdle: time.Second})
	rng := rand.New(rand.NewPCG(7, 7))
	const flows = 3 << flowCacheBits
	ts := t0
	for i := range 200_000 {
		id := rng.IntN(flows)
		cli := netip.AddrFrom4([4]byte{172, 16, byte(id >> 8), byte(id)})
		srv := netip.AddrFrom4([4]byte{10, 0, byte(id % 7), 1})
		sport := uint16(20000 + id)
		var p *decode.Packet
		if rng.IntN(2) == 0 {
			p = tcp(ts, cli, srv, sport, 443, decode.TCPAck|decode.TCPPsh, 100, nil)
		} else {
			// From the server: a new flow waits for a swap (swapLocked).
			p = tcp(ts, srv, cli, 443, sport, decode.TCPAck|decode.TCPPsh, 100, nil)
		}
		// Jumps of the clock expire the flows of an earlier stretch.
		ts += int64(time.Microsecond)
		if i%40_000 == 39_999 {
			ts += int64(3 * time.Second)
		}
		tb.HandlePacket(p, decode.ErrNone)
		key := makeFlowKey(p.Src, p.Dst, p.SrcPort, p.DstPort, p.VLAN, p.Proto, 0)
		tb.mu.Lock()
		if got, want := tb.cache.get(&key), tb.flows[key]; got != nil && got != want {
			t.Fatalf("packet %d: the cache holds another flow than the map's for its key", i)
		}
		if i%10_000 == 0 || i == 199_999 {
			cached := 0
			for j := range tb.cache.slots {
				s := &tb.cache.slots[j]
				if s.f == nil {
					continue
				}
				cached++
				if tb.flows[s.key] != s.f {
					t.Fatalf("packet %d: slot %d holds a flow the map does not have under its key", i, j)
				}
			}
			if cached == 0 {
				t.Fatalf("packet %d: nothing cached", i)
			}
		}
		tb.mu.Unlock()
	}
	var swapped, created uint64
	tb.View(func(v View) { created = v.Stats().FlowsCreated })
	tb.mu.Lock()
	for k := range tb.flows {
		if k.retired != 0 {
			swapped++
		}
	}
	tb.mu.Unlock()
	if swapped == 0 || created <= uint64(len(tb.flows)) {
		t.Fatalf("%d flows made, %d in the table, %d swapped: the traffic must swap and expire flows", created, len(tb.flows), swapped)
	}
}
