package rest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// newExclusionServer is a server with login on, a checks engine on a
// store in dir, an administrator, a user allowed alerts and one not.
func newExclusionServer(t *testing.T, dir string) (*Server, *checks.Engine) {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	au, err := auth.New(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		user auth.User
		pw   string
	}{
		{auth.User{Username: "boss", Group: auth.GroupAdministrator}, "pw-boss"},
		{auth.User{Username: "watcher", Group: auth.GroupUnprivileged, AllowAlerts: true}, "pw-watcher"},
		{auth.User{Username: "plain", Group: auth.GroupUnprivileged}, "pw-plain"},
		{auth.User{Username: "v6only", Group: auth.GroupUnprivileged, AllowAlerts: true, AllowedNets: "2001:db8::/32"}, "pw-v6only"},
	} {
		if err := au.AddUser(u.user, u.pw); err != nil && dir == "" {
			t.Fatal(err)
		}
	}
	eng, err := checks.New(checks.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	table := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	s := New(Config{Interfaces: []Interface{{ID: 0, Name: "x.pcap", Table: table}}, Auth: au, Store: st, Checks: eng, HTTPPort: 3000})
	// Each user's first password check may wait for the hashing budget on a
	// loaded machine (a 302, not a wrong password); once verified the pair
	// is answered from the credential cache, so the tests' steps see no wait.
	for _, up := range [][2]string{{"boss", "pw-boss"}, {"watcher", "pw-watcher"}, {"plain", "pw-plain"}, {"v6only", "pw-v6only"}} {
		if !eventually(func() bool {
			return scopeDo(s, "GET", "/lua/rest/v2/get/ntopng/interfaces.lua", basicAuth(up[0], up[1])).Response.StatusCode() == 200
		}) {
			t.Fatalf("login of %s refused for 30 s", up[0])
		}
	}
	return s, eng
}

// TestAlertExclusionCalls walks ntopng's exclusion calls in order; each
// step's expected rc and rsp are written from ntopng's behaviour (OK and
// [] for changes, INVALID_ARGUMENTS for a bad value, NOT_GRANTED for a
// change by a non-administrator or a read by a user without allow_alerts).
// Alert names are ntopng's for the keys, as its get/alert/type/consts
// answers them (../shared/conformance result get_alert_type_consts_01):
// host 6 host_alert_tcp_syn_flood, flow 46 alert_ndpi_tls_not_carrying_https,
// flow 26 alert_ndpi_unidirectional_traffic. Lists go by address, then
// subdir (flow before host), then key.
func TestAlertExclusionCalls(t *testing.T) {
	s, _ := newExclusionServer(t, t.TempDir())
	boss, watcher, plain := basicAuth("boss", "pw-boss"), basicAuth("watcher", "pw-watcher"), basicAuth("plain", "pw-plain")
	v6only := basicAuth("v6only", "pw-v6only")
	const v1, v2 = "/lua/pro/rest/v1/", "/lua/pro/rest/v2/"
	steps := []exclStep{
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"host"}, "host_alert_key": {"6"}}, "OK", "[]"},
		{boss, "POST", v1 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"flow"}, "flow_alert_key": {"46"}}, "OK", "[]"},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"2001:db8::1"}, "subdir": {"flow"}, "flow_alert_key": {"26"}}, "OK", "[]"},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"domain"}, "alert_domain": {"Example.ORG"}}, "OK", "[]"},
		// Again: still one.
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"host"}, "host_alert_key": {"6"}}, "OK", "[]"},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"nohost"}, "subdir": {"host"}, "host_alert_key": {"6"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"host"}, "host_alert_key": {"9999"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"host"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"certificate"}, "alert_certificate": {" "}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"alert_addr": {"192.168.1.7"}}, "INVALID_ARGUMENTS", ""},
		{watcher, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.8"}, "subdir": {"host"}, "host_alert_key": {"6"}}, "NOT_GRANTED", ""},

		{watcher, "GET", v2 + "get/host/alert/exclusions.lua", url.Values{"host": {"192.168.1.7"}}, "OK",
			`[{"type":"host","subdir":"host","alert_addr":"192.168.1.7","alert_key":6,"alert_name":"host_alert_tcp_syn_flood"}]`},
		{watcher, "GET", v1 + "get/flow/alert/exclusions.lua", url.Values{"host": {"192.168.1.7"}}, "OK",
			`[{"type":"host","subdir":"flow","alert_addr":"192.168.1.7","alert_key":46,"alert_name":"alert_ndpi_tls_not_carrying_https"}]`},
		{watcher, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"domain"}}, "OK",
			`[{"type":"domain","subdir":"flow","alert_domain":"example.org","alert_key":0}]`},
		{watcher, "GET", v2 + "get/domain/alert/exclusions.lua", nil, "OK",
			`[{"type":"domain","subdir":"flow","alert_domain":"example.org","alert_key":0}]`},
		{watcher, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"host"}}, "OK",
			`[{"type":"host","subdir":"flow","alert_addr":"192.168.1.7","alert_key":46,"alert_name":"alert_ndpi_tls_not_carrying_https"},` +
				`{"type":"host","subdir":"host","alert_addr":"192.168.1.7","alert_key":6,"alert_name":"host_alert_tcp_syn_flood"},` +
				`{"type":"host","subdir":"flow","alert_addr":"2001:db8::1","alert_key":26,"alert_name":"alert_ndpi_unidirectional_traffic"}]`},
		// A user limited to 2001:db8::/32 sees the exclusions of its hosts only.
		{v6only, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"host"}}, "OK",
			`[{"type":"host","subdir":"flow","alert_addr":"2001:db8::1","alert_key":26,"alert_name":"alert_ndpi_unidirectional_traffic"}]`},
		{v6only, "GET", v2 + "get/host/alert/exclusions.lua", url.Values{"host": {"192.168.1.7"}}, "OK", "[]"},
		{watcher, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"bogus"}}, "INVALID_ARGUMENTS", ""},
		{watcher, "GET", v2 + "get/host/alert/exclusions.lua", nil, "INVALID_ARGUMENTS", ""},
		{plain, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"host"}}, "NOT_GRANTED", ""},

		{watcher, "POST", v2 + "delete/host/alert/exclusions.lua", url.Values{"alert_addr": {"192.168.1.7"}}, "NOT_GRANTED", ""},
		{boss, "POST", v2 + "delete/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"flow"}, "flow_alert_key": {"46"}}, "OK", "[]"},
		{boss, "GET", v2 + "get/flow/alert/exclusions.lua", url.Values{"host": {"192.168.1.7"}}, "OK", "[]"},
		// Deleting what is not there: OK, nothing changes.
		{boss, "POST", v2 + "delete/alert/exclusion.lua", url.Values{"type": {"host"}, "alert_addr": {"192.168.1.7"}, "subdir": {"flow"}, "flow_alert_key": {"46"}}, "OK", "[]"},
		{boss, "POST", v1 + "delete/host/alert/exclusions.lua", url.Values{"alert_addr": {"192.168.1.7"}, "alert_key": {"6"}}, "OK", "[]"},
		{boss, "GET", v2 + "get/host/alert/exclusions.lua", url.Values{"host": {"192.168.1.7"}}, "OK", "[]"},
		{boss, "POST", v2 + "delete/flow/alert/exclusions.lua", url.Values{}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "delete/all/alert/exclusions.lua", url.Values{"type": {"domain"}}, "OK", "[]"},
		{boss, "GET", v2 + "get/domain/alert/exclusions.lua", nil, "OK", "[]"},
		{boss, "GET", v2 + "get/flow/alert/exclusions.lua", url.Values{"host": {"2001:db8::1"}}, "OK",
			`[{"type":"host","subdir":"flow","alert_addr":"2001:db8::1","alert_key":26,"alert_name":"alert_ndpi_unidirectional_traffic"}]`},
		{boss, "POST", v2 + "delete/all/alert/exclusions.lua", url.Values{"type": {"host"}, "host": {"2001:db8::1"}}, "OK", "[]"},
		{boss, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"host"}}, "OK", "[]"},
		// Device (MAC) exclusions are another feature: still not enabled.
		{boss, "GET", v2 + "get/device/exclusion.lua", url.Values{"ifid": {"0"}}, "NOT_ENABLED", ""},
	}
	runExclSteps(t, s, steps)
}

