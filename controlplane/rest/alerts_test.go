package rest

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/notify"
	"github.com/probe-appliance/probe/controlplane/pools"
)

// newAlertServer is a test server with the checks engine run once over
// its table: n SYN-only flows, each unanswered (unidirectional; no data
// either way, so nDPI words it as missing client traffic).
func newAlertServer(t testing.TB, n int) *Server {
	s := newTestServer(t, n, true)
	eng, err := checks.New(checks.Options{Store: s.cfg.Store})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Checks = eng
	eng.Run(checks.Iface{ID: 0, Table: s.cfg.Interfaces[0].Table}, 0, true)
	return s
}

type envOf[T any] struct {
	RC              int    `json:"rc"`
	RCStr           string `json:"rc_str"`
	Rsp             T      `json:"rsp"`
	RecordsTotal    *int   `json:"recordsTotal"`
	RecordsFiltered *int   `json:"recordsFiltered"`
}

func decodeEnv[T any](t *testing.T, body []byte) envOf[T] {
	t.Helper()
	var e envOf[T]
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return e
}

func TestFlowAlertList(t *testing.T) {
	s := newAlertServer(t, 30)
	ctx := do(s, "/lua/rest/v1/get/flow/alert/list.lua?ifid=0", nil)
	type rec struct {
		RowID     string                 `json:"row_id"`
		ScriptKey string                 `json:"script_key"`
		AlertID   struct{ Value string } `json:"alert_id"`
		Severity  struct{ Value int }    `json:"severity"`
		Flow      struct {
			CliIP   struct{ Value string } `json:"cli_ip"`
			SrvPort string                 `json:"srv_port"`
		} `json:"flow"`
		Descr   struct{ Descr string } `json:"description"`
		Related struct{ Descr string } `json:"flow_related_info"`
	}
	e := decodeEnv[struct{ Records []rec }](t, ctx.Response.Body())
	if e.RC != 0 || e.RecordsTotal == nil || *e.RecordsTotal != 30 || len(e.Rsp.Records) != 30 {
		t.Fatalf("flow alert list: %s", ctx.Response.Body())
	}
	r := e.Rsp.Records[0]
	if r.AlertID.Value != "26" || r.ScriptKey != "ndpi_unidirectional_traffic" || r.Severity.Value != 3 ||
		r.Flow.CliIP.Value != "192.168.1.10" || r.Flow.SrvPort != "443" {
		t.Errorf("record %+v", r)
	}
	if want := "Unidirectional Traffic <a href=\"https://www.ntop.org/guides/nDPI/flow_risks.html#risk-046\" target=\"_blank\"><i class=\"fas fa-lg fa-question-circle\"></i></a> [No client to server traffic]"; r.Descr.Descr != want {
		t.Errorf("description %q", r.Descr.Descr)
	}
	// Paging: start/length.
	ctx = do(s, "/lua/rest/v1/get/flow/alert/list.lua?ifid=0&start=25&length=10", nil)
	if e := decodeEnv[struct{ Records []rec }](t, ctx.Response.Body()); len(e.Rsp.Records) != 5 || *e.RecordsTotal != 30 {
		t.Errorf("page: %d records of %d", len(e.Rsp.Records), *e.RecordsTotal)
	}
	// Host lists hold no flow alerts.
	ctx = do(s, "/lua/rest/v1/get/host/alert/list.lua?ifid=0", nil)
	if e := decodeEnv[struct{ Records []rec }](t, ctx.Response.Body()); len(e.Rsp.Records) != 0 {
		t.Errorf("host list: %s", ctx.Response.Body())
	}
}

