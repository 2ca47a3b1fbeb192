package activemon

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// The scheduler's overhead per measurement (goroutine, slot, context,
// bookkeeping, OnSample) against calling the same no-op measurer in a
// loop: the ratio of the two is the price of scheduling.

func noop(context.Context, Host) Result { return Result{Value: 1} }

func benchHosts(n int) map[string]Host {
	m := map[string]Host{}
	for i := 0; i < n; i++ {
		h := Host{Host: "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1), Measurement: ICMP, Threshold: 100, Granularity: "min"}
		m[h.Key()] = h
	}
	return m
}

const benchRound = 1000 // hosts measured per benchmark iteration

func BenchmarkDirectNoop(b *testing.B) {
	hosts := benchHosts(benchRound)
	var sink Sample
	b.ReportAllocs()
	for b.Loop() {
		for _, h := range hosts {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			r := noop(ctx, h)
			cancel()
			sink = Sample{Key: h.Key(), Value: r.Value, Alerted: Crossed(h, r)}
		}
	}
	_ = sink
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRound), "ns/measurement")
}

func BenchmarkSchedulerNoop(b *testing.B) {
	now := time.Unix(1_700_000_000, 0)
	s := NewScheduler(Options{Measure: noop, Now: func() time.Time { return now }, Concurrency: 16,
		OnSample: func(Host, Sample) {}})
	s.SetHosts(benchHosts(benchRound))
	b.ReportAllocs()
	for b.Loop() {
		// One round: every host due a minute on, started as slots free up.
		now = now.Add(time.Minute)
		for started := 0; started < benchRound; {
			n := s.RunDue(now)
			if n == 0 {
				runtime.Gosched()
			}
			started += n
		}
		s.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRound), "ns/measurement")
}