// TestAlertExclusionsExportImport: the exclusions ride in export/all
// (ntopng keeps them with its preferences), an import puts them back after
// they were deleted, and they survive a restart on the same store.
func TestAlertExclusionsExportImport(t *testing.T) {
	dir := t.TempDir()
	s, eng := newExclusionServer(t, dir)
	boss := basicAuth("boss", "pw-boss")
	add := "/lua/pro/rest/v2/add/alert/exclusion.lua?type=host&alert_addr=10.1.2.3&subdir=host&host_alert_key=6"
	if env := decodeEnv[json.RawMessage](t, scopeDo(s, "POST", add, boss).Response.Body()); env.RCStr != "OK" {
		t.Fatalf("add: %+v", env)
	}
	exp := decodeEnv[configEnvelope](t, scopeDo(s, "GET", "/lua/rest/v1/export/all/config.lua", boss).Response.Body())
	var all map[string]json.RawMessage
	if err := json.Unmarshal(exp.Rsp.Modules["all"], &all); err != nil {
		t.Fatal(err)
	}
	if got, want := string(all["alert_exclusions"]), `[{"type":"host","subdir":"host","alert_addr":"10.1.2.3","alert_key":6}]`; got != want {
		t.Fatalf("export all alert_exclusions = %s, want %s", got, want)
	}
	file, _ := json.Marshal(exp.Rsp)
	if _, err := eng.DeleteExclusions(func(checks.Exclusion) bool { return true }); err != nil {
		t.Fatal(err)
	}
	imp := scopeDo(s, "POST", "/lua/rest/v1/import/all/config.lua?"+url.Values{"JSON": {string(file)}}.Encode(), boss)
	if env := decodeEnv[json.RawMessage](t, imp.Response.Body()); env.RCStr != "OK" {
		t.Fatalf("import all: %s", imp.Response.Body())
	}
	xs, err := eng.Exclusions()
	if err != nil || len(xs) != 1 || xs[0].Addr != "10.1.2.3" {
		t.Fatalf("after import: %+v %v", xs, err)
	}
}

