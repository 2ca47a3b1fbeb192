package timeseries

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

func openStore(t testing.TB, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	return st
}

func openDB(t testing.TB, opts Options) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	st := openStore(t, dir)
	t.Cleanup(func() { st.Close() })
	db, err := Open(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db, dir
}

func mustWrite(t testing.TB, db *DB, pts ...Point) {
	t.Helper()
	if err := db.Write(pts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustQuery(t testing.TB, db *DB, q Query) *Result {
	t.Helper()
	r, err := db.Query(q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func wantData(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Fatalf("%s: point %d = %v, want %v\n got  %v\n want %v", what, i, got[i], want[i], got, want)
		}
	}
}

// The generated table matches the TSV it came from, and the schemas the
// probe records carry ntopng's step, tags and metrics.
func TestSchemas(t *testing.T) {
	if f, err := os.Open("../../../shared/spec/ntopng-ts-schemas.tsv"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		n := 0
		for sc.Scan() {
			c := strings.Split(sc.Text(), "\t")
			s, err := Lookup(c[0])
			if err != nil {
				t.Fatalf("TSV schema %s: %v", c[0], err)
			}
			if strconv.FormatInt(s.Step, 10) != c[1] || strings.Join(s.Tags, ",") != c[2] || strings.Join(s.Metrics, ",") != c[3] {
				t.Errorf("%s: %+v, TSV %q", c[0], s, c)
			}
			n++
		}
		if n != len(Schemas()) {
			t.Errorf("TSV has %d schemas, table %d", n, len(Schemas()))
		}
	} else {
		t.Logf("TSV not found (%v): checking the listed schemas only", err)
	}
	for _, c := range []struct {
		name, tags, metrics string
		step                int64
		kind                Kind
	}{
		{"iface:traffic", "ifid", "bytes", 1, Counter},
		{"iface:traffic_rxtx", "ifid", "bytes_sent,bytes_rcvd", 1, Counter},
		{"iface:packets", "ifid", "packets", 1, Counter},
		{"iface:hosts", "ifid", "num_hosts", 60, Gauge},
		{"iface:flows", "ifid", "num_flows", 60, Gauge},
		{"iface:new_flows", "ifid", "new_flows", 60, Counter},
		{"host:traffic", "ifid,host", "bytes_sent,bytes_rcvd", 300, Counter},
		{"host:ndpi", "ifid,host,protocol", "bytes_sent,bytes_rcvd", 300, Counter},
		{"host:score", "ifid,host", "score_as_cli,score_as_srv", 300, Gauge},
	} {
		s, err := Lookup(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Step != c.step || strings.Join(s.Tags, ",") != c.tags || strings.Join(s.Metrics, ",") != c.metrics || s.Kind != c.kind {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
	if _, err := Lookup("host:nope"); !errors.Is(err, ErrUnknownSchema) {
		t.Errorf("unknown schema: %v", err)
	}
}

const t0 = 1_699_999_200 // a multiple of 3600

// host:traffic: counters in, per second rates out at the 5-minute step.
func TestCounterRoundTrip(t *testing.T) {
	db, _ := openDB(t, Options{})
	// Cumulative counters every minute for one hour; the increase in minute
	// k (ending at t0+60k) is sent=1000k, rcvd=10k.
	sent, rcvd := 5000.0, 7.0
	mustWrite(t, db, Point{"host:traffic", []string{"0", "10.0.0.1"}, t0 - 1, []float64{sent, rcvd}}) // baseline
	var wantS, wantR [12]float64
	for k := 0; k < 60; k++ {
		sent += float64(1000 * k)
		rcvd += float64(10 * k)
		ts := int64(t0 + 60*k)
		mustWrite(t, db, Point{"host:traffic", []string{"0", "10.0.0.1"}, ts, []float64{sent, rcvd}})
		wantS[(ts-t0)/300] += float64(1000*k) / 300
		wantR[(ts-t0)/300] += float64(10*k) / 300
	}
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0,host:10.0.0.1", Begin: t0, End: t0 + 3599, Limit: 100})
	if r.Start != t0 || r.Step != 300 || r.Count != 12 || r.Resolution != 300 {
		t.Fatalf("start %d step %d count %d res %d", r.Start, r.Step, r.Count, r.Resolution)
	}
	if r.Series[0].Label != "bytes_sent" || r.Series[1].Label != "bytes_rcvd" || r.Series[0].Tags["host"] != "10.0.0.1" {
		t.Fatalf("series %+v", r.Series)
	}
	wantData(t, "bytes_sent", r.Series[0].Data, wantS[:])
	wantData(t, "bytes_rcvd", r.Series[1].Data, wantR[:])
	// Statistics over sent+rcvd: total is the bytes of the hour.
	var tot []float64
	totalBytes := 0.0
	for k := 0; k < 60; k++ {
		totalBytes += float64(1010 * k)
	}
	for i := range wantS {
		tot = append(tot, wantS[i]+wantR[i])
	}
	st := r.Statistics
	sorted := slices.Sorted(slices.Values(tot))
	if !near(st.Total, totalBytes) || !near(st.Average, totalBytes/3600) || !near(st.MinVal, sorted[0]) ||
		!near(st.MaxVal, sorted[11]) || st.MaxValIdx != 11 || st.MinValIdx != 0 || !near(st.P95, sorted[11]) {
		t.Fatalf("statistics %+v, total %v sorted %v", st, totalBytes, sorted)
	}
	// The initial point is the 5 minutes before Begin: only the baseline
	// was written there, so it is 0, and statistics do not count it.
	r2 := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0,host:10.0.0.1", Begin: t0, End: t0 + 3599, Limit: 100, InitialPoint: true})
	if r2.Start != t0-300 || r2.Count != 13 || r2.Series[0].Data[0] != 0 || !near(r2.Series[0].Data[1], wantS[0]) || r2.Statistics != st {
		t.Fatalf("initial point: start %d count %d data %v stats %+v", r2.Start, r2.Count, r2.Series[0].Data, r2.Statistics)
	}
}

// iface:traffic every second for two hours: each roll-up equals the sum of
// the per second increases it covers, computed here.
func TestRollups(t *testing.T) {
	db, _ := openDB(t, Options{})
	const secs = 7200
	inc := func(i int) float64 { return float64((i*7919)%1000 + 1) } // increase in second i
	counter := 1e6
	mustWrite(t, db, Point{"iface:traffic", []string{"0"}, t0 - 1, []float64{counter}})
	batch := make([]Point, 0, 60)
	for i := 0; i < secs; i++ {
		counter += inc(i)
		batch = append(batch, Point{"iface:traffic", []string{"0"}, int64(t0 + i), []float64{counter}})
		if len(batch) == 60 {
			mustWrite(t, db, batch...)
			batch = batch[:0]
		}
	}
	for _, c := range []struct {
		limit    int
		res, stp int64
	}{
		{7200, 1, 1},
		{1000, 1, 8},   // no stored resolution ≤ 8 but 1: 1 s points summed by 8
		{120, 60, 60},  // 1-minute roll-up
		{24, 300, 300}, // 5-minute roll-up
		{10, 300, 900}, // 5-minute roll-up summed by 3
		{2, 3600, 3600},
	} {
		r := mustQuery(t, db, Query{Schema: "iface:traffic", Filter: "ifid:0", Begin: t0, End: t0 + secs - 1, Limit: c.limit})
		if r.Resolution != c.res || r.Step != c.stp {
			t.Fatalf("limit %d: resolution %d step %d, want %d %d", c.limit, r.Resolution, r.Step, c.res, c.stp)
		}
		want := make([]float64, (secs+c.stp-1)/c.stp)
		for i := 0; i < secs; i++ {
			want[int64(i)/c.stp] += inc(i) / float64(c.stp)
		}
		wantData(t, "limit "+strconv.Itoa(c.limit), r.Series[0].Data, want)
	}
}

// Gauges roll up as averages; a filter that leaves a tag out sums the
// series' averages.
func TestGaugesAndPartialFilter(t *testing.T) {
	db, _ := openDB(t, Options{})
	var want0, want1 [2]float64
	for k := 0; k < 120; k++ { // two hours of minutes
		ts := int64(t0 + 60*k)
		a, b := float64(k%7), float64(100+k%3)
		mustWrite(t, db, Point{"iface:hosts", []string{"0"}, ts, []float64{a}}, Point{"iface:hosts", []string{"1"}, ts, []float64{b}})
		want0[k/60] += a / 60
		want1[k/60] += (a + b) / 60
	}
	r := mustQuery(t, db, Query{Schema: "iface:hosts", Filter: "ifid:0", Begin: t0, End: t0 + 7199, Limit: 2})
	wantData(t, "ifid 0 hourly", r.Series[0].Data, want0[:])
	r = mustQuery(t, db, Query{Schema: "iface:hosts", Begin: t0, End: t0 + 7199, Limit: 2})
	wantData(t, "all ifids hourly", r.Series[0].Data, want1[:])
	if !near(r.Statistics.Total, want1[0]+want1[1]) || !near(r.Statistics.Average, (want1[0]+want1[1])/2) {
		t.Fatalf("gauge statistics %+v", r.Statistics)
	}
}

func TestTagFilters(t *testing.T) {
	db, _ := openDB(t, Options{})
	hosts := []string{"10.0.0.1", "10.0.0.10", "fe80::1", "192.168.1.1@12"}
	for i, h := range hosts {
		for _, ifid := range []string{"0", "1"} {
			mustWrite(t, db, Point{"host:traffic", []string{ifid, h}, t0 - 300, []float64{0, 0}})
			mustWrite(t, db, Point{"host:traffic", []string{ifid, h}, t0, []float64{300 * float64(i+1), 0}})
		}
	}
	for _, c := range []struct {
		filter string
		want   float64 // bytes_sent rate
	}{
		{"ifid:0,host:10.0.0.1", 1},
		{"host:10.0.0.10,ifid:1", 2}, // order does not matter, and 10.0.0.1 is not a prefix match
		{"ifid:0,host:fe80::1", 3},
		{"ifid:0,host:192.168.1.1@12", 4},
		{"ifid:0", 1 + 2 + 3 + 4},
		{"host:10.0.0.1", 2},
		{"", 2 * (1 + 2 + 3 + 4)},
		{"ifid:2,host:10.0.0.1", 0},
		{"ifid:0,host:10.0.0.", 0},
	} {
		r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: c.filter, Begin: t0, End: t0 + 299})
		if r.Count != 1 || !near(r.Series[0].Data[0], c.want) {
			t.Errorf("%q: count %d data %v, want %v", c.filter, r.Count, r.Series[0].Data, c.want)
		}
	}
}

func TestEmptyRange(t *testing.T) {
	db, _ := openDB(t, Options{})
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0,host:1.2.3.4", Begin: t0, End: t0 + 86399})
	if r.Count == 0 || r.Count > DefaultLimit+1 || len(r.Series) != 2 || len(r.Series[0].Data) != r.Count {
		t.Fatalf("count %d series %d", r.Count, len(r.Series))
	}
	for _, v := range r.Series[0].Data {
		if v != 0 {
			t.Fatalf("data %v", r.Series[0].Data)
		}
	}
	if r.Statistics != (Statistics{}) {
		t.Fatalf("statistics %+v", r.Statistics)
	}
	// A single second.
	r = mustQuery(t, db, Query{Schema: "iface:traffic", Filter: "ifid:0", Begin: t0, End: t0})
	if r.Count != 1 || r.Step != 1 {
		t.Fatalf("one second: %+v", r)
	}
}

func TestHostileInput(t *testing.T) {
	db, _ := openDB(t, Options{})
	mustWrite(t, db, Point{"host:traffic", []string{"0", "h"}, t0, []float64{1, 1}})
	for _, c := range []struct {
		name string
		q    Query
		err  error
	}{
		{"unknown schema", Query{Schema: "host:nope", Begin: t0, End: t0}, ErrUnknownSchema},
		{"empty schema", Query{Begin: t0, End: t0}, ErrUnknownSchema},
		{"negative limit", Query{Schema: "host:traffic", Begin: t0, End: t0, Limit: -1}, ErrInvalid},
		{"huge limit", Query{Schema: "host:traffic", Begin: t0, End: t0, Limit: MaxLimit + 1}, ErrInvalid},
		{"end before begin", Query{Schema: "host:traffic", Begin: t0, End: t0 - 1}, ErrInvalid},
		{"negative begin", Query{Schema: "host:traffic", Begin: -1, End: t0}, ErrInvalid},
		{"end beyond", Query{Schema: "host:traffic", Begin: 0, End: math.MaxInt64}, ErrInvalid},
		{"unknown tag", Query{Schema: "host:traffic", Filter: "ifid:0,mac:x", Begin: t0, End: t0}, ErrInvalid},
		{"twice", Query{Schema: "host:traffic", Filter: "ifid:0,ifid:1", Begin: t0, End: t0}, ErrInvalid},
		{"no colon", Query{Schema: "host:traffic", Filter: "ifid", Begin: t0, End: t0}, ErrInvalid},
		{"empty value", Query{Schema: "host:traffic", Filter: "ifid:", Begin: t0, End: t0}, ErrInvalid},
		{"trailing comma", Query{Schema: "host:traffic", Filter: "ifid:0,", Begin: t0, End: t0}, ErrInvalid},
	} {
		if _, err := db.Query(c.q); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	// A query reading too many stored points is refused, not run.
	defer func(m int) { maxScan = m }(maxScan)
	maxScan = 3
	for _, h := range []string{"a", "b", "c", "d"} {
		mustWrite(t, db, Point{"host:score", []string{"0", h}, t0, []float64{1, 1}})
	}
	if _, err := db.Query(Query{Schema: "host:score", Filter: "ifid:0", Begin: t0, End: t0 + 300}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 points with maxScan 3: %v", err)
	}
	if _, err := db.Query(Query{Schema: "host:score", Filter: "ifid:0,host:a", Begin: t0, End: t0 + 300}); err != nil {
		t.Errorf("1 point with maxScan 3: %v", err)
	}
	maxScan = 2_000_000
	// The widest range answers at most limit+1 points, quickly.
	start := time.Now()
	for _, lim := range []int{0, 1, MaxLimit} {
		r := mustQuery(t, db, Query{Schema: "iface:traffic", Filter: "ifid:0", Begin: 0, End: maxTime, Limit: lim})
		want := lim
		if lim == 0 {
			want = DefaultLimit
		}
		if r.Count > want+1 || len(r.Series[0].Data) != r.Count {
			t.Errorf("limit %d: %d points", lim, r.Count)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("widest ranges took %v", d)
	}
	for _, c := range []struct {
		name string
		p    Point
		err  error
	}{
		{"unknown schema", Point{"x:y", []string{"0"}, t0, []float64{1}}, ErrUnknownSchema},
		{"missing tag", Point{"host:traffic", []string{"0"}, t0, []float64{1, 1}}, ErrInvalid},
		{"empty tag", Point{"host:traffic", []string{"0", ""}, t0, []float64{1, 1}}, ErrInvalid},
		{"NUL tag", Point{"host:traffic", []string{"0", "a\x00b"}, t0, []float64{1, 1}}, ErrInvalid},
		{"comma tag", Point{"host:traffic", []string{"0", "a,b"}, t0, []float64{1, 1}}, ErrInvalid},
		{"few values", Point{"host:traffic", []string{"0", "h"}, t0, []float64{1}}, ErrInvalid},
		{"NaN", Point{"host:traffic", []string{"0", "h"}, t0, []float64{math.NaN(), 1}}, ErrInvalid},
		{"Inf", Point{"host:traffic", []string{"0", "h"}, t0, []float64{math.Inf(1), 1}}, ErrInvalid},
		{"negative", Point{"host:traffic", []string{"0", "h"}, t0, []float64{-1, 1}}, ErrInvalid},
		{"negative time", Point{"host:traffic", []string{"0", "h"}, -5, []float64{1, 1}}, ErrInvalid},
		{"far time", Point{"host:traffic", []string{"0", "h"}, math.MaxInt64, []float64{1, 1}}, ErrInvalid},
	} {
		// A bad point fails the whole batch, good points included.
		good := Point{"host:traffic", []string{"0", "h"}, t0 + 300, []float64{1e9, 1e9}}
		if err := db.Write([]Point{good, c.p}); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0,host:h", Begin: t0, End: t0 + 599})
	if r.Statistics.Total != 0 {
		t.Errorf("a refused batch was written: %+v", r.Series)
	}
}

// A counter that goes down (the host left and came back) counts from zero.
func TestCounterReset(t *testing.T) {
	db, _ := openDB(t, Options{})
	h := []string{"0", "h"}
	mustWrite(t, db, Point{"host:traffic", h, t0, []float64{1000, 0}})
	mustWrite(t, db, Point{"host:traffic", h, t0 + 300, []float64{1600, 0}})
	mustWrite(t, db, Point{"host:traffic", h, t0 + 600, []float64{900, 0}})
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0,host:h", Begin: t0, End: t0 + 899})
	wantData(t, "reset", r.Series[0].Data, []float64{0, 2, 3})
}

// Each resolution expires after its own retention; a query whose
// resolution has expired answers from the next coarser one.
func TestRetention(t *testing.T) {
	db, _ := openDB(t, Options{Retention: map[int64]time.Duration{300: time.Second}})
	h := []string{"0", "h"}
	mustWrite(t, db, Point{"host:traffic", h, t0, []float64{0, 0}})
	mustWrite(t, db, Point{"host:traffic", h, t0 + 300, []float64{3000, 0}})
	q := Query{Schema: "host:traffic", Filter: "ifid:0,host:h", Begin: t0, End: t0 + 3599, Limit: 12}
	if r := mustQuery(t, db, q); r.Resolution != 300 || r.Count != 12 || r.Series[0].Data[1] != 10 {
		t.Fatalf("before expiry: %+v", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := mustQuery(t, db, q)
		if r.Resolution == 3600 {
			if r.Step != 3600 || r.Count != 1 || !near(r.Series[0].Data[0], 3000.0/3600) {
				t.Fatalf("after expiry: %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5-minute points still there after 5 s: %v", r.Series[0].Data)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Points survive a restart, and a bucket half filled before the restart
// is completed, not overwritten, after it.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	db, err := Open(st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0, []float64{10}})
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 60, []float64{20}})
	q := Query{Schema: "iface:hosts", Filter: "ifid:0", Begin: t0, End: t0 + 3599, Limit: 1}
	before := mustQuery(t, db, q)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir)
	if db, err = Open(st, Options{}); err != nil {
		t.Fatal(err)
	}
	after := mustQuery(t, db, q)
	wantData(t, "after restart", after.Series[0].Data, before.Series[0].Data)
	wantData(t, "hourly", after.Series[0].Data, []float64{15})
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 120, []float64{60}})
	wantData(t, "hourly continued", mustQuery(t, db, q).Series[0].Data, []float64{30})
	// Time going back into an older bucket adds to it too.
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 3600, []float64{0}})
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 180, []float64{50}})
	wantData(t, "older bucket", mustQuery(t, db, q).Series[0].Data, []float64{35})

	// A replay after a restart that starts before the newest hour written
	// before it, then comes back to that hour, adds to what is stored.
	q2 := q
	q2.Begin, q2.End = t0+3600, t0+7199
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir)
	defer st.Close()
	if db, err = Open(st, Options{}); err != nil {
		t.Fatal(err)
	}
	// (Two samples in the old hour: the first write's prune drops what it
	// opened, the second's keeps it open.)
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 240, []float64{5}})
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 300, []float64{5}})
	mustWrite(t, db, Point{"iface:hosts", []string{"0"}, t0 + 3660, []float64{8}})
	wantData(t, "hour before", mustQuery(t, db, q).Series[0].Data, []float64{25})
	wantData(t, "hour after", mustQuery(t, db, q2).Series[0].Data, []float64{4})
}

