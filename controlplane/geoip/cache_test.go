package geoip

import (
	"net/netip"
	"testing"
)

// addrN is the n-th address of 8.8.0.0/16 (in the test city and ASN
// databases only 8.8.8.0/24 is placed; the rest answer empty, which is
// cached all the same).
func addrN(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{8, 8, byte(n >> 8), byte(n)})
}

func TestCacheOneLookupPerAddress(t *testing.T) {
	db, err := openBytes(cityDB(t), nil, asnDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := Info{CountryISO: "US", CountryName: "United States", City: "Mountain View", ASN: 15169, ASName: "Google LLC"}
	for i := 0; i < 5; i++ {
		for _, a := range []string{"8.8.8.8", "::ffff:8.8.8.8"} {
			if got := db.Lookup(netip.MustParseAddr(a)); got != want {
				t.Fatalf("round %d: Lookup(%s) = %+v, want %+v", i, a, got, want)
			}
		}
	}
	// Ten calls, one address (the mapped form is the same host): one read.
	if st := db.CacheStats(); st.Misses != 1 || st.Hits != 9 || st.Entries != 1 {
		t.Errorf("stats %+v, want 1 miss, 9 hits, 1 entry", st)
	}
	// Addresses that are not routable never reach the databases or the cache.
	for _, a := range []string{"10.0.0.1", "127.0.0.1", "fe80::1"} {
		db.Lookup(netip.MustParseAddr(a))
	}
	if st := db.CacheStats(); st.Misses != 1 || st.Entries != 1 {
		t.Errorf("after private addresses: %+v, want them neither looked up nor kept", st)
	}
}

func TestCacheBounded(t *testing.T) {
	db, err := openBytes(cityDB(t), nil, asnDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const size = 64
	db.cache = newCache(size)
	hot := netip.MustParseAddr("2a00:1450::1") // outside the sweep
	for i := 0; i < 50*size; i++ {
		db.Lookup(addrN(i))
		// One address stays in use throughout (a host on every page).
		if got := db.Lookup(hot); got.ASN != 15169 {
			t.Fatalf("after %d addresses the hot one answers %+v", i, got)
		}
		if n := db.cache.len(); n > 2*size {
			t.Fatalf("after %d addresses the cache holds %d entries, bound %d", i, n, 2*size)
		}
	}
	st := db.CacheStats()
	// Every sweep address was read once, the hot one only the first time:
	// a used entry is carried over each rotation, never dropped.
	if st.Misses != 50*size+1 {
		t.Errorf("%d database reads, want %d (one per sweep address, and the hot one once)", st.Misses, 50*size+1)
	}
	// The most recent addresses are still cached, the oldest are not.
	before := db.CacheStats().Misses
	db.Lookup(addrN(50*size - 1))
	if db.CacheStats().Misses != before {
		t.Error("the last address looked up was not cached")
	}
	db.Lookup(addrN(0))
	if db.CacheStats().Misses != before+1 {
		t.Error("the first address of the sweep is still cached: the cache is not bounded by recency")
	}
}

func TestCountries(t *testing.T) {
	city, country := cityDB(t), countryDB(t)
	for _, tc := range []struct {
		name          string
		city, country []byte
		want          map[string]string
	}{
		// The city file names every country its records carry, the
		// registration-only one too; a code without names has "".
		{"city", city, nil, map[string]string{"US": "United States", "IE": "Ireland", "GB": "", "FR": "France", "CH": "Switzerland", "XX": "Private"}},
		// With both, the country file is the one walked.
		{"country beats city", city, country, map[string]string{"US": "United States"}},
		{"none", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := openBytes(tc.city, tc.country, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			got := db.Countries()
			if len(got) != len(tc.want) {
				t.Fatalf("Countries = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if n, ok := got[k]; !ok || n != v {
					t.Errorf("Countries[%s] = %q (%v), want %q", k, n, ok, v)
				}
			}
		})
	}
	var db *DB
	if db.Countries() != nil {
		t.Error("nil DB: Countries should be nil")
	}
}
