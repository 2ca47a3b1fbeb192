package checks

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/des"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// anomalyRun drives a live table: steady traffic of a local host for 12
// minutes, then in the 13th a SYN flood against it and 40 new flows it
// opens, then steady traffic again until minute 30. The spike's flows
// expire a minute after their last packet, so the active flows go back
// to the steady values. after runs after every pass that fed a value.
func anomalyRun(t *testing.T, e *Engine, after func(fed uint32, ts, spike int64)) {
	t.Helper()
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}})
	ifc := Iface{ID: 0, Table: tb}
	key := flowtable.HostKey{Addr: victim}
	step := int64(10 * time.Second)
	spike := t0 + 12*int64(time.Minute)
	var fed uint32
	for ts := t0; ts < t0+30*int64(time.Minute); ts += step {
		if ts == spike {
			synFlood(tb, spike, 400, 2)
			for i := range 40 {
				srv := netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + i)})
				tb.HandlePacket(udp(spike, victim, srv, uint16(42000+i), 9999), decode.ErrNone)
			}
		}
		steadyTraffic(tb, ts, victim)
		tb.Tick(ts)
		e.Run(ifc, ts, false)
		if b := e.Host(0, key).Behaviour; b.Fed != fed {
			fed = b.Fed
			after(fed, ts, spike)
		}
	}
}

// engagedAnomalies are the engaged anomaly alerts of the test's host, by
// check and role ("flow_anomaly/client").
func engagedAnomalies(e *Engine) map[string]alert.Alert {
	out := map[string]alert.Alert{}
	for _, a := range e.Engaged(0) {
		if a.Family != alert.FamilyHost || (a.TypeID != alert.HostFlowAnomaly && a.TypeID != alert.HostScoreAnomaly) {
			continue
		}
		if a.EntityVal != (flowtable.HostKey{Addr: victim}).String() {
			continue
		}
		role := "server"
		if strings.Contains(a.Info, "as client") {
			role = "client"
		}
		out[alert.MetaOf(alert.TypeID{Family: a.Family, ID: a.TypeID}).Check+"/"+role] = a
	}
	return out
}

// TestAnomalyAlerts: with the checks on, the spike engages a flow anomaly
// alert for both roles and a score anomaly as server; every later value
// engages or releases them as an independent DES, fed the same values,
// says it is outside or inside its band; by the end all are released.
func TestAnomalyAlerts(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	var notified sink
	e := newEngine(t, st, &notified)
	for _, k := range []string{"score_anomaly", "flow_anomaly"} {
		if err := e.Enable(SubdirHost, k, true); err != nil {
			t.Fatal(err)
		}
	}
	key := flowtable.HostKey{Addr: victim}
	// Independent forecasts of the four series, fed the values the host
	// shows (the values themselves are checked by the behaviour tests).
	type series struct {
		name  string
		d     *des.DES
		value func(b HostBehaviour) uint64
	}
	all := []series{
		{"flow_anomaly/client", nil, func(b HostBehaviour) uint64 { return b.ActiveFlowsAsClient.Value }},
		{"flow_anomaly/server", nil, func(b HostBehaviour) uint64 { return b.ActiveFlowsAsServer.Value }},
		{"score_anomaly/client", nil, func(b HostBehaviour) uint64 { return b.ScoreAsClient.Value }},
		{"score_anomaly/server", nil, func(b HostBehaviour) uint64 { return b.ScoreAsServer.Value }},
	}
	for i := range all {
		all[i].d = des.New(behaviourAlpha, behaviourBeta, behaviourSignificance)
	}
	var spikeSeen, released bool
	anomalies := 0
	anomalyRun(t, e, func(fed uint32, ts, spike int64) {
		b := e.Host(0, key).Behaviour
		got := engagedAnomalies(e)
		want := map[string]string{}
		for _, s := range all {
			v := s.value(b)
			f, band, ok := s.d.Add(v)
			if ok && (float64(v) < f-band || float64(v) > f+band) {
				role := s.name[strings.Index(s.name, "/")+1:]
				what := "active flows"
				if strings.HasPrefix(s.name, "score") {
					what = "score"
				}
				want[s.name] = fmt.Sprintf("%s as %s %d outside the expected range [%d, %d]", what, role, v, toUint(f-band), toUint(f+band))
			}
		}
		anomalies += len(want)
		for name, info := range want {
			a, ok := got[name]
			if !ok {
				t.Errorf("value %d (minute %d): %s anomaly %q has no engaged alert", fed, (ts-t0)/60e9, name, info)
				continue
			}
			if a.Info != info {
				t.Errorf("value %d: %s info %q, want %q", fed, name, a.Info, info)
			}
			if a.Severity != alert.SeverityForScore(a.Score) || a.Score <= 0 {
				t.Errorf("%s: severity %v for score %d", name, a.Severity, a.Score)
			}
		}
		for name, a := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("value %d (minute %d): %s engaged (%q) but its value is inside the band", fed, (ts-t0)/60e9, name, a.Info)
			}
		}
		if ts < spike && len(got) > 0 {
			t.Errorf("steady traffic raised %v", got)
		}
		if ts >= spike && ts < spike+int64(time.Minute) {
			spikeSeen = true
			for _, name := range []string{"flow_anomaly/client", "flow_anomaly/server", "score_anomaly/server"} {
				if _, ok := got[name]; !ok {
					t.Errorf("spike: no %s alert (engaged: %v)", name, got)
				}
			}
		}
		if spikeSeen && len(got) == 0 {
			released = true
		}
	})
	if !spikeSeen {
		t.Fatal("no value fed in the spike's minute")
	}
	if !released || len(engagedAnomalies(e)) != 0 {
		t.Errorf("anomaly alerts never released after the traffic went back to steady: %v", engagedAnomalies(e))
	}
	// Raised alerts were notified, once each time they were engaged.
	n := 0
	for _, a := range notified.got {
		if a.TypeID == alert.HostFlowAnomaly || a.TypeID == alert.HostScoreAnomaly {
			n++
		}
	}
	if n == 0 || n > anomalies {
		t.Errorf("%d anomaly alerts notified for %d anomalous values", n, anomalies)
	}
}

