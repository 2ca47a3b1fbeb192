package rest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestV2Connect: connect/test.lua is what ntop's Python API calls first;
// it accepts the client only if the answer is JSON. With Basic or Token
// credentials it answers {"rc":0,"rc_str":"OK","rc_str_hr":"Success",
// "rsp":[]} (ntopng 6's answer); without, the login redirect, like every
// ntopng page, which the client rejects.
func TestV2Connect(t *testing.T) {
	s, tok := loginServer(t)
	const want = `{"rc":0,"rc_str":"OK","rc_str_hr":"Success","rsp":[]}`
	for name, hdr := range map[string]map[string]string{
		"basic admin":  basicHdr("admin", testAdminPW),
		"basic viewer": basicHdr("viewer", "viewer-pw-1"),
		"token":        {"Authorization": "Token " + tok},
	} {
		ctx := send(s, call{method: "GET", uri: "/lua/rest/v2/connect/test.lua", hdr: hdr})
		if ct := string(ctx.Response.Header.ContentType()); !strings.HasPrefix(ct, "application/json") || ctx.Response.StatusCode() != 200 {
			t.Errorf("%s: %d %s", name, ctx.Response.StatusCode(), ct)
		}
		if got := string(ctx.Response.Body()); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	for name, hdr := range map[string]map[string]string{
		"no credentials": nil,
		"wrong password": basicHdr("viewer", "not-the-pw"),
		"wrong token":    {"Authorization": "Token 0123456789abcdef"},
	} {
		ctx := send(s, call{method: "GET", uri: "/lua/rest/v2/connect/test.lua", hdr: hdr})
		if ctx.Response.StatusCode() != 302 || !strings.HasPrefix(string(ctx.Response.Header.Peek("Location")), "/lua/login.lua") {
			t.Errorf("%s: %d %s", name, ctx.Response.StatusCode(), ctx.Response.Header.Peek("Location"))
		}
	}
}

// TestV2TwinsAnswerAsV1: a v2 path served by a v1 handler answers what
// the v1 path answers, byte for byte, for the calls ntop's Python API
// makes (get/interface/data differs on purpose: TestV2InterfaceData); a not-enabled path answers NOT_ENABLED with the path in the
// error; a v2 state change is POST only like its v1 twin.
func TestV2TwinsAnswerAsV1(t *testing.T) {
	s, tok := loginServer(t)
	admin := map[string]string{"Authorization": "Token " + tok}
	for _, c := range []struct{ v2, v1 string }{
		{"/lua/rest/v2/get/host/active.lua?ifid=0&all=true", "/lua/rest/v1/get/host/active.lua?ifid=0&all=true"},
		{"/lua/rest/v2/get/host/data.lua?ifid=0&host=192.168.1.10", "/lua/rest/v1/get/host/data.lua?ifid=0&host=192.168.1.10"},
		{"/lua/rest/v2/get/flow/active.lua?ifid=0&currentPage=1&perPage=5", "/lua/rest/v1/get/flow/active.lua?ifid=0&currentPage=1&perPage=5"},
		{"/lua/rest/v2/get/flow/l4/counters.lua?ifid=0", "/lua/rest/v1/get/flow/l4/counters.lua?ifid=0"},
		{"/lua/rest/v2/get/alert/type/consts.lua", "/lua/rest/v1/get/alert/type/consts.lua"},
		{"/lua/pro/rest/v2/get/interface/top/local/talkers.lua?ifid=0", "/lua/pro/rest/v1/get/host/top/local/talkers.lua?ifid=0"},
	} {
		a := send(s, call{method: "GET", uri: c.v2, hdr: admin})
		b := send(s, call{method: "GET", uri: c.v1, hdr: admin})
		if a.Response.StatusCode() != 200 || rcOf(a) != "OK" {
			t.Errorf("%s: %d %.200s", c.v2, a.Response.StatusCode(), a.Response.Body())
			continue
		}
		if !bytes.Equal(a.Response.Body(), b.Response.Body()) {
			t.Errorf("%s answers\n%.300s\n%s answers\n%.300s", c.v2, a.Response.Body(), c.v1, b.Response.Body())
		}
	}
	// ntopng 6's interface list adds the name (an alias, else ifname).
	if ctx := send(s, call{method: "GET", uri: "/lua/rest/v2/get/ntopng/interfaces.lua", hdr: admin}); string(ctx.Response.Body()) !=
		`{"rc":0,"rc_str":"OK","rc_str_hr":"Success","rsp":[{"ifid":0,"ifname":"bench.pcap","name":"bench.pcap"}]}` {
		t.Errorf("v2 interfaces: %s", ctx.Response.Body())
	}
	ctx := send(s, call{method: "GET", uri: "/lua/pro/rest/v2/get/vs/report_list.lua", hdr: admin})
	if ctx.Response.StatusCode() != 400 || rcOf(ctx) != "NOT_ENABLED" || !strings.Contains(string(ctx.Response.Body()), "get/vs/report_list.lua") {
		t.Errorf("vulnerability scans: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	for _, p := range []string{"/lua/rest/v2/add/ntopng/user.lua", "/lua/rest/v2/delete/host/alerts.lua", "/lua/pro/rest/v2/delete/vs/report.lua"} {
		if ctx := send(s, call{method: "GET", uri: p, hdr: admin}); ctx.Response.StatusCode() != 405 || string(ctx.Response.Header.Peek("Allow")) != "POST" {
			t.Errorf("GET %s: %d Allow %q", p, ctx.Response.StatusCode(), ctx.Response.Header.Peek("Allow"))
		}
	}
}

// TestV2HostActiveAll: v2's all=true is every host in one answer (ntopng 6
// sets perPage to -1 before the query), where v1 cut the page all the same;
// ntop's Python API reads all active hosts this way.
func TestV2HostActiveAll(t *testing.T) {
	s := newTestServer(t, 25, true) // 26 hosts
	count := func(uri string) int {
		var env struct {
			Rsp struct {
				Data []struct {
					IP string `json:"ip"`
				} `json:"data"`
			} `json:"rsp"`
		}
		if err := json.Unmarshal(do(s, uri, nil).Response.Body(), &env); err != nil {
			t.Fatal(err)
		}
		return len(env.Rsp.Data)
	}
	if n := count("/lua/rest/v2/get/host/active.lua?ifid=0&all=true"); n != 26 {
		t.Errorf("v2 all=true: %d hosts, want 26", n)
	}
	if n := count("/lua/rest/v1/get/host/active.lua?ifid=0&all=true"); n != 10 {
		t.Errorf("v1 all=true: %d hosts, want v1's page of 10", n)
	}
	if n := count("/lua/rest/v2/get/host/active.lua?ifid=0&perPage=5&currentPage=2"); n != 5 {
		t.Errorf("v2 paginated: %d hosts, want 5", n)
	}
}

// TestV2Rights: the v2 tree is behind the same guard as v1: a user
// without allow_* flags gets NOT_GRANTED and no data on the v2 twins of
// administrator and capability routes, and on not-enabled alert reads,
// and data where v1 gives it.
func TestV2Rights(t *testing.T) {
	s, _ := loginServer(t)
	viewer := basicHdr("viewer", "viewer-pw-1")
	for _, c := range []struct{ uri, want string }{
		{"/lua/pro/rest/v2/get/db/flows.lua?ifid=0", "NOT_GRANTED"},
		{"/lua/pro/rest/v2/get/db/topk_flows.lua?ifid=0", "NOT_GRANTED"},
		{"/lua/rest/v2/get/pcap/live_extraction.lua?ifid=0", "NOT_GRANTED"},
		{"/lua/rest/v2/get/flow/alert/list.lua?ifid=0", "NOT_GRANTED"},
		{"/lua/rest/v2/get/mac/alert/list.lua?ifid=0", "NOT_GRANTED"},
		{"/lua/rest/v2/get/ntopng/users.lua", "NOT_GRANTED"},
		{"/lua/rest/v2/export/checks/config.lua", "NOT_GRANTED"},
		{"/lua/rest/v2/get/host/active.lua?ifid=0", "OK"},
		{"/lua/rest/v2/get/alert/type/consts.lua", "OK"},
		{"/lua/rest/v2/get/system/health/redis.lua", "NOT_ENABLED"},
	} {
		ctx := send(s, call{method: "GET", uri: c.uri, hdr: viewer})
		if got := rcOf(ctx); got != c.want {
			t.Errorf("viewer %s: %d %s, want %s", c.uri, ctx.Response.StatusCode(), ctx.Response.Body(), c.want)
		}
		if c.want == "NOT_GRANTED" && !strings.Contains(string(ctx.Response.Body()), `"rsp":[]`) {
			t.Errorf("viewer %s: NOT_GRANTED with data: %s", c.uri, ctx.Response.Body())
		}
	}
	q := "?username=evil&full_name=x&password=Evil-pw-12&confirm_password=Evil-pw-12&user_role=administrator"
	if ctx := send(s, call{method: "POST", uri: "/lua/rest/v2/add/ntopng/user.lua" + q, hdr: viewer}); rcOf(ctx) != "NOT_GRANTED" {
		t.Errorf("viewer POST v2 add/ntopng/user: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if _, ok := s.cfg.Auth.User("evil"); ok {
		t.Fatal("a viewer created a user through v2")
	}
}

// TestV2L4ProtocolConsts: ntopng 6's list (research notes, 4.16) has L2TP
// after VRRP and SCTP after HIP; v1's 2022 answer has neither.
func TestV2L4ProtocolConsts(t *testing.T) {
	s, tok := loginServer(t)
	admin := map[string]string{"Authorization": "Token " + tok}
	const want = `[{"name":"IP","other":"ip","id":0},{"name":"ICMP","other":"icmp","id":1},{"name":"IGMP","other":"igmp","id":2},` +
		`{"name":"TCP","other":"tcp","id":6},{"name":"UDP","other":"udp","id":17},{"name":"IPv6","other":"ipv6","id":41},` +
		`{"name":"RSVP","other":"rsvp","id":46},{"name":"GRE","other":"gre","id":47},{"name":"ESP","other":"esp","id":50},` +
		`{"name":"IPv6-ICMP","other":"ipv6icmp","id":58},{"name":"EIGRP","other":"eigrp","id":88},{"name":"OSPF","other":"ospf","id":89},` +
		`{"name":"PIM","other":"pim","id":103},{"name":"VRRP","other":"vrrp","id":112},{"name":"L2TP","other":"l2tp","id":115},` +
		`{"name":"HIP","other":"hip","id":139},{"name":"SCTP","other":"sctp","id":132},{"name":"ICMPv6","other":"icmpv6","id":58},` +
		`{"name":"IGMP","other":"igmp","id":2},{"name":"Other IP","other":"other_ip","id":-1}]`
	var env struct{ Rsp json.RawMessage }
	if err := json.Unmarshal(send(s, call{method: "GET", uri: "/lua/rest/v2/get/l4/protocol/consts.lua", hdr: admin}).Response.Body(), &env); err != nil {
		t.Fatal(err)
	}
	if canonJSON(t, env.Rsp) != canonJSON(t, []byte(want)) {
		t.Errorf("v2 l4 consts\n%s\nwant\n%s", env.Rsp, want)
	}
	if v1 := string(send(s, call{method: "GET", uri: "/lua/rest/v1/get/l4/protocol/consts.lua", hdr: admin}).Response.Body()); strings.Contains(v1, "L2TP") || strings.Contains(v1, "SCTP") {
		t.Errorf("v1 l4 consts changed: %s", v1)
	}
}
