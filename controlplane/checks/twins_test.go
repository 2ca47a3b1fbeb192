package checks

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// twin is one side of the incremental-versus-full-walk differential tests:
// an engine, the table it judges and what it raised.
type twin struct {
	e    *Engine
	tb   *flowtable.Table
	sink *sink
}

// twins are two engines over two tables with the given idle times; the
// first (the reference) is changed by full, typically to walk everything.
func twins(t *testing.T, full func(e *Engine), flowIdle, remoteIdle, localIdle time.Duration) [2]twin {
	var sides [2]twin
	for i := range sides {
		s := &sink{}
		e := newEngine(t, memStore(t), s)
		if i == 0 {
			full(e)
		}
		sides[i] = twin{e, flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true, ExpireOffline: true,
			FlowIdle: flowIdle, RemoteHostIdle: remoteIdle, LocalHostIdle: localIdle}), s}
	}
	return sides
}

// setBoth applies cfg to both engines.
func setBoth(t *testing.T, sides [2]twin, cfg map[string]Setting) {
	for _, s := range sides {
		if err := s.e.Set(cfg); err != nil {
			t.Fatal(err)
		}
	}
}

// stepBoth feeds both sides the same packets and settings (cfg nil:
// none), lets more (nil: nothing) do what else a side needs, then runs
// passes passes at now.
func stepBoth(t *testing.T, sides [2]twin, pkts []*decode.Packet, cfg map[string]Setting, more func(s twin), now int64, passes int, final bool) {
	t.Helper()
	for _, s := range sides {
		for _, p := range pkts {
			s.tb.HandlePacket(p, decode.ErrNone)
		}
		if cfg != nil {
			if err := s.e.Set(cfg); err != nil {
				t.Fatal(err)
			}
		}
		if more != nil {
			more(s)
		}
		for range passes {
			s.e.Run(Iface{Table: s.tb}, now, final)
		}
	}
}

// sameRaisedAndHosts fails the test unless both twins raised the same
// alerts and show the same figures for every host of hosts.
func sameRaisedAndHosts(t *testing.T, step int, sides [2]twin, hosts []netip.Addr) {
	t.Helper()
	want, got := sides[0], sides[1]
	if w, g := raisedJSON(want.sink.got), raisedJSON(got.sink.got); !slices.Equal(w, g) {
		t.Fatalf("step %d: raised\n%s\nwant (full walk)\n%s", step, diffLines(g, w), diffLines(w, g))
	}
	for _, a := range hosts {
		k := flowtable.HostKey{Addr: a}
		if w, g := want.e.Host(0, k), got.e.Host(0, k); !reflect.DeepEqual(w, g) {
			t.Fatalf("step %d: host %s: %+v, want (full walk) %+v", step, a, g, w)
		}
	}
}
