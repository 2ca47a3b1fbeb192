package activemon

import (
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/store"
)

// TestAlertsThroughTheEngine raises, refreshes and releases am_host
// alerts through the real alert engine and its archive in Badger.
func TestAlertsThroughTheEngine(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng, err := checks.New(checks.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	onSample, onRemove := Alerts(eng)
	slow := Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min"}
	web := Host{Host: "www.example.org", Measurement: Throughput, Threshold: 50, Granularity: "5mins"}
	t0 := int64(1_700_000_000)

	engaged := func() map[string]alert.Alert {
		m := map[string]alert.Alert{}
		for _, a := range eng.Engaged(checks.SystemIfID) {
			m[a.EntityVal] = a
		}
		return m
	}
	history := func() []alert.Alert {
		var out []alert.Alert
		no := false
		ent := alert.EntityAMHost
		if err := eng.Archive().Scan(checks.SystemIfID, alert.Filter{Engaged: &no, Entity: &ent}, func(a *alert.Alert) error {
			out = append(out, *a)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}

	onSample(slow, Sample{Key: slow.Key(), Time: t0, Value: 20, Alerted: false})
	onSample(web, Sample{Key: web.Key(), Time: t0, Value: 80, Alerted: false})
	if len(engaged()) != 0 {
		t.Fatalf("alerts below the thresholds: %+v", engaged())
	}
	onSample(slow, Sample{Key: slow.Key(), Time: t0 + 60, Value: 150, Alerted: true, Threshold: 100})
	onSample(web, Sample{Key: web.Key(), Time: t0 + 60, Unreachable: true, Error: "connection refused", Alerted: true})
	e := engaged()
	a, ok := e[slow.Key()]
	if !ok || len(e) != 2 {
		t.Fatalf("engaged %+v", e)
	}
	if a.Entity != alert.EntityAMHost || a.Type() != AlertType || a.Tstamp != t0+60 || !strings.Contains(a.Info, "150.00 ms, above the threshold of 100 ms") {
		t.Errorf("slow host alert %+v", a)
	}
	if d, _ := alert.Lookup(a.Type()); d.Name != "alert_am_threshold_cross" {
		t.Errorf("type %q", d.Name)
	}
	if w := e[web.Key()]; !strings.Contains(w.Info, "unreachable (connection refused)") {
		t.Errorf("unreachable alert %+v", w)
	}
	// Still crossed a minute on: the same alert, refreshed.
	onSample(slow, Sample{Key: slow.Key(), Time: t0 + 120, Value: 180, Alerted: true})
	if a2 := engaged()[slow.Key()]; a2.RowID != a.RowID || a2.Tstamp != t0+60 || a2.TstampEnd != t0+120 || !strings.Contains(a2.Info, "180.00") {
		t.Errorf("refreshed alert %+v (first %+v)", a2, a)
	}
	// Back under: released into the history; the host removed: released.
	onSample(slow, Sample{Key: slow.Key(), Time: t0 + 180, Value: 10})
	onRemove(web, time.Unix(t0+200, 0))
	if len(engaged()) != 0 {
		t.Errorf("still engaged: %+v", engaged())
	}
	h := history()
	if len(h) != 2 {
		t.Fatalf("history %+v", h)
	}
	for _, x := range h {
		want := map[string]int64{slow.Key(): t0 + 180, web.Key(): t0 + 200}[x.EntityVal]
		if x.TstampEnd != want || x.Engaged {
			t.Errorf("released %s: end %d, want %d (%+v)", x.EntityVal, x.TstampEnd, want, x)
		}
	}
}
