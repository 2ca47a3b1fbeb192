package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/fixture"
)

var mmdbValue = regexp.MustCompile(`^\s*(?:"(.*)"|(\d+)) <`)

// mmdbLookup is one field of a database's record for ip as libmaxminddb's
// mmdblookup (Debian's mmdb-bin) reads it: the expected answers come from
// another reader than the probe's. "" when the database has no such field.
func mmdbLookup(t *testing.T, tool, file, ip string, path ...string) string {
	t.Helper()
	out, err := exec.Command(tool, append([]string{"--file", file, "--ip", ip}, path...)...).CombinedOutput()
	if err != nil {
		// No entry for the address, or the record lacks the path.
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if m := mmdbValue.FindStringSubmatch(line); m != nil {
			return m[1] + m[2]
		}
	}
	return ""
}

// A replayed capture whose remote hosts are public addresses: every remote
// host's country and AS in get/host/data and get/host/active are what
// libmaxminddb reads from the same files.
func TestGeoIPReplayedCapture(t *testing.T) {
	dir := fixture.GeoIPDir(t)
	tool := fixture.Tool(t, "mmdblookup")
	pcap := fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_01.pcap")
	gpPort := freePort(t)
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(t.TempDir(), "db"), "--geoip-dir", dir,
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort), "--goprobe-api-rate", "-1")
	admin := basic("admin", testAdminPassword)

	a := p.call(t, "GET", "/lua/rest/v1/get/host/active.lua?ifid=0&mode=remote&perPage=1000", "", admin)
	var list struct {
		Data []struct{ IP, Country string }
	}
	if err := json.Unmarshal(a.env.Rsp, &list); err != nil || a.env.RC != 0 {
		t.Fatalf("host list: %v %s", err, a.body)
	}
	listed := map[string]string{}
	var ips []string
	for _, h := range list.Data {
		listed[h.IP] = h.Country
		ips = append(ips, h.IP)
	}
	sort.Strings(ips)
	// A bounded sample, the same every run.
	if len(ips) > 25 {
		ips = ips[:25]
	}
	city, asn := filepath.Join(dir, "GeoLite2-City.mmdb"), filepath.Join(dir, "GeoLite2-ASN.mmdb")
	placed := 0
	for _, ip := range ips {
		wantISO := mmdbLookup(t, tool, city, ip, "country", "iso_code")
		if wantISO == "" {
			wantISO = mmdbLookup(t, tool, city, ip, "registered_country", "iso_code")
		}
		wantCity := mmdbLookup(t, tool, city, ip, "city", "names", "en")
		wantASN := mmdbLookup(t, tool, asn, ip, "autonomous_system_number")
		wantOrg := mmdbLookup(t, tool, asn, ip, "autonomous_system_organization")
		if wantASN == "" {
			wantASN = "0"
		}
		a := p.call(t, "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host="+ip, "", admin)
		var d struct {
			Country, City, ASName string
			ASN                   json.Number
		}
		if err := json.Unmarshal(a.env.Rsp, &d); err != nil || a.env.RC != 0 {
			t.Fatalf("%s: %v %s", ip, err, a.body)
		}
		if d.Country != wantISO || d.City != wantCity || d.ASN.String() != wantASN || d.ASName != wantOrg {
			t.Errorf("%s: host data %q %q AS%s %q; mmdblookup %q %q AS%s %q", ip, d.Country, d.City, d.ASN, d.ASName, wantISO, wantCity, wantASN, wantOrg)
		}
		if listed[ip] != wantISO {
			t.Errorf("%s: host list country %q, want %q", ip, listed[ip], wantISO)
		}
		if wantISO != "" {
			placed++
		}
	}
	// The capture's remote hosts are mostly public (CDNs, Google, the
	// Italian news sites of ntopng's test): most must be placed, or the
	// comparison above proved nothing.
	t.Logf("%d remote hosts compared, %d placed", len(ips), placed)
	if placed < len(ips)/2 {
		t.Errorf("only %d of %d remote hosts placed", placed, len(ips))
	}

	// Flows carry the server's country.
	a = p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=500", "", admin)
	var flows struct {
		Data []struct {
			Server struct{ IP, Country string }
		}
	}
	if err := json.Unmarshal(a.env.Rsp, &flows); err != nil {
		t.Fatal(err)
	}
	withCountry := 0
	for _, f := range flows.Data {
		if f.Server.Country != "" {
			withCountry++
			if c, ok := listed[f.Server.IP]; ok && c != f.Server.Country {
				t.Errorf("flow server %s: country %q, host list %q", f.Server.IP, f.Server.Country, c)
			}
		}
	}
	if withCountry == 0 {
		t.Errorf("no flow's server has a country among %d flows", len(flows.Data))
	}

	// goQuery's country condition over the stored flows: every server
	// of the answer is in the country asked for (mmdblookup's reading).
	var country string
	for _, ip := range ips {
		if country = listed[ip]; country != "" {
			break
		}
	}
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
	a = gp.call(t, "POST", "/api/v1/_query", `{"Query":"dip","Ifaces":"test_01.pcap","First":"2000-01-01T00:00:00Z","Condition":"dcountry = `+country+`"}`, nil)
	var q struct {
		Rows []struct{ DIP string } `json:"dip"`
	}
	if err := json.Unmarshal(a.body, &q); err != nil || a.status != 200 || len(q.Rows) == 0 {
		t.Fatalf("_query dcountry = %s: %d %.300s", country, a.status, a.body)
	}
	for _, r := range q.Rows[:min(len(q.Rows), 25)] {
		got := mmdbLookup(t, tool, city, r.DIP, "country", "iso_code")
		if got == "" {
			got = mmdbLookup(t, tool, city, r.DIP, "registered_country", "iso_code")
		}
		if got != country {
			t.Errorf("_query dcountry = %s answers %s, which mmdblookup places in %q", country, r.DIP, got)
		}
	}
	// v2: the AS of a placed host by address.
	for _, ip := range ips {
		wantASN := mmdbLookup(t, tool, asn, ip, "autonomous_system_number")
		if wantASN == "" {
			continue
		}
		a = p.call(t, "GET", "/lua/rest/v2/get/asn/asn_name.lua?ip="+ip, "", admin)
		var n struct {
			ASN    json.Number
			ASName string
		}
		if err := json.Unmarshal(a.env.Rsp, &n); err != nil || n.ASN.String() != wantASN {
			t.Errorf("asn_name %s: %s, want AS%s", ip, a.body, wantASN)
		}
		break
	}
}

// A --geoip-dir without databases stops the probe at start: the user named
// it, so an empty or mistyped directory is an error, not silence.
func TestGeoIPDirStartErrors(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 1)
	for name, geo := range map[string]string{
		"empty directory":   t.TempDir(),
		"missing directory": filepath.Join(dir, "no-such-dir"),
		"corrupt database":  filepath.Dir(writeFile(t, t.TempDir(), "GeoLite2-ASN.mmdb", "not a MaxMind database")),
	} {
		t.Run(name, func(t *testing.T) {
			out, err := exec.Command(probeBin, "-i", pcap, "--geoip-dir", geo, "--data-dir", filepath.Join(t.TempDir(), "db"),
				"--http-port", fmt.Sprint(freePort(t)), "--goprobe-api", "").CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "--geoip-dir") {
				t.Errorf("got %v, output %q; want exit 1 naming --geoip-dir", err, out)
			}
		})
	}
}
