package flowtable_test

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
)

// BenchmarkReplayAddressLists is BenchmarkReplayCapture with the address
// lists off (the baseline: a catalog without them) and on (the built-in
// one): what the lookups at flow creation add per packet.
func BenchmarkReplayAddressLists(b *testing.B) {
	c := decodedTest02(b)
	l7.DefaultIPTable() // built once, outside the timing
	for _, bc := range []struct {
		name string
		cat  *l7.Catalog
	}{{"lists=off", new(l7.Catalog)}, {"lists=on", nil}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				replayList(c, flowtable.Config{Offline: true, L7: bc.cat})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c.Pkts)), "ns/pkt")
		})
	}
}
