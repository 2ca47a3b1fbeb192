package flowtable_test

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/internal/packettest"
)

// hostsL4Sent is the sum over the table's hosts of their bytes sent per
// L4 protocol: what the time-series recorder summed before the interface
// counted IfaceStats.L4Bytes itself.
func hostsL4Sent(tb *flowtable.Table) (sum, stats [4]uint64) {
	tb.View(func(v flowtable.View) {
		v.AscendHosts(func(h *flowtable.Host) bool {
			for i, c := range [4]flowtable.DirCounters{h.TCP, h.UDP, h.ICMP(), h.OtherIP()} {
				sum[i] += c.BytesSent
			}
			return true
		})
		stats = v.Stats().L4Bytes
	})
	return sum, stats
}

// TestL4BytesAreTheHostsSent: while no host leaves, the interface's L4
// counters equal the sum of its hosts' bytes sent per protocol, at every
// point of a capture (read every 500 packets) and for every protocol
// group (ICMPv6 with ICMP, GRE as other IP).
func TestL4BytesAreTheHostsSent(t *testing.T) {
	cases := []struct {
		name string
		pkts func(t *testing.T) *packettest.List
		want [4]uint64 // at the end; zero: not checked
	}{
		{"synthetic", func(*testing.T) *packettest.List { return packettest.L4Groups() }, [4]uint64{300, 70, 154, 300}},
		{"test_01", func(t *testing.T) *packettest.List { return packettest.File(t, ntopngE2E+"/pcap/test_01.pcap") }, [4]uint64{}},
		{"test_02", func(t *testing.T) *packettest.List { return packettest.File(t, ntopngE2E+"/pcap/test_02.pcap") }, [4]uint64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkts := c.pkts(t)
			tb := flowtable.New(flowtable.Config{Offline: true})
			var stats [4]uint64
			for i := range pkts.Pkts {
				p := pkts.Pkts[i]
				tb.HandlePacket(&p, pkts.Kinds[i])
				if i%500 != 499 && i != len(pkts.Pkts)-1 {
					continue
				}
				var sum [4]uint64
				if sum, stats = hostsL4Sent(tb); sum != stats {
					t.Fatalf("after %d packets: L4Bytes %v, hosts sent %v", i+1, stats, sum)
				}
			}
			if stats == ([4]uint64{}) || c.want != ([4]uint64{}) && stats != c.want {
				t.Errorf("L4Bytes at the end %v, want %v (non-zero)", stats, c.want)
			}
		})
	}
}
