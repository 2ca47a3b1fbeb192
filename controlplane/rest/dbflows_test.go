package rest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/store"
)

// TestDBFlowsHonourUserRights: a user limited to 192.168.1.0/24 gets only
// the stored flows with an end there, from db/flows and db/topk_flows; a
// user without allow_historical_flows gets NOT_GRANTED; an administrator
// gets every flow.
func TestDBFlowsHonourUserRights(t *testing.T) {
	s := newTestServer(t, 0, false)
	const begin = 1_700_000_100
	var recs []store.FlowRecord
	for i := range 30 {
		cli, srv := fmt.Sprintf("10.1.0.%d", i), fmt.Sprintf("172.16.0.%d", i%5)
		switch i % 3 {
		case 0:
			cli = fmt.Sprintf("192.168.1.%d", i) // in carol's network as client
		case 1:
			srv = "192.168.1.200" // as server
		}
		recs = append(recs, store.FlowRecord{Client: netip.MustParseAddr(cli), Server: netip.MustParseAddr(srv), ClientPort: uint16(2000 + i),
			ServerPort: 443, Proto: 6, PktsC2S: 1, BytesC2S: uint64(100 + i), FirstSeen: begin + int64(i), LastSeen: begin + int64(i)})
	}
	if err := s.cfg.Store.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{
		{Username: "carol", AllowedNets: "192.168.1.0/24", AllowHistoricalFlows: true},
		{Username: "erin", AllowHistoricalFlows: false},
		{Username: "root2", Group: auth.GroupAdministrator, AllowHistoricalFlows: true},
	} {
		if err := s.cfg.Auth.AddUser(u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	as := func(user string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pw"))}
	}
	clauses := fmt.Sprintf("ifid=0&begin_time_clause=%d&end_time_clause=%d&maxhits_clause=100", begin, begin+3600)
	type env struct {
		RCStr string           `json:"rc_str"`
		Rsp   []map[string]any `json:"rsp"`
	}
	get := func(path, user string) env {
		t.Helper()
		ctx := do(s, path+"?"+clauses+"&select_clause=IPV4_SRC_ADDR,IPV4_DST_ADDR&select_keys_clause=IPV4_SRC_ADDR,IPV4_DST_ADDR", as(user))
		var e env
		if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil {
			t.Fatalf("%s as %s: %d %s", path, user, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		return e
	}
	in := netip.MustParsePrefix("192.168.1.0/24")
	for _, path := range []string{"/lua/pro/rest/v1/get/db/flows.lua", "/lua/pro/rest/v1/get/db/topk_flows.lua"} {
		if e := get(path, "erin"); e.RCStr != "NOT_GRANTED" || len(e.Rsp) != 0 {
			t.Errorf("%s without allow_historical_flows: %s %v", path, e.RCStr, e.Rsp)
		}
		if e := get(path, "root2"); e.RCStr != "OK" || len(e.Rsp) != 30 {
			t.Errorf("%s as administrator: %s, %d rows, want 30", path, e.RCStr, len(e.Rsp))
		}
		e := get(path, "carol")
		if e.RCStr != "OK" || len(e.Rsp) != 20 {
			t.Errorf("%s as carol: %s, %d rows, want the 20 with an end in her network", path, e.RCStr, len(e.Rsp))
		}
		for _, row := range e.Rsp {
			src, _ := netip.ParseAddr(fmt.Sprint(row["IPV4_SRC_ADDR"]))
			dst, _ := netip.ParseAddr(fmt.Sprint(row["IPV4_DST_ADDR"]))
			if !in.Contains(src) && !in.Contains(dst) {
				t.Errorf("%s: carol sees %v", path, row)
			}
		}
	}
}