// TestAlertExclusionDeleteAlerts: delete_alerts=true also removes the
// stored alerts the exclusion would have stopped: the host's SYN flood
// alerts, the flow alerts of that key where the host is either peer; the
// others stay.
func TestAlertExclusionDeleteAlerts(t *testing.T) {
	s, eng := newExclusionServer(t, t.TempDir())
	boss := basicAuth("boss", "pw-boss")
	host := func(ip string, id int) *alert.Alert {
		return &alert.Alert{Entity: alert.EntityHost, EntityVal: ip, Family: alert.FamilyHost, TypeID: id, Tstamp: 100, TstampEnd: 101,
			Count: 1, Host: &alert.HostAlert{IP: ip}}
	}
	flow := func(cli, srv string, id int) *alert.Alert {
		return &alert.Alert{Entity: alert.EntityFlow, EntityVal: cli + "-" + srv, Family: alert.FamilyFlow, TypeID: id, Tstamp: 100, TstampEnd: 101,
			Count: 1, Flow: &alert.FlowAlert{CliIP: cli, SrvIP: srv}}
	}
	if err := eng.Archive().PutAll([]*alert.Alert{
		host("10.0.0.1", alert.HostSYNFlood), host("10.0.0.1", alert.HostSYNScan), host("10.0.0.2", alert.HostSYNFlood),
		flow("10.0.0.1", "10.0.0.9", alert.FlowUnidirectional), flow("10.0.0.9", "10.0.0.1", alert.FlowUnidirectional),
		flow("10.0.0.1", "10.0.0.9", alert.FlowConnRefused), flow("10.0.0.3", "10.0.0.9", alert.FlowUnidirectional),
	}); err != nil {
		t.Fatal(err)
	}
	addExclusions(t, s, boss,
		"type=host&alert_addr=10.0.0.1&subdir=host&host_alert_key=6&delete_alerts=true",
		"type=host&alert_addr=10.0.0.1&subdir=flow&flow_alert_key=26&delete_alerts=true",
	)
	var left []string
	_ = eng.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error {
		if a.Host != nil {
			left = append(left, fmt.Sprintf("host %s %d", a.Host.IP, a.TypeID))
		} else {
			left = append(left, fmt.Sprintf("flow %s>%s %d", a.Flow.CliIP, a.Flow.SrvIP, a.TypeID))
		}
		return nil
	})
	sort.Strings(left)
	want := []string{"flow 10.0.0.1>10.0.0.9 20", "flow 10.0.0.3>10.0.0.9 26", "host 10.0.0.1 5", "host 10.0.0.2 6"}
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Errorf("alerts left %v, want %v", left, want)
	}
}

