package checks

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// A pass judges again only the flows that changed since the last one; what
// makes an unchanged flow's verdict change (time for a flow waiting for its
// answer, a settings change) must still raise its alert, and flows with an
// alert that took no packet keep it (and their hosts' scores).
func TestPassesJudgeWhatChanged(t *testing.T) {
	far := netip.MustParseAddr("198.51.100.9")
	sec := int64(time.Second)
	type step struct {
		pkts   []*decode.Packet
		cfg    map[string]Setting
		at     int64 // pass time after t0
		final  bool  // a capture file's last pass
		alerts []int // alert type ids of the archive after the pass, in order
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"unanswered flow alerted once it waited long enough without packets", []step{
			{pkts: []*decode.Packet{udp(t0, victim, far, 5000, 9999)}, at: sec},
			{at: 10 * sec},
			{at: 31 * sec, alerts: []int{alert.FlowUnidirectional}},
			{at: 40 * sec, alerts: []int{alert.FlowUnidirectional}},
		}},
		{"settings change judges flows that did not change", []step{
			{pkts: []*decode.Packet{udp(t0, victim, far, 5000, 9999), udp(t0+1e6, far, victim, 9999, 5000)}, at: sec},
			{cfg: map[string]Setting{"blacklisted": {Enabled: true, Items: []string{"198.51.100.0/24"}}}, at: 2 * sec,
				alerts: []int{alert.FlowBlacklisted}},
		}},
		{"flow judged again when it takes packets", []step{
			{pkts: []*decode.Packet{udp(t0, victim, far, 5000, 53), udp(t0+1e6, far, victim, 53, 5000)}, at: sec},
			{at: 2 * sec},
			{pkts: []*decode.Packet{udp(t0+3*sec, victim, far, 5000, 53)}, at: 4 * sec},
			// Answered: nothing. Then the elephant threshold is crossed by
			// new packets only.
			{cfg: map[string]Setting{"elephant_flow": {Enabled: true, Threshold: 1000}}, at: 5 * sec},
			{pkts: bigUDP(t0+6*sec, victim, far, 5000, 53, 20), at: 7 * sec, alerts: []int{alert.FlowElephant}},
		}},
		{"final pass judges the unanswered flows, not the others again", []step{
			{pkts: []*decode.Packet{udp(t0, victim, far, 5000, 9999),
				udp(t0, victim, far, 5001, 53), udp(t0+1e6, far, victim, 53, 5001)}, at: sec},
			{at: 2 * sec, final: true, alerts: []int{alert.FlowUnidirectional}},
			{at: 3 * sec, final: true, alerts: []int{alert.FlowUnidirectional}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := store.Open("", store.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var s sink
			e := newEngine(t, st, &s)
			tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
			ifc := Iface{Table: tb}
			for i, sp := range c.steps {
				for _, p := range sp.pkts {
					tb.HandlePacket(p, decode.ErrNone)
				}
				if sp.cfg != nil {
					if err := e.Set(sp.cfg); err != nil {
						t.Fatal(err)
					}
				}
				e.Run(ifc, t0+sp.at, sp.final)
				var got []int
				_ = e.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error { got = append(got, a.TypeID); return nil })
				if fmt.Sprint(got) != fmt.Sprint(sp.alerts) {
					t.Fatalf("step %d: alerts %v, want %v", i, got, sp.alerts)
				}
				if want := len(sp.alerts); len(s.got) != want {
					t.Fatalf("step %d: %d notifications, want %d", i, len(s.got), want)
				}
				if len(sp.alerts) > 0 && sumSev(e.AlertedFlows(0)) == 0 {
					t.Fatalf("step %d: the alerted flow was forgotten", i)
				}
			}
		})
	}
}

// sumSev counts the alerted flows of every severity.
func sumSev(m map[alert.Severity]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// bigUDP is n 1000-byte datagrams one millisecond apart.
func bigUDP(ts int64, src, dst netip.Addr, sport, dport uint16, n int) []*decode.Packet {
	var out []*decode.Packet
	for i := 0; i < n; i++ {
		p := udp(ts+int64(i)*1e6, src, dst, sport, dport)
		p.WireLen = 1000
		out = append(out, p)
	}
	return out
}
