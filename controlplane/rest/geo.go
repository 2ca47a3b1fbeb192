package rest

import (
	"cmp"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/geoip"
)

// Geography: the country, city and autonomous system of remote hosts
// (Config.GeoIP; nil: the fields stay empty) in the answers that carry
// them, the get/host/active filters and sort by country and AS, and v2's
// get/asn and get/country calls.
//
// Every answer asks s.geo for an address when it shows it: the database
// keeps the answers of recent addresses (geoip's cache), so a host costs
// one lookup while it is shown, and no geography is held in the flow
// tables, which the packet path fills.
//
// Where the answers put it (ntopng's names):
//   - get/host/data: country (ISO code), city, asn, asname, continent
//     (code), latitude, longitude (0 without a city database);
//   - get/host/active (and v2): country (ISO code), already in every entry;
//     filters asn=N and country=CC, sortColumn=country;
//   - get/flow/active: client.country and server.country (ISO code), only
//     when known (an answer without databases is unchanged); filter asn=N
//     (flows with either side in the AS, as ntopng's);
//   - v1 alert lists: flow.cli_ip.country and flow.srv_ip.country, as
//     ntopng 5's records have them (../shared/conformance result
//     get_alert_data_01).
//
// Choices made without a recorded answer (the v2 table lists only the
// parameters and rc codes of the three v2 calls):
//   - get/asn/asn_name.lua?ip=ADDR answers {"asn", "asname"} of the
//     address (0 and "" for one the databases do not place).
//   - get/asn/asn_info.lua?ifid&asn=N answers the AS as the interface saw
//     it, in the shape of ntopng's AutonomousSystem::lua as far as the
//     probe measures it: asn, asname, num_hosts, bytes and packets sent
//     and received by its hosts, seen.first/last. An AS with no active
//     host answers zeros (OK), not an error: the table lists no NOT_FOUND.
//   - get/country/country_name.lua?country_id=ID takes ntopng's numeric
//     country id (the two letters of the ISO code packed into 16 bits, as
//     its historical flows store them: "US" is 0x5553 = 21843) or the ISO
//     code itself, and answers {"country_id", "country_code", "name"};
//     names are the databases' English names.
//   - Without databases the three answer NOT_ENABLED.

// geo is what the databases say about a; empty without databases.
func (s *Server) geo(a netip.Addr) geoip.Info { return s.cfg.GeoIP.Lookup(a) }

// geoOf is geo for an address in text (alert records keep them so).
func (s *Server) geoOf(ip string) geoip.Info {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return geoip.Info{}
	}
	return s.geo(a)
}

// setGeo fills get/host/data's geography.
func (d *hostDataAnswer) setGeo(g geoip.Info) {
	d.Country, d.City, d.ASN, d.ASName = g.CountryISO, g.City, int(g.ASN), g.ASName
	d.Continent, d.Latitude, d.Longitude = g.Continent, Num(g.Latitude), Num(g.Longitude)
}

// geoFilter is get/host/active's asn and country filters, as ntopng's
// host walker applies them: asn a number (0: hosts with no AS), country an
// ISO code; a value that is not one is no filter.
type geoFilter struct {
	db      *geoip.DB
	asn     int64 // -1: any
	country string
}

func newGeoFilter(db *geoip.DB, p Params) geoFilter {
	f := geoFilter{db: db, asn: -1, country: strings.ToUpper(p["country"])}
	if v, err := strconv.ParseUint(p["asn"], 10, 32); err == nil {
		f.asn = int64(v)
	}
	return f
}

func (f geoFilter) active() bool { return f.asn >= 0 || f.country != "" }

func (f geoFilter) match(h *flowtable.Host) bool {
	return !f.active() || f.matchAddr(h.Key.Addr)
}

func (f geoFilter) matchAddr(a netip.Addr) bool {
	g := f.db.Lookup(a)
	return (f.asn < 0 || int64(g.ASN) == f.asn) && (f.country == "" || g.CountryISO == f.country)
}

// hostSortKey is get/host/active's comparison for sortColumn, made for
// one request; country sorts by ISO code (hosts the databases do not
// place first, ascending). A sort compares each host about 2·log2(n)
// times: each host's code is read once and remembered for the request.
func (s *Server) hostSortKey(col string) func(a, b *flowtable.Host) int {
	if col == "column_country" && s.cfg.GeoIP != nil {
		memo := map[*flowtable.Host]string{}
		iso := func(h *flowtable.Host) string {
			c, ok := memo[h]
			if !ok {
				c = s.geo(h.Key.Addr).CountryISO
				memo[h] = c
			}
			return c
		}
		return func(a, b *flowtable.Host) int { return strings.Compare(iso(a), iso(b)) }
	}
	return hostSortKeys[col]
}

