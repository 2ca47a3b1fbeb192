package clickhouse

import (
	"context"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
)

// BenchmarkSinkVsRawBatch: flow records/s through the sink, fed as the
// flow writer feeds it (store records in pieces of 1,000, rows built,
// batches sealed at 10,000 rows, inserted, until ClickHouse acknowledged
// all), against a raw clickhouse-go batch insert of the same rows (built
// beforehand) in batches of 10,000 into a table of the same schema,
// interleaved round by round on one server. ratio = sink/raw rate. The
// spooled metric is batches that went through the spool (0 while the
// server keeps up).
func BenchmarkSinkVsRawBatch(b *testing.B) {
	srv := chtest.Start(b)
	ctx := context.Background()
	raw, err := ch.Open(&ch.Options{Addr: []string{srv.Addr}, Compression: &ch.Compression{Method: ch.CompressionLZ4}})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	if err := ensureSchema(ctx, raw, "rawbench"); err != nil {
		b.Fatal(err)
	}
	s, err := Open(Config{Target: Target{Addr: srv.Addr, Database: "fleet"}, Probe: "bench", SpoolDir: b.TempDir(),
		SpoolMaxBytes: 1 << 30, BatchRows: 10000, FlushEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const perRound = 20000
	recs := records(perRound, 0, time.Now().Unix())
	rows := make([]FlowRow, len(recs))
	for i := range recs {
		rows[i] = flowRow(uint64(i), "bench", "eth0", &recs[i], nil)
	}
	insertRaw := func() {
		for off := 0; off < len(rows); off += 10000 {
			bt, err := raw.PrepareBatch(ctx, flowsTable.insert("rawbench"))
			if err != nil {
				b.Fatal(err)
			}
			for i := off; i < min(off+10000, len(rows)); i++ {
				if err := bt.Append(rows[i].values()...); err != nil {
					b.Fatal(err)
				}
			}
			if err := bt.Send(); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Warm both paths (connection, schema) before timing.
	s.WriteFlows(recs[:100])
	if err := s.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	insertRaw()
	var sinkT, rawT time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		for i := 0; i < len(recs); i += 1000 {
			s.WriteFlows(recs[i:min(i+1000, len(recs))])
		}
		if err := s.Drain(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		insertRaw()
		sinkT += t1.Sub(t0)
		rawT += time.Since(t1)
	}
	n := float64(perRound * b.N)
	b.ReportMetric(n/sinkT.Seconds(), "sink_rec/s")
	b.ReportMetric(n/rawT.Seconds(), "raw_rec/s")
	b.ReportMetric(rawT.Seconds()/sinkT.Seconds(), "ratio")
	st := s.Stats()
	if st.Dropped != 0 {
		b.Fatalf("dropped %d", st.Dropped)
	}
	b.ReportMetric(float64(st.Spooled), "spooled")
}
