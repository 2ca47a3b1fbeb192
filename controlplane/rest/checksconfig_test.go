package rest

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// configSetDoc decodes get/checks/config's rsp loosely, as a client that
// only knows ntopng's document would.
type configSetDoc struct {
	Config map[string]map[string]map[string]struct {
		Enabled    bool           `json:"enabled"`
		ScriptConf map[string]any `json:"script_conf"`
	} `json:"config"`
}

func getConfigSet(t *testing.T, s *Server, path string) (configSetDoc, []byte) {
	t.Helper()
	ctx := do(s, path, nil)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("%s: %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
	}
	var env struct {
		RC  int             `json:"rc"`
		Rsp json.RawMessage `json:"rsp"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil || env.RC != 0 {
		t.Fatalf("%s: rc %d, %v: %s", path, env.RC, err, ctx.Response.Body())
	}
	var doc configSetDoc
	if err := json.Unmarshal(env.Rsp, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc, env.Rsp
}

// TestChecksConfigIsNtopngConfigset checks get/checks/config against
// ntopng's configset as its C++ loaders read it: config.<subdir>.<key>,
// flow checks on hook "all", host and interface checks on "min", each
// with enabled and script_conf (threshold_cross: operator gt and the
// threshold; lists: items). Expected values are ntopng's defaults.
func TestChecksConfigIsNtopngConfigset(t *testing.T) {
	s := newAlertServer(t, 1)
	for _, path := range []string{"/lua/rest/v1/get/checks/config.lua", "/lua/rest/v2/get/checks/config.lua"} {
		doc, _ := getConfigSet(t, s, path)
		for _, c := range []struct {
			subdir, key, hook string
			enabled           bool
			conf              map[string]any
		}{
			{"flow", "elephant_flow", "all", true, map[string]any{"operator": "gt", "threshold": float64(1 << 30)}},
			{"flow", "unexpected_dns", "all", false, map[string]any{"items": []any{}}},
			{"flow", "remote_to_remote", "all", false, map[string]any{}},
			{"host", "syn_flood", "min", true, map[string]any{"operator": "gt", "threshold": float64(50)}},
			{"host", "dns_contacts", "min", true, map[string]any{"operator": "gt", "threshold": float64(5)}},
			{"interface", "no_if_activity", "min", true, map[string]any{"operator": "gt", "threshold": float64(60)}},
		} {
			hooks, ok := doc.Config[c.subdir][c.key]
			if !ok {
				t.Errorf("%s: no config.%s.%s", path, c.subdir, c.key)
				continue
			}
			if len(hooks) != 1 {
				t.Errorf("%s: %s/%s has hooks %v, want only %q", path, c.subdir, c.key, hooks, c.hook)
			}
			h, ok := hooks[c.hook]
			if !ok {
				t.Errorf("%s: %s/%s not on hook %q: %v", path, c.subdir, c.key, c.hook, hooks)
				continue
			}
			if h.Enabled != c.enabled || !reflect.DeepEqual(h.ScriptConf, c.conf) {
				t.Errorf("%s: %s/%s = %v %v, want %v %v", path, c.subdir, c.key, h.Enabled, h.ScriptConf, c.enabled, c.conf)
			}
		}
	}
	ctx := do(s, "/lua/rest/v1/get/checks/config.lua?download=1", nil)
	if cd := string(ctx.Response.Header.Peek("Content-Disposition")); !strings.Contains(cd, "attachment") {
		t.Errorf("download: Content-Disposition %q", cd)
	}
	var file configSetDoc
	if err := json.Unmarshal(ctx.Response.Body(), &file); err != nil || file.Config["host"]["syn_flood"]["min"].ScriptConf["threshold"] != float64(50) {
		t.Errorf("download is not the bare configset (%v): %.200s", err, ctx.Response.Body())
	}
}

// TestSetChecksConfig sends configsets to set/checks/config: a valid one
// changes only the checks it names; any error changes nothing.
func TestSetChecksConfig(t *testing.T) {
	s := newAlertServer(t, 1)
	set := func(path, doc string) (int, string) {
		ctx := postForm(s, path, url.Values{"JSON": {doc}})
		return ctx.Response.StatusCode(), string(ctx.Response.Body())
	}
	_, before := getConfigSet(t, s, "/lua/rest/v1/get/checks/config.lua")
	for _, c := range []struct{ name, doc, want string }{
		{"not JSON", `{"config":`, "INVALID_ARGUMENTS"},
		{"no config", `{"cfg":{}}`, "INVALID_ARGUMENTS"},
		{"unknown field", `{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{"threshold":9,"thresold":3}}}}}}`, "INVALID_ARGUMENTS"},
		{"unknown check", `{"config":{"host":{"no_such_check":{"min":{"enabled":true,"script_conf":{}}}}}}`, "INVALID_ARGUMENTS"},
		{"check under another subdir", `{"config":{"flow":{"syn_flood":{"all":{"enabled":true,"script_conf":{}}}}}}`, "INVALID_ARGUMENTS"},
		{"wrong hook", `{"config":{"host":{"syn_flood":{"5mins":{"enabled":true,"script_conf":{}}}}}}`, "INVALID_ARGUMENTS"},
		{"two hooks", `{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{}},"hour":{"enabled":true,"script_conf":{}}}}}}`, "INVALID_ARGUMENTS"},
		{"operator lt", `{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{"operator":"lt","threshold":9}}}}}}`, "INVALID_ARGUMENTS"},
		{"negative threshold", `{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{"threshold":-1}}}}}}`, "INVALID_ARGUMENTS"},
		{"threshold on a check without", `{"config":{"flow":{"remote_to_remote":{"all":{"enabled":true,"script_conf":{"threshold":3}}}}}}`, "INVALID_ARGUMENTS"},
		{"items on a check without", `{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{"items":["10.0.0.1"]}}}}}}`, "INVALID_ARGUMENTS"},
		{"bad item", `{"config":{"flow":{"unexpected_dns":{"all":{"enabled":true,"script_conf":{"items":["not-an-address"]}}}}}}`, "INVALID_ARGUMENTS"},
		// A good change beside a bad one: neither applies.
		{"good and bad", `{"config":{"host":{"syn_flood":{"min":{"enabled":false,"script_conf":{"threshold":7}}},"dns_contacts":{"min":{"enabled":true,"script_conf":{"threshold":-7}}}}}}`, "INVALID_ARGUMENTS"},
	} {
		code, body := set("/lua/rest/v1/set/checks/config.lua", c.doc)
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
		if _, now := getConfigSet(t, s, "/lua/rest/v1/get/checks/config.lua"); string(now) != string(before) {
			t.Fatalf("%s changed the configuration", c.name)
		}
	}
	if code, body := set("/lua/rest/v1/set/checks/config.lua", `{"config":{"host":{"syn_flood":{"min":{"enabled":false,"script_conf":{"operator":"gt","threshold":75}}}},`+
		`"flow":{"unexpected_dns":{"all":{"enabled":true,"script_conf":{"items":["192.168.1.1","10.0.0.0/8"]}}}}}}`); code != 200 || !strings.Contains(body, `"rc":0`) {
		t.Fatalf("valid configset: %d %s", code, body)
	}
	if code, body := set("/lua/rest/v2/set/checks/config.lua", `{"config":{"flow":{"elephant_flow":{"all":{"enabled":false,"script_conf":{}}}}}}`); code != 200 || !strings.Contains(body, `"rc":0`) {
		t.Fatalf("v2 set: %d %s", code, body)
	}
	doc, _ := getConfigSet(t, s, "/lua/rest/v2/get/checks/config.lua")
	if h := doc.Config["host"]["syn_flood"]["min"]; h.Enabled || h.ScriptConf["threshold"] != float64(75) {
		t.Errorf("syn_flood after set: %+v", h)
	}
	if h := doc.Config["flow"]["unexpected_dns"]["all"]; !h.Enabled || !reflect.DeepEqual(h.ScriptConf["items"], []any{"192.168.1.1", "10.0.0.0/8"}) {
		t.Errorf("unexpected_dns after set: %+v", h)
	}
	// elephant_flow's threshold was not named: only its switch changed.
	if h := doc.Config["flow"]["elephant_flow"]["all"]; h.Enabled || h.ScriptConf["threshold"] != float64(1<<30) {
		t.Errorf("elephant_flow after set: %+v", h)
	}
	// Checks not named keep their defaults.
	if h := doc.Config["host"]["dns_contacts"]["min"]; !h.Enabled || h.ScriptConf["threshold"] != float64(5) {
		t.Errorf("dns_contacts after set: %+v", h)
	}
	// Changing state over GET is refused.
	if ctx := do(s, "/lua/rest/v1/get/checks/list.lua", nil); ctx.Response.StatusCode() != 200 {
		t.Fatalf("list: %d", ctx.Response.StatusCode())
	}
	var get fasthttp.RequestCtx
	get.Request.SetRequestURI("/lua/rest/v2/set/checks/config.lua?JSON=" + url.QueryEscape(`{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{}}}}}}`))
	s.serve(&get)
	if get.Response.StatusCode() == 200 {
		t.Errorf("set/checks/config over GET answered 200: %s", get.Response.Body())
	}
}

// TestChecksModuleExportImport: the scripts module's file is the
// configset and imports back; a file in the earlier builds' form
// ({"<script_key>": {"enabled":…,"threshold":…}}) still imports.
func TestChecksModuleExportImport(t *testing.T) {
	s := newAlertServer(t, 1)
	postForm(s, "/lua/rest/v1/set/checks/config.lua", url.Values{"JSON": {`{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{"threshold":33}}}}}}`}})
	ctx := do(s, "/lua/rest/v1/export/scripts/config.lua", nil)
	var env struct {
		Rsp struct {
			Modules map[string]json.RawMessage `json:"modules"`
		} `json:"rsp"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil {
		t.Fatal(err)
	}
	var exported configSetDoc
	if err := json.Unmarshal(env.Rsp.Modules["scripts"], &exported); err != nil || exported.Config["host"]["syn_flood"]["min"].ScriptConf["threshold"] != float64(33) {
		t.Fatalf("exported scripts module is not the configset (%v): %.300s", err, env.Rsp.Modules["scripts"])
	}
	file, _ := json.Marshal(map[string]any{"version": "1.0", "modules": map[string]json.RawMessage{"scripts": env.Rsp.Modules["scripts"]}})
	if ctx := do(s, "/lua/rest/v1/reset/scripts/config.lua", nil); ctx.Response.StatusCode() != 200 {
		t.Fatal("reset")
	}
	if doc, _ := getConfigSet(t, s, "/lua/rest/v1/get/checks/config.lua"); doc.Config["host"]["syn_flood"]["min"].ScriptConf["threshold"] != float64(50) {
		t.Fatal("reset kept the threshold")
	}
	for _, f := range []string{string(file), `{"version":"1.0","modules":{"scripts":{"syn_flood":{"enabled":true,"threshold":33}}}}`} {
		if ctx := postForm(s, "/lua/rest/v2/import/checks/config.lua", url.Values{"JSON": {f}}); ctx.Response.StatusCode() != 200 {
			t.Fatalf("import: %s", ctx.Response.Body())
		}
		if doc, _ := getConfigSet(t, s, "/lua/rest/v1/get/checks/config.lua"); doc.Config["host"]["syn_flood"]["min"].ScriptConf["threshold"] != float64(33) {
			t.Errorf("after import of %.80s: %+v", f, doc.Config["host"]["syn_flood"])
		}
		do(s, "/lua/rest/v1/reset/scripts/config.lua", nil)
	}
}
