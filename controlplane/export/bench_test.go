package export

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// drainUDP is a loopback socket that reads and discards.
func drainUDP(b *testing.B) *net.UDPConn {
	b.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	conn.SetReadBuffer(8 << 20)
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() { conn.Close() })
	return conn
}

// BenchmarkExport measures, per data record (one direction of a flow):
//   - encode: splitting FlowRecords and encoding messages, no I/O;
//   - udp: Export to a draining loopback socket, end to end (queue,
//     encoding, one write per 1400-byte message);
//   - raw-udp-baseline: writing the same messages, encoded beforehand, to
//     the same kind of socket: the floor set by the write syscalls.
//
// udp's records/s over raw-udp-baseline's is what encoding and queueing
// cost on top of the writes.
func BenchmarkExport(b *testing.B) {
	now := time.Now()
	recs := randFlows(rand.New(rand.NewPCG(1, 1)), 1000, now)
	for i := range recs {
		recs[i].IfID = uint16(i % 2) // two interfaces, as a small appliance
	}
	perBatch := len(appendDirs(nil, recs))

	for _, proto := range []string{ProtocolIPFIX, ProtocolNetFlow9} {
		b.Run("encode/"+proto, func(b *testing.B) {
			c := Collector{Address: "127.0.0.1:1", Protocol: proto}.withDefaults()
			enc := newEncoder(c, 0)
			var dirs []dirRec
			bytes := 0
			send := func(m *message) error { bytes += len(m.b); return nil }
			// A burst (every message with templates) first, counted
			// apart; then batches 2 s apart: the steady cadence.
			if _, err := enc.encode(appendDirs(nil, recs), now, send); err != nil {
				b.Fatal(err)
			}
			burst := bytes
			bytes = 0
			at := now
			b.ReportAllocs()
			for b.Loop() {
				at = at.Add(2 * time.Second)
				dirs = appendDirs(dirs[:0], recs)
				if _, err := enc.encode(dirs, at, send); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N * perBatch)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
			b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(bytes)/n, "B/record")
			b.ReportMetric(float64(burst)/float64(perBatch), "burst-B/record")
		})
	}

	b.Run("udp/ipfix", func(b *testing.B) {
		dst := drainUDP(b)
		e, err := New(Options{Collectors: []Collector{{Address: dst.LocalAddr().String()}}, QueueFlows: 64 * len(recs)})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			// Keep the queue from overflowing: the benchmark measures
			// sending, not dropping.
			for e.Stats()[0].FlowsQueued > 32*len(recs) {
				time.Sleep(50 * time.Microsecond)
			}
			e.Export(recs)
		}
		if err := e.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		st := e.Stats()[0]
		if st.FlowsDropped != 0 || st.RecordsSent != uint64(b.N*perBatch) {
			b.Fatalf("stats %+v after %d batches", st, b.N)
		}
		n := float64(st.RecordsSent)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
		b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(st.MessagesSent)/b.Elapsed().Seconds(), "msgs/s")
	})

	b.Run("raw-udp-baseline", func(b *testing.B) {
		dst := drainUDP(b)
		c := Collector{Address: dst.LocalAddr().String()}.withDefaults()
		// The messages of a steady batch, after the session's burst.
		var msgs [][]byte
		enc := newEncoder(c, 0)
		if _, err := enc.encode(appendDirs(nil, recs), now, func(*message) error { return nil }); err != nil {
			b.Fatal(err)
		}
		if _, err := enc.encode(appendDirs(nil, recs), now.Add(2*time.Second), func(m *message) error {
			msgs = append(msgs, append([]byte(nil), m.b...))
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		conn, err := net.Dial("udp", c.Address)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		for b.Loop() {
			for _, m := range msgs {
				if _, err := conn.Write(m); err != nil {
					b.Fatal(err)
				}
			}
		}
		n := float64(b.N * perBatch)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
		b.ReportMetric(n/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
	})
}