// TestMACAndCertificateExclusionCalls: the mac and certificate types
// through the same calls, v1 and v2. MAC alert names are ntopng's 4112
// (alert_mac_ip_association_change) and the probe's 4223
// (alert_mac_many_ips); lists go host, mac, domain, certificate.
func TestMACAndCertificateExclusionCalls(t *testing.T) {
	s, _ := newExclusionServer(t, t.TempDir())
	boss, watcher, v6only := basicAuth("boss", "pw-boss"), basicAuth("watcher", "pw-watcher"), basicAuth("v6only", "pw-v6only")
	const v1, v2 = "/lua/pro/rest/v1/", "/lua/pro/rest/v2/"
	const le = "C=US, O=Let's Encrypt, CN=R3"
	macA := `{"type":"mac","subdir":"mac","alert_addr":"02:00:00:00:0A:66","alert_key":4112,"alert_name":"alert_mac_ip_association_change"}`
	macB := `{"type":"mac","subdir":"mac","alert_addr":"02:00:00:00:0A:66","alert_key":4223,"alert_name":"alert_mac_many_ips"}`
	cert := `{"type":"certificate","subdir":"flow","alert_certificate":"C=US, O=Let's Encrypt, CN=R3","alert_key":0}`
	steps := []exclStep{
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"mac"}, "alert_addr": {"02:00:00:00:0a:66"}, "mac_alert_key": {"4112"}}, "OK", "[]"},
		{boss, "POST", v1 + "add/alert/exclusion.lua", url.Values{"type": {"mac"}, "alert_addr": {"02-00-00-00-0A-66"}, "alert_key": {"4223"}}, "OK", "[]"},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"certificate"}, "alert_certificate": {le}}, "OK", "[]"},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"certificate"}, "alert_certificate": {" " + le}}, "OK", "[]"}, // the same one
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"mac"}, "alert_addr": {"192.168.1.7"}, "mac_alert_key": {"4112"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"mac"}, "alert_addr": {"02:00:00:00:0a:66"}, "mac_alert_key": {"26"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"mac"}, "alert_addr": {"02:00:00:00:0a:66"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"certificate"}}, "INVALID_ARGUMENTS", ""},
		{watcher, "POST", v2 + "add/alert/exclusion.lua", url.Values{"type": {"certificate"}, "alert_certificate": {"CN=x"}}, "NOT_GRANTED", ""},

		{watcher, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"mac"}}, "OK", "[" + macA + "," + macB + "]"},
		{watcher, "GET", v1 + "get/alert/exclusion.lua", url.Values{"type": {"certificate"}}, "OK", "[" + cert + "]"},
		{v6only, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"mac"}}, "OK", "[" + macA + "," + macB + "]"},

		{boss, "POST", v2 + "delete/alert/exclusion.lua", url.Values{"type": {"mac"}, "alert_addr": {"02:00:00:00:0A:66"}, "mac_alert_key": {"4112"}}, "OK", "[]"},
		{boss, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"mac"}}, "OK", "[" + macB + "]"},
		{boss, "POST", v2 + "delete/all/alert/exclusions.lua", url.Values{"type": {"mac"}, "host": {"02:00:00:00:00:01"}}, "OK", "[]"}, // another MAC
		{boss, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"mac"}}, "OK", "[" + macB + "]"},
		{boss, "POST", v2 + "delete/all/alert/exclusions.lua", url.Values{"type": {"mac"}, "host": {"192.168.1.1"}}, "INVALID_ARGUMENTS", ""},
		{boss, "POST", v2 + "delete/all/alert/exclusions.lua", url.Values{"type": {"mac"}, "host": {"02:00:00:00:0a:66"}}, "OK", "[]"},
		{boss, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"mac"}}, "OK", "[]"},
		{boss, "POST", v1 + "delete/alert/exclusion.lua", url.Values{"type": {"certificate"}, "alert_certificate": {le}}, "OK", "[]"},
		{boss, "GET", v2 + "get/alert/exclusion.lua", url.Values{"type": {"certificate"}}, "OK", "[]"},
	}
	runExclSteps(t, s, steps)
}

