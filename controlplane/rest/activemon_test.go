package rest

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/activemon"
	"github.com/probe-appliance/probe/controlplane/pools"
)

// addActiveMonitoring wires active monitoring into a test server the way
// the probe does: alerts through the server's engine (if any), samples
// into its store, the scheduler running until the test ends.
func addActiveMonitoring(t testing.TB, s *Server, o activemon.Options) *ActiveMonitoring {
	t.Helper()
	var onSample func(activemon.Host, activemon.Sample)
	if s.cfg.Checks != nil {
		onSample, o.OnRemove = activemon.Alerts(s.cfg.Checks)
	}
	st := s.cfg.Store
	o.OnSample = func(h activemon.Host, smp activemon.Sample) {
		if onSample != nil {
			onSample(h, smp)
		}
		if err := activemon.StoreSample(st, smp, time.Hour); err != nil {
			t.Error(err)
		}
	}
	sched := activemon.NewScheduler(o)
	a, err := NewActiveMonitoring(st, sched, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	s.cfg.ActiveMonitoring = a
	return a
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

type amStatus struct {
	Key         string  `json:"key"`
	Host        string  `json:"host"`
	Measurement string  `json:"measurement"`
	Threshold   float64 `json:"threshold"`
	Unit        string  `json:"unit"`
	Last        *struct {
		Time        int64   `json:"time"`
		Value       float64 `json:"value"`
		Unreachable bool    `json:"unreachable"`
		Alerted     bool    `json:"alerted"`
		Error       string  `json:"error"`
	} `json:"last_measurement"`
}

// TestActiveMonitoringEndToEnd imports hosts, lets them be measured for
// real (loopback ping, a local web server, a closed port), and follows
// the unreachable one into the alert lists, the export and the reset.
func TestActiveMonitoringEndToEnd(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer web.Close()
	s := newAlertServer(t, 1)
	addActiveMonitoring(t, s, activemon.Options{Tick: 20 * time.Millisecond, Timeout: time.Second,
		Period: func(string) time.Duration { return 300 * time.Millisecond }})

	down := "http@" + closedPort(t)
	webHost := strings.TrimPrefix(web.URL, "http://")
	file := `{"version": "1.0", "modules": {"active_monitoring": {
		"icmp@127.0.0.1": {"host": "127.0.0.1", "measurement": "icmp", "threshold": 1000, "granularity": "min", "label": "loopback"},
		"http@` + webHost + `": {"threshold": 5000, "granularity": "5mins"},
		"` + down + `": {"threshold": 100, "granularity": "min"},
		"icmp@127.0.0.2": {"threshold": 100, "granularity": "fortnight"}
	}}}`
	ctx := postForm(s, "/lua/rest/v1/import/active_monitoring/config.lua", url.Values{"JSON": {file}})
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RCStr != "PARTIAL_IMPORT" || ctx.Response.StatusCode() != 409 {
		t.Fatalf("import with a bad granularity: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}

	// The export gives back what was imported, less the skipped host.
	ctx = do(s, "/lua/rest/v1/export/active_monitoring/config.lua", nil)
	exp := decodeEnv[configEnvelope](t, ctx.Response.Body())
	var got map[string]activemon.Host
	if err := json.Unmarshal(exp.Rsp.Modules["active_monitoring"], &got); err != nil {
		t.Fatalf("%v in %s", err, ctx.Response.Body())
	}
	var in struct {
		Modules map[string]map[string]map[string]any `json:"modules"`
	}
	json.Unmarshal([]byte(file), &in)
	for k, v := range in.Modules["active_monitoring"] {
		h, ok := got[k]
		if k == "icmp@127.0.0.2" {
			if ok {
				t.Errorf("the host with a bad granularity was imported: %+v", h)
			}
			continue
		}
		m, host, _ := strings.Cut(k, "@")
		if !ok || h.Host != host || h.Measurement != m || h.Threshold != v["threshold"] || h.Granularity != v["granularity"] {
			t.Errorf("%s exported as %+v, imported %v", k, h, v)
		}
	}
	if len(got) != 3 || got["icmp@127.0.0.1"].Label != "loopback" {
		t.Errorf("exported %+v", got)
	}

	// Every host measured (at once, being new), the closed port alerted.
	var hosts []amStatus
	deadline := time.Now().Add(5 * time.Second)
	for {
		e := decodeEnv[[]amStatus](t, do(s, "/lua/rest/v1/get/active_monitoring/hosts.lua", nil).Response.Body())
		hosts = e.Rsp
		n := 0
		for _, h := range hosts {
			if h.Last != nil {
				n++
			}
		}
		if n == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, h := range hosts {
		if h.Last == nil {
			t.Fatalf("%s not measured in 5 s", h.Key)
		}
		if want := h.Key == down; h.Last.Unreachable != want || h.Last.Alerted != want {
			t.Errorf("%s: %+v", h.Key, h.Last)
		}
		if h.Key == "icmp@127.0.0.1" && (h.Last.Value <= 0 || h.Unit != "ms") {
			t.Errorf("loopback ping: %+v", h)
		}
	}

	engagedKeys := func(path string) []string {
		var e envOf[struct {
			Records []map[string]any `json:"records"`
		}]
		if err := json.Unmarshal(do(s, path, nil).Response.Body(), &e); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range e.Rsp.Records {
			if r["family"] == "am_host" {
				keys = append(keys, r["entity_val"].(string))
			}
		}
		return keys
	}
	for _, path := range []string{"/lua/rest/v1/get/all/alert/list.lua?ifid=-1&status=engaged", "/lua/rest/v1/get/am_host/alert/list.lua?status=engaged"} {
		if keys := engagedKeys(path); !reflect.DeepEqual(keys, []string{down}) {
			t.Errorf("%s: engaged am_host alerts %v, want %s", path, keys, down)
		}
	}

	// Samples are kept per host.
	var ts envOf[[]activemon.Sample]
	json.Unmarshal(do(s, "/lua/rest/v1/get/active_monitoring/host/ts.lua?am_host="+url.QueryEscape(down), nil).Response.Body(), &ts)
	if len(ts.Rsp) == 0 || !ts.Rsp[0].Unreachable || ts.Rsp[0].Key != down {
		t.Errorf("samples of %s: %+v", down, ts.Rsp)
	}

	// A file without the module does not fit; a module that is no object
	// is a bad argument; neither changes the hosts.
	ctx = postForm(s, "/lua/rest/v1/import/active_monitoring/config.lua", url.Values{"JSON": {`{"version":"1.0","modules":{"snmp":[]}}`}})
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RCStr != "CONFIGURATION_FILE_MISMATCH" {
		t.Errorf("file without active_monitoring: %s", ctx.Response.Body())
	}
	ctx = postForm(s, "/lua/rest/v1/import/active_monitoring/config.lua", url.Values{"JSON": {`{"version":"1.0","modules":{"active_monitoring":[1]}}`}})
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RCStr != "INVALID_ARGUMENTS" {
		t.Errorf("active_monitoring as an array: %s", ctx.Response.Body())
	}

	// Reset: no hosts, the alert released into the history.
	ctx = do(s, "/lua/rest/v1/reset/active_monitoring/config.lua", nil)
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RC != 0 {
		t.Fatalf("reset: %s", ctx.Response.Body())
	}
	exp = decodeEnv[configEnvelope](t, do(s, "/lua/rest/v1/export/active_monitoring/config.lua", nil).Response.Body())
	if string(exp.Rsp.Modules["active_monitoring"]) != "{}" {
		t.Errorf("after reset: %s", exp.Rsp.Modules["active_monitoring"])
	}
	if keys := engagedKeys("/lua/rest/v1/get/am_host/alert/list.lua?status=engaged"); len(keys) != 0 {
		t.Errorf("still engaged after reset: %v", keys)
	}
	if keys := engagedKeys("/lua/rest/v1/get/am_host/alert/list.lua"); !reflect.DeepEqual(keys, []string{down}) {
		t.Errorf("history after reset: %v", keys)
	}
	var data envOf[[]map[string]any]
	json.Unmarshal(do(s, "/lua/rest/v1/get/alert/data.lua?ifid=-1&status=historical", nil).Response.Body(), &data)
	found := false
	for _, a := range data.Rsp {
		if a["entity"] == "am_host" && a["entity_val"] == down && a["type"] == "alert_am_threshold_cross" {
			found = strings.Contains(a["msg"].(string), "unreachable")
		}
	}
	if !found {
		t.Errorf("get/alert/data: no am_host alert for %s in %+v", down, data.Rsp)
	}
}

func TestActiveMonitoringHostCalls(t *testing.T) {
	s := newAlertServer(t, 1)
	addActiveMonitoring(t, s, activemon.Options{Measure: func(context.Context, activemon.Host) activemon.Result {
		return activemon.Result{Value: 1}
	}})
	rc := func(ctx *fasthttp.RequestCtx) string { return decodeEnv[any](t, ctx.Response.Body()).RCStr }
	add := url.Values{"host": {"www.example.org"}, "measurement": {"https"}, "threshold": {"250"}, "granularity": {"5mins"}, "label": {"web"}}
	if got := rc(postForm(s, "/lua/rest/v1/add/active_monitoring/host.lua", add)); got != "OK" {
		t.Fatalf("add: %s", got)
	}
	if got := rc(postForm(s, "/lua/rest/v1/add/active_monitoring/host.lua", add)); got != "INVALID_ARGUMENTS" {
		t.Errorf("second add: %s", got)
	}
	var body fasthttp.RequestCtx
	body.Request.SetRequestURI("/lua/rest/v1/add/active_monitoring/host.lua")
	body.Request.Header.SetMethod("POST")
	body.Request.Header.SetContentType("application/json")
	body.Request.SetBodyString(`{"host": "::1", "measurement": "icmp6", "threshold": 5, "granularity": "min"}`)
	s.serve(&body)
	if got := rc(&body); got != "OK" {
		t.Errorf("add with a JSON body: %s", body.Response.Body())
	}
	for name, bad := range map[string]url.Values{
		"speedtest":      {"host": {"x.org"}, "measurement": {"speedtest"}, "threshold": {"1"}, "granularity": {"min"}},
		"threshold text": {"host": {"x.org"}, "measurement": {"http"}, "threshold": {"fast"}, "granularity": {"min"}},
		"no threshold":   {"host": {"x.org"}, "measurement": {"http"}, "granularity": {"min"}},
		"icmp of a URL":  {"host": {"http://x.org/"}, "measurement": {"icmp"}, "threshold": {"1"}, "granularity": {"min"}},
	} {
		if got := rc(postForm(s, "/lua/rest/v1/add/active_monitoring/host.lua", bad)); got != "INVALID_ARGUMENTS" {
			t.Errorf("%s: %s", name, got)
		}
	}
	edit := url.Values{"host": {"www.example.org"}, "measurement": {"https"}, "threshold": {"900"}, "granularity": {"hour"}}
	if got := rc(postForm(s, "/lua/rest/v1/edit/active_monitoring/host.lua", edit)); got != "OK" {
		t.Errorf("edit: %s", got)
	}
	edit.Set("measurement", "http")
	if got := rc(postForm(s, "/lua/rest/v1/edit/active_monitoring/host.lua", edit)); got != "NOT_FOUND" {
		t.Errorf("edit of a host not monitored: %s", got)
	}

	// What the calls did is in the store: a second process reads it back.
	sched := activemon.NewScheduler(activemon.Options{})
	if _, err := NewActiveMonitoring(s.cfg.Store, sched, nil); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, h := range sched.Hosts() {
		keys = append(keys, h.Key)
		if h.Key == "https@www.example.org" && (h.Threshold != 900 || h.Granularity != "hour" || h.Label != "") {
			t.Errorf("edited host %+v", h)
		}
	}
	sort.Strings(keys)
	if !reflect.DeepEqual(keys, []string{"https@www.example.org", "icmp6@::1"}) {
		t.Errorf("stored hosts %v", keys)
	}

	if got := rc(do(s, "/lua/rest/v1/delete/active_monitoring/host.lua?am_host=icmp6%40%3A%3A1", nil)); got != "OK" {
		t.Errorf("delete: %s", got)
	}
	if got := rc(do(s, "/lua/rest/v1/delete/active_monitoring/host.lua?am_host=icmp6%40%3A%3A1", nil)); got != "NOT_FOUND" {
		t.Errorf("second delete: %s", got)
	}
	if got := rc(do(s, "/lua/rest/v1/delete/active_monitoring/host.lua", nil)); got != "INVALID_ARGUMENTS" {
		t.Errorf("delete of nothing: %s", got)
	}

	// The pool export carries active monitoring.
	var err error
	if s.cfg.Pools, err = pools.New(s.cfg.Store); err != nil {
		t.Fatal(err)
	}
	exp := decodeEnv[configEnvelope](t, do(s, "/lua/rest/v1/export/pool/config.lua", nil).Response.Body())
	if !strings.Contains(string(exp.Rsp.Modules["active_monitoring"]), "https@www.example.org") {
		t.Errorf("export/pool: %s", exp.Rsp.Modules)
	}
}

func TestActiveMonitoringOff(t *testing.T) {
	s := newAlertServer(t, 1)
	for _, p := range []string{"export/active_monitoring/config.lua", "get/active_monitoring/hosts.lua", "add/active_monitoring/host.lua"} {
		if e := decodeEnv[any](t, do(s, "/lua/rest/v1/"+p, nil).Response.Body()); e.RCStr != "NOT_ENABLED" {
			t.Errorf("%s without active monitoring: %s", p, e.RCStr)
		}
	}
}

// FuzzActiveMonitoringREST throws arbitrary parameters and bodies at the
// active monitoring calls: every answer is one of ntopng's statuses, never
// a panic or a 500.
func FuzzActiveMonitoringREST(f *testing.F) {
	s := newAlertServer(f, 1)
	addActiveMonitoring(f, s, activemon.Options{Tick: time.Hour, Measure: func(context.Context, activemon.Host) activemon.Result {
		return activemon.Result{Unreachable: true, Error: "fuzz"}
	}})
	paths := []string{"add/active_monitoring/host.lua", "edit/active_monitoring/host.lua", "delete/active_monitoring/host.lua",
		"get/active_monitoring/hosts.lua", "get/active_monitoring/host/ts.lua", "get/am_host/alert/list.lua",
		"import/active_monitoring/config.lua", "export/active_monitoring/config.lua", "import/pool/config.lua"}
	f.Add(uint8(0), "host=x.org&measurement=http&threshold=1e309&granularity=min", "GET", "", []byte(nil))
	f.Add(uint8(1), "host=%00&measurement=icmp&threshold=NaN&granularity=min", "GET", "", []byte(nil))
	f.Add(uint8(2), "am_host=@@", "GET", "", []byte(nil))
	f.Add(uint8(4), "am_host=icmp@1.2.3.4&epoch_begin=9&epoch_end=1", "GET", "", []byte(nil))
	f.Add(uint8(5), "ifid=7&status=historical-flows&start=-1&length=-9", "GET", "", []byte(nil))
	f.Add(uint8(6), "", "POST", "application/x-www-form-urlencoded", []byte(`JSON={"version":"1.0","modules":{"active_monitoring":{"icmp@1.2.3.4":{"threshold":-0}}}}`))
	f.Add(uint8(6), "", "POST", "application/json", []byte(`{"JSON":"{\"version\":\"1.0\",\"modules\":{\"active_monitoring\":null}}"}`))
	f.Add(uint8(0), "", "POST", "application/json", []byte(`{"host":"h","measurement":"throughput","threshold":1,"granularity":"hour"}`))
	f.Add(uint8(8), "", "POST", "application/x-www-form-urlencoded", []byte(`JSON={"version":"1.0","modules":{"pool":{},"snmp":[],"notifications":{},"scripts":{},"active_monitoring":7}}`))
	f.Fuzz(func(t *testing.T, route uint8, query, method, ctype string, body []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(restPrefix + paths[int(route)%len(paths)] + "?" + query)
		ctx.Request.Header.SetMethod(method)
		ctx.Request.Header.SetContentType(ctype)
		ctx.Request.SetBody(body)
		s.serve(&ctx)
		switch st := ctx.Response.StatusCode(); st {
		case 200, 302, 400, 401, 404, 405, 409:
		default:
			t.Fatalf("%s %s?%q: status %d: %s", method, paths[int(route)%len(paths)], query, st, ctx.Response.Body())
		}
	})
}
