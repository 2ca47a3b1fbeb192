package store

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkPutSynced is what synced configuration writes cost: one Put of a
// small record, synced (the appliance) and unsynced (the baseline), in the
// same run so the ratio of their ns/op is the cost.
func BenchmarkPutSynced(b *testing.B) {
	type rec struct {
		Name, Role string
		Hash       []byte
	}
	for _, bc := range []struct {
		name     string
		unsynced bool
	}{{"unsynced", true}, {"synced", false}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{unsynced: bc.unsynced})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			v := rec{Name: "operator", Role: "administrator", Hash: make([]byte, 60)}
			for i := 0; b.Loop(); i++ {
				if err := s.Put("users", strconv.Itoa(i%512), v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteFlowsSynced is BenchmarkWriteFlows synced and unsynced.
func BenchmarkWriteFlowsSynced(b *testing.B) {
	for _, bc := range []struct {
		name     string
		unsynced bool
	}{{"unsynced", true}, {"synced", false}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{unsynced: bc.unsynced})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			const batch = 5000
			var batches [][]FlowRecord
			for i := range 8 {
				batches = append(batches, realisticFlows(rng, batch, 1, 1_700_000_100+int64(i)*BlockSeconds))
			}
			for i := 0; b.Loop(); i++ {
				if err := s.WriteFlows(batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
