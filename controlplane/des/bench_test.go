package des

import "testing"

// sink keeps the compiler from dropping the loops' results.
var sink float64

// BenchmarkAdd is one DES update (ntopng does five per local host per
// minute).
func BenchmarkAdd(b *testing.B) {
	d := New(0.9, 0.5, 0.05)
	var s float64
	for i := 0; b.Loop(); i++ {
		f, band, _ := d.Add(uint64(1000 + i&63))
		s += f + band
	}
	sink = s
}

// BenchmarkBaselineFloatAdd is the baseline: one float conversion and add
// per value, the least any per-value statistic costs.
func BenchmarkBaselineFloatAdd(b *testing.B) {
	var s float64
	for i := 0; b.Loop(); i++ {
		s += float64(uint64(1000 + i&63))
	}
	sink = s
}