// TestMACAndCertificateExclusionsExportImport: both kinds ride in
// export/all and come back with an import.
func TestMACAndCertificateExclusionsExportImport(t *testing.T) {
	s, eng := newExclusionServer(t, t.TempDir())
	boss := basicAuth("boss", "pw-boss")
	addExclusions(t, s, boss,
		"type=mac&alert_addr=02:00:00:00:0a:66&mac_alert_key=4223",
		"type=certificate&"+url.Values{"alert_certificate": {"CN=appliance.local"}}.Encode(),
	)
	exp := decodeEnv[configEnvelope](t, scopeDo(s, "GET", "/lua/rest/v1/export/all/config.lua", boss).Response.Body())
	var all map[string]json.RawMessage
	if err := json.Unmarshal(exp.Rsp.Modules["all"], &all); err != nil {
		t.Fatal(err)
	}
	want := `[{"type":"mac","subdir":"mac","alert_addr":"02:00:00:00:0A:66","alert_key":4223},` +
		`{"type":"certificate","subdir":"flow","alert_certificate":"CN=appliance.local"}]`
	if got := string(all["alert_exclusions"]); got != want {
		t.Fatalf("export all alert_exclusions = %s, want %s", got, want)
	}
	file, _ := json.Marshal(exp.Rsp)
	if _, err := eng.DeleteExclusions(func(checks.Exclusion) bool { return true }); err != nil {
		t.Fatal(err)
	}
	imp := scopeDo(s, "POST", "/lua/rest/v1/import/all/config.lua?"+url.Values{"JSON": {string(file)}}.Encode(), boss)
	if env := decodeEnv[json.RawMessage](t, imp.Response.Body()); env.RCStr != "OK" {
		t.Fatalf("import all: %s", imp.Response.Body())
	}
	xs, err := eng.Exclusions()
	if err != nil || len(xs) != 2 || xs[0].Addr != "02:00:00:00:0A:66" || xs[1].Certificate != "CN=appliance.local" {
		t.Fatalf("after import: %+v %v", xs, err)
	}
}

