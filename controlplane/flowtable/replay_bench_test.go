package flowtable_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// collector keeps copies of decoded packets: capture.Run reuses its own.
type collector struct {
	pkts  []decode.Packet
	kinds []decode.ErrKind
}

func (c *collector) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	q := *p
	q.Payload = bytes.Clone(p.Payload)
	c.pkts = append(c.pkts, q)
	c.kinds = append(c.kinds, kind)
}

// BenchmarkReplayCapture runs ntopng's test capture (HTTPS, DNS and some
// HTTP) through a fresh table per round, decoding done beforehand: the
// packet path's cost with real payloads, flow creation included.
func BenchmarkReplayCapture(b *testing.B) {
	c := decodedTest02(b)
	b.ResetTimer()
	for range b.N {
		tb := flowtable.New(flowtable.Config{Offline: true})
		for i := range c.pkts {
			p := c.pkts[i]
			tb.HandlePacket(&p, c.kinds[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c.pkts)), "ns/pkt")
}

// decodedTest02 is ntopng's test capture decoded into packets (skipped
// when the capture is not there).
func decodedTest02(b *testing.B) *collector {
	b.Helper()
	path := ntopngE2E + "/pcap/test_02.pcap"
	if _, err := os.Stat(path); err != nil {
		b.Skipf("capture not available: %v", err)
	}
	src, err := capture.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	c := new(collector)
	err = capture.Run(context.Background(), src, c)
	src.Close()
	if err != nil {
		b.Fatal(err)
	}
	return c
}
