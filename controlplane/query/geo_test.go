package query

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/fixture"
)

func realGeoIP(t testing.TB) *geoip.DB {
	t.Helper()
	db, err := geoip.Open(fixture.GeoIPDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestGeoConditionParse(t *testing.T) {
	for in, want := range map[string]string{
		"dcountry = ch":          "dcountry = CH",
		"scountry != US":         "scountry != US",
		"country = US":           "(scountry = US | dcountry = US)",
		"country != US":          "(scountry != US & dcountry != US)",
		"dasn = AS13335":         "dasn = 13335",
		"sasn -neq as3333":       "sasn != 3333",
		"asn = 15169":            "(sasn = 15169 | dasn = 15169)",
		"dcountry=NL & dport=53": "(dcountry = NL & dport = 53)",
	} {
		n, err := ParseCondition(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if n.String() != want {
			t.Errorf("%q parses to %q, want %q", in, n, want)
		}
		// The canonical form parses back to itself.
		if n2, err := ParseCondition(n.String()); err != nil || n2.String() != n.String() {
			t.Errorf("%q: canonical form %q does not parse back (%v)", in, n, err)
		}
	}
	for _, bad := range []string{"country = USA", "country = 12", "dcountry < US", "asn = google", "asn > 10", "sasn = 4294967296", "xcountry = US"} {
		if _, err := ParseCondition(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// geoRecs are flows between local and public hosts whose places are
// public facts (see controlplane/geoip/real_test.go): 8.8.8.8 and 9.9.9.9
// US (AS15169, AS19281), 193.0.6.139 NL (AS3333).
func geoRecs() []store.FlowRecord {
	r := func(cli, srv string, bytes uint64) store.FlowRecord {
		return store.FlowRecord{IfID: 1, Proto: 6, Client: netip.MustParseAddr(cli), Server: netip.MustParseAddr(srv),
			ClientPort: 40000, ServerPort: 443, PktsC2S: 1, BytesC2S: bytes, FirstSeen: base, LastSeen: base + 1}
	}
	return []store.FlowRecord{
		r("192.168.1.10", "8.8.8.8", 100),
		r("192.168.1.11", "8.8.8.8", 200),
		r("192.168.1.10", "193.0.6.139", 400),
		r("9.9.9.9", "192.168.1.10", 800),
		r("192.168.1.10", "10.0.0.1", 1600),
	}
}

func TestGeoConditionMatch(t *testing.T) {
	db := realGeoIP(t)
	recs := geoRecs()
	for _, tc := range []struct {
		cond string
		want []int // indexes of geoRecs matched
	}{
		{"dcountry = US", []int{0, 1}},
		{"dcountry = nl", []int{2}},
		{"scountry = US", []int{3}},
		{"country = US", []int{0, 1, 3}},
		{"country != US", []int{2, 4}},
		{"dasn = 15169", []int{0, 1}},
		{"asn = AS19281", []int{3}},
		{"dasn = 0", []int{3, 4}}, // unplaced servers: a local and a private one
		{"dcountry = US & sip = 192.168.1.11", []int{1}},
		{"!(dcountry = US | dcountry = NL)", []int{3, 4}},
	} {
		n, err := ParseCondition(tc.cond)
		if err == nil {
			n, err = bindGeo(n, db)
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.cond, err)
		}
		var got []int
		for i := range recs {
			if n.Match(&recs[i]) {
				got = append(got, i)
			}
		}
		if !equalInts(got, tc.want) {
			t.Errorf("%q matches %v, want %v", tc.cond, got, tc.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A query over the store with a country condition: the rows and their
// bytes are the records the test knows to be in the Netherlands and the
// US.
func TestGeoConditionQuery(t *testing.T) {
	db := realGeoIP(t)
	st := openStore(t, geoRecs())
	args := DefaultArgs()
	args.Query, args.Ifaces, args.First, args.Last = "dip", "eth0", "-100000h", "now"
	args.Condition = "dcountry = US | dcountry = NL"
	// No databases: the condition cannot be evaluated, an argument error.
	_, err := PrepareWith(args, testIfaces, time.Now(), PrepareOptions{})
	var ae *ArgsError
	if !errors.As(err, &ae) || ae.Field != "Condition" || !strings.Contains(err.Error(), "geoip-dir") {
		t.Fatalf("without databases: %v, want a Condition argument error naming --geoip-dir", err)
	}
	q, err := PrepareWith(args, testIfaces, time.Now(), PrepareOptions{GeoIP: db})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Run(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, r := range res.Rows {
		got[r.DIP.String()] = r.BytesSent + r.BytesRcvd
	}
	if len(got) != 2 || got["8.8.8.8"] != 300 || got["193.0.6.139"] != 400 {
		t.Errorf("rows %v, want 8.8.8.8: 300 bytes, 193.0.6.139: 400", got)
	}
}

// BenchmarkGeoCondition is a query over 100,000 stored flows with
// "dcountry = US", reported against the same query with "dport = 443"
// (no lookups) in the same run: the cost of placing addresses per record.
func BenchmarkGeoCondition(b *testing.B) {
	db := realGeoIP(b)
	recs := genRecords(100000)
	// Public servers: 4096 distinct addresses, as a busy network's day.
	for i := range recs {
		k := i % 4096
		recs[i].Server = netip.AddrFrom4([4]byte{byte(20 + k>>8), byte(k), 8, 8})
	}
	st := openStore(b, recs)
	run := func(cond string) time.Duration {
		start := time.Now()
		args := DefaultArgs()
		args.Query, args.Ifaces, args.First, args.Last, args.Condition = "dip", "eth0,eth1", "-100000h", "now", cond
		q, err := PrepareWith(args, testIfaces, time.Now(), PrepareOptions{GeoIP: db})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := q.Run(context.Background(), st); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run("dcountry = US") // warm the answer cache, as a second query would find it
	// Alternately in one loop: a busy machine slows both alike.
	var geo, base time.Duration
	b.ResetTimer()
	for range b.N {
		base += run("dport = 443")
		geo += run("dcountry = US")
	}
	b.StopTimer()
	b.ReportMetric(float64(geo.Nanoseconds())/float64(b.N), "ns/geo-query")
	b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "ns/dport-query")
	b.ReportMetric(float64(geo)/float64(base), "x-dport-query")
}
