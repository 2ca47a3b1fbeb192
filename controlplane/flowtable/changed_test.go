package flowtable

import (
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
