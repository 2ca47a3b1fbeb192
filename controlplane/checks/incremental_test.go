package checks

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
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
			st := memStore(t)
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

// The host pass judges again only the hosts that changed since the last
// pass (or that have a host alert engaged, or were not due yet); one that
// did not change is not judged again, and the flow alerts it takes part in
// stay with its score. Whether a host was judged at a pass shows in its
// state: judging it sets the time its rates are measured from.
func TestHostPassJudgesWhatChanged(t *testing.T) {
	sec := int64(time.Second)
	srv := netip.MustParseAddr("198.51.100.9")
	bad := netip.MustParseAddr("203.0.113.66") // blacklisted: a flow with it raises
	cases := []struct {
		name     string
		first    []*decode.Packet // before the first pass, at t0+2s
		between  []*decode.Packet // between it and the second, at t0+4s
		judged   bool             // the host judged again at the second pass
		alerted  int              // its alerted flows after both passes
		lastPass int64            // the time its rates are measured from after the second pass, after t0
	}{
		{"silent host not judged again", []*decode.Packet{udp(t0, victim, srv, 5000, 9000), udp(t0+1e6, srv, victim, 9000, 5000)},
			nil, false, 0, 2 * sec},
		{"host with a new packet judged again", []*decode.Packet{udp(t0, victim, srv, 5000, 9000), udp(t0+1e6, srv, victim, 9000, 5000)},
			[]*decode.Packet{udp(t0+3*sec, victim, srv, 5000, 9000)}, true, 0, 4 * sec},
		{"host new after the first pass judged at the second", nil,
			[]*decode.Packet{udp(t0+2*sec, victim, srv, 5000, 9000), udp(t0+2*sec+1e6, srv, victim, 9000, 5000)}, true, 0, 4 * sec},
		{"silent host keeps its alerted flow", []*decode.Packet{udp(t0, victim, bad, 5000, 9000), udp(t0+1e6, bad, victim, 9000, 5000)},
			nil, false, 1, 2 * sec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := memStore(t)
			e := newEngine(t, st, &sink{})
			if err := e.Set(map[string]Setting{"blacklisted": {Enabled: true, Items: []string{bad.String() + "/32"}}}); err != nil {
				t.Fatal(err)
			}
			tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
			ifc := Iface{Table: tb}
			k := flowtable.HostKey{Addr: victim}
			for _, p := range c.first {
				tb.HandlePacket(p, decode.ErrNone)
			}
			e.Run(ifc, t0+2*sec, false)
			for _, p := range c.between {
				tb.HandlePacket(p, decode.ErrNone)
			}
			e.Run(ifc, t0+4*sec, false)
			ist := e.state(0)
			hs := ist.hosts.get(k)
			if hs == nil {
				t.Fatal("no state for the host")
			}
			if judged := hs.gen == ist.gen; judged != c.judged {
				t.Errorf("judged at the second pass: %v, want %v", judged, c.judged)
			}
			if hs.at != t0+c.lastPass {
				t.Errorf("rates measured from %v after t0, want %v", time.Duration(hs.at-t0), time.Duration(c.lastPass))
			}
			if got := e.Host(0, k).AlertedAsClient; got != c.alerted {
				t.Errorf("%d alerted flows as client, want %d", got, c.alerted)
			}
		})
	}
}
