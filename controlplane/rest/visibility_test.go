package rest

import (
	"bytes"
	"io"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/dataplane/recorder"
)

func TestVisibilityDecisions(t *testing.T) {
	v := visibility{nets: parseAllowedNets("10.254.0.0/16, 192.168.1.7,::ffff:172.16.0.0/108,2001:db8:1::/48")}
	addr := netip.MustParseAddr
	for _, c := range []struct {
		ip   string
		want bool
	}{
		{"10.254.9.9", true}, {"10.255.0.1", false}, {"192.168.1.7", true}, {"192.168.1.8", false},
		{"::ffff:10.254.0.1", true}, {"172.16.3.4", true}, {"172.32.0.1", false},
		{"2001:db8:1::5", true}, {"2001:db8:2::5", false},
	} {
		if got := v.sees(addr(c.ip)); got != c.want {
			t.Errorf("sees(%s) = %v", c.ip, got)
		}
	}
	if !v.seesFlow(addr("10.254.0.1"), addr("8.8.8.8")) || !v.seesFlow(addr("8.8.8.8"), addr("10.254.0.1")) || v.seesFlow(addr("8.8.8.8"), addr("1.1.1.1")) {
		t.Error("a flow is visible when either end is")
	}
	if !everything.mayHistorical() || v.mayHistorical() || !everything.mayAlerts() || v.mayDownloadPcap() {
		t.Error("capabilities: administrators have them all, a user only those given")
	}
	if v.flowFilter() == nil || everything.flowFilter() != nil {
		t.Error("flowFilter: nil only for a user who sees every address")
	}
	for p, want := range map[string]bool{"10.254.3.0/24": true, "10.0.0.0/8": false, "192.168.1.7/32": true, "192.168.1.0/24": false} {
		if got := v.seesPrefix(netip.MustParsePrefix(p)); got != want {
			t.Errorf("seesPrefix(%s) = %v", p, got)
		}
	}
	for _, c := range []struct {
		name string
		a    alert.Alert
		want bool
	}{
		{"host in", alert.Alert{Entity: alert.EntityHost, EntityVal: "10.254.1.1@3", Host: &alert.HostAlert{IP: "10.254.1.1"}}, true},
		{"host out", alert.Alert{Entity: alert.EntityHost, EntityVal: "8.8.8.8", Host: &alert.HostAlert{IP: "8.8.8.8"}}, false},
		{"host without detail", alert.Alert{Entity: alert.EntityHost, EntityVal: "10.254.1.1"}, true},
		{"flow half in", alert.Alert{Entity: alert.EntityFlow, Flow: &alert.FlowAlert{CliIP: "8.8.8.8", SrvIP: "10.254.0.9"}}, true},
		{"flow out", alert.Alert{Entity: alert.EntityFlow, Flow: &alert.FlowAlert{CliIP: "8.8.8.8", SrvIP: "1.1.1.1"}}, false},
		{"interface", alert.Alert{Entity: alert.EntityInterface, EntityVal: "1"}, true},
		{"network inside", alert.Alert{Entity: alert.EntityNetwork, EntityVal: "10.254.7.0/24"}, true},
		{"network around", alert.Alert{Entity: alert.EntityNetwork, EntityVal: "10.0.0.0/8"}, false},
		{"snmp device", alert.Alert{Entity: alert.EntitySNMPDevice, EntityVal: "10.254.0.1"}, false},
		{"system", alert.Alert{Entity: alert.EntitySystem, EntityVal: "login"}, false},
	} {
		if got := v.seesAlert(&c.a); got != c.want {
			t.Errorf("%s: seesAlert = %v", c.name, got)
		}
	}
	for nets, all := range map[string]bool{"0.0.0.0/0,::/0": true, "::/0, 0.0.0.0/0": true, "0.0.0.0/0": false, "bogus": false} {
		if got := parseAllowedNets(nets) == nil; got != all {
			t.Errorf("allowed_nets %q: every address = %v", nets, got)
		}
	}
	if (visibility{nets: parseAllowedNets("bogus")}).sees(addr("10.0.0.1")) {
		t.Error("allowed_nets without a valid network must see nothing")
	}
	if v4 := (visibility{nets: parseAllowedNets("0.0.0.0/0")}); !v4.sees(addr("1.2.3.4")) || v4.sees(addr("2001:db8::1")) {
		t.Error("0.0.0.0/0 alone is every IPv4 address, no IPv6 one")
	}
}

