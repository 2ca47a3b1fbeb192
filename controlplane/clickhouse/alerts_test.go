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

// TestAlertsAnswerAsArchive: alerts stored in a probe's archive, fed to
// the sink as stored (every state), come back from ClickHouse as the
// archive gives them, whatever the filter; acknowledgements follow; the
// probe filter keeps one probe's, none the fleet's.
func TestAlertsAnswerAsArchive(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_000
	archive := func(probe string, seed uint64) (*alert.Archive, *Sink) {
		st, err := store.Open(t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ar := alert.NewArchive(st)
		s := openSink(t, srv.Addr, probe, t.TempDir(), 64<<20)
		ar.OnPut(s.WriteAlert)
		alertHistory(t, ar, 300, 2, base, seed)
		alertHistory(t, ar, 40, 5, base, seed+1)
		return ar, s
	}
	ar, s := archive("p1", 1)
	ar2, s2 := archive("p2", 2)
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
