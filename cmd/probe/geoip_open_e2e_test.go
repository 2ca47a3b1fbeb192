package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/internal/fixture"
)

// The image's open-licensed databases (ip-location-db's country file, the
// AS file tools/asnmmdb makes) place a replayed capture's remote hosts:
// each host's country and AS in get/host/data are what libmaxminddb's
// mmdblookup reads from the same files (the country file holds only the
// ISO code, so there is no city).
func TestGeoIPReplayedCaptureOpenDatabases(t *testing.T) {
	dir := fixture.OpenGeoIPDir(t)
	tool := fixture.Tool(t, "mmdblookup")
	pcap := fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_01.pcap")
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(t.TempDir(), "db"), "--geoip-dir", dir,
		"--goprobe-api", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--goprobe-api-rate", "-1")
	admin := basic("admin", testAdminPassword)

	a := p.call(t, "GET", "/lua/rest/v1/get/host/active.lua?ifid=0&mode=remote&perPage=1000", "", admin)
	var list struct {
		Data []struct{ IP string }
	}
	if err := json.Unmarshal(a.env.Rsp, &list); err != nil || a.env.RC != 0 {
		t.Fatalf("host list: %v %s", err, a.body)
	}
	var ips []string
	for _, h := range list.Data {
		ips = append(ips, h.IP)
	}
	sort.Strings(ips)
	if len(ips) > 25 { // a bounded sample, the same every run
		ips = ips[:25]
	}
	country, asn := filepath.Join(dir, geoip.OpenCountryFile), filepath.Join(dir, geoip.OpenASNFile)
	placed := 0
	for _, ip := range ips {
		wantISO := mmdbLookup(t, tool, country, ip, "country_code")
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
		if d.Country != wantISO || d.City != "" || d.ASN.String() != wantASN || d.ASName != wantOrg {
			t.Errorf("%s: host data %q %q AS%s %q; mmdblookup %q AS%s %q", ip, d.Country, d.City, d.ASN, d.ASName, wantISO, wantASN, wantOrg)
		}
		if wantISO != "" && wantASN != "0" {
			placed++
		}
	}
	t.Logf("%d remote hosts compared, %d with country and AS", len(ips), placed)
	if placed < len(ips)/2 {
		t.Errorf("only %d of %d remote hosts placed", placed, len(ips))
	}
}