func (s *Server) addGeoRoutes(t routeTable) {
	t.read(restV2Prefix+"get/asn/asn_name.lua", roleUser, capNone, s.getASNName)
	t.read(restV2Prefix+"get/asn/asn_info.lua", roleUser, capNone, s.getASNInfo)
	t.read(restV2Prefix+"get/country/country_name.lua", roleUser, capNone, s.getCountryName)
}

// geoNotEnabled is the answer of a geography call without databases.
func geoNotEnabled() (RC, any) {
	return RCNotEnabled, map[string]string{"error": "no GeoIP databases: give the probe --geoip-dir"}
}

type asnName struct {
	ASN    uint32 `json:"asn"`
	ASName string `json:"asname"`
}

func (s *Server) getASNName(r *request) (RC, any) {
	if s.cfg.GeoIP == nil {
		return geoNotEnabled()
	}
	ip, _, _ := strings.Cut(r.params["ip"], "@")
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return RCInvalidArguments, map[string]string{"error": "ip must be an IP address"}
	}
	g := s.geo(a)
	return RCOK, asnName{ASN: g.ASN, ASName: g.ASName}
}

// asInfo is get/asn/asn_info's answer: an AS as the interface saw it.
type asInfo struct {
	ASN         uint32 `json:"asn"`
	ASName      string `json:"asname"`
	BytesRcvd   uint64 `json:"bytes.rcvd"`
	BytesSent   uint64 `json:"bytes.sent"`
	NumHosts    int    `json:"num_hosts"`
	PacketsRcvd uint64 `json:"packets.rcvd"`
	PacketsSent uint64 `json:"packets.sent"`
	SeenFirst   int64  `json:"seen.first"`
	SeenLast    int64  `json:"seen.last"`
}

func (s *Server) getASNInfo(r *request) (RC, any) {
	if s.cfg.GeoIP == nil {
		return geoNotEnabled()
	}
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	n, err := strconv.ParseUint(r.params["asn"], 10, 32)
	if err != nil {
		return RCInvalidArguments, map[string]string{"error": "asn must be an AS number"}
	}
	out := asInfo{ASN: uint32(n)}
	// Addresses first, lookups after: the table is not held while the
	// databases are read.
	type hostSums struct {
		addr        netip.Addr
		t           flowtable.DirCounters
		first, last int64
	}
	var hosts []hostSums
	ifc.Table.View(func(v flowtable.View) {
		for _, h := range v.Hosts() {
			if !h.Local && r.vis.sees(h.Key.Addr) && geoip.Routable(h.Key.Addr) {
				hosts = append(hosts, hostSums{h.Key.Addr, h.Traffic, h.FirstSeen, h.LastSeen})
			}
		}
	})
	for _, h := range hosts {
		g := s.geo(h.addr)
		if g.ASN != out.ASN {
			continue
		}
		out.ASName = cmp.Or(out.ASName, g.ASName)
		out.NumHosts++
		out.BytesSent += h.t.BytesSent
		out.BytesRcvd += h.t.BytesRcvd
		out.PacketsSent += h.t.PktsSent
		out.PacketsRcvd += h.t.PktsRcvd
		if first := h.first / 1e9; out.SeenFirst == 0 || first < out.SeenFirst {
			out.SeenFirst = first
		}
		out.SeenLast = max(out.SeenLast, h.last/1e9)
	}
	return RCOK, out
}

type countryName struct {
	CountryID   int    `json:"country_id"`
	CountryCode string `json:"country_code"`
	Name        string `json:"name"`
}

func (s *Server) getCountryName(r *request) (RC, any) {
	if s.cfg.GeoIP == nil {
		return geoNotEnabled()
	}
	code, ok := countryCode(r.params["country_id"])
	if !ok {
		return RCInvalidArguments, map[string]string{"error": "country_id must be a country id or an ISO 3166 code"}
	}
	return RCOK, countryName{CountryID: int(code[0])<<8 | int(code[1]), CountryCode: code, Name: s.countryNames()[code]}
}

// countryCode reads ntopng's numeric country id or an ISO code.
func countryCode(v string) (string, bool) {
	if n, err := strconv.ParseUint(v, 10, 16); err == nil {
		v = string([]byte{byte(n >> 8), byte(n)})
	}
	v = strings.ToUpper(v)
	if len(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z' {
		return "", false
	}
	return v, true
}

// countryNames are the databases' country names by ISO code, read once
// (geoip.DB.Countries walks a database; the names never change while the
// files are open).
func (s *Server) countryNames() map[string]string {
	s.countriesOnce.Do(func() { s.countries = s.cfg.GeoIP.Countries() })
	return s.countries
}

// geoNames is the lazily built country name table; it lives on Server.
type geoNames struct {
	countriesOnce sync.Once
	countries     map[string]string
}