func TestAlertDataCountersAndBadInput(t *testing.T) {
	s := newAlertServer(t, 12)
	type row struct {
		Type, Severity, Entity string
		Score                  int
	}
	ctx := do(s, "/lua/rest/v1/get/alert/data.lua?ifid=0&status=historical-flows", nil)
	e := decodeEnv[[]row](t, ctx.Response.Body())
	if len(e.Rsp) != 12 || e.Rsp[0].Type != "alert_ndpi_unidirectional_traffic" || e.Rsp[0].Severity != "notice" || e.Rsp[0].Entity != "flow" {
		t.Errorf("historical-flows: %s", ctx.Response.Body())
	}
	ctx = do(s, "/lua/rest/v1/get/alert/data.lua?ifid=0&status=engaged", nil)
	if e := decodeEnv[[]row](t, ctx.Response.Body()); len(e.Rsp) != 0 {
		t.Errorf("engaged: %s", ctx.Response.Body())
	}
	ctx = do(s, "/lua/rest/v1/get/alert/type/counters.lua?ifid=0&status=historical-flows", nil)
	type cnt struct {
		Key, Count int
		Type       string
	}
	if e := decodeEnv[[]cnt](t, ctx.Response.Body()); len(e.Rsp) != 1 || e.Rsp[0].Count != 12 || e.Rsp[0].Key != 26 {
		t.Errorf("type counters: %s", ctx.Response.Body())
	}
	ctx = do(s, "/lua/rest/v1/get/alert/severity/counters.lua?ifid=0&status=historical-flows&alert_severity=notice", nil)
	if e := decodeEnv[[]cnt](t, ctx.Response.Body()); len(e.Rsp) != 1 || e.Rsp[0].Count != 12 {
		t.Errorf("severity counters: %s", ctx.Response.Body())
	}
	bad := []struct {
		uri  string
		code int
		rc   string
	}{
		{"/lua/rest/v1/get/alert/data.lua?ifid=9", 400, "INVALID_INTERFACE"},
		{"/lua/rest/v1/get/alert/data.lua", 400, "INVALID_INTERFACE"},
		{"/lua/rest/v1/get/alert/data.lua?ifid=0&epoch_begin=200&epoch_end=100", 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/get/alert/data.lua?ifid=0&alert_severity=loud", 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/get/alert/ts.lua?ifid=x", 400, "INVALID_INTERFACE"},
		{"/lua/rest/v1/enable/check.lua?check_subdir=flow&script_key=nope", 404, "NOT_FOUND"},
		{"/lua/rest/v1/enable/check.lua?check_subdir=flow", 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/edit/check/config.lua?check_subdir=host&script_key=syn_flood&threshold=-5", 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/edit/check/config.lua?check_subdir=host&script_key=syn_flood&threshold=abc", 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/edit/check/config.lua?check_subdir=flow&script_key=unexpected_dns&items=1.2.3.4,bogus", 400, "INVALID_ARGUMENTS"},
	}
	for _, b := range bad {
		ctx := do(s, b.uri, nil)
		e := decodeEnv[any](t, ctx.Response.Body())
		if ctx.Response.StatusCode() != b.code || e.RCStr != b.rc {
			t.Errorf("%s: %d %s, want %d %s", b.uri, ctx.Response.StatusCode(), ctx.Response.Body(), b.code, b.rc)
		}
	}
}

func TestCheckSettingsOverREST(t *testing.T) {
	s := newAlertServer(t, 1)
	for _, uri := range []string{
		"/lua/rest/v1/edit/check/config.lua?check_subdir=host&script_key=syn_flood&threshold=75",
		"/lua/rest/v1/edit/check/config.lua?check_subdir=flow&script_key=unexpected_dns&items=192.168.1.1,10.0.0.0/8&enabled=true",
		"/lua/rest/v1/disable/check.lua?check_subdir=flow&script_key=elephant_flow",
	} {
		if ctx := do(s, uri, nil); ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: %s", uri, ctx.Response.Body())
		}
	}
	ctx := do(s, "/lua/rest/v1/get/checks/list.lua", nil)
	type check struct {
		Subdir    string   `json:"check_subdir"`
		Key       string   `json:"script_key"`
		Enabled   bool     `json:"enabled"`
		Threshold float64  `json:"threshold"`
		Items     []string `json:"items"`
	}
	got := map[string]check{}
	for _, c := range decodeEnv[[]check](t, ctx.Response.Body()).Rsp {
		got[c.Key] = c
	}
	if c := got["syn_flood"]; c.Threshold != 75 || !c.Enabled || c.Subdir != "host" {
		t.Errorf("syn_flood %+v", c)
	}
	if c := got["unexpected_dns"]; !c.Enabled || len(c.Items) != 2 || c.Items[1] != "10.0.0.0/8" {
		t.Errorf("unexpected_dns %+v", c)
	}
	if c := got["elephant_flow"]; c.Enabled {
		t.Errorf("elephant_flow still enabled")
	}
	ctx = do(s, "/lua/toggle_all_checks.lua?action=disable", nil)
	if string(ctx.Response.Body()) != `{"success":true}` {
		t.Errorf("toggle: %s", ctx.Response.Body())
	}
	for _, c := range decodeEnv[[]check](t, do(s, "/lua/rest/v1/get/checks/list.lua", nil).Response.Body()).Rsp {
		if c.Enabled {
			t.Errorf("%s enabled after toggle disable", c.Key)
		}
	}
}

