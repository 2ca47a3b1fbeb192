package checks

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// The flow pass judges only the flows that changed since the last pass
// and the unanswered ones whose wait is over; it must answer as the walk
// of every flow it replaced. Two engines, one of them walking every flow
// as the pass did before, judge two tables fed the same randomized
// traffic (refused, reset, answered and unanswered connections, flows
// first seen from their server's side and then swapped, big UDP flows,
// blacklisted peers, flows expiring, long idle stretches that make
// unanswered flows due, passes at the same time, settings and exclusion
// changes, capture ends): after every pass they must have raised and
// stored the same alerts and show the same alerted flows and host
// figures.
func TestIncrementalFlowPassMatchesFullWalk(t *testing.T) {
	raised := map[int]int{} // flow alert type: times raised, over every seed
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			flowPassDifferential(t, seed, raised)
		})
	}
	for _, id := range []int{alert.FlowConnRefused, alert.FlowTCPReset, alert.FlowUnidirectional, alert.FlowElephant,
		alert.FlowBlacklisted, alert.FlowRemoteToRemote, alert.FlowUnexpectedNTP} {
		if raised[id] == 0 {
			t.Errorf("flow alert %d never raised: the traffic does not exercise it", id)
		}
	}
}

func flowPassDifferential(t *testing.T, seed uint64, raised map[int]int) {
	r := rand.New(rand.NewPCG(seed, 11))
	sides := twins(t, func(e *Engine) { e.flowPassFn = e.fullFlowPass }, 20*time.Second, 30*time.Second, 50*time.Second)
	low := map[string]Setting{
		"elephant_flow":    {Enabled: true, Threshold: 3000},
		"remote_to_remote": {Enabled: true},
		"tcp_flow_reset":   {Enabled: true},
		"unexpected_ntp":   {Enabled: true, Items: []string{"192.168.1.1/32"}},
		"score_threshold":  {Enabled: true, Threshold: 150},
		"blacklisted":      {Enabled: true, Items: []string{"203.0.113.1/32"}},
	}
	setBoth(t, sides, low)

	var hosts []netip.Addr
	for i := 1; i <= 6; i++ {
		hosts = append(hosts, netip.AddrFrom4([4]byte{192, 168, 1, byte(i)}), netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
			netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	pick := func() netip.Addr { return hosts[r.IntN(len(hosts))] }
	steps := []int64{0, 100e6, 400e6, 1e9, 2e9, 5e9, 12e9, 31e9}
	now := t0
	sport := uint16(1024)
	var open [][4]any // earlier connections, for later packets of the same flows
	for step := 0; step < 150; step++ {
		dt := steps[r.IntN(len(steps))]
		var pkts []*decode.Packet
		n := 0
		if r.IntN(4) > 0 {
			n = r.IntN(30)
		}
		for i := 0; i < n; i++ {
			ts := now + int64(i)*max(dt, 1)/int64(n+1)
			src, dst := pick(), pick()
			if src == dst {
				continue
			}
			sport++
			switch kind := r.IntN(9); kind {
			case 0: // refused
				pkts = append(pkts, tcp(ts, src, dst, sport, 80, decode.TCPSyn), tcp(ts+1e6, dst, src, 80, sport, decode.TCPRst|decode.TCPAck))
			case 1: // unanswered, with data: it waits for its server
				p := tcp(ts, src, dst, sport, 443, decode.TCPSyn)
				q := tcp(ts+1e6, src, dst, sport, 443, decode.TCPAck|decode.TCPPsh)
				q.Payload = []byte("hello")
				pkts = append(pkts, p, q)
				open = append(open, [4]any{src, dst, sport, uint16(443)})
			case 2: // unanswered UDP
				pkts = append(pkts, udp(ts, src, dst, sport, 9999))
				open = append(open, [4]any{src, dst, sport, uint16(9999)})
			case 3: // answered later: an earlier waiting flow gets its reply, or more data
				if len(open) == 0 {
					continue
				}
				o := open[r.IntN(len(open))]
				a, b, sp, dp := o[0].(netip.Addr), o[1].(netip.Addr), o[2].(uint16), o[3].(uint16)
				if dp == 9999 {
					if r.IntN(2) == 0 {
						pkts = append(pkts, udp(ts, b, a, dp, sp))
					} else {
						pkts = append(pkts, udp(ts, a, b, sp, dp))
					}
				} else {
					p := tcp(ts, b, a, dp, sp, decode.TCPAck|decode.TCPPsh)
					p.Payload = []byte("answer")
					if r.IntN(3) == 0 {
						p = tcp(ts, b, a, dp, sp, decode.TCPRst)
					}
					pkts = append(pkts, p)
				}
			case 4: // reset after the handshake
				pkts = append(pkts, tcp(ts, src, dst, sport, 22, decode.TCPSyn), tcp(ts+1e6, dst, src, 22, sport, decode.TCPSyn|decode.TCPAck),
					tcp(ts+2e6, src, dst, sport, 22, decode.TCPAck), tcp(ts+3e6, src, dst, sport, 22, decode.TCPRst))
			case 5: // first seen from the server's side, then the client: a role swap
				p := tcp(ts, dst, src, 80, sport, decode.TCPAck)
				p.Payload = []byte("mid")
				q := tcp(ts+1e6, src, dst, sport, 80, decode.TCPAck)
				q.Payload = []byte("more")
				pkts = append(pkts, p, q)
			case 6: // NTP
				pkts = append(pkts, udp(ts, src, dst, sport, 123))
			case 7: // an elephant in the making
				pkts = append(pkts, bigUDP(ts, src, dst, 5000, 7000, 1+r.IntN(4))...)
			case 8: // a swap's first half alone
				p := tcp(ts, dst, src, 443, sport, decode.TCPAck)
				pkts = append(pkts, p)
			}
		}
		if len(open) > 200 {
			open = open[100:]
		}
		now += dt
		final := r.IntN(20) == 0
		var cfg map[string]Setting
		if r.IntN(30) == 0 {
			k := []string{"elephant_flow", "ndpi_unidirectional_traffic", "remote_to_remote"}[r.IntN(3)]
			s := low[k]
			if k == "ndpi_unidirectional_traffic" {
				s = sides[0].e.Config()[k]
				s.Enabled = !s.Enabled
			} else {
				s.Threshold *= 0.5 + r.Float64()
			}
			cfg = map[string]Setting{k: s}
		}
		var excl *Exclusion
		if r.IntN(60) == 0 {
			excl = &Exclusion{Type: ExclHost, Subdir: SubdirFlow, Addr: pick().String(), Key: alert.FlowUnidirectional}
		}
		passes := 1 + r.IntN(2) // sometimes twice at one time
		stepBoth(t, sides, pkts, cfg, func(s twin) {
			if excl != nil {
				if err := s.e.AddExclusion(*excl); err != nil {
					t.Fatal(err)
				}
			}
			s.tb.Tick(now) // expiry of idle flows
		}, now, passes, final)
		sameRaisedAndHosts(t, step, sides, hosts)
		want, got := sides[0], sides[1]
		if step%10 != 9 {
			// The archive is read every tenth step: the stored alerts are
			// the raised ones as later passes rebuilt them.
		} else if w, g := alertsJSON(storedAlerts(want.e), true), alertsJSON(storedAlerts(got.e), true); !slices.Equal(w, g) {
			t.Fatalf("step %d: stored\n%s\nwant (full walk)\n%s", step, diffLines(g, w), diffLines(w, g))
		}
		if w, g := want.e.AlertedFlows(0), got.e.AlertedFlows(0); !reflect.DeepEqual(w, g) {
			t.Fatalf("step %d: alerted flows %v, want (full walk) %v", step, g, w)
		}
		if w, g := alertedWalk(got.e), got.e.AlertedFlows(0); !reflect.DeepEqual(w, g) {
			t.Fatalf("step %d: alerted flows kept %v, counted over the flows %v", step, g, w)
		}
	}
	for _, a := range storedAlerts(sides[1].e) {
		if a.Family == alert.FamilyFlow {
			raised[a.TypeID]++
			for _, o := range a.Flow.Others {
				raised[o]++
			}
		}
	}
}

// alertedWalk counts an engine's alerted flows by severity over its flow
// states, as AlertedFlows did before it kept the counts.
func alertedWalk(e *Engine) map[alert.Severity]int {
	st := e.state(0)
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[alert.Severity]int{}
	for _, f := range st.flows {
		if a := f.alert(); a != nil {
			out[a.Severity]++
		}
	}
	return out
}
