// Package geoip answers the country, city and autonomous system of an
// address from MaxMind-format (.mmdb) databases: the open-licensed files
// the image ships (ip-location-db's country file and the AS file
// tools/asnmmdb makes, pinned in firmware/geoip.lock), or the user's own
// GeoLite2/GeoIP2 files in a directory of their choice.
//
// Open(dir) looks in dir for these file names, the first one present of
// each role being used:
//
//	city:    GeoIP2-City.mmdb, GeoLite2-City.mmdb
//	country: GeoIP2-Country.mmdb, GeoLite2-Country.mmdb, geo-whois-asn-country.mmdb
//	AS:      GeoIP2-ISP.mmdb, GeoLite2-ASN.mmdb, ip-location-db-asn.mmdb
//
// MaxMind's files win over the open ones in the same directory: they
// carry the continent and MaxMind's country names. The open country file's
// records hold only {"country_code": "US"}; the English name then comes
// from ISO 3166-1 (isonames.go) and the continent stays empty. The open AS
// file has GeoLite2-ASN's record shape.
//
// A city database answers the country too, so with a city file the
// country file only serves the list of country names (Countries: a walk
// of the small country file takes a sixth of a walk of the city file). Any subset of the roles is fine (ASN
// only, country only...); a role without a file answers empty fields.
//
// A nil *DB is valid and answers empty: the probe runs without databases.
// Addresses that are not globally routable (private, loopback, link-local,
// CGNAT, documentation, multicast...) answer empty without a lookup: no
// public database places them, and whatever a database says about them
// is not about the host the probe saw.
package geoip

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Info is what the databases say about one address; fields the databases
// do not have are empty (zero ASN: unknown).
type Info struct {
	CountryISO  string // ISO 3166-1 alpha-2 code, e.g. "US"
	CountryName string // English name, e.g. "United States"
	City        string // English name; only from a city database
	ASN         uint32 // autonomous system number
	ASName      string // autonomous system organisation
	Continent   string // continent code, e.g. "EU"
	// Latitude and Longitude are the approximate place (city database
	// only; both 0 when unknown).
	Latitude, Longitude float64
}

// The file names Open looks for, by role, in order of preference: a
// commercial GeoIP2 file beats the free GeoLite2 one when both are there.
var (
	CityFiles    = []string{"GeoIP2-City.mmdb", "GeoLite2-City.mmdb"}
	CountryFiles = []string{"GeoIP2-Country.mmdb", "GeoLite2-Country.mmdb", OpenCountryFile}
	ASNFiles     = []string{"GeoIP2-ISP.mmdb", "GeoLite2-ASN.mmdb", OpenASNFile}
)

// The open-licensed files the image ships, by the names they have there
// (firmware/geoip.lock): ip-location-db's country database as its npm
// package names it, and the AS database tools/asnmmdb makes.
const (
	OpenCountryFile = "geo-whois-asn-country.mmdb"
	OpenASNFile     = "ip-location-db-asn.mmdb"
)

// ErrNoDatabase is returned (wrapped) by Open when the directory holds
// none of the known files. The caller decides whether that is fatal (a
// --geoip-dir the user gave) or not (the image's default directory).
var ErrNoDatabase = errors.New("no GeoIP database")

// DB answers lookups; it is safe for concurrent use. Close it only after
// the last Lookup.
type DB struct {
	city    *maxminddb.Reader // country and city; nil without a city file
	country *maxminddb.Reader // country (when city is nil) and Countries; nil without a file
	asn     *maxminddb.Reader
	files   []string // paths opened, for Files
	cache   *cache   // recent answers by address
}

// Open reads the databases in dir (see the package comment for the file
// names). A file that is present but unreadable or not a valid MaxMind DB
// is an error, never a silently empty answer.
func Open(dir string) (*DB, error) {
	db := &DB{cache: newCache(DefaultCacheSize)}
	var err error
	if db.city, err = db.open(dir, CityFiles); err == nil {
		db.country, err = db.open(dir, CountryFiles)
	}
	if err == nil {
		db.asn, err = db.open(dir, ASNFiles)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	if len(db.files) == 0 {
		return nil, fmt.Errorf("geoip: %s has none of %v %v %v: %w", dir, CityFiles, CountryFiles, ASNFiles, ErrNoDatabase)
	}
	return db, nil
}

// open opens the first of names present in dir; none present is (nil, nil).
func (db *DB) open(dir string, names []string) (*maxminddb.Reader, error) {
	for _, name := range names {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		r, err := maxminddb.Open(p)
		if err != nil {
			return nil, fmt.Errorf("geoip: open %s: %w", p, err)
		}
		db.files = append(db.files, p)
		return r, nil
	}
	return nil, nil
}

// openBytes builds a DB from database images in memory (nil: role absent);
// the tests and the fuzz target use it.
func openBytes(city, country, asn []byte) (*DB, error) {
	db := &DB{cache: newCache(DefaultCacheSize)}
	for _, x := range []struct {
		b   []byte
		dst **maxminddb.Reader
	}{{city, &db.city}, {country, &db.country}, {asn, &db.asn}} {
		if x.b == nil {
			continue
		}
		r, err := maxminddb.OpenBytes(x.b)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("geoip: open database bytes: %w", err)
		}
		*x.dst = r
	}
	return db, nil
}

// Files is the paths of the databases in use (for logs and the about page).
func (db *DB) Files() []string {
	if db == nil {
		return nil
	}
	return append([]string(nil), db.files...)
}

// Close releases the databases (their memory maps).
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	var errs []error
	for _, r := range []*maxminddb.Reader{db.city, db.country, db.asn} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}

