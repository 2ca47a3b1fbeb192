package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/notify"
)

// addNotifications wires a notification dispatcher into a test server.
func addNotifications(t *testing.T, s *Server) {
	t.Helper()
	d := notify.New(notify.Options{})
	t.Cleanup(func() { d.Close(context.Background()) })
	n, err := NewNotifications(s.cfg.Store, d)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Notifications = n
}

func postForm(s *Server, path string, form url.Values) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
	ctx.Request.SetBodyString(form.Encode())
	s.serve(&ctx)
	return &ctx
}

func TestConfigExportResetImport(t *testing.T) {
	s := newFullServer(t)
	for _, uri := range []string{
		"/lua/rest/v1/add/host/pool.lua?pool_name=lab&pool_members=192.168.2.0/24,aa:bb:cc:dd:ee:ff",
		"/lua/rest/v1/add/active_monitoring/host.lua?host=127.0.0.1&measurement=icmp&threshold=50&granularity=min",
		"/lua/rest/v1/add/active_monitoring/host.lua?host=https://example.org&measurement=https&threshold=900&granularity=5mins&label=web",
		"/lua/rest/v1/edit/check/config.lua?check_subdir=host&script_key=syn_flood&threshold=75",
		"/lua/rest/v1/disable/check.lua?check_subdir=flow&script_key=elephant_flow",
		"/lua/rest/v1/add/notification/endpoint.lua?endpoint_conf_name=noc&endpoint_key=syslog&syslog_host=127.0.0.1&syslog_port=5514",
		"/lua/rest/v1/add/notification/recipient.lua?recipient_name=ops&endpoint_id=1&minimum_severity=5&recipient_entities=host,flow",
	} {
		if ctx := do(s, uri, nil); ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: %s", uri, ctx.Response.Body())
		}
	}
	export := func() json.RawMessage {
		ctx := do(s, "/lua/rest/v1/export/all/config.lua", nil)
		e := decodeEnv[configEnvelope](t, ctx.Response.Body())
		if e.RC != 0 || e.Rsp.Version != "1.0" || e.Rsp.Modules["all"] == nil {
			t.Fatalf("export: %s", ctx.Response.Body())
		}
		b, _ := json.Marshal(e.Rsp)
		return b
	}
	before := export()
	for _, want := range []string{"icmp@127.0.0.1", "192.168.2.0/24", "syslog_host"} {
		if !bytes.Contains(before, []byte(want)) {
			t.Fatalf("export lacks %s: %s", want, before)
		}
	}
	for _, m := range []string{"scripts", "notifications", "active_monitoring", "pool"} {
		if ctx := do(s, "/lua/rest/v1/reset/"+m+"/config.lua", nil); ctx.Response.StatusCode() != 200 {
			t.Fatalf("reset %s: %s", m, ctx.Response.Body())
		}
	}
	for _, m := range []string{"active_monitoring", "pool"} {
		if b := exportModule(t, s, m); bytes.Contains(b, []byte("127.0.0.1")) || bytes.Contains(b, []byte("192.168.2.0/24")) {
			t.Fatalf("reset %s left %s", m, b)
		}
	}
	if s.cfg.Checks.Config()["syn_flood"].Threshold != 50 {
		t.Fatalf("reset left syn_flood at %v", s.cfg.Checks.Config()["syn_flood"].Threshold)
	}
	ctx := postForm(s, "/lua/rest/v1/import/all/config.lua", url.Values{"JSON": {string(before)}})
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("import: %s", ctx.Response.Body())
	}
	if after := export(); string(after) != string(before) {
		t.Errorf("export after import differs:\n%s\n%s", before, after)
	}
	// Importing again keeps what is there: a partial import.
	ctx = postForm(s, "/lua/rest/v1/import/notifications/config.lua", url.Values{"JSON": {string(exportModule(t, s, "notifications"))}})
	if e := decodeEnv[any](t, ctx.Response.Body()); ctx.Response.StatusCode() != 409 || e.RCStr != "PARTIAL_IMPORT" {
		t.Errorf("re-import: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	// The download is the bare file.
	dl := do(s, "/lua/rest/v1/export/scripts/config.lua?download=1", nil)
	if cd := string(dl.Response.Header.Peek("Content-Disposition")); cd != `attachment; filename="configuration.json"` {
		t.Errorf("download header %q", cd)
	}
	var env configEnvelope
	if err := json.Unmarshal(dl.Response.Body(), &env); err != nil || env.Modules["scripts"] == nil {
		t.Errorf("download body %s", dl.Response.Body())
	}
	bad := []struct {
		path, json string
		code       int
		rc         string
	}{
		{"/lua/rest/v1/import/scripts/config.lua", `{"version":"2.0","modules":{}}`, 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/import/scripts/config.lua", `not json`, 400, "INVALID_ARGUMENTS"},
		{"/lua/rest/v1/import/scripts/config.lua", `{"version":"1.0","modules":{"notifications":{}}}`, 400, "CONFIGURATION_FILE_MISMATCH"},
		{"/lua/rest/v1/import/all/config.lua", `{"version":"1.0","modules":{"scripts":{}}}`, 400, "CONFIGURATION_FILE_MISMATCH"},
		{"/lua/rest/v1/import/scripts/config.lua", `{"version":"1.0","modules":{"scripts":{"syn_flood":{"enabled":true,"threshold":-3}}}}`, 400, "INVALID_ARGUMENTS"},
	}
	for _, b := range bad {
		ctx := postForm(s, b.path, url.Values{"JSON": {b.json}})
		if e := decodeEnv[any](t, ctx.Response.Body()); ctx.Response.StatusCode() != b.code || e.RCStr != b.rc {
			t.Errorf("%s %s: %d %s, want %d %s", b.path, b.json, ctx.Response.StatusCode(), ctx.Response.Body(), b.code, b.rc)
		}
	}
	// A refused import changed nothing.
	if s.cfg.Checks.Config()["syn_flood"].Threshold != 75 {
		t.Errorf("refused import changed syn_flood to %v", s.cfg.Checks.Config()["syn_flood"].Threshold)
	}
}

func exportModule(t *testing.T, s *Server, m string) []byte {
	ctx := do(s, "/lua/rest/v1/export/"+m+"/config.lua", nil)
	e := decodeEnv[json.RawMessage](t, ctx.Response.Body())
	return e.Rsp
}
