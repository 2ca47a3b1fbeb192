package agent

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/controlplane/timeseries"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// Benchmarks (compare in one run):
//
//	go test -run '^$' -bench TSMinute -benchtime 20x ./agent/
//
// One op is one minute of the recorder's work for an interface with
// 10,000 local hosts (each with a flow to a remote server): sampling the
// table (copy under its lock) and writing the points. %core/min is the
// op's CPU time (user+system, Badger's goroutines included) as a share of
// a core-minute.
//   - recorder/host:traffic: host:traffic only (the measure);
//   - recorder/all-minute-schemas: what the agent writes each minute
//     (host:traffic, total_flows, active_flows, contacts, score, ndpi of
//     every host, and the interface's minute schemas);
//   - baseline=store.Put-loop: the same 10,000 host:traffic records put
//     one by one in the same store, with no sampling.

const benchTSHosts = 10000

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchTable() *flowtable.Table {
	tb := flowtable.New(flowtable.Config{IfID: 0, Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	srv := netip.MustParseAddr("192.0.2.1")
	for i := range benchTSHosts {
		h := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tb.HandlePacket(&decode.Packet{Timestamp: ts + int64(i), WireLen: 100, IPVersion: 4, Src: h, Dst: srv, Proto: 17, SrcPort: 5000, DstPort: 53}, decode.ErrNone)
		tb.HandlePacket(&decode.Packet{Timestamp: ts + int64(i) + 1, WireLen: 200, IPVersion: 4, Src: srv, Dst: h, Proto: 17, SrcPort: 53, DstPort: 5000}, decode.ErrNone)
	}
	return tb
}

func BenchmarkTSMinute10kHosts(b *testing.B) {
	tb := benchTable()
	const t0 = 1767225600 // 2026-01-01 00:00 UTC
	open := func(b *testing.B) (*store.Store, *tsRecorder) {
		st, err := store.Open(b.TempDir(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		db, err := timeseries.Open(st, timeseries.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return st, newTSRecorder(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	run := func(b *testing.B, op func(k int)) {
		op(0) // first minute: every series' start
		b.ResetTimer()
		cpu0 := cpuTime()
		for k := 1; k <= b.N; k++ {
			op(k)
		}
		b.StopTimer()
		b.ReportMetric(100*float64(cpuTime()-cpu0)/float64(b.N)/float64(time.Minute), "%core/min")
	}
	b.Run("recorder/host:traffic", func(b *testing.B) {
		_, rec := open(b)
		st := newTSIfaceState("0", t0)
		run(b, func(k int) {
			s := rec.read(tb, true)
			pb := pointsBuilder{known: st.minKnown, seen: map[string]bool{}, prev: st.prevMin, t: int64(t0 + 60*k)}
			for i := range s.hostList {
				h := &s.hostList[i]
				pb.counter("host:traffic", []string{st.ifid, h.key}, float64(h.sent), float64(h.rcvd))
			}
			st.minKnown, st.prevMin = pb.seen, pb.t
			if len(s.hostList) != benchTSHosts {
				b.Fatalf("%d hosts sampled", len(s.hostList))
			}
			if err := rec.db.Write(pb.pts); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("recorder/all-minute-schemas", func(b *testing.B) {
		_, rec := open(b)
		st := rec.state(tb, t0)
		run(b, func(k int) { rec.sample(tb, st, int64(t0+60*k), true) })
	})
	b.Run("baseline=store.Put-loop", func(b *testing.B) {
		st, _ := open(b)
		type rec struct{ Sent, Rcvd float64 }
		run(b, func(k int) {
			for i := range benchTSHosts {
				v := float64(k) * float64(1000+i)
				if err := st.Put("tsbench", fmt.Sprintf("0/10.%d.%d.%d/%d", i>>16&255, i>>8&255, i&255, t0+60*k), rec{v, v / 3}); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