// TestAnomalyAlertsOffByDefault: the same traffic with the default
// configuration has anomalies in the host's behaviour but raises no
// anomaly alert.
func TestAnomalyAlertsOffByDefault(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	var notified sink
	e := newEngine(t, st, &notified)
	for _, k := range []string{"score_anomaly", "flow_anomaly"} {
		if c, ok := Lookup(SubdirHost, k); !ok || c.Enabled {
			t.Errorf("check %s: listed %v, on by default %v", k, ok, c.Enabled)
		}
	}
	anomalyRun(t, e, func(uint32, int64, int64) {
		if got := engagedAnomalies(e); len(got) > 0 {
			t.Errorf("engaged with the checks off: %v", got)
		}
	})
	b := e.Host(0, flowtable.HostKey{Addr: victim}).Behaviour
	if b.ActiveFlowsAnomalies == 0 || b.ScoreAnomalies == 0 {
		t.Fatalf("the traffic made no anomaly (%+v): the test proves nothing", b)
	}
	for _, a := range notified.got {
		if a.TypeID == alert.HostFlowAnomaly || a.TypeID == alert.HostScoreAnomaly {
			t.Errorf("notified with the checks off: %+v", a)
		}
	}
}

// TestAnomalyAlertDisabledWhileEngaged: turning the check off releases
// its engaged alert at the next pass, without waiting for a new value.
func TestAnomalyAlertDisabledWhileEngaged(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	e := newEngine(t, st, &sink{})
	if err := e.Enable(SubdirHost, "flow_anomaly", true); err != nil {
		t.Fatal(err)
	}
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}})
	ifc := Iface{ID: 0, Table: tb}
	step := int64(10 * time.Second)
	spike := t0 + 5*int64(time.Minute)
	ts := t0
	for ; len(engagedAnomalies(e)) == 0 && ts < spike+int64(time.Minute); ts += step {
		if ts == spike {
			for i := range 40 {
				srv := netip.AddrFrom4([4]byte{203, 0, 113, byte(100 + i)})
				tb.HandlePacket(udp(spike, victim, srv, uint16(42000+i), 9999), decode.ErrNone)
			}
		}
		steadyTraffic(tb, ts, victim)
		tb.Tick(ts)
		e.Run(ifc, ts, false)
	}
	got := engagedAnomalies(e)
	if _, ok := got["flow_anomaly/client"]; !ok {
		t.Fatalf("no flow anomaly as client engaged after the burst: %v", got)
	}
	// The next pass, before the next value, keeps it.
	steadyTraffic(tb, ts, victim)
	e.Run(ifc, ts, false)
	if _, ok := engagedAnomalies(e)["flow_anomaly/client"]; !ok {
		t.Fatal("released by a pass that fed no value")
	}
	if err := e.Enable(SubdirHost, "flow_anomaly", false); err != nil {
		t.Fatal(err)
	}
	ts += step
	steadyTraffic(tb, ts, victim)
	e.Run(ifc, ts, false)
	if got := engagedAnomalies(e); len(got) != 0 {
		t.Errorf("still engaged with the check off: %v", got)
	}
}
