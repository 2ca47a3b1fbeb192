package flowtable_test

import (
	"context"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/packettest"
)

// replayList feeds the listed packets to a new table of cfg and returns
// it. Each packet is a copy: the table may keep pointers into a packet
// only for the call.
func replayList(l *packettest.List, cfg flowtable.Config) *flowtable.Table {
	tb := flowtable.New(cfg)
	for i := range l.Pkts {
		p := l.Pkts[i]
		tb.HandlePacket(&p, l.Kinds[i])
	}
	return tb
}

// BenchmarkReplayCapture runs ntopng's test capture (HTTPS, DNS and some
// HTTP) through a fresh table per round, decoding done beforehand: the
// packet path's cost with real payloads, flow creation included.
func BenchmarkReplayCapture(b *testing.B) {
	c := decodedTest02(b)
	b.ResetTimer()
	for range b.N {
		replayList(c, flowtable.Config{Offline: true})
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c.Pkts)), "ns/pkt")
}

// decodedTest02 is ntopng's test capture decoded into packets.
func decodedTest02(b *testing.B) *packettest.List {
	b.Helper()
	return packettest.File(b, ntopngE2E+"/pcap/test_02.pcap")
}

// BenchmarkClassification is the cost of L7 classification on ntopng's
// test capture (5000 packets, 179 flows, HTTPS/DNS/HTTP): each path runs
// with payload inspection on and off (Config.NoDPI, the baseline), so
// on/off is the ratio and (on-off) x packets / flows the cost per
// classified flow. "table" feeds packets decoded beforehand; "decode" is
// the whole userspace path: read the file, decode, account.
func BenchmarkClassification(b *testing.B) {
	c := decodedTest02(b)
	flows := 0
	replayList(c, flowtable.Config{Offline: true}).View(func(v flowtable.View) { flows = v.NumFlows() })
	report := func(b *testing.B) {
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(per/float64(len(c.Pkts)), "ns/pkt")
		b.ReportMetric(per/float64(flows), "ns/flow")
	}
	for _, mode := range []struct {
		name  string
		noDPI bool
	}{{"on", false}, {"off", true}} {
		b.Run("table/"+mode.name, func(b *testing.B) {
			for range b.N {
				replayList(c, flowtable.Config{Offline: true, NoDPI: mode.noDPI})
			}
			report(b)
		})
		b.Run("decode/"+mode.name, func(b *testing.B) {
			for range b.N {
				src, err := capture.OpenFile(fixture.Shared(b, ntopngE2E+"/pcap/test_02.pcap"))
				if err != nil {
					b.Fatal(err)
				}
				tb := flowtable.New(flowtable.Config{Offline: true, NoDPI: mode.noDPI})
				err = capture.Run(context.Background(), src, tb)
				src.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
}
