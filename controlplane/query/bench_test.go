package query

import (
	"context"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// benchRecords spreads n records over 12 blocks (an hour), ~20k clients,
// ~5k servers and a handful of ports, roughly a busy edge link.
func benchRecords(n int) []store.FlowRecord {
	recs := make([]store.FlowRecord, n)
	x := uint32(2463534242)
	rnd := func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	ports := []uint16{443, 80, 53, 22, 123, 8080, 3478, 993}
	for i := range recs {
		c, s := rnd()%20000, rnd()%5000
		recs[i] = store.FlowRecord{
			IfID: 1, Proto: []uint8{6, 6, 6, 17}[i%4],
			Client:     netip.AddrFrom4([4]byte{10, byte(c >> 16), byte(c >> 8), byte(c)}),
			Server:     netip.AddrFrom4([4]byte{172, 16, byte(s >> 8), byte(s)}),
			ClientPort: uint16(1024 + rnd()%60000), ServerPort: ports[rnd()%uint32(len(ports))],
			PktsC2S: uint64(1 + rnd()%50), PktsS2C: uint64(rnd() % 50), BytesC2S: uint64(60 + rnd()%60000), BytesS2C: uint64(rnd() % 90000),
			LastSeen: base + int64(i%12)*store.BlockSeconds,
		}
		recs[i].FirstSeen = recs[i].LastSeen
	}
	return recs
}

// BenchmarkTopTalkers is a top-10 sip query over n stored records: 1 M by
// default, PROBE_BENCH_RECORDS=10000000 for the 10-million target.
// The store is compacted first (a store written hours ago); with
// PROBE_BENCH_COMPACTING=1 the query competes with Badger still compacting
// what was just written.
func BenchmarkTopTalkers(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PROBE_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// Written a million at a time so 10 M records never sit in memory.
	writeStart := time.Now()
	for done := 0; done < n; {
		chunk := benchRecords(min(1_000_000, n-done))
		for i := 0; i < len(chunk); i += 50_000 {
			if err := st.WriteFlows(chunk[i:min(i+50_000, len(chunk))]); err != nil {
				b.Fatal(err)
			}
		}
		done += len(chunk)
	}
	ingestRate := float64(n) / time.Since(writeStart).Seconds()
	// Reopened, so the query reads SST files as it would a day later, not
	// the memtables of a store written a moment ago.
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if st, err = store.Open(dir, store.Options{}); err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if os.Getenv("PROBE_BENCH_COMPACTING") == "" {
		if err := st.Compact(); err != nil {
			b.Fatal(err)
		}
	}
	args := DefaultArgs()
	args.Query, args.Ifaces, args.NumResults = "sip", "eth0", 10
	q, err := Prepare(args, map[uint16]string{1: "eth0"}, time.Unix(base+3600, 0))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("query", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			res, err := q.Run(context.Background(), st)
			if err != nil {
				b.Fatal(err)
			}
			if res.Records != n || len(res.Rows) != 10 {
				b.Fatalf("scanned %d records, %d rows", res.Records, len(res.Rows))
			}
		}
		reportPerRecord(b, n, cpu0)
		b.ReportMetric(ingestRate, "ingest-records/s")
	})
	// The floor under the query: the same records and fields read by the
	// same two goroutines (half of the hour each), summed instead of grouped.
	b.Run("scan-baseline", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			var wg sync.WaitGroup
			sums := make([]uint64, 2)
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					from := base + int64(w)*6*store.BlockSeconds
					err := st.ScanFlowColumns(1, from, from+6*store.BlockSeconds, store.FieldClient|store.FieldPkts|store.FieldBytes|store.FieldTimes,
						func(recs []store.FlowRecord) error {
							for i := range recs {
								sums[w] += recs[i].BytesC2S + recs[i].BytesS2C + recs[i].PktsC2S + recs[i].PktsS2C
							}
							return nil
						})
					if err != nil {
						b.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		reportPerRecord(b, n, cpu0)
	})
}

// reportPerRecord reports wall and CPU time per record. CPU time is
// steadier than wall time on a shared machine; with one scan worker per
// core, wall time ≈ CPU time / cores on an idle one.
func reportPerRecord(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/record")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/record")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
