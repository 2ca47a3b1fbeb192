package rest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/timeseries"
	"github.com/probe-appliance/probe/internal/tstest"
)

// tsT0 is a 5-minute and hour boundary (2026-03-01 12:00 UTC).
const tsT0 = 1772366400

// tsAnswerOf is the part of ts.lua's answer the tests read.
type tsAnswerOf struct {
	Start            int64                 `json:"start"`
	Step             int64                 `json:"step"`
	Count            int                   `json:"count"`
	Series           []timeseries.Series   `json:"series"`
	Statistics       timeseries.Statistics `json:"statistics"`
	AdditionalSeries map[string][]float64  `json:"additional_series"`
}

// newTSServer is a server with a time-series store holding, on ifid 1
// ("eth-in"), host:traffic of 10.254.0.5 (in the scoped user's networks)
// and 192.0.2.7 (out of them) over [tsT0, tsT0+600] and one day before,
// and iface:traffic of both interfaces; login on, an administrator and a
// user limited to 10.254.0.0/16 on eth-in.
func newTSServer(t *testing.T) (*Server, map[string]string, map[string]string) {
	t.Helper()
	st, db := tstest.Open(t)
	au, err := auth.New(st)
	if err != nil {
		t.Fatal(err)
	}
	var pts []timeseries.Point
	host := func(ip string, t0 int64, sent, rcvd []float64) {
		for i := range sent {
			pts = append(pts, timeseries.Point{Schema: "host:traffic", Tags: []string{"1", ip}, Time: t0 + int64(300*i), Values: []float64{sent[i], rcvd[i]}})
		}
	}
	// Cumulative counters: the first sample is the baseline.
	host("10.254.0.5", tsT0, []float64{0, 3000, 9000}, []float64{0, 600, 1200})  // 10,200 bytes
	host("192.0.2.7", tsT0, []float64{0, 100, 200}, []float64{0, 0, 0})          // 200 bytes
	host("10.254.0.5", tsT0-86400, []float64{0, 1000, 2000}, []float64{0, 0, 0}) // a day before: 2,000 bytes
	for ifid := range 2 {
		for i := range 601 {
			pts = append(pts, timeseries.Point{Schema: "iface:traffic", Tags: []string{fmt.Sprint(ifid)}, Time: tsT0 + int64(i), Values: []float64{float64(i * 100 * (ifid + 1))}})
		}
	}
	// Applications: cumulative bytes at tsT0 (baseline) and tsT0+60.
	for i, at := range []int64{tsT0, tsT0 + 60} {
		k := float64(i)
		pts = append(pts,
			timeseries.Point{Schema: "iface:ndpi", Tags: []string{"1", "DNS"}, Time: at, Values: []float64{300 * k}},
			timeseries.Point{Schema: "iface:ndpi", Tags: []string{"1", "TLS"}, Time: at, Values: []float64{900 * k}},
			timeseries.Point{Schema: "iface:ndpi_categories", Tags: []string{"1", "Network"}, Time: at, Values: []float64{300 * k}},
			timeseries.Point{Schema: "host:ndpi", Tags: []string{"1", "10.254.0.5", "DNS"}, Time: at, Values: []float64{100 * k, 50 * k}},
			timeseries.Point{Schema: "host:ndpi", Tags: []string{"1", "10.254.0.5", "TLS"}, Time: at, Values: []float64{20 * k, 30 * k}},
			timeseries.Point{Schema: "host:ndpi", Tags: []string{"1", "192.0.2.7", "DNS"}, Time: at, Values: []float64{5000 * k, 0}})
	}
	if err := db.Write(pts); err != nil {
		t.Fatal(err)
	}
	local := []netip.Prefix{netip.MustParsePrefix("10.254.0.0/16")}
	var ifaces []Interface
	for id, name := range []string{"eth-out", "eth-in"} {
		ifaces = append(ifaces, Interface{ID: id, StoreID: uint16(id), Name: name, Table: flowtable.New(flowtable.Config{Offline: true, LocalNets: local}), SpeedMbps: 1000})
	}
	s := New(Config{Interfaces: ifaces, Auth: au, Store: st, HTTPPort: 3000, LocalNets: local, TimeSeries: db})
	for _, u := range []struct {
		user auth.User
		pw   string
	}{
		{auth.User{Username: "boss", Group: auth.GroupAdministrator}, "pw-boss"},
		{auth.User{Username: "scoped", Group: auth.GroupUnprivileged, AllowedNets: "10.254.0.0/16", AllowedIfname: "eth-in"}, "pw-scoped"},
	} {
		if err := au.AddUser(u.user, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	return s, basicAuth("boss", "pw-boss"), basicAuth("scoped", "pw-scoped")
}

// tsPost sends a JSON body as ntop's Python API does.
func tsPost(s *Server, path string, body any, hdr map[string]string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.Header.SetContentType("application/json")
	for k, v := range hdr {
		ctx.Request.Header.Set(k, v)
	}
	b, _ := json.Marshal(body)
	ctx.Request.SetBody(b)
	s.serve(&ctx)
	return &ctx
}

func TestTimeSeriesAnswersAndScope(t *testing.T) {
	s, admin, scoped := newTSServer(t)
	const ts = "/lua/rest/v2/get/timeseries/ts.lua"
	win := fmt.Sprintf("&epoch_begin=%d&epoch_end=%d", tsT0, tsT0+600)
	for _, c := range []struct {
		name, query string
		user        map[string]string
		rc          string
		total       float64 // statistics.total when OK
	}{
		{"host", "ts_schema=host:traffic&ts_query=ifid:1,host:10.254.0.5" + win, admin, "OK", 10200},
		{"host out of the user's scope, admin", "ts_schema=host:traffic&ts_query=ifid:1,host:192.0.2.7" + win, admin, "OK", 200},
		{"ifid as a parameter", "ifid=1&ts_schema=host:traffic&ts_query=host:10.254.0.5" + win, admin, "OK", 10200},
		{"hosts summed", "ts_schema=host:traffic&ts_query=ifid:1" + win, admin, "OK", 10400},
		{"interface", "ts_schema=iface:traffic&ts_query=ifid:1" + win, admin, "OK", 600 * 200},
		{"no data in the window", "ts_schema=host:traffic&ts_query=ifid:1,host:10.254.0.9" + win, admin, "OK", 0},
		{"scoped user, own host", "ts_schema=host:traffic&ts_query=ifid:1,host:10.254.0.5" + win, scoped, "OK", 10200},
		{"scoped user, own interface", "ts_schema=iface:traffic&ts_query=ifid:1" + win, scoped, "OK", 600 * 200},
		{"scoped user, host out of scope", "ts_schema=host:traffic&ts_query=ifid:1,host:192.0.2.7" + win, scoped, "NOT_GRANTED", 0},
		{"scoped user, hosts summed", "ts_schema=host:traffic&ts_query=ifid:1" + win, scoped, "NOT_GRANTED", 0},
		{"scoped user, other interface", "ts_schema=iface:traffic&ts_query=ifid:0" + win, scoped, "NOT_GRANTED", 0},
		{"scoped user, series of no interface", "ts_schema=am_host:val_min" + win, scoped, "NOT_GRANTED", 0},
		{"unknown interface", "ts_schema=iface:traffic&ts_query=ifid:7" + win, admin, "INVALID_INTERFACE", 0},
		{"no ifid", "ts_schema=iface:traffic" + win, admin, "INVALID_ARGUMENTS", 0},
		{"unknown schema", "ts_schema=host:nonsense&ts_query=ifid:1" + win, admin, "INVALID_ARGUMENTS", 0},
		{"no schema", "ts_query=ifid:1" + win, admin, "INVALID_ARGUMENTS", 0},
		{"tag not in the schema", "ts_schema=iface:traffic&ts_query=ifid:1,host:10.254.0.5" + win, admin, "INVALID_ARGUMENTS", 0},
		{"malformed ts_query", "ts_schema=iface:traffic&ts_query=ifid:1,junk" + win, admin, "INVALID_ARGUMENTS", 0},
		{"no epoch_end", fmt.Sprintf("ts_schema=iface:traffic&ts_query=ifid:1&epoch_begin=%d", tsT0), admin, "INVALID_ARGUMENTS", 0},
		{"end before begin", fmt.Sprintf("ts_schema=iface:traffic&ts_query=ifid:1&epoch_begin=%d&epoch_end=%d", tsT0, tsT0-5), admin, "INVALID_ARGUMENTS", 0},
		{"limit too large", "ts_schema=iface:traffic&ts_query=ifid:1&limit=100000" + win, admin, "INVALID_ARGUMENTS", 0},
		{"bad ts_compare", "ts_schema=iface:traffic&ts_query=ifid:1&ts_compare=yesterday" + win, admin, "INVALID_ARGUMENTS", 0},
		{"ts_compare too far", "ts_schema=iface:traffic&ts_query=ifid:1&ts_compare=99999999Y" + win, admin, "INVALID_ARGUMENTS", 0},
		{"ts_compare before 1970", "ts_schema=iface:traffic&ts_query=ifid:1&ts_compare=100Y" + win, admin, "INVALID_ARGUMENTS", 0},
		{"negative limit", "ts_schema=iface:traffic&ts_query=ifid:1&limit=-1" + win, admin, "INVALID_ARGUMENTS", 0},
		{"negative epoch", "ts_schema=iface:traffic&ts_query=ifid:1&epoch_begin=-5&epoch_end=10", admin, "INVALID_ARGUMENTS", 0},
		{"epoch past year 2500", "ts_schema=iface:traffic&ts_query=ifid:1&epoch_begin=0&epoch_end=99999999999999999999", admin, "INVALID_ARGUMENTS", 0},
		{"NUL in ts_query", "ts_schema=host:traffic&ts_query=ifid:1,host:10.254.0.5%00x" + win, admin, "INVALID_ARGUMENTS", 0},
		{"huge host: no such series", "ts_schema=host:traffic&ts_query=ifid:1,host:" + strings.Repeat("9", 60000) + win, admin, "OK", 0},
		{"huge host, scoped user", "ts_schema=host:traffic&ts_query=ifid:1,host:" + strings.Repeat("9", 60000) + win, scoped, "NOT_GRANTED", 0},
		{"initial_point", "ts_schema=iface:traffic&ts_query=ifid:1&initial_point=true" + win, admin, "OK", 600 * 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := do(s, ts+"?"+c.query, c.user)
			env := decodeEnv[json.RawMessage](t, ctx.Response.Body())
			if env.RCStr != c.rc {
				t.Fatalf("rc %s, want %s: %.300s", env.RCStr, c.rc, ctx.Response.Body())
			}
			if st := ctx.Response.StatusCode(); st >= 500 {
				t.Errorf("HTTP %d", st)
			}
			if c.rc != "OK" {
				return
			}
			var a tsAnswerOf
			if err := json.Unmarshal(env.Rsp, &a); err != nil {
				t.Fatal(err)
			}
			if got := a.Statistics.Total; got < c.total-1e-6 || got > c.total+1e-6 {
				t.Errorf("statistics.total %v, want %v", got, c.total)
			}
			for _, se := range a.Series {
				if len(se.Data) != a.Count {
					t.Errorf("series %s: %d points, count %d", se.Label, len(se.Data), a.Count)
				}
			}
		})
	}
}

// ntop's Python API POSTs JSON: get_timeseries / get_*_timeseries_stats.
func TestTimeSeriesPythonShapePOST(t *testing.T) {
	s, admin, _ := newTSServer(t)
	ctx := tsPost(s, "/lua/rest/v2/get/timeseries/ts.lua", map[string]any{
		"ts_schema": "host:traffic", "ts_query": "ifid:1,host:10.254.0.5", "epoch_begin": tsT0, "epoch_end": tsT0 + 600}, admin)
	env := decodeEnv[tsAnswerOf](t, ctx.Response.Body())
	if env.RCStr != "OK" || env.Rsp.Statistics.Total != 10200 {
		t.Fatalf("%s", ctx.Response.Body())
	}
	labels := []string{}
	for _, se := range env.Rsp.Series {
		labels = append(labels, se.Label)
	}
	if strings.Join(labels, ",") != "bytes_sent,bytes_rcvd" || env.Rsp.Step != 300 || env.Rsp.Start != tsT0 {
		t.Errorf("labels %v step %d start %d", labels, env.Rsp.Step, env.Rsp.Start)
	}
}

// ts_compare=1d adds the window a day before as additional_series.1d_ago.
func TestTimeSeriesCompare(t *testing.T) {
	s, admin, _ := newTSServer(t)
	ctx := do(s, fmt.Sprintf("/lua/rest/v2/get/timeseries/ts.lua?ts_schema=host:traffic&ts_query=ifid:1,host:10.254.0.5&epoch_begin=%d&epoch_end=%d&ts_compare=1d", tsT0, tsT0+600), admin)
	env := decodeEnv[tsAnswerOf](t, ctx.Response.Body())
	ago, ok := env.Rsp.AdditionalSeries["1d_ago"]
	if env.RCStr != "OK" || !ok {
		t.Fatalf("%s", ctx.Response.Body())
	}
	if len(ago) != env.Rsp.Count {
		t.Errorf("1d_ago has %d points, the answer %d", len(ago), env.Rsp.Count)
	}
	sum := 0.0
	for _, v := range ago {
		sum += v * float64(env.Rsp.Step)
	}
	if sum < 2000-1e-6 || sum > 2000+1e-6 {
		t.Errorf("1d_ago totals %v bytes, want 2000: %v", sum, ago)
	}
}

func TestTimeSeriesMulti(t *testing.T) {
	s, admin, scoped := newTSServer(t)
	const path = "/lua/pro/rest/v2/get/timeseries/ts_multi.lua"
	body := map[string]any{"ifid": 1, "epoch_begin": tsT0, "epoch_end": tsT0 + 600, "ts_requests": []map[string]string{
		{"ts_schema": "host:traffic", "ts_query": "ifid:1,host:10.254.0.5"},
		{"ts_schema": "iface:traffic", "ts_query": "ifid:1"},
	}}
	env := decodeEnv[[]tsAnswerOf](t, tsPost(s, path, body, admin).Response.Body())
	if env.RCStr != "OK" || len(env.Rsp) != 2 || env.Rsp[0].Statistics.Total != 10200 || env.Rsp[1].Statistics.Total != 600*200 {
		t.Fatalf("%+v", env)
	}
	// One request out of the user's scope fails the call.
	body["ts_requests"] = append(body["ts_requests"].([]map[string]string), map[string]string{"ts_schema": "host:traffic", "ts_query": "ifid:1,host:192.0.2.7"})
	if rc := decodeEnv[any](t, tsPost(s, path, body, scoped).Response.Body()).RCStr; rc != "NOT_GRANTED" {
		t.Errorf("scoped user with an out-of-scope host: %s", rc)
	}
	// ts_requests as JSON text in a form field.
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
	ctx.Request.SetBodyString(fmt.Sprintf("ifid=1&epoch_begin=%d&epoch_end=%d&ts_requests=%s", tsT0, tsT0+600,
		url.QueryEscape(`[{"ts_schema":"iface:traffic","ts_query":"ifid:1"}]`)))
	for k, v := range admin {
		ctx.Request.Header.Set(k, v)
	}
	s.serve(&ctx)
	if env := decodeEnv[[]tsAnswerOf](t, ctx.Response.Body()); env.RCStr != "OK" || len(env.Rsp) != 1 || env.Rsp[0].Statistics.Total != 600*200 {
		t.Errorf("form-posted ts_requests: %s", ctx.Response.Body())
	}
	many := make([]map[string]string, maxTSRequests+1)
	for i := range many {
		many[i] = map[string]string{"ts_schema": "iface:traffic", "ts_query": "ifid:1"}
	}
	for _, bad := range []any{nil, "not an array", []int{1}, []map[string]string{}, many} {
		body["ts_requests"] = bad
		if rc := decodeEnv[any](t, tsPost(s, path, body, admin).Response.Body()).RCStr; rc != "INVALID_ARGUMENTS" {
			t.Errorf("ts_requests %v: %s", bad, rc)
		}
	}
}

func TestTimeSeriesConsts(t *testing.T) {
	s, admin, _ := newTSServer(t)
	env := decodeEnv[[]tsConst](t, do(s, "/lua/rest/v2/get/timeseries/type/consts.lua", admin).Response.Body())
	if env.RCStr != "OK" || len(env.Rsp) != 195 { // the TSV's schemas
		t.Fatalf("rc %s, %d schemas", env.RCStr, len(env.Rsp))
	}
	env = decodeEnv[[]tsConst](t, do(s, "/lua/rest/v2/get/timeseries/type/consts.lua?query=host", admin).Response.Body())
	found := false
	for _, c := range env.Rsp {
		if !strings.HasPrefix(c.ID, "host:") {
			t.Errorf("query=host lists %s", c.ID)
		}
		if c.ID == "host:traffic" {
			found = c.Step == 300 && strings.Join(c.Tags, ",") == "ifid,host" && strings.Join(c.Metrics, ",") == "bytes_sent,bytes_rcvd" && c.Type == "counter"
		}
	}
	if !found {
		t.Errorf("host:traffic missing or wrong: %+v", env.Rsp)
	}
}

func TestTimeSeriesOff(t *testing.T) {
	s := newTestServer(t, 1, true)
	for _, p := range []string{"/lua/rest/v2/get/timeseries/ts.lua", "/lua/rest/v2/get/timeseries/type/consts.lua", "/lua/pro/rest/v2/get/timeseries/ts_multi.lua"} {
		if rc := decodeEnv[any](t, do(s, p, nil).Response.Body()).RCStr; rc != "NOT_ENABLED" {
			t.Errorf("%s without a store: %s", p, rc)
		}
	}
}

func TestTopTSStats(t *testing.T) {
	s, admin, scoped := newTSServer(t)
	win := fmt.Sprintf("&epoch_begin=%d&epoch_end=%d", tsT0, tsT0+600)
	type row struct {
		Label      string   `json:"label"`
		Value      float64  `json:"value"`
		BytesSent  *float64 `json:"bytes_sent"`
		BytesRcvd  *float64 `json:"bytes_rcvd"`
		Percentage float64  `json:"percentage"`
	}
	for _, c := range []struct {
		name, uri string
		user      map[string]string
		rc, want  string // want: label=value/percentage, in order
	}{
		{"interface", "/lua/pro/rest/v2/get/interface/top_ts_stats.lua?ifid=1&detail_view=top_protocols" + win, admin, "OK", "TLS=900/75 DNS=300/25"},
		{"interface categories", "/lua/pro/rest/v2/get/interface/top_ts_stats.lua?ifid=1&detail_view=top_categories" + win, admin, "OK", "Network=300/100"},
		{"host", "/lua/pro/rest/v2/get/host/top/ts_stats.lua?ts_query=ifid:1,host:10.254.0.5&detail_view=top_protocols&new_charts=true" + win, scoped, "OK", "DNS=150/75 TLS=50/25"},
		{"host out of scope", "/lua/pro/rest/v2/get/host/top/ts_stats.lua?ts_query=ifid:1,host:192.0.2.7" + win, scoped, "NOT_GRANTED", ""},
		{"no host", "/lua/pro/rest/v2/get/host/top/ts_stats.lua?ts_query=ifid:1" + win, admin, "INVALID_ARGUMENTS", ""},
		{"other interface", "/lua/pro/rest/v2/get/interface/top_ts_stats.lua?ifid=0" + win, scoped, "NOT_GRANTED", ""},
		{"unknown interface", "/lua/pro/rest/v2/get/interface/top_ts_stats.lua?ifid=5" + win, admin, "INVALID_INTERFACE", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := do(s, c.uri, c.user)
			env := decodeEnv[json.RawMessage](t, ctx.Response.Body())
			if env.RCStr != c.rc {
				t.Fatalf("rc %s, want %s: %.300s", env.RCStr, c.rc, ctx.Response.Body())
			}
			if c.rc != "OK" {
				return
			}
			var rows []row
			if err := json.Unmarshal(env.Rsp, &rows); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s=%g/%g", r.Label, r.Value, r.Percentage))
				if strings.Contains(c.uri, "/host/") && (r.BytesSent == nil || r.BytesRcvd == nil || *r.BytesSent+*r.BytesRcvd != r.Value) {
					t.Errorf("%s: sent/received missing or not the value", r.Label)
				}
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), c.want)
			}
		})
	}
}
