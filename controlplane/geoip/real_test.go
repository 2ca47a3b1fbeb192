package geoip

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/probe-appliance/probe/internal/fixture"
)

// realDir is the directory with the pinned GeoLite2 files.
func realDir(t testing.TB) string { return fixture.GeoIPDir(t) }

func TestRealDatabaseMetadata(t *testing.T) {
	dir := realDir(t)
	// The files are what their names say (MaxMind writes the edition into
	// each file's metadata).
	for file, want := range map[string]string{
		"GeoLite2-City.mmdb": "GeoLite2-City", "GeoLite2-Country.mmdb": "GeoLite2-Country", "GeoLite2-ASN.mmdb": "GeoLite2-ASN",
	} {
		r, err := maxminddb.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Metadata.DatabaseType; got != want {
			t.Errorf("%s: database_type %q, want %q", file, got, want)
		}
		r.Close()
	}
}

// The expected answers are public facts about well-known resolvers and
// registries (Google AS15169, Cloudflare AS13335, Quad9 AS19281, RIPE NCC
// AS3333 in Amsterdam), as the pinned files hold them: each was read back
// with libmaxminddb's mmdblookup (Debian's mmdb-bin), not with this code.
// Only stable fields are asserted (anycast addresses' cities are not).
func TestRealDatabase(t *testing.T) {
	db, err := Open(realDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const ripe = "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)"
	for _, tc := range []struct {
		addr         string
		iso, country string // "": not asserted
		city         string
		asn          uint32
		asName       string
	}{
		{"8.8.8.8", "US", "United States", "", 15169, "Google LLC"},
		{"::ffff:8.8.8.8", "US", "United States", "", 15169, "Google LLC"},
		{"2001:4860:4860::8888", "US", "United States", "", 15169, "Google LLC"},
		{"1.1.1.1", "", "", "", 13335, "Cloudflare, Inc."},
		{"9.9.9.9", "US", "United States", "", 19281, "Quad9"},
		{"193.0.6.139", "NL", "The Netherlands", "", 3333, ripe},
		{"2001:67c:2e8:22::c100:68b", "NL", "The Netherlands", "Amsterdam", 3333, ripe},
	} {
		got := db.Lookup(netip.MustParseAddr(tc.addr))
		if got.ASN != tc.asn || got.ASName != tc.asName {
			t.Errorf("%s: AS %d %q, want %d %q", tc.addr, got.ASN, got.ASName, tc.asn, tc.asName)
		}
		if tc.iso != "" && (got.CountryISO != tc.iso || got.CountryName != tc.country) {
			t.Errorf("%s: country %q %q, want %q %q", tc.addr, got.CountryISO, got.CountryName, tc.iso, tc.country)
		}
		if tc.city != "" && got.City != tc.city {
			t.Errorf("%s: city %q, want %q", tc.addr, got.City, tc.city)
		}
	}
	// RIPE NCC's place as the pinned city file has it (mmdblookup: continent
	// code EU, location 52.382400 4.899500).
	if got := db.Lookup(netip.MustParseAddr("193.0.6.139")); got.Continent != "EU" || got.Latitude != 52.3824 || got.Longitude != 4.8995 {
		t.Errorf("193.0.6.139: continent %q at %v,%v, want EU at 52.3824,4.8995", got.Continent, got.Latitude, got.Longitude)
	}
	// ISO 3166-1 has 249 codes; MaxMind adds EU and AP-style codes only to
	// registered_country, so the list is about that long.
	names := db.Countries()
	if len(names) < 240 || len(names) > 260 || names["US"] != "United States" || names["NL"] != "The Netherlands" || names["JP"] != "Japan" {
		t.Errorf("Countries: %d names, US %q NL %q JP %q", len(names), names["US"], names["NL"], names["JP"])
	}
	for _, a := range []string{"10.0.0.1", "192.168.1.1", "127.0.0.1", "fe80::1", "100.64.0.1"} {
		if got := db.Lookup(netip.MustParseAddr(a)); got != (Info{}) {
			t.Errorf("%s: %+v, want empty", a, got)
		}
	}
}

// publicAddrs is n pseudo-random routable IPv4 addresses (fixed seed:
// every run looks up the same ones).
func publicAddrs(n int) []netip.Addr {
	rng := rand.New(rand.NewPCG(21, 4))
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		a := netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		if Routable(a) {
			out = append(out, a)
		}
	}
	return out
}

// BenchmarkLookup is a full lookup (City + ASN, the probe's case, without
// the answer cache) on the real databases, reported as ns/op and as a
// ratio to a map[netip.Addr]Info hit over the same addresses measured in
// the same run (what a per-host cache of the answers costs instead).
func BenchmarkLookup(b *testing.B) { benchLookup(b, realDir(b), false) }

