package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/store"
)

// BenchmarkTopTalkers: db/topk_flows' top-10 talkers (IPV4_SRC_ADDR by
// bytes) over the same records in Badger (flowsql) and in ClickHouse
// (Reader), interleaved query by query in one run. ratio = clickhouse/badger
// time per query (below 1: ClickHouse is faster).
func BenchmarkTopTalkers(b *testing.B) {
	const n = 200_000
	srv := chtest.Start(b)
	const base = 1_700_000_000
	st := benchBackends(b, srv.Addr, history(n, 0, base, 9), nil, 5*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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

// benchBackends puts the same records in a temporary Badger store (in
// chunks of 10,000, as the flow writer does) and, as probe "bench" with
// large batches, in ClickHouse: the two sides of a benchmark.
func benchBackends(b *testing.B, addr string, recs []store.FlowRecord, ifName func(uint16) string, drainWait time.Duration) *store.Store {
	b.Helper()
	st := tempStore(b)
	for i := 0; i < len(recs); i += 10000 {
		if err := st.WriteFlows(recs[i:min(i+10000, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(Config{Target: Target{Addr: addr, Database: "fleet"}, Probe: "bench", SpoolDir: b.TempDir(),
		SpoolMaxBytes: 1 << 30, BatchRows: 50000, FlushEvery: time.Hour, IfName: ifName})
	if err != nil {
		b.Fatal(err)
	}
	s.WriteFlows(recs)
	ctx, cancel := context.WithTimeout(context.Background(), drainWait)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	s.Close()
	return st
}
