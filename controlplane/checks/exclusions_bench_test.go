package checks

import (
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// BenchmarkPassExclusions is BenchmarkPassAllAlerted's worst case (every
// one of 100 000 flows raises a hit each pass) without exclusions (the
// baseline) and with 1000 host exclusions and 100 domains that match none
// of the flows, so every hit is looked up and kept (1000hosts: the hits'
// key is excluded for other hosts; _otherkey: only another key is, the
// lookups are skipped): the exclusions' cost per flow is the ratio to
// none, measured in the same run.
func BenchmarkPassExclusions(b *testing.B) {
	const n = 100000
	tb := benchTable(b, n, false)
	for _, bc := range []struct {
		name  string
		hosts int
		key   int
	}{{"none", 0, 0}, {"1000hosts", 1000, alert.FlowUnidirectional}, {"1000hosts_otherkey", 1000, alert.FlowBlacklisted}} {
		b.Run(bc.name, func(b *testing.B) {
			st := memStore(b)
			e, err := New(Options{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			var xs []Exclusion
			for i := 0; i < bc.hosts; i++ {
				a := netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
				xs = append(xs, Exclusion{Type: ExclHost, Subdir: SubdirFlow, Addr: a.String(), Key: bc.key})
				if i < 100 {
					xs = append(xs, Exclusion{Type: ExclDomain, Domain: "d" + a.String() + ".example"})
				}
			}
			if err := e.ReplaceExclusions(xs); err != nil {
				b.Fatal(err)
			}
			ifc := Iface{Table: tb}
			now := t0 + int64(200*time.Second)
			e.Run(ifc, now, false)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now += int64(time.Second)
				e.Run(ifc, now, false)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/flow")
		})
	}
}
