package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/store"
)

// TestDBFlowsFromClickHouseHonourUserRights: with History set, db/flows
// and db/topk_flows answer every user (administrator, restricted to a
// network, without allow_historical_flows) exactly as the same server
// answers from Badger, and probe= picks one probe of the fleet.
func TestDBFlowsFromClickHouseHonourUserRights(t *testing.T) {
	srv := chtest.Start(t)
	s := newTestServer(t, 0, false)
	const begin = 1_700_000_100
	var recs []store.FlowRecord
	for i := range 60 {
		cli, srv := fmt.Sprintf("10.1.0.%d", i), fmt.Sprintf("172.16.0.%d", i%5)
		switch i % 3 {
		case 0:
			cli = fmt.Sprintf("192.168.1.%d", i)
		case 1:
			srv = "192.168.1.200"
		}
		recs = append(recs, store.FlowRecord{Client: netip.MustParseAddr(cli), Server: netip.MustParseAddr(srv), ClientPort: uint16(2000 + i),
			ServerPort: uint16(443 + i%4), Proto: 6, PktsC2S: uint64(1 + i%7), BytesC2S: uint64(100 + 13*i), FirstSeen: begin + int64(i), LastSeen: begin + int64(i)})
	}
	if err := s.cfg.Store.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	target := clickhouse.Target{Addr: srv.Addr, Database: "fleet"}
	for _, probe := range []string{"here", "elsewhere"} {
		sink, err := clickhouse.Open(clickhouse.Config{Target: target, Probe: probe, SpoolDir: t.TempDir(), SpoolMaxBytes: 16 << 20, FlushEvery: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		sink.WriteFlows(recs)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := sink.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		sink.Close()
	}
	rd, err := clickhouse.OpenReader(target)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for _, u := range []auth.User{
		{Username: "carol", AllowedNets: "192.168.1.0/24", AllowHistoricalFlows: true},
		{Username: "erin", AllowHistoricalFlows: false},
		{Username: "root2", Group: auth.GroupAdministrator, AllowHistoricalFlows: true},
	} {
		if err := s.cfg.Auth.AddUser(u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	type env struct {
		RCStr string           `json:"rc_str"`
		Rsp   []map[string]any `json:"rsp"`
	}
	get := func(path, user, extra string) (string, []string) {
		t.Helper()
		q := fmt.Sprintf("?ifid=0&begin_time_clause=%d&end_time_clause=%d&maxhits_clause=100&select_clause=IPV4_SRC_ADDR,IPV4_DST_ADDR,TOTAL_BYTES&select_keys_clause=IPV4_SRC_ADDR,L4_DST_PORT%s", begin, begin+3600, extra)
		ctx := do(s, path+q, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pw"))})
		var e env
		if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil {
			t.Fatalf("%s as %s: %d %s", path, user, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		rows := make([]string, len(e.Rsp))
		for i, r := range e.Rsp {
			rows[i] = fmt.Sprint(r)
		}
		slices.Sort(rows) // top-k groups of equal value come in store order
		return e.RCStr, rows
	}
	for _, path := range []string{"/lua/pro/rest/v1/get/db/flows.lua", "/lua/pro/rest/v1/get/db/topk_flows.lua"} {
		for _, user := range []string{"carol", "erin", "root2"} {
			for _, where := range []string{"", "&where_clause=L4_DST_PORT%20IN%20(443,445)"} {
				s.cfg.History = nil
				wantRC, want := get(path, user, where)
				s.cfg.History = rd
				rc, got := get(path, user, where+"&probe=here")
				if rc != wantRC || !reflect.DeepEqual(got, want) {
					t.Errorf("%s%s as %s: ClickHouse %s %v\nBadger %s %v", path, where, user, rc, got, wantRC, want)
				}
				if user == "root2" && where == "" && len(want) < 20 {
					t.Fatalf("%s: only %d rows", path, len(want))
				}
			}
		}
		// Without probe=, both probes' rows: twice the flows (db/flows).
		s.cfg.History = rd
		_, both := get(path, "root2", "&select_clause=TOTAL_BYTES&maxhits_clause=1000")
		if path == "/lua/pro/rest/v1/get/db/flows.lua" && len(both) != 2*len(recs) {
			t.Errorf("fleet db/flows: %d rows, want %d", len(both), 2*len(recs))
		}
	}
}
