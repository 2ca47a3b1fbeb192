package flowtable_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/fixture"
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
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.1")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	synth := &collector{}
	for i, p := range []decode.Packet{
		{WireLen: 100, IPVersion: 4, Src: a, Dst: b, Proto: decode.ProtoTCP, SrcPort: 1000, DstPort: 80},
		{WireLen: 200, IPVersion: 4, Src: b, Dst: a, Proto: decode.ProtoTCP, SrcPort: 80, DstPort: 1000},
		{WireLen: 70, IPVersion: 4, Src: a, Dst: b, Proto: decode.ProtoUDP, SrcPort: 1000, DstPort: 53},
		{WireLen: 64, IPVersion: 4, Src: a, Dst: b, Proto: decode.ProtoICMP},
		{WireLen: 90, IPVersion: 6, Src: a6, Dst: b6, Proto: decode.ProtoICMPv6},
		{WireLen: 300, IPVersion: 4, Src: b, Dst: a, Proto: 47},
	} {
		p.Timestamp = int64(1+i) * 1e9
		synth.HandlePacket(&p, decode.ErrNone)
	}
	cases := []struct {
		name string
		pkts func(t *testing.T) *collector
		want [4]uint64 // at the end; zero: not checked
	}{
		{"synthetic", func(*testing.T) *collector { return synth }, [4]uint64{300, 70, 154, 300}},
		{"test_01", func(t *testing.T) *collector { return decodedFile(t, ntopngE2E+"/pcap/test_01.pcap") }, [4]uint64{}},
		{"test_02", func(t *testing.T) *collector { return decodedFile(t, ntopngE2E+"/pcap/test_02.pcap") }, [4]uint64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkts := c.pkts(t)
			tb := flowtable.New(flowtable.Config{Offline: true})
			var stats [4]uint64
			for i := range pkts.pkts {
				p := pkts.pkts[i]
				tb.HandlePacket(&p, pkts.kinds[i])
				if i%500 != 499 && i != len(pkts.pkts)-1 {
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

// decodedFile is a shared capture decoded into packets.
func decodedFile(t *testing.T, rel string) *collector {
	t.Helper()
	src, err := capture.OpenFile(fixture.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	c := new(collector)
	if err := capture.Run(context.Background(), src, c); err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return c
}