// Host churn does not grow memory: state of quiet series is dropped, and
// a dropped series that comes back completes its bucket from the store.
func TestPruneQuietSeries(t *testing.T) {
	db, _ := openDB(t, Options{})
	for k := 0; k < 100; k++ { // 100 hosts, each seen for two samples only
		h := []string{"0", "h" + strconv.Itoa(k)}
		ts := int64(t0 + 600*k)
		mustWrite(t, db, Point{"host:traffic", h, ts, []float64{0, 0}}, Point{"host:traffic", h, ts + 300, []float64{300, 0}})
	}
	db.mu.Lock()
	nOpen, nLast := len(db.open), len(db.last)
	db.mu.Unlock()
	// Within counterIdle (2 h) of the newest point: at most 13 hosts' counters
	// and the buckets of the last hour's few hosts.
	if nLast > 2*3600/600+2 || nOpen > 2*(3600/600+2) {
		t.Fatalf("after churn of 100 hosts: %d open buckets, %d counters", nOpen, nLast)
	}
	// Host h0's hourly bucket was dropped from memory; a late sample of a
	// gauge into that hour adds to what is stored.
	g := []string{"0", "g"}
	mustWrite(t, db, Point{"host:score", g, t0, []float64{10, 0}})
	mustWrite(t, db, Point{"host:score", g, t0 + 600*100, []float64{0, 0}}) // far later: prunes g's t0 buckets
	mustWrite(t, db, Point{"host:score", g, t0 + 300, []float64{30, 0}})
	r := mustQuery(t, db, Query{Schema: "host:score", Filter: "ifid:0,host:g", Begin: t0, End: t0 + 3599, Limit: 1})
	wantData(t, "hour of g", r.Series[0].Data, []float64{20})
}

