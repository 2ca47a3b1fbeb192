package main

import (
	"path/filepath"
	"testing"
)

// BenchmarkProbePath is the userspace path of a packet (read, decode,
// flow table) on long flows.
func BenchmarkProbePath(b *testing.B) {
	p := filepath.Join(b.TempDir(), "x.pcap")
	if err := writeBenchCapture(p, 200000, 1000); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := probePath(p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200000, "ns/pkt")
}
