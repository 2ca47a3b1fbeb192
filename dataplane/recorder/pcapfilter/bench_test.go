package pcapfilter

import "testing"

// BenchmarkMatch: one filter run per frame, against the baseline of the
// empty (always-true) filter.
func BenchmarkMatch(b *testing.B) {
	frames := variedFrames(b)
	for _, expr := range []string{"", "tcp port 80 and (host 10.0.0.1 or net 10.0.1.0/30)", "vlan 10 and udp port 53"} {
		f, err := Compile(expr)
		if err != nil {
			b.Fatal(err)
		}
		name := expr
		if name == "" {
			name = "baseline-always-true"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				f.Match(frames[i%len(frames)])
			}
		})
	}
}
