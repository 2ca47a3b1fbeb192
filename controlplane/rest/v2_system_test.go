package rest

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// TestV2HealthNetworksARP: the health, networks, ARP and broadcast-domain
// calls over 5 SYNs from 192.168.1.10 (local, 192.168.1.0/24) to 10.0.0.0-4,
// frames of 60..64 bytes (interface bytes add ntopng's 24 bytes of
// Ethernet overhead a packet).
func TestV2HealthNetworksARP(t *testing.T) {
	s := newTestServer(t, 5, true)
	get := func(uri string) envOf[json.RawMessage] {
		t.Helper()
		return decodeEnv[json.RawMessage](t, do(s, uri, nil).Response.Body())
	}
	for _, c := range []struct{ uri, want string }{
		{restV2Prefix + "get/network/networks.lua?ifid=0", `[{"id":0,"network":"192.168.1.0/24","name":"192.168.1.0/24","num_hosts":1,"bytes.sent":310,"bytes.rcvd":0}]`},
		{restV2Prefix + "get/interface/arp.lua?ifid=0", `[]`},
		{restV2Prefix + "get/interface/bcast_domains.lua?ifid=0", `{"bcast_domains":[]}`},
	} {
		if e := get(c.uri); e.RC != 0 || string(e.Rsp) != c.want {
			t.Errorf("%s: rc %d %s, want %s", c.uri, e.RC, e.Rsp, c.want)
		}
	}
	for _, p := range []string{"get/network/networks.lua", "get/interface/arp.lua", "get/interface/bcast_domains.lua"} {
		if e := get(restV2Prefix + p + "?ifid=9"); e.RCStr != "INVALID_INTERFACE" {
			t.Errorf("%s ifid 9: %s", p, e.RCStr)
		}
	}
	var ifs []struct {
		IfID           int    `json:"ifid"`
		IfName         string `json:"ifname"`
		Packets, Bytes int
		NumHosts       int `json:"num_hosts"`
		NumLocal       int `json:"num_local_hosts"`
		NumFlows       int `json:"num_flows"`
	}
	e := get(restV2Prefix + "get/system/health/interfaces.lua")
	if err := json.Unmarshal(e.Rsp, &ifs); err != nil || len(ifs) != 1 {
		t.Fatalf("health interfaces: %s", e.Rsp)
	}
	if i := ifs[0]; i.IfName != "bench.pcap" || i.Packets != 5 || i.Bytes != 310+5*24 || i.NumHosts != 6 || i.NumLocal != 1 || i.NumFlows != 5 {
		t.Errorf("health interfaces: %+v", i)
	}
	var st struct {
		SystemHostStats map[string]any `json:"system_host_stats"`
		Epoch           int64
		UptimeSec       *int64 `json:"uptime_sec"`
	}
	e = get(restV2Prefix + "get/system/health/stats.lua")
	if err := json.Unmarshal(e.Rsp, &st); err != nil || st.SystemHostStats["mem_total"] == nil || st.Epoch == 0 || st.UptimeSec == nil {
		t.Errorf("health stats: %s", e.Rsp)
	}
}

// TestV2SystemAlertsListAckDelete: two system alerts raised on the system
// interface are listed by alert/list/alerts (family system, whatever ifid
// says), acknowledged one by row id, then deleted by alert id; the flow
// alerts of interface 0 stay.
func TestV2SystemAlertsListAckDelete(t *testing.T) {
	s := newAlertServer(t, 3)
	for i, id := range []int{4099, 4110} { // dropped alerts, list download failed
		s.cfg.Checks.Raise(alert.Alert{Family: alert.FamilyOther, TypeID: id, Entity: alert.EntitySystem, EntityVal: "system", Tstamp: int64(1767225600 + i)})
	}
	rows := func() []map[string]string {
		e, _ := v2AlertRows(t, s, url.Values{"alert_family": {"system"}, "select_clause": {"rowid, alert_id, alert_status, interface_id"}, "order_by_clause": {"alert_id"}})
		if e.RC != 0 {
			t.Fatalf("system rows: rc %d", e.RC)
		}
		return e.Rsp
	}
	r := rows()
	if len(r) != 2 || r[0]["alert_id"] != "4099" || r[1]["alert_id"] != "4110" || r[0]["interface_id"] != "-1" || r[0]["alert_status"] != "0" {
		t.Fatalf("system rows: %v", r)
	}
	ctx := do(s, restV2Prefix+"acknowledge/system/alerts.lua?ifid=0&row_id="+r[1]["rowid"], nil)
	if e := decodeEnv[countAnswer](t, ctx.Response.Body()); e.RC != 0 || e.Rsp.Count != 1 {
		t.Fatalf("acknowledge: %s", ctx.Response.Body())
	}
	if r := rows(); r[0]["alert_status"] != "0" || r[1]["alert_status"] != "1" {
		t.Errorf("after acknowledge: %v", r)
	}
	ctx = do(s, restV2Prefix+"delete/system/alerts.lua?ifid=0&alert_id="+url.QueryEscape("4099;eq"), nil)
	if e := decodeEnv[countAnswer](t, ctx.Response.Body()); e.RC != 0 || e.Rsp.Count != 1 {
		t.Fatalf("delete: %s", ctx.Response.Body())
	}
	if r := rows(); len(r) != 1 || r[0]["alert_id"] != "4110" {
		t.Errorf("after delete: %v", r)
	}
	if e, _ := v2AlertRows(t, s, url.Values{"alert_family": {"flow"}, "select_clause": {"count(*)"}}); len(e.Rsp) != 1 || e.Rsp[0]["count(*)"] != "3" {
		t.Errorf("flow alerts: %v", e.Rsp)
	}
	// The system list shows what is left, the mac list nothing.
	ctx = do(s, restV2Prefix+"get/system/alert/list.lua?ifid=0", nil)
	if e := decodeEnv[struct {
		Records []struct {
			RowID string `json:"row_id"`
		}
	}](t, ctx.Response.Body()); e.RC != 0 || len(e.Rsp.Records) != 1 || e.Rsp.Records[0].RowID != r[1]["rowid"] {
		t.Errorf("system list: %s", ctx.Response.Body())
	}
	ctx = do(s, restV2Prefix+"get/mac/alert/list.lua?ifid=0", nil)
	if e := decodeEnv[struct{ Records []json.RawMessage }](t, ctx.Response.Body()); e.RC != 0 || len(e.Rsp.Records) != 0 {
		t.Errorf("mac list: %s", ctx.Response.Body())
	}
	// Its time series: the one left, on 2026-01-01 at 00:00 UTC.
	ctx = do(s, restV2Prefix+"get/system/alert/ts.lua?ifid=0", nil)
	if e := decodeEnv[map[string][]int](t, ctx.Response.Body()); e.RC != 0 || len(e.Rsp["1767225600"]) != 24 || e.Rsp["1767225600"][0] != 1 {
		t.Errorf("system ts: %s", ctx.Response.Body())
	}
	// Other families' deletes leave the system alerts alone.
	do(s, restV2Prefix+"delete/user/alerts.lua?ifid=0", nil)
	if r := rows(); len(r) != 1 {
		t.Errorf("after deleting user alerts: %v", r)
	}
}
