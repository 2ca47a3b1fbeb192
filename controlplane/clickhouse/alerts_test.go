package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/store"
)

// alertHistory stores n alerts of interface ifid in ar through their
// life: raised engaged, some updated, most released, some acknowledged.
func alertHistory(t *testing.T, ar *alert.Archive, n, ifid int, base int64, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	for i := range n {
		a := &alert.Alert{IfID: ifid, Engaged: true, Tstamp: base + int64(i*7), Count: 1,
			Severity: alert.Severity(3 + rng.IntN(4)), Score: 10 * rng.IntN(30), Info: fmt.Sprintf("info %d", i)}
		switch i % 3 {
		case 0:
			a.Family, a.Entity, a.TypeID, a.EntityVal = alert.FamilyFlow, alert.EntityFlow, 1+rng.IntN(5), fmt.Sprintf("10.0.0.%d", rng.IntN(9))
			a.Flow = &alert.FlowAlert{CliIP: a.EntityVal, SrvIP: "192.168.1.200", CliPort: uint16(1024 + i), SrvPort: 443, Proto: 6, L7Name: "TLS",
				Bytes: [2]uint64{uint64(rng.IntN(1e6)), 7}, Packets: [2]uint64{3, 4}, FirstSeen: a.Tstamp - 3, LastSeen: a.Tstamp}
		case 1:
			a.Family, a.Entity, a.TypeID, a.EntityVal = alert.FamilyHost, alert.EntityHost, 4+rng.IntN(3), fmt.Sprintf("192.168.1.%d", rng.IntN(20))
			a.Detail = json.RawMessage(fmt.Sprintf(`{"value":%d,"threshold":100}`, rng.IntN(1000)))
		default:
			a.Family, a.Entity, a.TypeID, a.EntityVal = alert.FamilyOther, alert.EntityInterface, 1+rng.IntN(3), "eth0"
		}
		a.TstampEnd = a.Tstamp
		if err := ar.Put(a); err != nil {
			t.Fatal(err)
		}
		if rng.IntN(3) == 0 { // seen again while engaged
			a.Count, a.TstampEnd = a.Count+1+rng.IntN(5), a.TstampEnd+int64(rng.IntN(60))
			if err := ar.Put(a); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(5) > 0 { // released
			a.Engaged, a.TstampEnd = false, a.TstampEnd+int64(1+rng.IntN(100))
			if err := ar.Put(a); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// probeArchive is one probe of a fleet: an archive on its own store
// whose stored and deleted alerts its sink writes, holding alertHistory's
// alerts of interfaces 2 (300) and 5 (40).
func probeArchive(t *testing.T, addr, probe string, base int64, seed uint64) (*alert.Archive, *Sink) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ar := alert.NewArchive(st)
	s := openSink(t, addr, probe, t.TempDir(), 64<<20)
	ar.OnPut(s.WriteAlert)
	ar.OnDelete(s.WriteAlertDeleted)
	alertHistory(t, ar, 300, 2, base, seed)
	alertHistory(t, ar, 40, 5, base, seed+1)
	return ar, s
}

// TestAlertsAnswerAsArchive: alerts stored in a probe's archive, fed to
// the sink as stored (every state), come back from ClickHouse as the
// archive gives them, whatever the filter; acknowledgements follow; the
// probe filter keeps one probe's, none the fleet's.
func TestAlertsAnswerAsArchive(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_000
	ar, s := probeArchive(t, srv.Addr, "p1", base, 1)
	ar2, s2 := probeArchive(t, srv.Addr, "p2", base, 2)
	// Acknowledged through the archive, as REST does it.
	no := false
	if n, err := ar.Acknowledge(2, alert.Filter{Engaged: &no, From: base + 500, To: base + 900}); err != nil || n == 0 {
		t.Fatalf("acknowledged %d: %v", n, err)
	}
	drain(t, s)
	drain(t, s2)
	s.Close()
	s2.Close()

	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	scan := func(f alert.Filter, ifid int, from func(int, alert.Filter, func(*alert.Alert) error) error) []alert.Alert {
		var out []alert.Alert
		if err := from(ifid, f, func(a *alert.Alert) error { out = append(out, *a); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	yes, host, flow, sev, typ := true, alert.FamilyHost, alert.FamilyFlow, alert.Severity(5), 5
	hostEnt := alert.EntityHost
	filters := []alert.Filter{
		{},
		{Engaged: &no},
		{Engaged: &yes},
		{From: base + 100, To: base + 1200, Engaged: &no},
		{Family: &host},
		{Flows: &yes, Engaged: &no},
		{Flows: &no, Severity: &sev},
		{TypeID: &typ, Family: &flow},
		{Entity: &hostEnt, EntityVal: "192.168.1.7"},
		{MinSeverity: 5, From: base + 1000},
		{RowID: 17},
	}
	compared := 0
	for _, f := range filters {
		for _, ifid := range []int{2, 5, 9} {
			want := scan(f, ifid, ar.Scan)
			got := scan(f, ifid, func(ifid int, f alert.Filter, fn func(*alert.Alert) error) error {
				return rd.Alerts(ctx, ifid, f, "p1", fn)
			})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("filter %+v, ifid %d: clickhouse %d alerts, archive %d\nclickhouse %+v\narchive    %+v", f, ifid, len(got), len(want), got, want)
			}
			compared += len(want)
		}
	}
	if compared < 500 {
		t.Fatalf("only %d alerts compared", compared)
	}
	// The fleet: both probes' alerts.
	var fleet, want int
	rd.Alerts(ctx, 2, alert.Filter{Engaged: &no}, "", func(*alert.Alert) error { fleet++; return nil })
	for _, a := range []*alert.Archive{ar, ar2} {
		a.Scan(2, alert.Filter{Engaged: &no}, func(*alert.Alert) error { want++; return nil })
	}
	if fleet != want {
		t.Fatalf("fleet: %d released alerts of interface 2, the archives hold %d", fleet, want)
	}
}

// TestFleetAlertActions: deleting and acknowledging through the fleet
// view (ActOnAlerts) and deleting on a probe (its sink's tombstone) change
// what the fleet's lists answer; a row id two probes share is refused
// unless a probe is named.
func TestFleetAlertActions(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_000
	ar1, s1 := probeArchive(t, srv.Addr, "p1", base, 1)
	ar2, s2 := probeArchive(t, srv.Addr, "p2", base, 2)
	drain(t, s1)
	drain(t, s2)
	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	no := false
	released := alert.Filter{Engaged: &no}
	list := func(f alert.Filter, probe string) []alert.Alert {
		t.Helper()
		var out []alert.Alert
		if err := rd.Alerts(ctx, 2, f, probe, func(a *alert.Alert) error { out = append(out, *a); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A row id both probes used for a released alert.
	var shared uint64
	ar1.Scan(2, released, func(a *alert.Alert) error {
		if shared == 0 {
			one := alert.Filter{Engaged: &no, RowID: a.RowID}
			if n := len(list(one, "p2")); n == 1 {
				shared = a.RowID
			}
		}
		return nil
	})
	if shared == 0 {
		t.Fatal("no row id shared by both probes' released alerts")
	}
	byID := alert.Filter{Engaged: &no, RowID: shared}
	before := len(list(released, ""))
	if _, _, err := rd.ActOnAlerts(ctx, 2, byID, "", true); err != ErrAmbiguousRowID {
		t.Fatalf("deleting a shared row id without a probe: %v", err)
	}
	if n := len(list(released, "")); n != before {
		t.Fatalf("a refused deletion changed the fleet's list: %d alerts, were %d", n, before)
	}
	n, probes, err := rd.ActOnAlerts(ctx, 2, byID, "p2", true)
	if err != nil || n != 1 || !probes["p2"] || len(probes) != 1 {
		t.Fatalf("deleting p2's alert %d: %d %v %v", shared, n, probes, err)
	}
	if got := list(byID, ""); len(got) != 1 || len(list(byID, "p1")) != 1 {
		t.Fatalf("after deleting p2's alert %d the fleet lists %d with that id (want p1's only)", shared, len(got))
	}
	if n, _, err := rd.ActOnAlerts(ctx, 2, byID, "p2", false); err != nil || n != 0 {
		t.Fatalf("acknowledging a deleted alert: %d %v (a deleted alert stays deleted)", n, err)
	}
	if len(list(byID, "p2")) != 0 {
		t.Fatal("acknowledging brought a deleted alert back")
	}

	// Acknowledge a range across the fleet: every released alert of the
	// range in either archive that was not acknowledged yet.
	rng := alert.Filter{Engaged: &no, From: base + 300, To: base + 1500}
	want := 0
	for _, ar := range []*alert.Archive{ar1, ar2} {
		ar.Scan(2, rng, func(a *alert.Alert) error {
			if !a.Acknowledged && !(ar == ar2 && a.RowID == shared) {
				want++
			}
			return nil
		})
	}
	if n, probes, err := rd.ActOnAlerts(ctx, 2, rng, "", false); err != nil || n != want || len(probes) != 2 || want == 0 {
		t.Fatalf("fleet acknowledgement: %d of %d wanted, probes %v, %v", n, want, probes, err)
	}
	for _, a := range list(rng, "") {
		if !a.Acknowledged {
			t.Fatalf("alert %d still unacknowledged after the fleet's acknowledgement", a.RowID)
		}
	}

	// A deletion on a probe reaches the fleet through its sink.
	if n, err := ar1.Delete(2, byID); err != nil || n != 1 {
		t.Fatalf("local deletion: %d %v", n, err)
	}
	drain(t, s1)
	if got := list(byID, ""); len(got) != 0 {
		t.Fatalf("after both probes deleted alert %d the fleet still lists %d", shared, len(got))
	}
}
