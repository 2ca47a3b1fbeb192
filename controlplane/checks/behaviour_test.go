package checks

import (
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/des"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// steadyTraffic is one round of a local host's steady activity: the same
// UDP flows to five servers (as client) and from two clients (as server).
func steadyTraffic(tb *flowtable.Table, ts int64, host netip.Addr) {
	for i := range 5 {
		srv := netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i)})
		tb.HandlePacket(udp(ts, host, srv, 40000, 5000), decode.ErrNone)
		tb.HandlePacket(udp(ts, srv, host, 5000, 40000), decode.ErrNone)
	}
	for i := range 2 {
		cli := netip.AddrFrom4([4]byte{198, 51, 100, byte(50 + i)})
		tb.HandlePacket(udp(ts, cli, host, 41000, 53), decode.ErrNone)
		tb.HandlePacket(udp(ts, host, cli, 53, 41000), decode.ErrNone)
	}
}

// TestBehaviourSteadyThenSpike: a local host with the same activity for
// twelve minutes has no anomaly; then a SYN flood against it and a burst
// of new flows it opens are anomalies of its active flows (both roles),
// its score as server (the flood's host alert) and its contacts. The
// expected band of each value is recomputed with the DES from the values
// the test knows it sent, not taken from the engine.
func TestBehaviourSteadyThenSpike(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	var notified sink
	e := newEngine(t, st, &notified)
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	ifc := Iface{ID: 0, Table: tb}
	key := flowtable.HostKey{Addr: victim}
	remoteKey := flowtable.HostKey{Addr: netip.AddrFrom4([4]byte{198, 51, 100, 10})}

	step := int64(10 * time.Second)
	ts := t0
	for ; ts < t0+12*int64(time.Minute); ts += step {
		steadyTraffic(tb, ts, victim)
		e.Run(ifc, ts, false)
	}
	b := e.Host(0, key).Behaviour
	// Fed at 1, 2, ..., 11 minutes after the first packet (the 12th is
	// the loop's end).
	if b.Fed != 11 {
		t.Fatalf("fed %d values in 12 minutes, want 11", b.Fed)
	}
	want := map[string]struct {
		got  Behaviour
		want uint64
	}{
		"active flows as client": {b.ActiveFlowsAsClient, 5},
		"active flows as server": {b.ActiveFlowsAsServer, 2},
		"contacted hosts":        {b.ContactedHosts, 5},
		"score as client":        {b.ScoreAsClient, 0},
		"score as server":        {b.ScoreAsServer, 0},
	}
	for name, w := range want {
		if w.got.Value != w.want || w.got.Anomaly {
			t.Errorf("steady %s: %+v, want value %d, no anomaly", name, w.got, w.want)
		}
		// A constant series is forecast exactly: a zero-width band.
		if w.got.LowerBound != w.want || w.got.UpperBound != w.want {
			t.Errorf("steady %s: band [%d, %d], want [%d, %d]", name, w.got.LowerBound, w.got.UpperBound, w.want, w.want)
		}
	}
	if b.ScoreAnomalies != 0 || b.ActiveFlowsAnomalies != 0 {
		t.Errorf("steady: %d score and %d active flow anomalies", b.ScoreAnomalies, b.ActiveFlowsAnomalies)
	}
	if r := e.Host(0, remoteKey).Behaviour; r.Fed != 0 {
		t.Errorf("remote host has behaviour state: %+v", r)
	}

	// The spike: a SYN flood against the host (400 SYN/s for 2 s, 80/s over
	// the 10 s pass) and 40
	// new flows it opens to new servers, all in the 13th minute.
	spike := ts
	synFlood(tb, spike, 400, 2)
	for i := range 40 {
		srv := netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + i)})
		tb.HandlePacket(udp(spike, victim, srv, uint16(42000+i), 9999), decode.ErrNone)
	}
	for ; ts < spike+int64(time.Minute); ts += step {
		steadyTraffic(tb, ts, victim)
		e.Run(ifc, ts, false)
	}
	a := e.Host(0, key)
	b = a.Behaviour
	if b.Fed != 12 {
		t.Fatalf("fed %d values, want 12", b.Fed)
	}
	// The score as server fed in the spike's pass: the host alerts raised
	// then with the host as victim, as the notifications tell them.
	srvScore := 0
	for _, n := range notified.got {
		if n.Family == alert.FamilyHost && n.Host != nil && n.Host.IP == victim.String() && n.Host.IsVictim && n.Tstamp == spike/1e9 {
			srvScore += n.Score
		}
	}
	if srvScore == 0 {
		t.Fatal("the SYN flood raised no host alert: the score spike test needs one")
	}
	for name, w := range map[string]struct {
		got  Behaviour
		want uint64
	}{
		"active flows as client": {b.ActiveFlowsAsClient, 5 + 40},
		"active flows as server": {b.ActiveFlowsAsServer, 2 + 800},
		"contacted hosts":        {b.ContactedHosts, 5 + 40},
		"score as server":        {b.ScoreAsServer, uint64(srvScore)},
	} {
		if w.got.Value != w.want {
			t.Errorf("spike %s: value %d, want %d", name, w.got.Value, w.want)
		}
		if !w.got.Anomaly {
			t.Errorf("spike %s: %+v is no anomaly", name, w.got)
		}
		// Independent recomputation: 11 steady values then the spike.
		lo, hi, anomaly := expectBand(12, w.want, func(i int) uint64 {
			if name == "active flows as server" {
				return 2
			}
			if name == "score as server" {
				return 0
			}
			return 5
		})
		if w.got.LowerBound != lo || w.got.UpperBound != hi || !anomaly {
			t.Errorf("spike %s: band [%d, %d], want [%d, %d] (anomaly %v)", name, w.got.LowerBound, w.got.UpperBound, lo, hi, anomaly)
		}
	}
	if b.ScoreAsClient.Anomaly {
		t.Errorf("score as client did not change but is an anomaly: %+v", b.ScoreAsClient)
	}
	if b.ScoreAnomalies != 1 || b.ActiveFlowsAnomalies != 2 {
		t.Errorf("anomalies: score %d (want 1), active flows %d (want 2)", b.ScoreAnomalies, b.ActiveFlowsAnomalies)
	}
}

