package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/flowsql"
)

// BenchmarkTopTalkers: db/topk_flows' top-10 talkers (IPV4_SRC_ADDR by
// bytes) over the same records in Badger (flowsql) and in ClickHouse
// (Reader), interleaved query by query in one run. ratio = clickhouse/badger
// time per query (below 1: ClickHouse is faster).
func BenchmarkTopTalkers(b *testing.B) {
	const n = 200_000
	srv := chtest.Start(b)
	st := tempStore(b)
	const base = 1_700_000_000
	recs := history(n, 0, base, 9)
	for i := 0; i < n; i += 10000 {
		if err := st.WriteFlows(recs[i : i+10000]); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(Config{Target: Target{Addr: srv.Addr, Database: "fleet"}, Probe: "bench", SpoolDir: b.TempDir(),
		SpoolMaxBytes: 1 << 30, BatchRows: 50000, FlushEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	s.WriteFlows(recs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	s.Close()
	rd := fleetReader(b, srv.Addr)
	key, _ := flowsql.Lookup("IPV4_SRC_ADDR")
	val, _ := flowsql.Lookup("BYTES")
	where, _ := flowsql.ParseWhere("")
	q := flowsql.TopKQuery{IfID: 0, Begin: base, End: base + n, Keys: []*flowsql.Column{key}, Value: val, Agg: "SUM", Where: where, MaxHits: 10}
	var tBadger, tCH time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		want, err := flowsql.TopK(ctx, st, q)
		t1 := time.Now()
		got, err2 := rd.TopK(ctx, q, Scope{Probe: "bench"})
		t2 := time.Now()
		if err != nil || err2 != nil || len(got) != len(want) || len(want) != 10 {
			b.Fatalf("badger %d rows %v, clickhouse %d rows %v", len(want), err, len(got), err2)
		}
		tBadger += t1.Sub(t0)
		tCH += t2.Sub(t1)
	}
	b.ReportMetric(float64(tBadger.Microseconds())/float64(b.N)/1000, "badger-ms/op")
	b.ReportMetric(float64(tCH.Microseconds())/float64(b.N)/1000, "clickhouse-ms/op")
	b.ReportMetric(float64(tCH)/float64(tBadger), "ratio")
}