// placeRecord is the part of a GeoIP2/GeoLite2 City or Country record the
// probe shows. Decoding into fixed structs (not maps) keeps a lookup to a
// few small allocations.
type placeRecord struct {
	City struct {
		Names englishName `maxminddb:"names"`
	} `maxminddb:"city"`
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country  countryRecord `maxminddb:"country"`
	Location struct {
		Latitude  float64 `maxminddb:"latitude"`
		Longitude float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
	RegisteredCountry countryRecord `maxminddb:"registered_country"`
	// CountryCode is ip-location-db's whole record (ISO 3166-1 alpha-2).
	CountryCode string `maxminddb:"country_code"`
}

type countryRecord struct {
	ISOCode string      `maxminddb:"iso_code"`
	Names   englishName `maxminddb:"names"`
}

type englishName struct {
	EN string `maxminddb:"en"`
}

// asnRecord is a GeoLite2-ASN record (GeoIP2-ISP records carry the same
// two fields).
type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// Lookup answers what the databases say about addr. IPv4-mapped IPv6
// addresses are looked up as IPv4; addresses that are not globally
// routable, an invalid addr and a nil DB answer empty. A record the
// database holds in an unexpected shape answers empty fields for that
// database rather than an error: a hostile or damaged file costs the
// probe its geography, never a crash.
//
// Answers are cached by address (see cache): callers look up wherever an
// answer shows an address, and a host costs one database lookup while it
// is in use.
func (db *DB) Lookup(addr netip.Addr) Info {
	addr = addr.Unmap()
	if db == nil || !Routable(addr) {
		return Info{}
	}
	if info, ok := db.cache.get(addr); ok {
		return info
	}
	info := db.lookup(addr)
	db.cache.put(addr, info)
	return info
}

// lookup reads the databases for a routable, unmapped addr (no cache).
func (db *DB) lookup(addr netip.Addr) Info {
	var info Info
	place := db.city
	if place == nil {
		place = db.country
	}
	if place != nil {
		var rec placeRecord
		if err := place.Lookup(addr).Decode(&rec); err == nil {
			c := rec.Country
			// Some networks (anycast, satellite, EU-wide) carry only the
			// country they are registered in; that beats no country.
			if c.ISOCode == "" {
				c = rec.RegisteredCountry
			}
			if c.ISOCode == "" {
				c = codeOnly(rec.CountryCode)
			}
			info.CountryISO, info.CountryName = c.ISOCode, c.Names.EN
			info.City = rec.City.Names.EN
			info.Continent = rec.Continent.Code
			info.Latitude, info.Longitude = rec.Location.Latitude, rec.Location.Longitude
		}
	}
	if db.asn != nil {
		var rec asnRecord
		if err := db.asn.Lookup(addr).Decode(&rec); err == nil {
			info.ASN, info.ASName = rec.Number, rec.Org
		}
	}
	return info
}

// nonGlobal lists the special-purpose blocks (IANA IPv4 and IPv6
// Special-Purpose Address Registries) that netip's predicates do not
// cover and that no host on the internet answers from.
var nonGlobal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space (CGNAT)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use IPv4/IPv6 translation
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("3fff::/20"),       // documentation
	netip.MustParsePrefix("5f00::/16"),       // segment routing SIDs
}

// Routable tells whether addr may be a host on the internet, i.e. whether
// a GeoIP lookup means anything for it.
func Routable(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() || addr.IsPrivate() || addr.IsLoopback() || addr.IsUnspecified() ||
		addr.IsLinkLocalUnicast() || addr.IsMulticast() {
		return false
	}
	for _, p := range nonGlobal {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// Countries is every country the place database names, English name by
// ISO code (nil without a place database). It walks the whole database
// (each distinct record decoded once), so callers keep the answer.
func (db *DB) Countries() map[string]string {
	if db == nil {
		return nil
	}
	place := db.country
	if place == nil {
		place = db.city
	}
	if place == nil {
		return nil
	}
	out := map[string]string{}
	seen := map[uintptr]bool{}
	// A search tree of n nodes has at most n+1 leaves; a damaged or
	// hostile file whose nodes share children would have exponentially
	// many paths: the walk stops at that bound (what was read stands).
	// Leaves without data count too, so a tree of empty leaves ends.
	budget := place.Metadata.NodeCount + 1
	for res := range place.Networks(maxminddb.IncludeNetworksWithoutData()) {
		if res.Err() != nil || budget == 0 {
			break
		}
		budget--
		if !res.Found() {
			continue
		}
		off := res.Offset()
		if seen[off] {
			continue
		}
		seen[off] = true
		var rec struct {
			Country           countryRecord `maxminddb:"country"`
			RegisteredCountry countryRecord `maxminddb:"registered_country"`
			CountryCode       string        `maxminddb:"country_code"`
		}
		if res.Decode(&rec) != nil {
			continue
		}
		for _, c := range []countryRecord{rec.Country, rec.RegisteredCountry, codeOnly(rec.CountryCode)} {
			if c.ISOCode != "" && out[c.ISOCode] == "" {
				out[c.ISOCode] = c.Names.EN
			}
		}
	}
	return out
}

// codeOnly is the country of a record that holds only its ISO code (the
// open country file): the English name from ISO 3166-1. A code ISO does not
// assign (a damaged file, or a pseudo-code like "EU") keeps an empty name
// rather than passing itself off as a country.
func codeOnly(code string) countryRecord {
	c := countryRecord{ISOCode: code}
	c.Names.EN = isoCountryNames[code]
	if c.Names.EN == "" {
		c.ISOCode = ""
	}
	return c
}