// TestMACAndCertificateExclusionDeleteAlerts: delete_alerts=true removes
// the MAC alerts of that key about that MAC, and the flow alerts whose
// flow showed a certificate from that issuer; the others stay.
func TestMACAndCertificateExclusionDeleteAlerts(t *testing.T) {
	s, eng := newExclusionServer(t, t.TempDir())
	boss := basicAuth("boss", "pw-boss")
	mac := func(m string, id int) *alert.Alert {
		return &alert.Alert{Entity: alert.EntityMAC, EntityVal: m, Family: alert.FamilyOther, TypeID: id, Tstamp: 100, TstampEnd: 100, Count: 1}
	}
	flow := func(srv, issuer string) *alert.Alert {
		fa := &alert.FlowAlert{CliIP: "10.0.0.1", SrvIP: srv}
		if issuer != "" {
			fa.Related = []alert.KV{{K: checks.RelTLSServerName, V: "x"}, {K: checks.RelIssuerDN, V: issuer}}
		}
		return &alert.Alert{Entity: alert.EntityFlow, EntityVal: "10.0.0.1-" + srv, Family: alert.FamilyFlow, TypeID: alert.FlowTLSSelfSigned,
			Tstamp: 100, TstampEnd: 101, Count: 1, Flow: fa}
	}
	if err := eng.Archive().PutAll([]*alert.Alert{
		mac("02:00:00:00:0A:66", alert.OtherMACManyIPs), mac("02:00:00:00:0A:66", alert.OtherMACIPAssocChange), mac("02:00:00:00:0A:01", alert.OtherMACManyIPs),
		flow("10.0.0.7", "CN=appliance.local"), flow("10.0.0.8", "CN=other"), flow("10.0.0.9", ""),
	}); err != nil {
		t.Fatal(err)
	}
	addExclusions(t, s, boss,
		"type=mac&alert_addr=02:00:00:00:0a:66&mac_alert_key=4223&delete_alerts=true",
		"type=certificate&alert_certificate=cn%3Dappliance.local&delete_alerts=true",
	)
	var left []string
	_ = eng.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error {
		if a.Flow != nil {
			left = append(left, "flow "+a.Flow.SrvIP)
		} else {
			left = append(left, fmt.Sprintf("mac %s %d", a.EntityVal, a.TypeID))
		}
		return nil
	})
	sort.Strings(left)
	want := []string{"flow 10.0.0.8", "flow 10.0.0.9", "mac 02:00:00:00:0A:01 4223", "mac 02:00:00:00:0A:66 4112"}
	if fmt.Sprint(left) != fmt.Sprint(want) {
		t.Errorf("alerts left %v, want %v", left, want)
	}
}

// exclStep is one call of an exclusion test: who calls, what, and the rc
// and (when not "") the rsp it must answer.
type exclStep struct {
	who     map[string]string
	method  string
	path    string
	params  url.Values
	wantRC  string
	wantRsp string
}

// runExclSteps makes the calls in order, each after the previous one's
// effect, and reports every answer that differs.
func runExclSteps(t *testing.T, s *Server, steps []exclStep) {
	t.Helper()
	for i, st := range steps {
		uri := st.path
		if len(st.params) > 0 {
			uri += "?" + st.params.Encode()
		}
		ctx := scopeDo(s, st.method, uri, st.who)
		env := decodeEnv[json.RawMessage](t, ctx.Response.Body())
		if env.RCStr != st.wantRC {
			t.Errorf("step %d %s %s: rc %s, want %s (%s)", i, st.method, uri, env.RCStr, st.wantRC, ctx.Response.Body())
			continue
		}
		if st.wantRsp != "" && string(env.Rsp) != st.wantRsp {
			t.Errorf("step %d %s %s: rsp\n %s\nwant\n %s", i, st.method, uri, env.Rsp, st.wantRsp)
		}
	}
}

// addExclusions adds each exclusion (the query of an add/alert/exclusion
// call) as the given user; each must be answered OK.
func addExclusions(t *testing.T, s *Server, who map[string]string, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if env := decodeEnv[json.RawMessage](t, scopeDo(s, "POST", "/lua/pro/rest/v2/add/alert/exclusion.lua?"+q, who).Response.Body()); env.RCStr != "OK" {
			t.Fatalf("add %s: %+v", q, env)
		}
	}
}
