package timeseries

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Benchmarks (compare in one run):
//
//	go test -run '^$' -bench . -benchtime 20x ./controlplane/timeseries/
//
// BenchmarkHostTrafficMinute: one op is one minute of the agent's work for
// 10,000 local hosts' host:traffic; %core/min is the CPU time (user+system,
// Badger's goroutines included) of one op as a share of a core-minute.
// Baselines on the same records: a bare store.Put loop, and the store's
// raw batch write without this package's roll-up logic.
//
// BenchmarkQuery24h: one host's host:traffic over 24 hours among 1,000
// hosts; baseline: a raw scan of the same keys.

const benchHosts = 10000

func hostTags(n int) [][]string {
	tags := make([][]string, n)
	for i := range tags {
		tags[i] = []string{"0", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}
	}
	return tags
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCore(b *testing.B, cpu0 time.Duration) {
	cpu := cpuTime() - cpu0
	b.ReportMetric(100*float64(cpu)/float64(b.N)/float64(time.Minute), "%core/min")
}

func BenchmarkHostTrafficMinute(b *testing.B) {
	tags := hostTags(benchHosts)
	minute := func(k int) []Point {
		pts := make([]Point, len(tags))
		for i, tg := range tags {
			v := float64(k) * float64(1000+i)
			pts[i] = Point{"host:traffic", tg, int64(t0 + 60*k), []float64{v, v / 3}}
		}
		return pts
	}
	b.Run("timeseries.Write", func(b *testing.B) {
		db, _ := openDB(b, Options{})
		if err := db.Write(minute(0)); err != nil { // baselines of the counters
			b.Fatal(err)
		}
		mins := make([][]Point, b.N)
		for k := range mins {
			mins[k] = minute(k + 1)
		}
		b.ResetTimer()
		cpu0 := cpuTime()
		for k := 0; k < b.N; k++ {
			if err := db.Write(mins[k]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportCore(b, cpu0)
	})
	b.Run("baseline=store.Put-loop", func(b *testing.B) {
		dir := b.TempDir()
		st := openStore(b, dir)
		defer st.Close()
		type rec struct{ Sent, Rcvd float64 }
		b.ResetTimer()
		cpu0 := cpuTime()
		for k := 0; k < b.N; k++ {
			for i, tg := range tags {
				v := float64(k) * float64(1000+i)
				if err := st.Put("tsbench", fmt.Sprintf("%s/%s/%d", tg[0], tg[1], t0+60*k), rec{v, v / 3}); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		reportCore(b, cpu0)
	})
	b.Run("baseline=store.TSPut-batch", func(b *testing.B) {
		dir := b.TempDir()
		st := openStore(b, dir)
		defer st.Close()
		sids := make([][]byte, len(tags))
		for i, tg := range tags {
			sids[i] = storeSeries(300, seriesID("host:traffic", tg))
		}
		b.ResetTimer()
		cpu0 := cpuTime()
		for k := 0; k < b.N; k++ {
			pts := make([]store.TSPoint, len(tags))
			for i := range tags {
				v := float64(k) * float64(1000+i)
				bk := &bucket{count: 1, v: []float64{v, v / 3}}
				pts[i] = store.TSPoint{Series: sids[i], Time: int64(t0 + 60*k), Value: encodeBucket(bk), TTL: time.Hour}
			}
			if err := st.TSPut(pts); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportCore(b, cpu0)
	})
}

func BenchmarkQuery24h(b *testing.B) {
	const hosts = 1000
	db, _ := openDB(b, Options{})
	tags := hostTags(hosts)
	pts := make([]Point, hosts)
	for k := -1; k < 288; k++ { // every 5 minutes for 24 hours, after a baseline
		for i, tg := range tags {
			v := float64(k+1) * float64(1000+i)
			pts[i] = Point{"host:traffic", tg, int64(t0 + 300*k), []float64{v, v / 3}}
		}
		if err := db.Write(pts); err != nil {
			b.Fatal(err)
		}
	}
	q := Query{Schema: "host:traffic", Filter: "ifid:0,host:" + tags[hosts/2][1], Begin: t0, End: t0 + 86400 - 1}
	b.Run("timeseries.Query", func(b *testing.B) {
		for b.Loop() {
			r, err := db.Query(q)
			if err != nil || r.Statistics.Total == 0 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("baseline=raw-scan", func(b *testing.B) {
		prefix := storeSeries(300, seriesID("host:traffic", tags[hosts/2]))
		for b.Loop() {
			n := 0
			if err := db.st.TSScan(prefix, t0, t0+86400-1, func([]byte, int64, []byte) error { n++; return nil }); err != nil || n != 288 {
				b.Fatal(n, err)
			}
		}
	})
}