// TestCapabilities: without allow_alerts every alert read is NOT_GRANTED
// (ntopng's alerts capability); the system interface (ifid -1) is for
// users limited in nothing; without allow_pcap_download no extraction.
func TestCapabilities(t *testing.T) {
	f := newScopeServer(t)
	for _, u := range []auth.User{
		{Username: "noalerts", Group: auth.GroupUnprivileged},
		{Username: "alerts", Group: auth.GroupUnprivileged, AllowAlerts: true},
	} {
		if err := f.s.cfg.Auth.AddUser(u, "pw-"+u.Username); err != nil {
			t.Fatal(err)
		}
	}
	// Tokens, not passwords: a loaded machine's hashing budget refuses
	// password checks for a while (auth.HashWait), which is not what this
	// test is about.
	token := func(user string) map[string]string {
		tok, err := f.s.cfg.Auth.CreateToken(user)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"Authorization": "Token " + tok}
	}
	noAlerts, alerts := token("noalerts"), token("alerts")
	n := 0
	for _, path := range routePaths(f.s) {
		if !strings.Contains(path, "alert") || !strings.Contains(path, "/get/") || strings.Contains(path, "/consts") {
			continue
		}
		for _, ifid := range []string{"1", "-1"} {
			n++
			ctx := scopeDo(f.s, "GET", path+"?ifid="+ifid, noAlerts)
			if rc := decodeEnv[any](t, ctx.Response.Body()).RCStr; rc != "NOT_GRANTED" || ctx.Response.StatusCode() != 401 {
				t.Errorf("%s?ifid=%s without allow_alerts: %d %s", path, ifid, ctx.Response.StatusCode(), rc)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d alert reads found", n)
	}
	cases := []struct {
		name string
		uri  string
		hdr  map[string]string
		rc   string
	}{
		{"alerts allowed", "/lua/rest/v1/get/alert/data.lua?ifid=1", alerts, "OK"},
		{"system alerts, user limited in nothing", "/lua/rest/v1/get/alert/data.lua?ifid=-1", alerts, "OK"},
		{"system alerts, restricted user", "/lua/rest/v1/get/alert/data.lua?ifid=-1", f.user, "NOT_GRANTED"},
		{"measured hosts, restricted user", "/lua/rest/v1/get/active_monitoring/hosts.lua", f.user, "NOT_GRANTED"},
		{"measured hosts, user limited in nothing", "/lua/rest/v1/get/active_monitoring/hosts.lua", alerts, "OK"},
		{"the other interface", "/lua/rest/v1/get/interface/data.lua?iffilter=0", f.user, "NOT_GRANTED"},
		{"the other interface's hosts", "/lua/rest/v1/get/host/active.lua?ifid=0", f.user, "NOT_GRANTED"},
		{"pcap without the right", "/lua/rest/v1/get/pcap/live_extraction.lua?ifid=1&epoch_begin=1&epoch_end=2", alerts, "NOT_GRANTED"},
		{"out-of-scope host", "/lua/rest/v1/get/host/l7/stats.lua?ifid=1&host=192.0.2.7", f.user, "NOT_GRANTED"},
		{"in-scope host", "/lua/rest/v1/get/host/l7/stats.lua?ifid=1&host=10.254.1.1", f.user, "OK"},
		{"in-scope host's interfaces", "/lua/rest/v1/get/host/interfaces.lua?host=10.254.1.1", f.user, "OK"},
	}
	for _, c := range cases {
		ctx := scopeDo(f.s, "GET", c.uri, c.hdr)
		if rc := decodeEnv[any](t, ctx.Response.Body()).RCStr; rc != c.rc {
			t.Errorf("%s: %s: %s, want %s", c.name, c.uri, ctx.Response.Body(), c.rc)
		}
	}
	// An administrator gives the capability (edit/ntopng/user takes
	// allow_alerts and allow_historical_flows as ntopng's does).
	ctx := scopeDo(f.s, "POST", "/lua/rest/v1/edit/ntopng/user.lua?username=noalerts&allow_alerts=1&allow_historical_flows=1", f.admin)
	if rc := decodeEnv[any](t, ctx.Response.Body()).RCStr; rc != "OK" {
		t.Fatalf("edit user: %s", ctx.Response.Body())
	}
	if u, _ := f.s.cfg.Auth.User("noalerts"); !u.AllowAlerts || !u.AllowHistoricalFlows {
		t.Errorf("capabilities not kept: %+v", u)
	}
	if rc := decodeEnv[any](t, scopeDo(f.s, "GET", "/lua/rest/v1/get/alert/data.lua?ifid=1", noAlerts).Response.Body()).RCStr; rc != "OK" {
		t.Errorf("alerts after allow_alerts=1: %s", rc)
	}
	// The in-scope host is on both interfaces; the user is told of its own.
	body := string(scopeDo(f.s, "GET", "/lua/rest/v1/get/host/interfaces.lua?host=10.254.1.1", f.user).Response.Body())
	if !strings.Contains(body, `"ifid":1`) || strings.Contains(body, `"ifid":0`) {
		t.Errorf("host interfaces: %s", body)
	}
}

// TestPcapExtractionKeepsToTheUsersNetworks: a user limited to one
// address gets that address's packets only, with or without a filter of
// its own (counted from the recorded frames' definition).
func TestPcapExtractionKeepsToTheUsersNetworks(t *testing.T) {
	s := newTestServer(t, 1, false)
	ring, err := recorder.Open(recorder.Config{Dir: t.TempDir(), MaxBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	frames, ts := recordedFrames(t) // 50 × (TCP, UDP) from 10.0.0.(1+i%3) to 10.0.1.1
	for i, fr := range frames {
		if err := ring.Write(fr, ts[i], len(fr)); err != nil {
			t.Fatal(err)
		}
	}
	s.cfg.Recordings = func(int) PcapRecording { return ringRecording{ring} }
	for _, u := range []auth.User{
		{Username: "one", Group: auth.GroupUnprivileged, AllowedNets: "10.0.0.2/32", AllowPcapDownload: true},
		{Username: "none", Group: auth.GroupUnprivileged, AllowedNets: "172.31.0.0/16", AllowPcapDownload: true},
		{Username: "all", Group: auth.GroupUnprivileged, AllowPcapDownload: true},
	} {
		if err := s.cfg.Auth.AddUser(u, "pw-"+u.Username); err != nil {
			t.Fatal(err)
		}
	}
	base := servePcap(t, s)
	// i%3 == 1 for i in 0..49: 17 values of i.
	for _, c := range []struct {
		user, filter string
		want         int
	}{
		{"all", "", 100},
		{"one", "", 34},
		{"one", "udp", 17},
		{"one", "host 10.0.0.1", 0},
		{"none", "", 0},
	} {
		q := url.Values{"ifid": {"0"}, "epoch_begin": {itoa(pcapBase)}, "epoch_end": {itoa(pcapBase + 10)}, "bpf_filter": {c.filter}}
		resp, body := pcapGet(t, base, c.user, q)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %q: %d %s", c.user, c.filter, resp.StatusCode, body)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			data, _, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
			ip, _ := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default).Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if c.user == "one" && (ip == nil || ip.SrcIP.String() != "10.0.0.2" && ip.DstIP.String() != "10.0.0.2") {
				t.Errorf("%s %q: a packet outside 10.0.0.2: %v", c.user, c.filter, ip)
			}
		}
		if n != c.want {
			t.Errorf("%s %q: %d packets, want %d", c.user, c.filter, n, c.want)
		}
	}
}
