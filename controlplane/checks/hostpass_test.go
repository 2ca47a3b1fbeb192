package checks

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// The host pass looks only at the hosts that changed (and those with an
// engaged alert or not yet due); it must answer as the full walk of every
// host it replaced. Two engines, one of them walking every host as the
// pass did before, judge two tables fed the same randomized traffic
// (floods, scans, ICMP, server contacts, blacklisted peers, hosts leaving
// and coming back, idle stretches, passes at the same time, settings
// changes, capture ends): after every pass they must have raised the same
// alerts, have the same ones engaged and show the same host figures.
func TestIncrementalHostPassMatchesFullWalk(t *testing.T) {
	raised := map[int]int{} // host alert type: times raised, over every seed
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			hostPassDifferential(t, seed, raised)
		})
	}
	// The traffic must make every host check fire, or the comparison
	// proves little.
	for _, id := range []int{alert.HostSYNFlood, alert.HostSYNScan, alert.HostFlowFlood, alert.HostICMPFlood,
		alert.HostNTPContacts, alert.HostSMTPContacts, alert.HostScoreThresh, alert.HostPktThreshold} {
		if raised[id] == 0 {
			t.Errorf("host alert %d never raised: the traffic does not exercise it", id)
		}
	}
}

func hostPassDifferential(t *testing.T, seed uint64, raised map[int]int) {
	r := rand.New(rand.NewPCG(seed, 7))
	sides := twins(t, func(e *Engine) { e.hostPassFn = e.fullHostPass }, 2*time.Second, 3*time.Second, 5*time.Second)
	low := map[string]Setting{
		"syn_flood": {Enabled: true, Threshold: 8}, "syn_scan": {Enabled: true, Threshold: 6},
		"flow_flood": {Enabled: true, Threshold: 10}, "icmp_flood": {Enabled: true, Threshold: 8},
		"ntp_contacts": {Enabled: true, Threshold: 2}, "smtp_contacts": {Enabled: true, Threshold: 2},
		"traffic_volume":  {Enabled: true, Threshold: 30000},
		"score_threshold": {Enabled: true, Threshold: 60},
		"blacklisted":     {Enabled: true, Items: []string{"203.0.113.1/32"}},
	}
	setBoth(t, sides, low)

	var hosts []netip.Addr
	for i := 1; i <= 5; i++ {
		hosts = append(hosts, netip.AddrFrom4([4]byte{192, 168, 1, byte(i)}), netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
	}
	pick := func() netip.Addr { return hosts[r.IntN(len(hosts))] }
	steps := []int64{0, 100e6, 250e6, 400e6, 900e6, 1e9, 1200e6, 3e9, 8e9}
	now := t0
	sport := uint16(1024)
	for step := 0; step < 200; step++ {
		dt := steps[r.IntN(len(steps))]
		var pkts []*decode.Packet
		n := 0
		if r.IntN(4) > 0 {
			n = r.IntN(40)
		}
		src, dst := pick(), pick()
		kind := r.IntN(7) // a step is mostly a burst of one kind
		for i := 0; i < n; i++ {
			ts := now + int64(i)*max(dt, 1)/int64(n+1)
			if r.IntN(3) == 0 {
				src, dst = pick(), pick()
			}
			if r.IntN(4) == 0 {
				kind = r.IntN(7)
			}
			sport++
			switch kind {
			case 0, 1: // SYN from a new port: a flood or a scan
				pkts = append(pkts, tcp(ts, src, dst, sport, uint16(80+r.IntN(3)), decode.TCPSyn))
			case 2: // answered
				pkts = append(pkts, tcp(ts, src, dst, sport, 443, decode.TCPSyn), tcp(ts+1e6, dst, src, 443, sport, decode.TCPSyn|decode.TCPAck))
			case 3:
				p := udp(ts, src, dst, sport, 7)
				p.Proto = decode.ProtoICMP
				p.SrcPort, p.DstPort = 8, 0
				pkts = append(pkts, p)
			case 4:
				pkts = append(pkts, udp(ts, src, dst, sport, 123))
			case 5:
				pkts = append(pkts, tcp(ts, src, dst, sport, 25, decode.TCPSyn))
			case 6:
				pkts = append(pkts, bigUDP(ts, src, dst, 5000, 9000, 1+r.IntN(8))...)
			}
		}
		now += dt
		final := r.IntN(25) == 0
		var cfg map[string]Setting
		if r.IntN(40) == 0 {
			k := []string{"syn_flood", "flow_flood", "ntp_contacts", "score_threshold"}[r.IntN(4)]
			s := low[k]
			s.Threshold *= 0.5 + r.Float64()
			cfg = map[string]Setting{k: s}
		}
		passes := 1 + r.IntN(2) // sometimes twice at one time
		stepBoth(t, sides, pkts, cfg, nil, now, passes, final)
		// Host alerts raised in the same order (they get their row ids in
		// it; flow alerts come in the table's map order).
		sameRaisedAndHosts(t, step, sides, hosts)
		want, got := sides[0], sides[1]
		if w, g := alertsJSON(want.e.Engaged(0), true), alertsJSON(got.e.Engaged(0), true); !slices.Equal(w, g) {
			t.Fatalf("step %d: engaged\n%s\nwant (full walk)\n%s", step, diffLines(g, w), diffLines(w, g))
		}
	}
	for _, a := range sides[1].sink.got {
		if a.Family == alert.FamilyHost {
			raised[a.TypeID]++
		}
	}
}

// raisedJSON is the flow alerts sorted, then the host alerts in order.
func raisedJSON(as []alert.Alert) []string {
	var flows, hosts []alert.Alert
	for _, a := range as {
		if a.Family == alert.FamilyHost {
			hosts = append(hosts, a)
		} else {
			flows = append(flows, a)
		}
	}
	return append(alertsJSON(flows, true), alertsJSON(hosts, false)...)
}

// alertsJSON is alerts as JSON lines, sorted or not, row ids left out.
func alertsJSON(as []alert.Alert, sorted bool) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		a.RowID = 0
		b, _ := json.Marshal(a)
		out = append(out, string(b))
	}
	if sorted {
		slices.Sort(out)
	}
	return out
}

// diffLines is what a has that b has not.
func diffLines(a, b []string) string {
	s := ""
	for _, l := range a {
		if !slices.Contains(b, l) {
			s += l + "\n"
		}
	}
	return s
}
