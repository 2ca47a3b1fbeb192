package rest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/internal/communityid"
)

// v2AlertRows calls get/alert/list/alerts.lua with the clauses.
func v2AlertRows(t *testing.T, s *Server, q url.Values) (envOf[[]map[string]string], int) {
	t.Helper()
	if !q.Has("ifid") {
		q.Set("ifid", "0")
	}
	ctx := do(s, restV2Prefix+"get/alert/list/alerts.lua?"+q.Encode(), nil)
	raw := decodeEnv[json.RawMessage](t, ctx.Response.Body())
	e := envOf[[]map[string]string]{RC: raw.RC, RCStr: raw.RCStr}
	if raw.RC == 0 {
		e = decodeEnv[[]map[string]string](t, ctx.Response.Body())
	}
	return e, ctx.Response.StatusCode()
}

// TestV2AlertListAlerts runs the clauses ntop's Python API sends over 30
// stored flow alerts: flows 192.168.1.10:1024+i -> 10.0.0.i:443 (TCP, SYN
// only, so each raises alert 26, unidirectional traffic).
func TestV2AlertListAlerts(t *testing.T) {
	s := newAlertServer(t, 30)
	q := func(kv ...string) url.Values {
		v := url.Values{"alert_family": {"flow"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	e, _ := v2AlertRows(t, s, q("select_clause", "*", "maxhits_clause", "100"))
	if e.RC != 0 || len(e.Rsp) != 30 {
		t.Fatalf("select *: rc %d, %d rows", e.RC, len(e.Rsp))
	}
	for _, r := range e.Rsp {
		var i int
		if _, err := fmt.Sscanf(r["srv_ip"], "10.0.0.%d", &i); err != nil {
			t.Fatalf("row %v", r)
		}
		want := communityid.ID(communityid.Tuple{Src: netip.MustParseAddr("192.168.1.10"), Dst: netip.MustParseAddr(r["srv_ip"]), Proto: 6, SrcPort: uint16(1024 + i), DstPort: 443}, 0)
		if r["cli_ip"] != "192.168.1.10" || r["cli_port"] != fmt.Sprint(1024+i) || r["srv_port"] != "443" || r["proto"] != "6" ||
			r["alert_id"] != "26" || r["community_id"] != want || r["interface_id"] != "0" || r["alert_category"] == "" || r["cli_location"] != "local" || r["srv_location"] != "remote" {
			t.Errorf("row %v", r)
		}
	}
	for _, c := range []struct {
		name string
		q    url.Values
		want []string // rows as "k=v,k=v" in answer order
	}{
		{"where address", q("select_clause", "srv_ip, cli_port", "where_clause", "srv_ip = '10.0.0.5'"), []string{"cli_port=1029,srv_ip=10.0.0.5"}},
		{"group and count", q("select_clause", "alert_id, COUNT(*) AS n", "group_by_clause", "alert_id"), []string{"alert_id=26,n=30"}},
		{"order and maxhits", q("select_clause", "cli_port", "order_by_clause", "cli_port DESC", "maxhits_clause", "3"), []string{"cli_port=1053", "cli_port=1052", "cli_port=1051"}},
		{"and/or/parens", q("select_clause", "cli_port", "where_clause", "cli_port >= 1050 AND (srv_port = 443 OR proto = 17)", "order_by_clause", "cli_port"),
			[]string{"cli_port=1050", "cli_port=1051", "cli_port=1052", "cli_port=1053"}},
		{"like", q("select_clause", "count(*)", "where_clause", "srv_ip LIKE '10.0.0.1_'"), []string{"count(*)=10"}},
		{"in", q("select_clause", "srv_ip", "where_clause", "cli_port IN (1024, 1025) AND NOT srv_ip = '10.0.0.0'"), []string{"srv_ip=10.0.0.1"}},
		{"sum", q("select_clause", "SUM(srv_port) AS s, max(cli_port)"), []string{"max(cli_port)=1053,s=13290"}},
		{"default maxhits", q(), nil},
	} {
		e, st := v2AlertRows(t, s, c.q)
		if e.RC != 0 || st != 200 {
			t.Errorf("%s: rc %d HTTP %d", c.name, e.RC, st)
			continue
		}
		if c.want == nil {
			if len(e.Rsp) != defaultAlertHit {
				t.Errorf("%s: %d rows", c.name, len(e.Rsp))
			}
			continue
		}
		var got []string
		for _, r := range e.Rsp {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(r)) {
				kv = append(kv, k+"="+r[k])
			}
			got = append(got, strings.Join(kv, ","))
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// The other families have no alerts here; the system ones come from
	// the system interface.
	for _, f := range []string{"host", "interface", "active_monitoring", "mac", "network", "snmp", "system", "user"} {
		if e, _ := v2AlertRows(t, s, url.Values{"alert_family": {f}}); e.RC != 0 || len(e.Rsp) != 0 {
			t.Errorf("%s: rc %d, %d rows", f, e.RC, len(e.Rsp))
		}
	}
}

// TestV2AlertListHostileClauses: every malformed, unknown or oversized
// clause is INVALID_ARGUMENTS (HTTP 400), never a crash or a scan.
func TestV2AlertListHostileClauses(t *testing.T) {
	s := newAlertServer(t, 3)
	for _, c := range []url.Values{
		{"alert_family": {"flows"}},
		{"alert_family": {""}},
		{"alert_family": {"flow"}, "where_clause": {"nosuch = 1"}},
		{"alert_family": {"flow"}, "where_clause": {"cli_ip = 'x"}},
		{"alert_family": {"flow"}, "where_clause": {"1=1; DROP TABLE flow_alerts"}},
		{"alert_family": {"flow"}, "where_clause": {"cli_port = 1 OR"}},
		{"alert_family": {"flow"}, "where_clause": {strings.Repeat("(", 200) + "cli_port = 1" + strings.Repeat(")", 200)}},
		{"alert_family": {"flow"}, "where_clause": {strings.Repeat("NOT ", 100) + "cli_port = 1"}},
		{"alert_family": {"flow"}, "where_clause": {strings.Repeat("cli_port = 1 OR ", 100) + "cli_port = 2"}},
		{"alert_family": {"flow"}, "where_clause": {"cli_ip = '" + strings.Repeat("a", 5000) + "'"}},
		{"alert_family": {"flow"}, "where_clause": {"cli_port IN (" + strings.Repeat("1,", 100) + "1)"}},
		{"alert_family": {"flow"}, "where_clause": {"cli_port ~ 1"}},
		{"alert_family": {"flow"}, "select_clause": {"cli_ip, (SELECT 1)"}},
		{"alert_family": {"flow"}, "select_clause": {"cli_ip, count(*)"}},
		{"alert_family": {"flow"}, "select_clause": {"sum(*)"}},
		{"alert_family": {"flow"}, "select_clause": {"cli_ip"}, "group_by_clause": {"srv_ip"}},
		{"alert_family": {"flow"}, "group_by_clause": {"nosuch"}},
		{"alert_family": {"flow"}, "order_by_clause": {"nosuch DESC"}},
		{"alert_family": {"flow"}, "order_by_clause": {"cli_ip DESC LIMIT 1"}},
		{"alert_family": {"flow"}, "maxhits_clause": {"0"}},
		{"alert_family": {"flow"}, "maxhits_clause": {"10001"}},
	} {
		e, st := v2AlertRows(t, s, c)
		if e.RCStr != "INVALID_ARGUMENTS" || st != 400 {
			t.Errorf("%v: %s HTTP %d", c, e.RCStr, st)
		}
	}
	if e, _ := v2AlertRows(t, s, url.Values{"alert_family": {"flow"}, "ifid": {"7"}}); e.RCStr != "INVALID_INTERFACE" {
		t.Errorf("ifid 7: %s", e.RCStr)
	}
}

// TestV2AlertTop: the top statistics of the same 30 flow alerts.
func TestV2AlertTop(t *testing.T) {
	s := newAlertServer(t, 30)
	type top struct {
		Count int
		Top   map[string][]struct {
			Value string
			Count int
		}
	}
	get := func(uri string) top {
		t.Helper()
		ctx := do(s, uri, nil)
		e := decodeEnv[top](t, ctx.Response.Body())
		if e.RC != 0 {
			t.Fatalf("%s: %s", uri, ctx.Response.Body())
		}
		return e.Rsp
	}
	r := get(proV2Prefix + "get/flow/alert/top.lua?ifid=0&epoch_begin=0&epoch_end=2000000000")
	if r.Count != 30 || len(r.Top["alert_id"]) != 1 || r.Top["alert_id"][0].Value != "26" || r.Top["alert_id"][0].Count != 30 ||
		len(r.Top["cli_ip"]) != 1 || r.Top["cli_ip"][0].Value != "192.168.1.10" || r.Top["cli_ip"][0].Count != 30 || len(r.Top["srv_ip"]) != alertTopN {
		t.Errorf("flow top: %+v", r)
	}
	r = get(restV2Prefix + "get/alert/top.lua?ifid=0&ip=" + url.QueryEscape("10.0.0.3;eq"))
	if r.Count != 1 || len(r.Top["ip"]) != 2 {
		t.Errorf("top of 10.0.0.3: %+v", r)
	}
	r = get(proV2Prefix + "get/host/alert/top.lua?ifid=0")
	if r.Count != 0 || len(r.Top["alert_id"]) != 0 {
		t.Errorf("host top: %+v", r)
	}
	ctx := do(s, restV2Prefix+"get/alert/top.lua?ifid=0&ip="+url.QueryEscape("10.0.0.3;like"), nil)
	if e := decodeEnv[top](t, ctx.Response.Body()); e.RCStr != "INVALID_ARGUMENTS" {
		t.Errorf("bad operator: %s", ctx.Response.Body())
	}
}

// TestV2FlowAlertRecords: v2's flow alert list adds the category, the
// Community ID, located peers and a vlan object to v1's record.
func TestV2FlowAlertRecords(t *testing.T) {
	s := newAlertServer(t, 3)
	type peer struct {
		Value, Country, Location string
	}
	type rec struct {
		AlertCategory *int   `json:"alert_category"`
		CommunityID   string `json:"community_id"`
		RowID         string `json:"row_id"`
		Flow          struct {
			CliIP   peer   `json:"cli_ip"`
			SrvIP   peer   `json:"srv_ip"`
			CliPort string `json:"cli_port"`
			VLAN    *struct {
				Value int
				Label string
			} `json:"vlan"`
		} `json:"flow"`
	}
	ctx := do(s, restV2Prefix+"get/flow/alert/list.lua?ifid=0", nil)
	e := decodeEnv[struct{ Records []rec }](t, ctx.Response.Body())
	if e.RC != 0 || len(e.Rsp.Records) != 3 || e.RecordsTotal == nil || *e.RecordsTotal != 3 {
		t.Fatalf("%s", ctx.Response.Body())
	}
	for _, r := range e.Rsp.Records {
		if r.AlertCategory == nil || r.RowID == "" || r.Flow.CliIP.Value != "192.168.1.10" || r.Flow.CliIP.Location != "local" || r.Flow.SrvIP.Location != "remote" ||
			r.Flow.VLAN == nil || r.Flow.VLAN.Value != 0 || r.Flow.VLAN.Label != "" {
			t.Errorf("record %+v", r)
		}
		var port int
		fmt.Sscan(r.Flow.CliPort, &port)
		srv, _ := netip.ParseAddr(fmt.Sprintf("10.0.0.%d", port-1024))
		if want := communityid.ID(communityid.Tuple{Src: netip.MustParseAddr("192.168.1.10"), Dst: srv, Proto: 6, SrcPort: uint16(port), DstPort: 443}, 0); r.CommunityID != want {
			t.Errorf("community id %q, want %q", r.CommunityID, want)
		}
	}
	if !strings.Contains(string(ctx.Response.Body()), `"srv_ip":{`) || !strings.Contains(string(ctx.Response.Body()), `"location":"remote"`) {
		t.Errorf("server peer: %s", ctx.Response.Body())
	}
	// v1 keeps its records.
	ctx = do(s, "/lua/rest/v1/get/flow/alert/list.lua?ifid=0", nil)
	if b := string(ctx.Response.Body()); strings.Contains(b, "community_id") || strings.Contains(b, "alert_category") {
		t.Errorf("v1 record changed: %.300s", b)
	}
}

// TestV2InterfaceData: ntopng 6's fields over 30 unanswered SYNs from
// 192.168.1.10 to 30 remote servers, each flow alerted with a notice.
func TestV2InterfaceData(t *testing.T) {
	s := newAlertServer(t, 30)
	ctx := do(s, restV2Prefix+"get/interface/data.lua?ifid=0", nil)
	e := decodeEnv[map[string]any](t, ctx.Response.Body())
	d := e.Rsp
	if e.RC != 0 {
		t.Fatalf("%s", ctx.Response.Body())
	}
	for k, want := range map[string]float64{
		"num_rcvd_only_hosts": 30, "num_local_rcvd_only_hosts": 0, "alerted_flows_notice": 30, "alerted_flows_warning": 0, "alerted_flows_error": 0,
		"num_hosts": 31, "num_local_hosts": 1, "packets": 30, "packets_download_since_reset": 30,
	} {
		if d[k] != want {
			t.Errorf("%s: %v, want %v", k, d[k], want)
		}
	}
	if _, ok := d["ts_alerts"]; ok {
		t.Errorf("ts_alerts is v1's")
	}
	if d["ifid"] != "0" || d["bytes_download_since_reset"] != d["bytes"] {
		t.Errorf("ifid %v, bytes %v/%v", d["ifid"], d["bytes"], d["bytes_download_since_reset"])
	}
	// v1 is unchanged.
	ctx = do(s, "/lua/rest/v1/get/interface/data.lua?ifid=0", nil)
	if b := string(ctx.Response.Body()); strings.Contains(b, "rcvd_only") || !strings.Contains(b, `"ts_alerts":[]`) {
		t.Errorf("v1: %.300s", b)
	}
}

// FuzzAlertClauses: any clauses parse or fail with an error, and what
// parses runs over rows without a panic.
func FuzzAlertClauses(f *testing.F) {
	for _, s := range []string{"*", "cli_ip = '1.2.3.4' AND (score > 10 OR NOT proto IN (6,17))", "count(*) AS n", "srv_ip LIKE '%_%'", "((((", "n DESC, cli_port"} {
		f.Add(s, s, "alert_id", "n DESC", "5")
	}
	cols := make([]string, 0, len(v2AlertColumns["flow"]))
	for _, c := range v2AlertColumns["flow"] {
		cols = append(cols, c.name)
	}
	rows := []sqlRow{
		{"cli_ip": textCell("1.2.3.4"), "score": numCell(10), "proto": numCell(6), "alert_id": numCell(26), "cli_port": numCell(1)},
		{"cli_ip": textCell("::1"), "score": numCell(100), "proto": numCell(17), "alert_id": numCell(26)},
	}
	f.Fuzz(func(t *testing.T, sel, where, group, order, maxhits string) {
		q, err := parseAlertSQL(Params{"select_clause": sel, "where_clause": where, "group_by_clause": group, "order_by_clause": order, "maxhits_clause": maxhits}, cols)
		if err != nil {
			return
		}
		if _, err := q.run(rows); err != nil {
			t.Fatalf("parsed clauses failed to run: %v", err)
		}
	})
}

// TestV2AlertListFilters: v2's alert lists take ntopng's "value;op"
// filters (ntop's Python API sends cli_ip=<ip>;eq) over 30 flow alerts
// 192.168.1.10 -> 10.0.0.i.
func TestV2AlertListFilters(t *testing.T) {
	s := newAlertServer(t, 30)
	for _, c := range []struct {
		q    string
		rc   string
		want int
	}{
		{"get/flow/alert/list.lua?cli_ip=" + url.QueryEscape("192.168.1.10;eq"), "OK", 30},
		{"get/flow/alert/list.lua?cli_ip=" + url.QueryEscape("192.168.1.11;eq"), "OK", 0},
		{"get/flow/alert/list.lua?srv_ip=" + url.QueryEscape("10.0.0.3;eq"), "OK", 1},
		{"get/flow/alert/list.lua?srv_ip=" + url.QueryEscape("10.0.0.3;neq"), "OK", 29},
		{"get/flow/alert/list.lua?ip=" + url.QueryEscape("10.0.0.3"), "OK", 1},
		{"get/flow/alert/list.lua?alert_id=" + url.QueryEscape("26;neq"), "OK", 0},
		{"get/flow/alert/list.lua?score=" + url.QueryEscape("5;gt"), "OK", 30},
		{"get/all/alert/list.lua?ip=" + url.QueryEscape("10.0.0.7;eq"), "OK", 1},
		{"get/host/alert/list.lua?ip=" + url.QueryEscape("10.0.0.7;eq"), "OK", 0},
		{"get/flow/alert/list.lua?srv_ip=" + url.QueryEscape("10.0.0.3;like"), "INVALID_ARGUMENTS", 0},
	} {
		ctx := do(s, restV2Prefix+c.q+"&ifid=0", nil)
		raw := decodeEnv[json.RawMessage](t, ctx.Response.Body())
		if raw.RCStr != c.rc {
			t.Errorf("%s: %s", c.q, ctx.Response.Body())
			continue
		}
		if c.rc == "OK" {
			if e := decodeEnv[struct{ Records []json.RawMessage }](t, ctx.Response.Body()); len(e.Rsp.Records) != c.want || *e.RecordsTotal != c.want {
				t.Errorf("%s: %d records (total %d), want %d", c.q, len(e.Rsp.Records), *e.RecordsTotal, c.want)
			}
		}
	}
	// v1 lists take no such filter.
	ctx := do(s, "/lua/rest/v1/get/flow/alert/list.lua?ifid=0&cli_ip="+url.QueryEscape("192.168.1.11;eq"), nil)
	if e := decodeEnv[struct{ Records []json.RawMessage }](t, ctx.Response.Body()); len(e.Rsp.Records) != 30 {
		t.Errorf("v1 list filtered: %d", len(e.Rsp.Records))
	}
}

// TestV2AlertFilterIPNeq: ip=<addr>;neq leaves out the flows with that
// address at either end.
func TestV2AlertFilterIPNeq(t *testing.T) {
	s := newAlertServer(t, 5)
	for q, want := range map[string]int{
		"ip=" + url.QueryEscape("192.168.1.10;neq"): 0, // the client of every flow
		"ip=" + url.QueryEscape("10.0.0.2;neq"):     4,
		"ip=" + url.QueryEscape("10.0.0.2;eq"):      1,
	} {
		ctx := do(s, restV2Prefix+"get/flow/alert/list.lua?ifid=0&"+q, nil)
		if e := decodeEnv[struct{ Records []json.RawMessage }](t, ctx.Response.Body()); e.RC != 0 || len(e.Rsp.Records) != want {
			t.Errorf("%s: %d records, want %d", q, len(e.Rsp.Records), want)
		}
	}
}
