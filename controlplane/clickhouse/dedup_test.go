package clickhouse

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/flowsql"
)

// TestReadSkipsFinalOnlyWithoutCopies: rows copied into a second part of
// their partition (a replayed batch, made here by INSERT ... SELECT with
// merges stopped) are read FINAL and counted once, as Badger counts them;
// once merged into one part they are read plainly, same answers; and a
// part landing while a plain read runs makes the reader ask again with
// FINAL.
func TestReadSkipsFinalOnlyWithoutCopies(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_100
	st := badgerAndSink(t, srv.Addr, tieRecords(4, base))
	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exec := func(sql string) {
		t.Helper()
		if err := rd.conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("OPTIMIZE TABLE fleet.flows FINAL")
	exec("SYSTEM STOP MERGES")
	defer exec("SYSTEM START MERGES")
	copyAll := "INSERT INTO fleet.flows SELECT * FROM fleet.flows WHERE NTOPNG_INSTANCE_NAME = 'p1'"

	none, _ := flowsql.ParseWhere("")
	all, _ := flowsql.ParseSelect("*")
	fq := flowsql.FlowsQuery{IfID: 4, Begin: base, End: base + 100, Select: all, Where: none, MaxHits: 1000}
	tq := flowsql.TopKQuery{IfID: 4, Begin: base, End: base + 100, Keys: cols(t, "IPV4_SRC_ADDR"), Value: cols(t, "BYTES")[0], Agg: "SUM", Where: none, MaxHits: 3}
	check := func(stage string, wantFinal bool) {
		t.Helper()
		if _, final, err := rd.rangeParts(ctx, base, base+100); err != nil || final != wantFinal {
			t.Fatalf("%s: FINAL needed %v (%v), want %v", stage, final, err, wantFinal)
		}
		wantF, err := flowsql.Flows(ctx, st, fq)
		if err != nil {
			t.Fatal(err)
		}
		gotF, err := rd.Flows(ctx, fq, Scope{Probe: "p1"})
		if err != nil || !reflect.DeepEqual(gotF, wantF) {
			t.Errorf("%s: db/flows %d rows (%v), badger %d", stage, len(gotF), err, len(wantF))
		}
		wantK, err := flowsql.TopK(ctx, st, tq)
		if err != nil {
			t.Fatal(err)
		}
		gotK, err := rd.TopK(ctx, tq, Scope{Probe: "p1"})
		if err != nil || !reflect.DeepEqual(sums(gotK), sums(wantK)) {
			t.Errorf("%s: topk %v (%v), badger %v", stage, gotK, err, wantK)
		}
	}
	check("one part", false)
	exec(copyAll)
	check("copied", true)
	exec("SYSTEM START MERGES")
	exec("OPTIMIZE TABLE fleet.flows FINAL")
	check("merged", false)

	// A copy landing during a plain read: asked again, FINAL.
	exec("SYSTEM STOP MERGES")
	var froms []string
	err := rd.read(ctx, base, base+100, func(from string) error {
		froms = append(froms, from)
		if len(froms) == 1 {
			exec(copyAll)
		}
		return nil
	})
	if err != nil || len(froms) != 2 || strings.HasSuffix(froms[0], "FINAL") || !strings.HasSuffix(froms[1], "FINAL") {
		t.Fatalf("read with a part landing: %q, %v; want a plain read, then FINAL", froms, err)
	}
	check("copied while reading", true)
	// Parts outside the range do not matter: the copies' day is not asked.
	if _, final, err := rd.rangeParts(ctx, base+86400*3, base+86400*4); err != nil || final {
		t.Fatalf("another day: FINAL needed %v (%v)", final, err)
	}
}

// sums are topk rows' TOTAL_BYTES in rank order: groups of equal value
// may come in either store's order.
func sums(rows []map[string]any) (out []any) {
	for _, r := range rows {
		out = append(out, r["TOTAL_BYTES"])
	}
	return out
}