// BenchmarkOpenLookup is BenchmarkLookup on the open-licensed files the
// image ships (country + AS, no city), against the same same-run baseline.
func BenchmarkOpenLookup(b *testing.B) { benchLookup(b, fixture.OpenGeoIPDir(b), false) }

// BenchmarkCachedLookup is Lookup as the probe calls it: every address
// already in the answer cache (hosts being shown again), against the same
// same-run map baseline.
func BenchmarkCachedLookup(b *testing.B) { benchLookup(b, realDir(b), true) }

func benchLookup(b *testing.B, dir string, cached bool) {
	db, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	addrs := publicAddrs(4096)
	cache := make(map[netip.Addr]Info, len(addrs))
	found := 0
	for _, a := range addrs {
		cache[a] = db.lookup(a)
		if cache[a].CountryISO != "" {
			found++
		}
	}
	if found < len(addrs)/2 {
		b.Fatalf("only %d of %d random public addresses have a country", found, len(addrs))
	}
	// The baseline is timed by hand (a fixed count, outside the timer):
	// testing.Benchmark inside a running benchmark deadlocks.
	var sink Info
	const baseN = 1 << 21
	start := time.Now()
	for i := 0; i < baseN; i++ {
		sink = cache[addrs[i%len(addrs)]]
	}
	baseNs := float64(time.Since(start).Nanoseconds()) / baseN
	b.ReportAllocs()
	b.ResetTimer()
	if cached {
		for _, a := range addrs {
			db.Lookup(a)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			sink = db.Lookup(addrs[i%len(addrs)])
		}
	} else {
		for i := 0; i < b.N; i++ {
			sink = db.lookup(addrs[i%len(addrs)])
		}
	}
	b.StopTimer()
	_ = sink
	b.ReportMetric(baseNs, "ns/map-lookup")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baseNs, "x-map-lookup")
}

// The open-licensed files the image ships (firmware/geoip.lock), alone in
// their directory. Expected answers were read back from the pinned files
// with mmdblookup (Debian's mmdb-bin), not with this code; names are ISO
// 3166-1's (Debian's iso-codes).
func TestRealOpenDatabase(t *testing.T) {
	dir := fixture.OpenGeoIPDir(t)
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := len(db.Files()); got != 2 {
		t.Fatalf("Files %v, want the two open files", db.Files())
	}
	const ripe = "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)"
	for _, tc := range []struct {
		addr         string
		iso, country string
		asn          uint32
		asName       string
	}{
		{"8.8.8.8", "US", "United States", 15169, "Google LLC"},
		{"::ffff:8.8.8.8", "US", "United States", 15169, "Google LLC"},
		{"2001:4860:4860::8888", "US", "United States", 15169, "Google LLC"},
		{"1.1.1.1", "AU", "Australia", 13335, "Cloudflare, Inc."},
		{"9.9.9.9", "US", "United States", 19281, "Quad9"},
		{"193.0.6.139", "NL", "Netherlands", 3333, ripe},
		{"2001:67c:2e8:22::c100:68b", "NL", "Netherlands", 3333, ripe},
		{"81.2.69.142", "GB", "United Kingdom", 20712, "Andrews & Arnold Ltd"},
		{"200.160.2.3", "BR", "Brazil", 22548, "Nucleo de Inf. e Coord. do Ponto BR - NIC.BR"},
	} {
		got := db.Lookup(netip.MustParseAddr(tc.addr))
		want := Info{CountryISO: tc.iso, CountryName: tc.country, ASN: tc.asn, ASName: tc.asName}
		if got != want {
			t.Errorf("%s: %+v, want %+v", tc.addr, got, want)
		}
	}
	// The AS file is tools/asnmmdb's, with its own type name (GeoLite2-ASN's
	// shape, not MaxMind's data).
	r, err := maxminddb.Open(filepath.Join(dir, OpenASNFile))
	if err != nil {
		t.Fatal(err)
	}
	if r.Metadata.DatabaseType != "ip-location-db-ASN" || r.Metadata.BuildEpoch != 1781722800 {
		t.Errorf("%s: type %q epoch %d", OpenASNFile, r.Metadata.DatabaseType, r.Metadata.BuildEpoch)
	}
	r.Close()
	names := db.Countries()
	if len(names) < 230 || len(names) > 250 || names["US"] != "United States" || names["JP"] != "Japan" || names["KR"] != "South Korea" {
		t.Errorf("Countries: %d names, US %q JP %q KR %q", len(names), names["US"], names["JP"], names["KR"])
	}
	for _, a := range []string{"10.0.0.1", "192.168.1.1", "127.0.0.1", "fe80::1", "100.64.0.1"} {
		if got := db.Lookup(netip.MustParseAddr(a)); got != (Info{}) {
			t.Errorf("%s: %+v, want empty", a, got)
		}
	}
}
