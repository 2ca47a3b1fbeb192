package rest

import (
	"encoding/json"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/fixture"
)

// realGeoIP opens the pinned GeoLite2 databases (fixture.GeoIPDir).
func realGeoIP(tb testing.TB) *geoip.DB {
	tb.Helper()
	db, err := geoip.Open(fixture.GeoIPDir(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// The remote hosts of the tests and what the pinned databases say of
// them: public facts about well-known networks, as libmaxminddb's
// mmdblookup reads the pinned files (see controlplane/geoip/real_test.go).
var geoHosts = []struct {
	addr, iso string
	asn       int
	asName    string
}{
	{"8.8.8.8", "US", 15169, "Google LLC"},
	{"9.9.9.9", "US", 19281, "Quad9"},
	{"193.0.6.139", "NL", 3333, "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)"},
	{"2001:4860:4860::8888", "US", 15169, "Google LLC"},
	{"10.1.2.3", "", 0, ""}, // private: no geography
}

// geoServer is a server whose table has the local host 192.168.1.10
// talking to each of geoHosts (TCP to 443, one packet each way).
func geoServer(tb testing.TB, db *geoip.DB) *Server {
	st, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	au, err := auth.New(st)
	if err != nil {
		tb.Fatal(err)
	}
	table := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{
		netip.MustParsePrefix("192.168.1.0/24"), netip.MustParsePrefix("fd00::/64")}})
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i, h := range geoHosts {
		remote := netip.MustParseAddr(h.addr)
		local, ver := netip.MustParseAddr("192.168.1.10"), uint8(4)
		if remote.Is6() {
			local, ver = netip.MustParseAddr("fd00::10"), 6
		}
		table.HandlePacket(&decode.Packet{Timestamp: ts + int64(i), WireLen: 100, IPVersion: ver,
			Src: local, Dst: remote, Proto: 6, SrcPort: uint16(40000 + i), DstPort: 443, TCPFlags: decode.TCPSyn}, decode.ErrNone)
		table.HandlePacket(&decode.Packet{Timestamp: ts + int64(i) + 1000, WireLen: 60, IPVersion: ver,
			Src: remote, Dst: local, Proto: 6, SrcPort: 443, DstPort: uint16(40000 + i), TCPFlags: decode.TCPSyn | decode.TCPAck}, decode.ErrNone)
	}
	return New(Config{
		Interfaces: []Interface{{ID: 0, Name: "geo.pcap", Table: table, SpeedMbps: 1000}},
		Auth:       au, Store: st, DisableLogin: true, HTTPPort: 3000, GeoIP: db,
	})
}

// geoCall answers uri's rc and rsp.
func geoCall(t *testing.T, s *Server, uri string) (int, json.RawMessage) {
	t.Helper()
	ctx := do(s, uri, nil)
	var env struct {
		RC  int             `json:"rc"`
		Rsp json.RawMessage `json:"rsp"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil {
		t.Fatalf("%s: %v in %.300s", uri, err, ctx.Response.Body())
	}
	return env.RC, env.Rsp
}

func TestGeoHostData(t *testing.T) {
	s := geoServer(t, realGeoIP(t))
	for _, h := range geoHosts {
		rc, rsp := geoCall(t, s, "/lua/rest/v1/get/host/data.lua?ifid=0&host="+h.addr)
		var d struct {
			Country, City, ASName string
			ASN                   int
		}
		if err := json.Unmarshal(rsp, &d); rc != 0 || err != nil {
			t.Fatalf("%s: rc %d, %v", h.addr, rc, err)
		}
		if d.Country != h.iso || d.ASN != h.asn || d.ASName != h.asName {
			t.Errorf("%s: country %q asn %d asname %q, want %q %d %q", h.addr, d.Country, d.ASN, d.ASName, h.iso, h.asn, h.asName)
		}
	}
	// Continent and place (mmdblookup on the pinned city file: EU,
	// 52.382400 4.899500).
	_, rsp := geoCall(t, s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=193.0.6.139")
	if !strings.Contains(string(rsp), `"continent":"EU"`) || !strings.Contains(string(rsp), `"latitude":52.3824`) || !strings.Contains(string(rsp), `"longitude":4.8995`) {
		t.Errorf("193.0.6.139 continent and place: %.2000s", rsp)
	}
	// The local host is nowhere.
	_, rsp = geoCall(t, s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=192.168.1.10")
	if !strings.Contains(string(rsp), `"asn":0,"asname":""`) || !strings.Contains(string(rsp), `"country":""`) {
		t.Errorf("local host has geography: %.400s", rsp)
	}
	// The v2 twin answers the same.
	if _, rsp := geoCall(t, s, "/lua/rest/v2/get/host/data.lua?ifid=0&host=8.8.8.8"); !strings.Contains(string(rsp), `"asn":15169,"asname":"Google LLC"`) || !strings.Contains(string(rsp), `"country":"US"`) {
		t.Errorf("v2 host data: %.300s", rsp)
	}
	// custom_data picks the same fields.
	_, rsp = geoCall(t, s, "/lua/rest/v1/get/host/custom_data.lua?ifid=0&host=193.0.6.139&field_alias=country,asn")
	if !strings.Contains(string(rsp), `"NL"`) || !strings.Contains(string(rsp), `3333`) {
		t.Errorf("custom_data: %s", rsp)
	}
}

// hostIPs is the ip of each entry of a host list, in order.
func hostIPs(t *testing.T, rsp json.RawMessage) ([]string, map[string]string) {
	t.Helper()
	var l struct {
		Data []struct{ IP, Country string }
	}
	if err := json.Unmarshal(rsp, &l); err != nil {
		t.Fatal(err)
	}
	var ips []string
	country := map[string]string{}
	for _, e := range l.Data {
		ips = append(ips, e.IP)
		country[e.IP] = e.Country
	}
	return ips, country
}

func TestGeoHostActive(t *testing.T) {
	s := geoServer(t, realGeoIP(t))
	const list = "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=50"
	_, rsp := geoCall(t, s, list)
	_, country := hostIPs(t, rsp)
	for _, h := range geoHosts {
		if got, ok := country[h.addr]; !ok || got != h.iso {
			t.Errorf("%s: country %q (listed %v), want %q", h.addr, got, ok, h.iso)
		}
	}
	for _, tc := range []struct {
		query string
		want  []string // in order
	}{
		{"&asn=15169&sortColumn=ip&sortOrder=asc", []string{"8.8.8.8", "2001:4860:4860::8888"}},
		{"&asn=3333", []string{"193.0.6.139"}},
		{"&country=NL", []string{"193.0.6.139"}},
		{"&country=nl", []string{"193.0.6.139"}},
		{"&country=US&asn=19281", []string{"9.9.9.9"}},
		{"&country=JP", nil},
		// asn=0 is the hosts without an AS: the local ones and the private one.
		{"&asn=0&sortColumn=ip&sortOrder=asc", []string{"10.1.2.3", "192.168.1.10", "fd00::10"}},
		// Country ascending: unplaced first, then NL, then US (by address
		// within a country).
		{"&sortColumn=country&sortOrder=asc", []string{"10.1.2.3", "192.168.1.10", "fd00::10", "193.0.6.139", "8.8.8.8", "9.9.9.9", "2001:4860:4860::8888"}},
		{"&sortColumn=country&sortOrder=desc&perPage=2", []string{"2001:4860:4860::8888", "9.9.9.9"}},
		// Not a number: no filter, as ntopng's tonumber.
		{"&asn=google&mode=remote&sortColumn=ip&sortOrder=asc", []string{"8.8.8.8", "9.9.9.9", "10.1.2.3", "193.0.6.139", "2001:4860:4860::8888"}},
	} {
		rc, rsp := geoCall(t, s, list+tc.query)
		got, _ := hostIPs(t, rsp)
		if rc != 0 || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: rc %d, %v, want %v", tc.query, rc, got, tc.want)
		}
	}
	// The v2 twin filters the same way.
	_, rsp = geoCall(t, s, "/lua/rest/v2/get/host/active.lua?ifid=0&all=true&country=NL")
	if got, _ := hostIPs(t, rsp); strings.Join(got, ",") != "193.0.6.139" {
		t.Errorf("v2 country=NL: %v", got)
	}
}

func TestGeoFlowActive(t *testing.T) {
	s := geoServer(t, realGeoIP(t))
	_, rsp := geoCall(t, s, "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=50")
	var l struct {
		Data []struct {
			Client, Server map[string]any
		}
	}
	if err := json.Unmarshal(rsp, &l); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, h := range geoHosts {
		want[h.addr] = h.iso
	}
	if len(l.Data) != len(geoHosts) {
		t.Fatalf("%d flows, want %d", len(l.Data), len(geoHosts))
	}
	for _, f := range l.Data {
		// Client is the local host: no country key at all, as before.
		if _, ok := f.Client["country"]; ok {
			t.Errorf("client %v has a country", f.Client["ip"])
		}
		ip, _ := f.Server["ip"].(string)
		got, _ := f.Server["country"].(string)
		if got != want[ip] {
			t.Errorf("server %s: country %q, want %q", ip, got, want[ip])
		}
	}
}

func TestGeoFlowActiveASNFilter(t *testing.T) {
	s := geoServer(t, realGeoIP(t))
	for q, want := range map[string]string{
		"&asn=15169": "2001:4860:4860::8888,8.8.8.8",
		"&asn=3333":  "193.0.6.139",
		"&asn=64496": "",
		// 0: either side without an AS, i.e. every flow here (the clients
		// are local).
		"&asn=0": "10.1.2.3,193.0.6.139,2001:4860:4860::8888,8.8.8.8,9.9.9.9",
	} {
		_, rsp := geoCall(t, s, "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=50"+q)
		var l struct {
			Data []struct{ Server struct{ IP string } }
		}
		if err := json.Unmarshal(rsp, &l); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range l.Data {
			got = append(got, f.Server.IP)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			t.Errorf("%s: servers %v, want %s", q, got, want)
		}
	}
}

func TestGeoAlertRecords(t *testing.T) {
	s := geoServer(t, realGeoIP(t))
	a := &alert.Alert{Family: alert.FamilyFlow, TypeID: alert.FlowUnidirectional, Tstamp: 1, TstampEnd: 1, Count: 1,
		Flow: &alert.FlowAlert{CliIP: "192.168.1.10", SrvIP: "193.0.6.139", CliPort: 40000, SrvPort: 443, Proto: 6}}
	rec := s.alertRecord(a, 2)
	if rec.Flow.CliIP.Country != "" || rec.Flow.SrvIP.Country != "NL" {
		t.Errorf("cli %q srv %q, want \"\" and NL", rec.Flow.CliIP.Country, rec.Flow.SrvIP.Country)
	}
	a.Flow.CliIP, a.Flow.SrvIP = "9.9.9.9", "not an address"
	rec = s.alertRecord(a, 2)
	if rec.Flow.CliIP.Country != "US" || rec.Flow.SrvIP.Country != "" {
		t.Errorf("cli %q srv %q, want US and \"\"", rec.Flow.CliIP.Country, rec.Flow.SrvIP.Country)
	}
}

func TestGeoV2Calls(t *testing.T) {
	s := geoServer(t, realGeoIP(t))
	for _, tc := range []struct {
		uri  string
		rc   int
		want string // "": not compared
	}{
		{"get/asn/asn_name.lua?ip=8.8.8.8", 0, `{"asn":15169,"asname":"Google LLC"}`},
		{"get/asn/asn_name.lua?ip=2001:4860:4860::8888", 0, `{"asn":15169,"asname":"Google LLC"}`},
		{"get/asn/asn_name.lua?ip=192.168.1.1", 0, `{"asn":0,"asname":""}`},
		{"get/asn/asn_name.lua", -5, ""},
		{"get/asn/asn_name.lua?ip=dns.google", -5, ""},
		// 8.8.8.8 and 2001:4860:4860::8888: 100+60 bytes each way... sent
		// is what the AS's hosts sent (60 each), received 100 each.
		{"get/asn/asn_info.lua?ifid=0&asn=15169", 0, `{"asn":15169,"asname":"Google LLC","bytes.rcvd":200,"bytes.sent":120,"num_hosts":2,"packets.rcvd":2,"packets.sent":2,"seen.first":1767225600,"seen.last":1767225600}`},
		{"get/asn/asn_info.lua?ifid=0&asn=64496", 0, `{"asn":64496,"asname":"","bytes.rcvd":0,"bytes.sent":0,"num_hosts":0,"packets.rcvd":0,"packets.sent":0,"seen.first":0,"seen.last":0}`},
		{"get/asn/asn_info.lua?ifid=0", -5, ""},
		{"get/asn/asn_info.lua?ifid=7&asn=15169", -2, ""},
		{"get/country/country_name.lua?country_id=21843", 0, `{"country_id":21843,"country_code":"US","name":"United States"}`},
		{"get/country/country_name.lua?country_id=nl", 0, `{"country_id":20044,"country_code":"NL","name":"The Netherlands"}`},
		{"get/country/country_name.lua?country_id=USA", -5, ""},
		{"get/country/country_name.lua?country_id=12", -5, ""},
		{"get/country/country_name.lua", -5, ""},
	} {
		rc, rsp := geoCall(t, s, restV2Prefix+tc.uri)
		if rc != tc.rc || tc.want != "" && string(rsp) != tc.want {
			t.Errorf("%s: rc %d %s, want %d %s", tc.uri, rc, rsp, tc.rc, tc.want)
		}
	}
}

// Without databases the answers are as before (the golden files) and the
// geography calls are not enabled.
func TestGeoWithoutDatabases(t *testing.T) {
	s := geoServer(t, nil)
	for _, uri := range []string{"get/asn/asn_name.lua?ip=8.8.8.8", "get/asn/asn_info.lua?ifid=0&asn=15169", "get/country/country_name.lua?country_id=US"} {
		if rc, rsp := geoCall(t, s, restV2Prefix+uri); rc != RCNotEnabled.Code {
			t.Errorf("%s: rc %d %s, want NOT_ENABLED", uri, rc, rsp)
		}
	}
	_, rsp := geoCall(t, s, "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=50&country=US")
	if ips, _ := hostIPs(t, rsp); len(ips) != 0 {
		t.Errorf("country=US without databases lists %v", ips)
	}
	_, rsp = geoCall(t, s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=8.8.8.8")
	if !strings.Contains(string(rsp), `"asn":0,"asname":""`) {
		t.Errorf("host data without databases: %.300s", rsp)
	}
}