func TestNotificationSettings(t *testing.T) {
	s := newAlertServer(t, 1)
	addNotifications(t, s)
	post := func(path, body string) *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.SetBodyString(body)
		s.serve(&ctx)
		return &ctx
	}
	steps := []struct {
		path, body string
		code       int
		rc         string
	}{
		{"/lua/rest/v1/add/notification/endpoint.lua", `{"endpoint_conf_name":"s","endpoint_key":"syslog","endpoint_conf":{"syslog_host":"127.0.0.1","syslog_port":"5514"}}`, 200, "OK"},
		{"/lua/rest/v1/add/notification/endpoint.lua", `{"endpoint_conf_name":"x","endpoint_key":"pigeon","endpoint_conf":{}}`, 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/add/notification/endpoint.lua", `{"endpoint_key":`, 400, "BAD_FORMAT"},
		{"/lua/rest/v1/add/notification/recipient.lua", `{"recipient_name":"r","endpoint_id":1,"minimum_severity":4}`, 200, "OK"},
		{"/lua/rest/v1/add/notification/recipient.lua", `{"recipient_name":"r2","endpoint_id":9}`, 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/add/notification/recipient.lua", `{"recipient_name":"r3","endpoint_id":1,"recipient_entities":["toaster"]}`, 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/edit/notification/recipient.lua", `{"recipient_id":5,"recipient_name":"r","endpoint_id":1}`, 404, "NOT_FOUND"},
		{"/lua/rest/v1/delete/notification/endpoint.lua", `{"endpoint_id":3}`, 404, "NOT_FOUND"},
	}
	for _, st := range steps {
		ctx := post(st.path, st.body)
		e := decodeEnv[any](t, ctx.Response.Body())
		if ctx.Response.StatusCode() != st.code || e.RCStr != st.rc {
			t.Errorf("%s %s: %d %s, want %d %s", st.path, st.body, ctx.Response.StatusCode(), ctx.Response.Body(), st.code, st.rc)
		}
	}
	ctx := do(s, "/lua/rest/v1/get/notification/recipients.lua", nil)
	if e := decodeEnv[[]notify.Recipient](t, ctx.Response.Body()); len(e.Rsp) != 1 || e.Rsp[0].MinSeverity != 4 {
		t.Errorf("recipients: %s", ctx.Response.Body())
	}
	// Deleting the endpoint takes its recipient along; the store agrees
	// after a reload.
	if ctx := post("/lua/rest/v1/delete/notification/endpoint.lua", `{"endpoint_id":1}`); ctx.Response.StatusCode() != 200 {
		t.Fatalf("delete: %s", ctx.Response.Body())
	}
	n2, err := NewNotifications(s.cfg.Store, notify.New(notify.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	eps, rs, _ := n2.load()
	if len(eps) != 0 || len(rs) != 0 {
		t.Errorf("after delete: %v %v", eps, rs)
	}
}

func TestDeleteAndAcknowledgeAlerts(t *testing.T) {
	s := newAlertServer(t, 10)
	count := func(uri string) int {
		var n int
		for _, r := range decodeEnv[[]struct {
			Acked bool `json:"acknowledged"`
		}](t, do(s, uri, nil).Response.Body()).Rsp {
			_ = r
			n++
		}
		return n
	}
	if n := count("/lua/rest/v1/get/alert/data.lua?ifid=0&status=historical-flows"); n != 10 {
		t.Fatalf("%d flow alerts, want 10", n)
	}
	// Host deletions leave flow alerts alone.
	ctx := do(s, "/lua/rest/v1/delete/host/alerts.lua?ifid=0", nil)
	if e := decodeEnv[struct{ Count int }](t, ctx.Response.Body()); e.Rsp.Count != 0 {
		t.Errorf("delete host alerts: %s", ctx.Response.Body())
	}
	ctx = do(s, "/lua/rest/v1/acknowledge/flow/alerts.lua?ifid=0", nil)
	if e := decodeEnv[struct{ Count int }](t, ctx.Response.Body()); e.Rsp.Count != 10 {
		t.Errorf("acknowledge: %s", ctx.Response.Body())
	}
	ctx = do(s, "/lua/rest/v1/delete/flow/alerts.lua?ifid=0&row_id=3", nil)
	if e := decodeEnv[struct{ Count int }](t, ctx.Response.Body()); e.Rsp.Count != 1 {
		t.Errorf("delete one: %s", ctx.Response.Body())
	}
	if n := count("/lua/rest/v1/get/alert/data.lua?ifid=0&status=historical-flows"); n != 9 {
		t.Errorf("%d flow alerts after deleting one, want 9", n)
	}
	ctx = do(s, "/lua/rest/v1/delete/flow/alerts.lua?ifid=0&row_id=0", nil)
	if ctx.Response.StatusCode() != 400 {
		t.Errorf("row_id=0: %s", ctx.Response.Body())
	}
	ctx = do(s, "/lua/rest/v1/get/flow/alert/ts.lua?ifid=0", nil)
	e := decodeEnv[map[string][]int](t, ctx.Response.Body())
	total := 0
	for _, day := range e.Rsp {
		for _, n := range day {
			total += n
		}
	}
	if total != 9 {
		t.Errorf("flow alert ts counts %d, want 9: %s", total, ctx.Response.Body())
	}
}

func TestMetrics(t *testing.T) {
	s := newAlertServer(t, 5)
	ctx := do(s, "/metrics", nil)
	body := string(ctx.Response.Body())
	if ctx.Response.StatusCode() != 200 || !strings.HasPrefix(string(ctx.Response.Header.ContentType()), "text/plain") {
		t.Fatalf("metrics: %d %s", ctx.Response.StatusCode(), body)
	}
	for _, want := range []string{
		"# TYPE probe_interface_packets_total counter",
		`probe_interface_packets_total{ifid="0",ifname="bench.pcap"} 5`,
		`probe_interface_flows{ifid="0",ifname="bench.pcap"} 5`,
		`probe_interface_alerted_flows{ifid="0",ifname="bench.pcap"} 5`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	// The slow path's no-credit count only for an interface that has one.
	if strings.Contains(body, "probe_interface_slow_path_no_credit_total{") {
		t.Errorf("a capture file with a slow-path count:\n%s", body)
	}
	s.cfg.Interfaces[0].SlowPathNoCredit = func() uint64 { return 42 }
	body = string(do(s, "/metrics", nil).Response.Body())
	if want := `probe_interface_slow_path_no_credit_total{ifid="0",ifname="bench.pcap"} 42`; !strings.Contains(body, want) {
		t.Errorf("metrics lack %q:\n%s", want, body)
	}
	var data struct {
		Rsp map[string]any `json:"rsp"`
	}
	json.Unmarshal(do(s, "/lua/rest/v1/get/interface/data.lua?ifid=0", nil).Response.Body(), &data)
	if data.Rsp["slow_path_no_credit"] != float64(42) {
		t.Errorf("get/interface/data: slow_path_no_credit %v, want 42", data.Rsp["slow_path_no_credit"])
	}
}

func TestTopTalkers(t *testing.T) {
	s := newTestServer(t, 12, true) // one local client, 12 remote servers
	ctx := do(s, "/lua/pro/rest/v1/get/host/top/remote/talkers.lua?ifid=0", nil)
	var e struct {
		Rsp []struct {
			Address string `json:"address"`
			Bytes   uint64 `json:"bytes"`
		} `json:"rsp"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || len(e.Rsp) != 10 {
		t.Fatalf("remote talkers: %v %s", err, ctx.Response.Body())
	}
	for i := 1; i < len(e.Rsp); i++ {
		if e.Rsp[i].Bytes > e.Rsp[i-1].Bytes {
			t.Errorf("not sorted by traffic: %+v", e.Rsp)
		}
	}
	ctx = do(s, "/lua/pro/rest/v1/get/host/top/local/talkers.lua?ifid=0", nil)
	if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || len(e.Rsp) != 1 || e.Rsp[0].Address != "192.168.1.10" {
		t.Errorf("local talkers: %s", ctx.Response.Body())
	}
	if ctx := do(s, "/lua/pro/rest/v1/get/host/top/local/talkers.lua?ifid=5", nil); ctx.Response.StatusCode() != 400 {
		t.Errorf("bad ifid: %d", ctx.Response.StatusCode())
	}
}

// A host's pool shows in its data and in the alert lists.
func TestHostPoolInHostDataAndAlerts(t *testing.T) {
	s := newAlertServer(t, 3)
	p, err := pools.New(s.cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Pools = p
	ctx := postForm(s, "/lua/rest/v1/add/host/pool.lua", url.Values{"pool_name": {"lab"}, "pool_members": {"192.168.1.0/24"}})
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("add pool: %s", ctx.Response.Body())
	}
	var hd struct {
		Rsp map[string]any `json:"rsp"`
	}
	json.Unmarshal(do(s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=192.168.1.10", nil).Response.Body(), &hd)
	if hd.Rsp["host_pool_id"] != float64(2) {
		t.Errorf("host_pool_id = %v, want the new pool 2", hd.Rsp["host_pool_id"])
	}
	var list struct {
		Rsp struct {
			Records []struct {
				Cli map[string]any `json:"cli_host_pool_id"`
				Srv map[string]any `json:"srv_host_pool_id"`
			} `json:"records"`
		} `json:"rsp"`
	}
	json.Unmarshal(do(s, "/lua/rest/v1/get/flow/alert/list.lua?ifid=0", nil).Response.Body(), &list)
	if len(list.Rsp.Records) == 0 || list.Rsp.Records[0].Cli["label"] != "lab" || list.Rsp.Records[0].Srv["value"] != "0" {
		t.Errorf("alert pools: %+v", list.Rsp.Records)
	}
	// export/pool carries the pools with what they are bound to.
	ctx = do(s, "/lua/rest/v1/export/pool/config.lua", nil)
	e := decodeEnv[configEnvelope](t, ctx.Response.Body())
	if e.Rsp.Modules["pool"] == nil || e.Rsp.Modules["scripts"] == nil {
		t.Errorf("export/pool: %s", ctx.Response.Body())
	}
	ctx = postForm(s, "/lua/rest/v1/import/pool/config.lua", url.Values{"JSON": {`{"version":"1.0","modules":{"pool":{}}}`}})
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RCStr != "CONFIGURATION_FILE_MISMATCH" {
		t.Errorf("import/pool without the bound modules: %s", ctx.Response.Body())
	}
}

func TestInterfaceDataForAll(t *testing.T) {
	s := newTestServer(t, 2, true)
	for _, q := range []string{"ifid=all", "iffilter=all"} {
		var e struct {
			Rsp map[string]map[string]any `json:"rsp"`
		}
		json.Unmarshal(do(s, "/lua/rest/v1/get/interface/data.lua?"+q, nil).Response.Body(), &e)
		if e.Rsp["0"] == nil || e.Rsp["0"]["ifname"] != "bench.pcap" {
			t.Errorf("%s: %v", q, e.Rsp)
		}
	}
}

func TestL7Confidence(t *testing.T) {
	for _, c := range []struct {
		master, app uint16
		guessed     bool
		want        string
	}{
		{91, 0, false, "DPI"},    // TLS proven
		{91, 265, false, "DPI"},  // TLS proven, AmazonAWS by address
		{91, 265, true, "Guess"}, // port 443 only: TLS.AmazonAWS guessed
		{0, 126, false, "Guess"}, // Google by address, no master
		{7, 0, true, "Guess"},    // HTTP by port
		{0, 0, false, "None"},
	} {
		if got := l7Confidence(c.master, c.app, c.guessed); got != c.want {
			t.Errorf("l7Confidence(%d, %d, %v) = %s, want %s", c.master, c.app, c.guessed, got, c.want)
		}
	}
}
