package flowtable_test

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// benchWriter is the probe's flow writer in small: one goroutine that
// writes, merges and syncs in order, behind a bounded queue.
type benchWriter struct {
	st   *store.Store
	ch   chan func() error
	done chan error
}

func newBenchWriter(st *store.Store) *benchWriter {
	w := &benchWriter{st: st, ch: make(chan func() error, 64), done: make(chan error, 1)}
	go func() {
		var first error
		for job := range w.ch {
			if err := job(); err != nil && first == nil {
				first = err
			}
		}
		w.done <- first
	}()
	return w
}

func (w *benchWriter) records(recs []store.FlowRecord) {
	w.ch <- func() error { return w.st.WriteFlows(recs) }
}

func (w *benchWriter) closed(id uint16, block int64) {
	w.ch <- func() error { _, _, err := w.st.CompactBlock(id, block); return err }
}

func (w *benchWriter) sync() { w.ch <- w.st.SyncFlows }

// finish waits until everything queued is done.
func (w *benchWriter) finish() error {
	close(w.ch)
	return <-w.done
}

// cpuTime is the process's CPU time so far (user and system, all threads:
// ingest, writer and Badger's own goroutines). Time spent waiting for the
// disk (fsync) is not in it: the probe's writer waits off the capture path,
// and the benchmark runs packet time 100 times faster than a wall clock,
// so its wall time would charge every fsync a hundredfold.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIngestFlushInterval is the cost of --flush-interval on live
// ingest: two minutes of packet time of a busy link (20,000 packets/s over
// 10,000 flows, all active in every interval, a block boundary in the
// middle; and the same over 1,000 flows, more packets per record) through a live table and a writer goroutine into a store on
// disk, timed until the writer is done. The table's deltas are written
// (1) only at the block close, as before, or (2) also every 5 s (or 1 s),
// each flush synced (also without the sync, to tell the fsync's share),
// with the closed block's partial records merged. Packets carry no
// payload, so the per-packet baseline is the cheapest there is and the
// ratio an upper bound. cpu-ns/pkt is the CPU spent (see cpuTime); the log
// line (-v) gives its ratios.
func BenchmarkIngestFlushInterval(b *testing.B) {
	for _, flows := range []int{10_000, 1_000} {
		b.Run(fmt.Sprintf("%dflows", flows), func(b *testing.B) { benchIngestFlush(b, flows) })
	}
}

func benchIngestFlush(b *testing.B, flows int) {
	const (
		rate    = 20_000 // packets per second of packet time
		seconds = 120
		start   = int64(1_800_000_000 - 60) // one minute before a block boundary
	)
	tmpl := make([]decode.Packet, flows)
	for i := range tmpl {
		tmpl[i] = decode.Packet{WireLen: uint32(64 + i%1400), IPVersion: 4,
			Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Dst: netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 250)}),
			Proto: 17, SrcPort: uint16(20000 + i), DstPort: 4433}
	}
	type variant struct {
		name  string
		every time.Duration // 0: block close only
		sync  bool
	}
	variants := []variant{
		{"block-close-only", 0, false},
		{"flush-5s", 5 * time.Second, true},
		{"flush-5s-nosync", 5 * time.Second, false},
		{"flush-1s", time.Second, true},
	}
	cpuPerOp := map[string]float64{}
	run := func(b *testing.B, v variant) {
		var cpu time.Duration
		for range b.N {
			b.StopTimer()
			st, err := store.Open(b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			w := newBenchWriter(st)
			cfg := flowtable.Config{FlowIdle: time.Hour, OnRecords: w.records}
			if v.every > 0 {
				cfg.OnBlockClosed = w.closed
			}
			tb := flowtable.New(cfg)
			b.StartTimer()
			cpu0 := cpuTime(b)
			var p decode.Packet
			nextFlush := start*1e9 + int64(v.every)
			for i := range int64(seconds * rate) {
				ts := start*1e9 + i*1e9/rate
				if v.every > 0 && ts >= nextFlush {
					tb.FlushDeltas()
					if v.sync {
						w.sync()
					}
					nextFlush += int64(v.every)
				}
				p = tmpl[i%int64(flows)]
				p.Timestamp = ts
				tb.HandlePacket(&p, decode.ErrNone)
			}
			err = w.finish()
			b.StopTimer()
			cpu += cpuTime(b) - cpu0
			if err != nil {
				b.Fatal(err)
			}
			if err := st.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(seconds*rate), "ns/pkt")
		cpuNs := float64(cpu.Nanoseconds()) / float64(b.N)
		cpuPerOp[v.name] = cpuNs
		b.ReportMetric(cpuNs/(seconds*rate), "cpu-ns/pkt")
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) { run(b, v) })
	}
	if base := cpuPerOp["block-close-only"]; base > 0 {
		for _, v := range variants[1:] {
			b.Logf("%s: x%.3f the CPU time of block-close-only (same run)", v.name, cpuPerOp[v.name]/base)
		}
	}
}

// BenchmarkQuietTable is what a live table of 100,000 flows, of which
// 1,000 took packets since the last time, costs at an interval flush
// (FlushDeltas, to the store) and at a block close (Flush: to the store
// and to export): what moved, not the table's size.
func BenchmarkQuietTable(b *testing.B) {
	for _, c := range []struct {
		name  string
		flush func(*flowtable.Table)
	}{{"interval-flush", (*flowtable.Table).FlushDeltas}, {"block-close", (*flowtable.Table).Flush}} {
		b.Run(c.name, func(b *testing.B) {
			const flows, active = 100_000, 1_000
			records := 0
			tb := flowtable.New(flowtable.Config{FlowIdle: time.Hour, MaxFlows: 1 << 20, MaxHosts: 1 << 20,
				OnRecords: func(rs []store.FlowRecord) { records += len(rs) },
				OnExport:  func([]store.FlowRecord) {}})
			ts := int64(1_800_000_000) * 1e9
			pkt := func(i int) {
				ts += 1000
				p := decode.Packet{Timestamp: ts, WireLen: 100, IPVersion: 4, Proto: 17,
					Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Dst: netip.AddrFrom4([4]byte{198, 51, byte(i >> 16), byte(i % 250)}),
					SrcPort: uint16(20000 + i%30000), DstPort: 4433}
				tb.HandlePacket(&p, decode.ErrNone)
			}
			for i := range flows {
				pkt(i)
			}
			c.flush(tb)
			records = 0
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				for j := range active {
					pkt((n*active + j) % flows)
				}
				b.StartTimer()
				c.flush(tb)
			}
			b.StopTimer()
			if records != b.N*active {
				b.Fatalf("%d records for %d flushes of %d active flows", records, b.N, active)
			}
		})
	}
}
