package rest

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// rssBytes is the process's resident set (VmRSS).
func rssBytes(tb testing.TB) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

func heapInuse() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// peakSampler records the highest RSS and Go heap while it runs.
type peakSampler struct {
	rss, heap atomic.Int64
	stop      chan struct{}
	done      sync.WaitGroup
}

func samplePeaks(tb testing.TB) *peakSampler {
	p := &peakSampler{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rssBytes(tb); r > p.rss.Load() {
				p.rss.Store(r)
			}
			if h := heapInuse(); h > p.heap.Load() {
				p.heap.Store(h)
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) end() (rss, heap int64) {
	close(p.stop)
	p.done.Wait()
	return p.rss.Load(), p.heap.Load()
}

const benchBegin = 1_700_000_100 // a block start

// benchFlowRecords spreads n records over 12 blocks (an hour): ~20k
// clients, ~5k servers, a few ports.
func benchFlowRecords(n, offset int) []store.FlowRecord {
	recs := make([]store.FlowRecord, n)
	x := uint32(2463534242 + offset)
	rnd := func() uint32 { x ^= x << 13; x ^= x >> 17; x ^= x << 5; return x }
	for i := range recs {
		c, s := rnd()%20000, rnd()%5000
		last := int64(benchBegin + ((i+offset)%12)*store.BlockSeconds + int(rnd()%300))
		recs[i] = store.FlowRecord{Proto: 6, L7: 91,
			Client:     netip.AddrFrom4([4]byte{10, byte(c >> 16), byte(c >> 8), byte(c)}),
			Server:     netip.AddrFrom4([4]byte{172, 16, byte(s >> 8), byte(s)}),
			ClientPort: uint16(1024 + rnd()%60000), ServerPort: []uint16{443, 80, 53, 22}[rnd()%4],
			PktsC2S: uint64(1 + rnd()%50), PktsS2C: uint64(rnd() % 50), BytesC2S: uint64(60 + rnd()%60000), BytesS2C: uint64(rnd() % 90000),
			FirstSeen: last - int64(rnd()%60), LastSeen: last}
	}
	return recs
}

// BenchmarkDBFlowsConcurrentMaxHits1 is the measure: 8 concurrent
// db/flows requests with maxhits_clause=1, over HTTP on loopback, against
// n stored records (1.2 M by default, PROBE_BENCH_RECORDS to change) in a
// real Badger store. Each sub-benchmark reports the peak RSS and Go heap
// growth over the baseline taken after the ingest (same run; the RSS after
// one request is logged too): "newest" is the early stop at maxhits,
// "no-match" a where clause no record meets, so every record is read. The
// parent then runs the previous algorithm (read every match, sort, cut)
// in the same process ("before-read-all", one answer per iteration), for
// its latency and growth against one request of ours.
//
//	go test ./controlplane/rest -run '^$' -bench DBFlowsConcurrent -benchtime 3x
func BenchmarkDBFlowsConcurrentMaxHits1(b *testing.B) {
	n := 1_200_000
	if v, err := strconv.Atoi(os.Getenv("PROBE_BENCH_RECORDS")); err == nil && v > 0 {
		n = v
	}
	s := newTestServer(b, 0, true)
	st := s.cfg.Store
	for done := 0; done < n; done += 50_000 {
		if err := st.WriteFlows(benchFlowRecords(min(50_000, n-done), done)); err != nil {
			b.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	b.Cleanup(func() { s.Shutdown() })
	base := fmt.Sprintf("http://%s/lua/pro/rest/v1/get/db/flows.lua?ifid=0&begin_time_clause=%d&end_time_clause=%d&maxhits_clause=1",
		ln.Addr(), benchBegin, benchBegin+3600)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 5 * time.Minute}
	get := func(tb testing.TB, url, want string) {
		resp, err := client.Get(url)
		if err != nil {
			tb.Error(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			tb.Errorf("db/flows: %d %.300s", resp.StatusCode, body)
		}
	}
	mb := func(v int64) float64 { return float64(v) / (1 << 20) }
	var oneLatency time.Duration
	for _, c := range []struct{ name, url, want string }{
		{"newest", base, `"LAST_SEEN"`},
		{"no-match", base + "&where_clause=PROTOCOL%3D99", `"rsp":[]`},
	} {
		b.Run(c.name, func(b *testing.B) {
			runtime.GC()
			debug.FreeOSMemory()
			rssIngest, heapIngest := rssBytes(b), heapInuse()
			t1 := time.Now()
			get(b, c.url, c.want)
			one := time.Since(t1)
			if c.name == "newest" {
				oneLatency = one
			}
			rssOne := rssBytes(b)
			peaks := samplePeaks(b)
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() { defer wg.Done(); get(b, c.url, c.want) }()
				}
				wg.Wait()
			}
			b.StopTimer()
			rssPeak, heapPeak := peaks.end()
			b.ReportMetric(mb(rssPeak-rssIngest), "MB-rss-growth")
			b.ReportMetric(mb(heapPeak-heapIngest), "MB-heap-growth")
			b.ReportMetric(float64(one)/float64(time.Millisecond), "ms-one-request")
			b.Logf("%d records; RSS after ingest %.0f MB, after one request (%v) %.0f MB, peak during %d×8 concurrent requests %.0f MB (growth %.1f MB); Go heap in use after ingest %.0f MB, peak %.0f MB",
				n, mb(rssIngest), one, mb(rssOne), b.N, mb(rssPeak), mb(rssPeak-rssIngest), mb(heapIngest), mb(heapPeak))
			if rssPeak-rssIngest > 100<<20 {
				b.Errorf("RSS grew by %.0f MB, want < 100 MB", mb(rssPeak-rssIngest))
			}
		})
	}

	// The previous algorithm, run after ours so that its growth cannot
	// inflate our numbers: one maxhits_clause=1 answer per iteration.
	b.Run("before-read-all", func(b *testing.B) {
		runtime.GC()
		debug.FreeOSMemory()
		rssBefore, heapBefore := rssBytes(b), heapInuse()
		peaks := samplePeaks(b)
		t2 := time.Now()
		for range b.N {
			readEverything(b, st, benchBegin, benchBegin+3600)
		}
		per := time.Since(t2) / time.Duration(b.N)
		rssPeak, heapPeak := peaks.end()
		b.ReportMetric(mb(rssPeak-rssBefore), "MB-rss-growth")
		b.ReportMetric(mb(heapPeak-heapBefore), "MB-heap-growth")
		b.ReportMetric(float64(per)/float64(time.Millisecond), "ms-one-request")
		b.Logf("previous algorithm: %v per answer, %.0f× one request of ours (%v)", per, float64(per)/float64(max(oneLatency, 1)), oneLatency)
	})
}

// readEverything is db/flows as it was before streaming: every record in
// range kept, stably sorted newest first, cut to one.
func readEverything(tb testing.TB, st *store.Store, begin, end int64) store.FlowRecord {
	var hits []store.FlowRecord
	err := st.ScanFlows(0, begin, end+1, func(r *store.FlowRecord) error {
		if r.LastSeen >= begin && r.LastSeen <= end {
			hits = append(hits, *r)
		}
		return nil
	})
	if err != nil || len(hits) == 0 {
		tb.Fatalf("%d hits, %v", len(hits), err)
	}
	slices.SortStableFunc(hits, func(a, b store.FlowRecord) int { return cmp.Compare(b.LastSeen, a.LastSeen) })
	return hits[0]
}
