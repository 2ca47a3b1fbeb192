package store

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkWriteFlows writes 5000-record batches (one export interval of a
// busy interface) to an on-disk store.
func BenchmarkWriteFlows(b *testing.B) {
	s := openTest(b, b.TempDir())
	defer s.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 5000
	var batches [][]FlowRecord
	for i := range 16 {
		batches = append(batches, realisticFlows(rng, batch, 1, 1_700_000_100+int64(i)*BlockSeconds))
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.WriteFlows(batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkScanFlows scans 12 blocks (one hour) of 5000 records each, read
// from SST files (the store is reopened so nothing is left in the memtable).
func BenchmarkScanFlows(b *testing.B) {
	dir := b.TempDir()
	s := openTest(b, dir)
	rng := rand.New(rand.NewPCG(3, 4))
	const blocks, per = 12, 5000
	const t0 = 1_700_000_100
	for i := range blocks {
		if err := s.WriteFlows(realisticFlows(rng, per, 1, t0+int64(i)*BlockSeconds)); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s = openTest(b, dir)
	defer s.Close()
	var sum uint64
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := s.ScanFlows(1, t0, t0+blocks*BlockSeconds, func(r *FlowRecord) error {
			sum += r.BytesC2S
			n++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != blocks*per {
			b.Fatalf("scanned %d", n)
		}
	}
	b.ReportMetric(float64(b.N*blocks*per)/b.Elapsed().Seconds(), "records/s")
}