// expectBand runs n-1 steady values and a last one through a fresh DES
// with the probe's parameters, and gives the bounds as ntopng shows them.
func expectBand(n int, last uint64, steady func(i int) uint64) (lo, hi uint64, anomaly bool) {
	d := des.New(behaviourAlpha, behaviourBeta, behaviourSignificance)
	for i := range n - 1 {
		d.Add(steady(i))
	}
	f, band, _ := d.Add(last)
	return toUint(f - band), toUint(f + band), float64(last) < f-band || float64(last) > f+band
}

// TestBehaviourBeforeTwoValues: with one value the series has no band yet
// (0, 0) and no anomaly, and its value is the one fed.
func TestBehaviourBeforeTwoValues(t *testing.T) {
	b := newHostBehaviour(0)
	b.feed(7, 0, 3, 1, 9)
	p := b.public()
	for _, x := range []Behaviour{p.ScoreAsClient, p.ActiveFlowsAsClient, p.ContactedHosts} {
		if x.LowerBound != 0 || x.UpperBound != 0 || x.Anomaly || x.Value == 0 {
			t.Errorf("first value: %+v", x)
		}
	}
	if p.Fed != 1 || p.ScoreAnomalies != 0 || p.ActiveFlowsAnomalies != 0 {
		t.Errorf("first value: %+v", p)
	}
	if (*hostBehaviour)(nil).public() != (HostBehaviour{}) {
		t.Error("a host without state has a behaviour")
	}
}

func TestToUint(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want uint64
	}{
		{-5.5, 0}, {0, 0}, {0.99, 0}, {1.5, 1}, {182.9, 182},
		{1e30, 1<<64 - 1}, {18446744073709551616, 1<<64 - 1},
	} {
		if got := toUint(c.in); got != c.want {
			t.Errorf("toUint(%v) = %d, want %d", c.in, got, c.want)
		}
	}
}