// The JSON carries what ntop's Python API reads from ts.lua's rsp
// (Historical.timeseries_to_pandas: start, count, step, series[].label and
// .data; get_timeseries_stats: statistics) and ntopng's statistics names.
func TestResultJSON(t *testing.T) {
	db, _ := openDB(t, Options{})
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0,host:h", Begin: t0, End: t0 + 599})
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Start, Count, Step *int64
		Series             []struct {
			Label *string
			Data  []float64
		}
		Statistics map[string]float64
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.Start == nil || *m.Start != t0 || m.Count == nil || *m.Count != 2 || m.Step == nil || *m.Step != 300 ||
		len(m.Series) != 2 || m.Series[0].Label == nil || *m.Series[0].Label != "bytes_sent" || len(m.Series[1].Data) != 2 {
		t.Fatalf("rsp %s", raw)
	}
	for _, k := range []string{"total", "average", "min_val", "max_val", "95th_percentile"} {
		if _, ok := m.Statistics[k]; !ok {
			t.Errorf("statistics lack %q: %s", k, raw)
		}
	}
}

// Writers and readers at once (run with -race).
func TestConcurrent(t *testing.T) {
	db, _ := openDB(t, Options{})
	done := make(chan error, 4)
	for w := 0; w < 2; w++ {
		go func() {
			for k := 0; k < 50; k++ {
				if err := db.Write([]Point{{"host:traffic", []string{"0", "h" + strconv.Itoa(w)}, int64(t0 + 60*k), []float64{float64(k), 0}}}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		go func() {
			for k := 0; k < 50; k++ {
				if _, err := db.Query(Query{Schema: "host:traffic", Filter: "ifid:0", Begin: t0, End: t0 + 3600}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:0", Begin: t0, End: t0 + 3599, Limit: 1})
	if !near(r.Statistics.Total, 2*49) {
		t.Fatalf("total %v, want %v", r.Statistics.Total, 2*49)
	}
}
