package timeseries

import (
	"errors"
	"fmt"
	"testing"
)

// TotalsBy: a host's applications with the bytes written in the range,
// other hosts and points outside the range left out.
func TestTotalsBy(t *testing.T) {
	db, _ := openDB(t, Options{})
	w := func(host, proto string, at int64, sent, rcvd float64) {
		t.Helper()
		if err := db.Write([]Point{{Schema: "host:ndpi", Tags: []string{"0", host, proto}, Time: at, Values: []float64{sent, rcvd}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Cumulative: the first sample of each series is its baseline.
	for i, c := range []struct{ dns, tls float64 }{{0, 0}, {100, 1000}, {300, 1000}, {700, 5000}} {
		at := int64(t0 + 300*i)
		w("10.0.0.1", "DNS", at, c.dns, c.dns/2)
		w("10.0.0.1", "TLS", at, c.tls, 0)
		w("10.0.0.2", "DNS", at, 10*c.dns, 0)
	}
	got, err := db.TotalsBy(Query{Schema: "host:ndpi", Filter: "ifid:0,host:10.0.0.1", Begin: t0, End: t0 + 600}, "protocol")
	if err != nil {
		t.Fatal(err)
	}
	// Buckets t0+300 and t0+600: DNS 100+200 sent, 50+100 received; TLS 1000.
	want := map[string][]float64{"DNS": {300, 150}, "TLS": {1000, 0}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("totals %v, want %v", got, want)
	}
	all, err := db.TotalsBy(Query{Schema: "host:ndpi", Filter: "ifid:0", Begin: t0, End: t0 + 900}, "protocol")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(all["DNS"]) != fmt.Sprint([]float64{700 + 7000, 350}) {
		t.Errorf("DNS of every host: %v", all["DNS"])
	}
	for _, c := range []struct {
		q   Query
		tag string
	}{
		{Query{Schema: "host:score", Filter: "ifid:0", Begin: t0, End: t0 + 1}, "host"},    // a gauge
		{Query{Schema: "host:ndpi", Filter: "ifid:0", Begin: t0, End: t0 + 1}, "category"}, // no such tag
		{Query{Schema: "host:ndpi", Filter: "ifid:0", Begin: t0 + 1, End: t0}, "protocol"}, // reversed range
		{Query{Schema: "host:ndpi", Filter: "ifid0", Begin: t0, End: t0 + 1}, "protocol"},  // bad filter
	} {
		if _, err := db.TotalsBy(c.q, c.tag); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v by %s: %v, want ErrInvalid", c.q, c.tag, err)
		}
	}
}

// A capture file replayed beside live traffic writes years behind the
// newest point: its counters keep their baseline across prune rounds (no
// interval lost), while a quiet series' counter is still dropped.
func TestPruneKeepsCountersOfAnotherClock(t *testing.T) {
	db, _ := openDB(t, Options{})
	const live, file = t0 + 3*365*86400, t0
	mustWrite(t, db, Point{"host:traffic", []string{"0", "quiet"}, live, []float64{0, 0}})
	for k := range 180 { // three hours of live minutes; the file moves a second each
		mustWrite(t, db,
			Point{"host:traffic", []string{"0", "live"}, int64(live + 60*k), []float64{float64(100 * k), 0}},
			Point{"host:traffic", []string{"1", "file"}, int64(file + k), []float64{float64(10 * k), 0}})
	}
	r := mustQuery(t, db, Query{Schema: "host:traffic", Filter: "ifid:1,host:file", Begin: file, End: file + 3599})
	if r.Statistics.Total != 10*179 {
		t.Errorf("file series: %v bytes, want %d (every increment)", r.Statistics.Total, 10*179)
	}
	db.mu.Lock()
	_, quiet := db.last[seriesID("host:traffic", []string{"0", "quiet"})]
	db.mu.Unlock()
	if quiet {
		t.Error("a counter quiet for three hours is still held")
	}
}
