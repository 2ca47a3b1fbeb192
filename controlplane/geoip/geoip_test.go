package geoip

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// record builds a GeoIP2-shaped place record; empty arguments leave the
// field out, as MaxMind's files do.
func place(iso, name, city string) mmdbtype.Map {
	m := mmdbtype.Map{}
	if iso != "" || name != "" {
		c := mmdbtype.Map{}
		if iso != "" {
			c["iso_code"] = mmdbtype.String(iso)
		}
		if name != "" {
			c["names"] = mmdbtype.Map{"en": mmdbtype.String(name), "de": mmdbtype.String("x" + name)}
		}
		m["country"] = c
	}
	if city != "" {
		m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(city)}}
	}
	return m
}

func asn(n uint32, org string) mmdbtype.Map {
	m := mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(n)}
	if org != "" {
		m["autonomous_system_organization"] = mmdbtype.String(org)
	}
	return m
}

// writeDB is a small MaxMind DB made with MaxMind's own writer, so the
// files under test are ones the reader did not produce.
func writeDB(t testing.TB, dbType string, nets map[string]mmdbtype.DataType) []byte {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: dbType,
		RecordSize:   24,
		// Reserved networks go in on purpose: Lookup must not answer them
		// even when a database has data for them.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, v := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, v); err != nil {
			t.Fatalf("insert %s: %v", cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func cityDB(t testing.TB) []byte {
	return writeDB(t, "GeoLite2-City", map[string]mmdbtype.DataType{
		"8.8.8.0/24":     place("US", "United States", "Mountain View"),
		"2a00:1450::/32": place("IE", "Ireland", "Dublin"),
		"81.2.69.0/24":   place("GB", "", ""), // code only: no names, no city
		"5.6.7.0/24": mmdbtype.Map{ // only the registration country
			"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("FR"), "names": mmdbtype.Map{"en": mmdbtype.String("France")}},
		},
		"6.6.6.0/24": mmdbtype.Map{"country": mmdbtype.String("not a map")},
		"185.1.0.0/16": mmdbtype.Map{ // a full City record
			"city":      mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Zurich")}},
			"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "names": mmdbtype.Map{"en": mmdbtype.String("Europe")}},
			"country":   mmdbtype.Map{"iso_code": mmdbtype.String("CH"), "names": mmdbtype.Map{"en": mmdbtype.String("Switzerland")}},
			"location":  mmdbtype.Map{"latitude": mmdbtype.Float64(47.3682), "longitude": mmdbtype.Float64(8.5671), "accuracy_radius": mmdbtype.Uint16(20)},
		},
		"10.0.0.0/8":     place("XX", "Private", "Nowhere"),
		"100.64.0.0/10":  place("XX", "CGNAT", "Nowhere"),
		"2001:db8::/32":  place("XX", "Documentation", "Nowhere"),
		"fc00::/7":       place("XX", "ULA", "Nowhere"),
		"169.254.0.0/16": place("XX", "Link-local", "Nowhere"),
	})
}

func asnDB(t testing.TB) []byte {
	return writeDB(t, "GeoLite2-ASN", map[string]mmdbtype.DataType{
		"8.8.8.0/24":     asn(15169, "Google LLC"),
		"2a00:1450::/32": asn(15169, "Google LLC"),
		"81.2.69.0/24":   asn(20712, ""), // number without organisation
		"6.6.6.0/24":     mmdbtype.Map{"autonomous_system_number": mmdbtype.String("15169")},
		"10.0.0.0/8":     asn(64512, "Private"),
	})
}

func countryDB(t testing.TB) []byte {
	return writeDB(t, "GeoLite2-Country", map[string]mmdbtype.DataType{
		"8.8.8.0/24": place("US", "United States", ""),
	})
}

func TestLookup(t *testing.T) {
	db, err := openBytes(cityDB(t), nil, asnDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	google := Info{CountryISO: "US", CountryName: "United States", City: "Mountain View", ASN: 15169, ASName: "Google LLC"}
	for _, tc := range []struct {
		name, addr string
		want       Info
	}{
		{"ipv4", "8.8.8.8", google},
		{"v4-mapped ipv6 is the ipv4 answer", "::ffff:8.8.8.8", google},
		{"ipv6", "2a00:1450:4001:81c::200e", Info{CountryISO: "IE", CountryName: "Ireland", City: "Dublin", ASN: 15169, ASName: "Google LLC"}},
		{"code only, number only", "81.2.69.142", Info{CountryISO: "GB", ASN: 20712}},
		{"continent and place", "185.1.2.3", Info{CountryISO: "CH", CountryName: "Switzerland", City: "Zurich", Continent: "EU", Latitude: 47.3682, Longitude: 8.5671}},
		{"registered country stands in", "5.6.7.8", Info{CountryISO: "FR", CountryName: "France"}},
		{"wrong types answer empty", "6.6.6.6", Info{}},
		{"absent from the database", "1.2.3.4", Info{}},
		{"private", "10.1.2.3", Info{}},
		{"private v4-mapped", "::ffff:10.1.2.3", Info{}},
		{"cgnat", "100.64.0.1", Info{}},
		{"documentation v6", "2001:db8::1", Info{}},
		{"ula", "fd00::1", Info{}},
		{"link-local", "169.254.1.1", Info{}},
		{"loopback", "127.0.0.1", Info{}},
		{"multicast", "224.0.0.251", Info{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := db.Lookup(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("Lookup(%s) = %+v, want %+v", tc.addr, got, tc.want)
			}
		})
	}
	if got := db.Lookup(netip.Addr{}); got != (Info{}) {
		t.Errorf("Lookup(invalid) = %+v, want empty", got)
	}
}

func TestNilDBAnswersEmpty(t *testing.T) {
	var db *DB
	if got := db.Lookup(netip.MustParseAddr("8.8.8.8")); got != (Info{}) {
		t.Errorf("nil DB: Lookup = %+v, want empty", got)
	}
	if db.Files() != nil || db.Close() != nil {
		t.Error("nil DB: Files/Close should be nil")
	}
}

func TestRoutable(t *testing.T) {
	// From IANA's special-purpose address registries: false for every
	// block that is not globally reachable.
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true, "::ffff:1.1.1.1": true,
		"0.1.2.3": false, "10.0.0.1": false, "100.127.255.255": false, "127.0.0.1": false,
		"169.254.0.1": false, "172.16.0.1": false, "192.0.0.8": false, "192.0.2.1": false,
		"192.168.1.1": false, "198.18.0.1": false, "198.51.100.7": false, "203.0.113.9": false,
		"224.0.0.1": false, "240.0.0.1": false, "255.255.255.255": false,
		"::": false, "::1": false, "fe80::1": false, "fc00::1": false, "ff02::1": false,
		"2001:db8::1": false, "3fff::1": false, "100::1": false, "64:ff9b:1::1": false,
		"::ffff:192.168.0.1": false,
	} {
		if got := Routable(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Routable(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestOpenDir(t *testing.T) {
	city, country, asnBytes := cityDB(t), countryDB(t), asnDB(t)
	write := func(t *testing.T, files map[string][]byte) string {
		dir := t.TempDir()
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	ip := netip.MustParseAddr("8.8.8.8")

	t.Run("no files", func(t *testing.T) {
		for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "absent")} {
			if db, err := Open(dir); !errors.Is(err, ErrNoDatabase) || db != nil {
				t.Errorf("Open(%s) = %v, %v; want nil, ErrNoDatabase", dir, db, err)
			}
		}
	})
	t.Run("all three, city answers the country", func(t *testing.T) {
		dir := write(t, map[string][]byte{"GeoLite2-City.mmdb": city, "GeoLite2-Country.mmdb": country, "GeoLite2-ASN.mmdb": asnBytes})
		db, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		want := Info{CountryISO: "US", CountryName: "United States", City: "Mountain View", ASN: 15169, ASName: "Google LLC"}
		if got := db.Lookup(ip); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
		// The country file is open too, for Countries only.
		wantFiles := []string{filepath.Join(dir, "GeoLite2-City.mmdb"), filepath.Join(dir, "GeoLite2-Country.mmdb"), filepath.Join(dir, "GeoLite2-ASN.mmdb")}
		if got := db.Files(); strings.Join(got, ",") != strings.Join(wantFiles, ",") {
			t.Errorf("Files = %v, want %v", got, wantFiles)
		}
	})
	t.Run("country only", func(t *testing.T) {
		db, err := Open(write(t, map[string][]byte{"GeoLite2-Country.mmdb": country}))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got, want := db.Lookup(ip), (Info{CountryISO: "US", CountryName: "United States"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("asn only", func(t *testing.T) {
		db, err := Open(write(t, map[string][]byte{"GeoLite2-ASN.mmdb": asnBytes}))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got, want := db.Lookup(ip), (Info{ASN: 15169, ASName: "Google LLC"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
	t.Run("GeoIP2 beats GeoLite2", func(t *testing.T) {
		dir := write(t, map[string][]byte{"GeoIP2-City.mmdb": city, "GeoLite2-City.mmdb": []byte("not read")})
		db, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := db.Files(); len(got) != 1 || filepath.Base(got[0]) != "GeoIP2-City.mmdb" {
			t.Errorf("Files = %v, want GeoIP2-City.mmdb alone", got)
		}
	})
	for name, b := range map[string][]byte{
		"garbage":       []byte("this is not a MaxMind database at all"),
		"empty":         {},
		"truncated":     asnBytes[:len(asnBytes)/2],
		"metadata only": asnBytes[len(asnBytes)-200:],
	} {
		t.Run("corrupt "+name+" is an error", func(t *testing.T) {
			dir := write(t, map[string][]byte{"GeoLite2-City.mmdb": city, "GeoLite2-ASN.mmdb": b})
			db, err := Open(dir)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded on a corrupt ASN file")
			}
			if errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "GeoLite2-ASN.mmdb") {
				t.Errorf("error %q should name the corrupt file", err)
			}
		})
	}
}

func TestConcurrentLookup(t *testing.T) {
	db, err := openBytes(cityDB(t), nil, asnDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := map[netip.Addr]Info{
		netip.MustParseAddr("8.8.8.4"):       {CountryISO: "US", CountryName: "United States", City: "Mountain View", ASN: 15169, ASName: "Google LLC"},
		netip.MustParseAddr("2a00:1450::1"):  {CountryISO: "IE", CountryName: "Ireland", City: "Dublin", ASN: 15169, ASName: "Google LLC"},
		netip.MustParseAddr("81.2.69.1"):     {CountryISO: "GB", ASN: 20712},
		netip.MustParseAddr("192.168.77.1"):  {},
		netip.MustParseAddr("203.0.113.200"): {},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				for addr, want := range cases {
					if got := db.Lookup(addr); got != want {
						errs <- addr.String()
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for a := range errs {
		t.Errorf("concurrent Lookup(%s) gave a wrong answer", a)
	}
}

// FuzzOpenBytes: any bytes as a database give an error or answers, never
// a panic or a hang.
func FuzzOpenBytes(f *testing.F) {
	f.Add(asnDB(f))
	f.Add(cityDB(f))
	f.Add([]byte("\xab\xcd\xefMaxMind.com"))
	addrs := []netip.Addr{
		netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2a00:1450::1"),
		netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("255.254.253.252"),
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := openBytes(b, nil, b)
		if err != nil {
			return
		}
		defer db.Close()
		for _, a := range addrs {
			db.Lookup(a)
		}
		db.Countries() // walks the whole tree
	})
}

// The open country file's records are {"country_code": "US"} only
// (ip-location-db); the name comes from ISO 3166-1.
func TestLookupCodeOnlyCountry(t *testing.T) {
	code := func(c string) mmdbtype.DataType { return mmdbtype.Map{"country_code": mmdbtype.String(c)} }
	country := writeDB(t, "country ipvAll", map[string]mmdbtype.DataType{
		"8.8.8.0/24":     code("US"),
		"2a00:1450::/32": code("IE"),
		"193.0.0.0/21":   code("NL"),
		"5.6.7.0/24":     code("ZZ"), // ISO assigns no ZZ: no country
		"6.6.6.0/24":     mmdbtype.Map{"country_code": mmdbtype.Uint32(840)},
		"7.7.7.0/24":     mmdbtype.Map{"country_code": mmdbtype.String("")},
	})
	db, err := openBytes(nil, country, asnDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		addr string
		want Info
	}{
		{"8.8.8.8", Info{CountryISO: "US", CountryName: "United States", ASN: 15169, ASName: "Google LLC"}},
		{"2a00:1450:4001:81c::200e", Info{CountryISO: "IE", CountryName: "Ireland", ASN: 15169, ASName: "Google LLC"}},
		{"193.0.6.139", Info{CountryISO: "NL", CountryName: "Netherlands"}},
		{"5.6.7.8", Info{}},
		{"6.6.6.6", Info{}}, // wrong type; the AS record is damaged too
		{"7.7.7.7", Info{}},
		{"10.1.2.3", Info{}},
	} {
		if got := db.Lookup(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.addr, got, tc.want)
		}
	}
	got := db.Countries()
	want := map[string]string{"US": "United States", "IE": "Ireland", "NL": "Netherlands"}
	if len(got) != len(want) {
		t.Errorf("Countries: %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Countries[%s] = %q, want %q", k, got[k], v)
		}
	}
}

// Open picks MaxMind's files over the open ones in the same directory, and
// the open ones alone when they are all there is.
func TestOpenPrefersMaxMindFiles(t *testing.T) {
	open := writeDB(t, "country ipvAll", map[string]mmdbtype.DataType{"8.8.8.0/24": mmdbtype.Map{"country_code": mmdbtype.String("DE")}})
	openASN := writeDB(t, "ip-location-db-ASN", map[string]mmdbtype.DataType{"8.8.8.0/24": asn(3320, "Deutsche Telekom AG")})
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  Info
	}{
		{"open only", map[string][]byte{OpenCountryFile: open, OpenASNFile: openASN},
			Info{CountryISO: "DE", CountryName: "Germany", ASN: 3320, ASName: "Deutsche Telekom AG"}},
		{"GeoLite2 beside", map[string][]byte{OpenCountryFile: open, OpenASNFile: openASN, "GeoLite2-Country.mmdb": countryDB(t), "GeoLite2-ASN.mmdb": asnDB(t)},
			Info{CountryISO: "US", CountryName: "United States", ASN: 15169, ASName: "Google LLC"}},
		{"GeoLite2 country, open AS", map[string][]byte{OpenCountryFile: open, OpenASNFile: openASN, "GeoLite2-Country.mmdb": countryDB(t)},
			Info{CountryISO: "US", CountryName: "United States", ASN: 3320, ASName: "Deutsche Telekom AG"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := db.Lookup(netip.MustParseAddr("8.8.8.8")); got != tc.want {
				t.Errorf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
