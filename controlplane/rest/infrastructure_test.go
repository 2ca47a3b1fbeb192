package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/infra"
)

// newInfraServer is a test server (login disabled: admin) with the
// infrastructure view, and a fake remote probe accepting token "good".
func newInfraServer(t *testing.T) (*Server, string) {
	s := newTestServer(t, 3, true)
	x, err := infra.New(s.cfg.Store, infra.Options{Interval: time.Hour, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	s.cfg.Infra = x
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") != "Token good":
			http.Redirect(w, r, "/lua/login.lua", http.StatusFound)
		case r.URL.Path == "/lua/rest/v1/get/interface/data.lua":
			fmt.Fprint(w, `{"rc":0,"rc_str":"OK","rsp":{"0":{"ifname":"eth0","packets":42,"bytes":4200}}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(remote.Close)
	return s, remote.URL
}

func TestInfrastructureRC(t *testing.T) {
	s, remote := newInfraServer(t)
	const pro = "/lua/pro/rest/v1/"
	ok := url.Values{"alias": {"b"}, "url": {remote}, "token": {"good"}, "rtt_threshold": {"100"}, "bandwidth_threshold": {"1000000"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range ok {
			f[kk] = vv
		}
		if v == "-" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	cases := []struct {
		path   string
		form   url.Values
		rc     int
		rcStr  string
		status int
	}{
		{"add/infrastructure/instance.lua", with("alias", ""), -34, "INFRASTRUCTURE_INSTANCE_EMPTY_ALIAS", 409},
		{"add/infrastructure/instance.lua", with("url", "-"), -35, "INFRASTRUCTURE_INSTANCE_EMPTY_URL", 409},
		{"add/infrastructure/instance.lua", with("token", ""), -36, "INFRASTRUCTURE_INSTANCE_EMPTY_TOKEN", 409},
		{"add/infrastructure/instance.lua", with("rtt_threshold", "-"), -37, "INFRASTRUCTURE_INSTANCE_EMPTY_RTT_THRESHOLD", 409},
		{"add/infrastructure/instance.lua", with("bandwidth_threshold", "-"), -47, "INFRASTRUCTURE_INSTANCE_EMPTY_BANDWIDTH_THRESHOLD", 409},
		{"add/infrastructure/instance.lua", with("rtt_threshold", "fast"), -5, "INVALID_ARGUMENTS", 400},
		{"add/infrastructure/instance.lua", with("url", "ftp://x"), -5, "INVALID_ARGUMENTS", 400},
		{"add/infrastructure/instance.lua", with("url", "http://"), -5, "INVALID_ARGUMENTS", 400},
		{"add/infrastructure/instance.lua", ok, 0, "INFRASTRUCTURE_INSTANCE_ADDED", 200},
		{"add/infrastructure/instance.lua", with("url", "http://c"), -39, "INFRASTRUCTURE_INSTANCE_SAME_ALIAS", 409},
		{"add/infrastructure/instance.lua", with("alias", "c"), -40, "INFRASTRUCTURE_INSTANCE_SAME_URL", 409},
		{"add/infrastructure/instance.lua", url.Values{"alias": {"c"}, "url": {"http://c"}, "token": {"good"}, "rtt_threshold": {"1"}, "bandwidth_threshold": {"1"}}, -41, "INFRASTRUCTURE_INSTANCE_SAME_TOKEN", 409},
		{"add/infrastructure/instance.lua", url.Values{"alias": {"c"}, "url": {"http://c:3000/"}, "token": {"tc"}, "rtt_threshold": {"1"}, "bandwidth_threshold": {"1"}}, 0, "INFRASTRUCTURE_INSTANCE_ADDED", 200},
		{"edit/infrastructure/instance.lua", with("instance_id", "9"), -32, "INFRASTRUCTURE_INSTANCE_NOT_FOUND", 404},
		{"edit/infrastructure/instance.lua", ok, -33, "INFRASTRUCTURE_INSTANCE_EMPTY_ID", 409},
		{"edit/infrastructure/instance.lua", url.Values{"instance_id": {"2"}, "alias": {"b"}, "url": {"http://c"}, "token": {"tc"}, "rtt_threshold": {"1"}, "bandwidth_threshold": {"1"}}, -39, "INFRASTRUCTURE_INSTANCE_SAME_ALIAS", 409},
		{"edit/infrastructure/instance.lua", url.Values{"instance_id": {"2"}, "alias": {"c2"}, "url": {"http://c"}, "token": {"tc"}, "rtt_threshold": {"1"}, "bandwidth_threshold": {"1"}}, 0, "INFRASTRUCTURE_INSTANCE_EDITED", 200},
		{"check/infrastructure/config.lua", url.Values{"url": {remote}, "token": {"good"}}, -42, "INFRASTRUCTURE_INSTANCE_ALREADY_EXISTING", 409},
		{"check/infrastructure/config.lua", url.Values{"url": {remote}, "token": {"bad"}}, -46, "INFRASTRUCTURE_INSTANCE_CHECK_AUTH_FAILED", 409},
		{"check/infrastructure/config.lua", url.Values{"url": {remote + "/nothere"}, "token": {"good"}}, -44, "INFRASTRUCTURE_INSTANCE_CHECK_NOT_FOUND", 409},
		{"check/infrastructure/config.lua", url.Values{"url": {"http://127.0.0.1:1"}, "token": {"good"}}, -43, "INFRASTRUCTURE_INSTANCE_CHECK_FAILED", 409},
		{"get/infrastructure/instance.lua", url.Values{"instance_id": {"9"}}, -32, "INFRASTRUCTURE_INSTANCE_NOT_FOUND", 404},
		{"delete/infrastructure/instance.lua", url.Values{}, -33, "INFRASTRUCTURE_INSTANCE_EMPTY_ID", 409},
		{"delete/infrastructure/instance.lua", url.Values{"instance_id": {"9"}}, -32, "INFRASTRUCTURE_INSTANCE_NOT_FOUND", 404},
		{"delete/infrastructure/instance.lua", url.Values{"instance_id": {"2"}}, 0, "INFRASTRUCTURE_INSTANCE_DELETED", 200},
	}
	for _, c := range cases {
		ctx := postForm(s, pro+c.path, c.form)
		e := decodeEnv[json.RawMessage](t, ctx.Response.Body())
		if e.RC != c.rc || e.RCStr != c.rcStr || ctx.Response.StatusCode() != c.status {
			t.Errorf("%s %v: %d %s", c.path, c.form, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}

	// The list shows b, its token masked, polled at once (immediately on add).
	type view struct {
		ID, Alias, URL, Token string
		Reachable             bool
		Interfaces            []infra.Iface
		Totals                infra.Iface
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		e := decodeEnv[[]view](t, do(s, pro+"get/infrastructure/instance.lua", nil).Response.Body())
		if len(e.Rsp) != 1 || e.Rsp[0].ID != "1" || e.Rsp[0].Token != "****" || e.Rsp[0].URL != remote {
			t.Fatalf("list %+v", e.Rsp)
		}
		if e.Rsp[0].Reachable {
			if len(e.Rsp[0].Interfaces) != 1 || e.Rsp[0].Interfaces[0].IfName != "eth0" || e.Rsp[0].Totals.Packets != 42 {
				t.Errorf("view %+v", e.Rsp[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance not polled: %+v", e.Rsp[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
	if e := decodeEnv[view](t, do(s, pro+"get/infrastructure/instance.lua?instance_id=1", nil).Response.Body()); e.Rsp.Alias != "b" {
		t.Errorf("get one: %+v", e.Rsp)
	}
	if e := decodeEnv[json.RawMessage](t, postForm(s, pro+"check/infrastructure/config.lua", url.Values{"url": {remote + "/"}, "token": {"good"}}).Response.Body()); e.RC != -42 {
		t.Errorf("check of configured url with trailing slash: %s", e.Rsp)
	}
}

func TestInfrastructureAdminOnlyAndConfigModule(t *testing.T) {
	s, remote := newInfraServer(t)
	s.cfg.DisableLogin = false
	ctx := postForm(s, "/lua/pro/rest/v1/get/infrastructure/instance.lua", nil)
	if ctx.Response.StatusCode() != 302 {
		t.Errorf("anonymous: %d", ctx.Response.StatusCode())
	}
	s.cfg.DisableLogin = true
	add := url.Values{"alias": {"b"}, "url": {remote}, "token": {"good"}, "rtt_threshold": {"1"}, "bandwidth_threshold": {"2"}}
	if e := decodeEnv[json.RawMessage](t, postForm(s, "/lua/pro/rest/v1/add/infrastructure/instance.lua", add).Response.Body()); e.RC != 0 {
		t.Fatalf("add: %s", e.Rsp)
	}
	// Export keeps the token in full.
	e := decodeEnv[configEnvelope](t, do(s, "/lua/rest/v1/export/infrastructure/config.lua", nil).Response.Body())
	raw := e.Rsp.Modules["infrastructure"]
	if e.RC != 0 || !strings.Contains(string(raw), `"token":"good"`) {
		t.Fatalf("export: %d %s", e.RC, raw)
	}
	file, _ := json.Marshal(e.Rsp)
	// Importing the same file: b is there already → partial.
	if e := decodeEnv[json.RawMessage](t, postForm(s, "/lua/rest/v1/import/infrastructure/config.lua", url.Values{"JSON": {string(file)}}).Response.Body()); e.RCStr != "PARTIAL_IMPORT" {
		t.Errorf("re-import: %s %s", e.RCStr, e.Rsp)
	}
	if e := decodeEnv[json.RawMessage](t, postForm(s, "/lua/rest/v1/reset/infrastructure/config.lua", nil).Response.Body()); e.RC != 0 {
		t.Fatalf("reset: %s", e.Rsp)
	}
	if e := decodeEnv[json.RawMessage](t, do(s, "/lua/pro/rest/v1/get/infrastructure/instance.lua", nil).Response.Body()); string(e.Rsp) != "[]" {
		t.Errorf("after reset: %s", e.Rsp)
	}
	if e := decodeEnv[json.RawMessage](t, postForm(s, "/lua/rest/v1/import/infrastructure/config.lua", url.Values{"JSON": {string(file)}}).Response.Body()); e.RC != 0 {
		t.Errorf("import after reset: %s %s", e.RCStr, e.Rsp)
	}
	if e := decodeEnv[[]map[string]any](t, do(s, "/lua/pro/rest/v1/get/infrastructure/instance.lua", nil).Response.Body()); len(e.Rsp) != 1 || e.Rsp[0]["alias"] != "b" {
		t.Errorf("after import: %+v", e.Rsp)
	}
}
