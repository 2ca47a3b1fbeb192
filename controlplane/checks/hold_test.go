package checks

import (
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestFileAlertsHeldAMinute: a capture file's alerts are stored once per
// minute of its packet clock, and at its end, with what they became by
// then: an alert raised in one pass and changed in a later one of the
// same minute is written once, and notified once.
func TestFileAlertsHeldAMinute(t *testing.T) {
	far := netip.MustParseAddr("198.51.100.9")
	sec := int64(time.Second)
	st := memStore(t)
	var s sink
	e := newEngine(t, st, &s)
	writes := map[uint64]int{}
	e.Archive().OnPut(func(a *alert.Alert) { writes[a.RowID]++ })
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	ifc := Iface{Table: tb, HoldAlerts: true}
	stored := func() (types [][]int) {
		_ = e.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error {
			types = append(types, append([]int{a.TypeID}, a.Flow.Others...))
			return nil
		})
		return types
	}

	// Minute 0: a flow left unanswered is found unidirectional, then
	// turns elephant in a later pass of the same minute.
	tb.HandlePacket(udp(t0, victim, far, 5000, 9999), decode.ErrNone)
	e.Run(ifc, t0+31*sec, false)
	if got := stored(); len(got) != 0 {
		t.Fatalf("stored within the minute: %v", got)
	}
	if err := e.Set(map[string]Setting{"elephant_flow": {Enabled: true, Threshold: 1000}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range bigUDP(t0+40*sec, victim, far, 5000, 9999, 20) {
		tb.HandlePacket(p, decode.ErrNone)
	}
	e.Run(ifc, t0+41*sec, false)
	if got := stored(); len(got) != 0 {
		t.Fatalf("stored within the minute: %v", got)
	}

	// The next minute's first pass stores the minute's alert once, as it
	// ended up; a second unanswered flow waits for the file's end.
	tb.HandlePacket(udp(t0+50*sec, victim, far, 5001, 9998), decode.ErrNone)
	e.Run(ifc, t0+61*sec, false)
	got := stored()
	if len(got) != 1 || len(got[0]) != 2 {
		t.Fatalf("after the minute: %v, want one alert with two types", got)
	}
	e.Run(ifc, t0+70*sec, true)
	if got := stored(); len(got) != 2 {
		t.Fatalf("after the file's end: %v, want two alerts", got)
	}
	for id, n := range writes {
		if n != 1 {
			t.Errorf("alert %d written %d times", id, n)
		}
	}
	if len(s.got) != 2 {
		t.Errorf("%d notifications, want one per alert", len(s.got))
	}
}
