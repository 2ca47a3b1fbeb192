package rest

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/store"
)

func newPoolServer(t *testing.T, disableLogin bool) *Server {
	s := newTestServer(t, 1, disableLogin)
	p, err := pools.New(s.cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Pools = p
	return s
}

// poolStep is one call of a pool test: a POST form (GET when form is
// nil), the expected status and rc_str, and the expected rsp when set.
type poolStep struct {
	path   string
	form   url.Values
	status int
	rc     string
	rsp    string // JSON, compared after normalising; "" = not checked
}

func runPoolSteps(t *testing.T, s *Server, hdr map[string]string, steps []poolStep) {
	t.Helper()
	for i, st := range steps {
		path := st.path
		if !strings.HasPrefix(path, "/") {
			path = restPrefix + path
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		for k, v := range hdr {
			ctx.Request.Header.Set(k, v)
		}
		setMethodFor(s, &ctx)
		if st.form != nil {
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
			ctx.Request.SetBodyString(st.form.Encode())
		}
		s.serve(&ctx)
		e := decodeEnv[json.RawMessage](t, ctx.Response.Body())
		if ctx.Response.StatusCode() != st.status || e.RCStr != st.rc {
			t.Errorf("step %d %s %v: %d %s, want %d %s", i, st.path, st.form, ctx.Response.StatusCode(), ctx.Response.Body(), st.status, st.rc)
			continue
		}
		if st.rsp != "" && canonJSON(t, e.Rsp) != canonJSON(t, []byte(st.rsp)) {
			t.Errorf("step %d %s %v: rsp\n%s\nwant\n%s", i, st.path, st.form, e.Rsp, st.rsp)
		}
	}
}

func canonJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

type form = url.Values

func TestHostPoolLifeCycle(t *testing.T) {
	s := newPoolServer(t, true)
	const lab = `{"pool_id":2,"name":"lab","policy":"",
		"members":["192.168.2.0/24@0","AA:BB:CC:DD:EE:FF","8.8.8.8/32@2"],
		"member_details":{
			"192.168.2.0/24@0":{"name":"192.168.2.0/24","vlan":0,"member":"192.168.2.0/24@0","type":"net","hostkey":"192.168.2.0/24"},
			"AA:BB:CC:DD:EE:FF":{"name":"AA:BB:CC:DD:EE:FF","vlan":0,"member":"AA:BB:CC:DD:EE:FF","type":"mac","hostkey":"AA:BB:CC:DD:EE:FF"},
			"8.8.8.8/32@2":{"name":"8.8.8.8","vlan":2,"member":"8.8.8.8/32@2","type":"ip","hostkey":"8.8.8.8@2"}}}`
	const defaultPool = `{"pool_id":0,"name":"Default","policy":"","members":[],"member_details":[]}`
	const jailed = `{"pool_id":1,"name":"Jailed Hosts","policy":"","members":[],"member_details":[]}`
	runPoolSteps(t, s, nil, []poolStep{
		{"get/host/pools.lua", nil, 200, "OK", "[" + defaultPool + "," + jailed + "]"},
		{"add/host/pool.lua", form{"pool_name": {"lab"}, "pool_members": {"192.168.2.0/24,aa:bb:cc:dd:ee:ff,8.8.8.8/32@2"}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":2}`},
		{"add/host/pool.lua", form{"pool_name": {"lab"}, "pool_members": {""}}, 409, "ADD_POOL_FAILED", ""},
		{"add/host/pool.lua", form{"pool_name": {"other"}, "pool_members": {"192.168.2.0/24@0"}}, 409, "ADD_POOL_FAILED", ""},
		{"add/host/pool.lua", form{"pool_name": {"other"}, "pool_members": {"not-a-host"}}, 409, "ADD_POOL_FAILED", ""},
		{"add/host/pool.lua", form{"pool_name": {"other"}}, 400, "INVALID_ARGUMENTS", ""},
		{"add/host/pool.lua", form{"pool_members": {""}}, 400, "INVALID_ARGUMENTS", ""},
		{"add/host/pool.lua", form{"pool_name": {"empty"}, "pool_members": {""}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":3}`},
		// ntopng's quirk: {[id] = pool} printed by dkjson.
		{"get/host/pools.lua?pool=1", nil, 200, "OK", "[" + jailed + "]"},
		{"get/host/pools.lua?pool=2", nil, 200, "OK", "[null," + lab + "]"},
		{"get/host/pools.lua?pool=0", nil, 200, "OK", `{"0":` + defaultPool + `}`},
		{"get/host/pools.lua?pool=9", nil, 409, "POOL_NOT_FOUND", ""},
		{"get/host/pools.lua?pool=-1", nil, 409, "POOL_NOT_FOUND", ""},
		{"get/host/pools.lua?pool=99999999999999999999999", nil, 409, "POOL_NOT_FOUND", ""},
		{"get/host/pool/members.lua?pool=2", nil, 200, "OK", ""},
		{"get/host/pool/members.lua?pool=7", nil, 409, "POOL_NOT_FOUND", ""},
		{"edit/host/pool.lua", form{"pool": {"3"}, "pool_name": {"renamed"}, "pool_members": {"10.0.0.1"}}, 200, "POOL_EDITED_SUCCESSFULLY", "[]"},
		{"edit/host/pool.lua", form{"pool": {"3"}, "pool_name": {"renamed"}, "pool_members": {"8.8.8.8@2"}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"3"}, "pool_name": {"lab"}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"0"}, "pool_name": {"x"}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"42"}, "pool_name": {"x"}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"3"}, "pool_name": {"x"}}, 400, "INVALID_ARGUMENTS", ""},
		// Binding.
		{"bind/host/pool/member.lua", form{"pool": {"3"}, "member": {"8.8.8.8/32@2"}}, 409, "BIND_POOL_MEMBER_ALREADY_BOUND", lab},
		{"bind/host/pool/member.lua", form{"pool": {"3"}, "member": {"10.0.0.2@0"}}, 200, "POOL_MEMBER_BOUND_SUCCESSFULLY", "[]"},
		{"bind/host/pool/member.lua", form{"pool": {"3"}, "member": {"10.0.0.3"}, "action": {"edit"}, "old_member": {"10.0.0.1"}}, 200, "POOL_MEMBER_BOUND_SUCCESSFULLY", "[]"},
		{"bind/host/pool/member.lua", form{"pool": {"3"}, "member": {"10.0.0.4"}, "action": {"edit"}}, 400, "INVALID_ARGUMENTS", ""},
		{"bind/host/pool/member.lua", form{"pool": {"3"}, "member": {"garbage"}}, 409, "BIND_POOL_MEMBER_FAILED", ""},
		{"bind/host/pool/member.lua", form{"pool": {"77"}, "member": {"10.0.0.9"}}, 409, "BIND_POOL_MEMBER_FAILED", ""},
		{"bind/host/pool/member.lua", form{"member": {"10.0.0.9"}}, 400, "INVALID_ARGUMENTS", ""},
		{"bind/host/pool/member.lua", form{"pool": {"0"}, "member": {"8.8.8.8@2"}}, 200, "POOL_MEMBER_BOUND_SUCCESSFULLY", "[]"},
		{"bind/host/pool/member.lua", form{"pool": {"0"}, "member": {"8.8.8.8@2"}}, 200, "POOL_MEMBER_BOUND_SUCCESSFULLY", "[]"},
		{"get/host/pool_by_member.lua?member=10.0.0.3", nil, 200, "OK", ""},
		{"get/host/pool_by_member.lua?member=10.0.0.3/32@0&pool_name_only=true", nil, 200, "OK", `{"pool_id":3,"name":"renamed"}`},
		{"get/host/pool_by_member.lua?member=8.8.8.8@2", nil, 200, "OK", "[]"},
		{"get/host/pool_by_member.lua?member=nonsense", nil, 400, "INVALID_ARGUMENTS", ""},
		{"get/host/pool_by_member.lua", nil, 400, "INVALID_ARGUMENTS", ""},
		{"get/host/pool/members.lua?pool=3", nil, 200, "OK", `[
			{"name":"10.0.0.3","vlan":0,"member":"10.0.0.3/32@0","type":"ip","hostkey":"10.0.0.3"},
			{"name":"10.0.0.2","vlan":0,"member":"10.0.0.2/32@0","type":"ip","hostkey":"10.0.0.2"}]`},
		// Deleting.
		{"delete/host/pool.lua", form{"pool": {"0"}}, 409, "DELETE_POOL_FAILED", ""},
		{"delete/host/pool.lua", form{"pool": {"1"}}, 409, "DELETE_POOL_FAILED", ""},
		{"delete/host/pool.lua", form{"pool": {"55"}}, 409, "POOL_NOT_FOUND", ""},
		{"delete/host/pool.lua", form{}, 400, "INVALID_ARGUMENTS", ""},
		{"delete/host/pool.lua", form{"pool": {"3"}}, 200, "POOL_DELETED_SUCCESSFULLY", "[]"},
		{"add/host/pool.lua", form{"pool_name": {"next"}, "pool_members": {""}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":4}`},
	})
	// The member moves with the edits: the lookup the probe uses agrees.
	if id, name := s.cfg.Pools.HostPool(mustAddr("192.168.2.77"), 0, [6]byte{}, false); id != 2 || name != "lab" {
		t.Errorf("HostPool: %d %q", id, name)
	}
}

func TestOtherPoolInstances(t *testing.T) {
	s := newPoolServer(t, true)
	runPoolSteps(t, s, nil, []poolStep{
		{"add/interface/pool.lua", form{"pool_name": {"lan"}, "pool_members": {"0"}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":1}`},
		{"add/interface/pool.lua", form{"pool_name": {"ghost"}, "pool_members": {"3"}}, 409, "ADD_POOL_FAILED", ""},
		{"get/interface/pools.lua?pool=1", nil, 200, "OK", `[{"pool_id":1,"name":"lan","policy":"","members":["0"],"member_details":{"0":{"name":"bench.pcap","vlan":0,"member":"0"}}}]`},
		{"add/network/pool.lua", form{"pool_name": {"nets"}, "pool_members": {"10.1.2.3/16,fd00::/8"}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":1}`},
		{"add/network/pool.lua", form{"pool_name": {"bad"}, "pool_members": {"10.1.2.3"}}, 409, "ADD_POOL_FAILED", ""},
		{"/lua/pro/rest/v1/add/snmp/device/pool.lua", form{"pool_name": {"core"}, "pool_members": {"10.0.0.254,Switch.lan"}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":1}`},
		{"/lua/pro/rest/v1/get/snmp/device/pool.lua?pool=1", nil, 200, "OK", ""},
		{"/lua/pro/rest/v1/delete/snmp/device/pool.lua", form{"pool": {"1"}}, 200, "POOL_DELETED_SUCCESSFULLY", "[]"},
		{"add/active_monitoring/pool.lua", form{"pool_name": {"pings"}, "pool_members": {"icmp@8.8.8.8"}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":1}`},
		{"get/active_monitoring/pool.lua", nil, 200, "OK", ""},
		{"edit/mac/pool.lua", form{"pool": {"0"}, "pool_name": {"x"}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"get/mac/pools.lua", nil, 200, "OK", `[{"pool_id":0,"name":"Default","policy":"","members":[],"member_details":[]}]`},
		{"get/system/pools.lua?pool=3", nil, 409, "POOL_NOT_FOUND", ""},
		{"get/host_pool/pools.lua", nil, 200, "OK", ""},
	})
	ctx := do(s, restPrefix+"get/pools.lua", nil)
	e := decodeEnv[[]struct {
		Key  string `json:"key"`
		ID   int    `json:"pool_id"`
		Name string `json:"name"`
	}](t, ctx.Response.Body())
	keys := map[string]int{}
	for _, x := range e.Rsp {
		keys[x.Key]++
	}
	if keys["host"] != 2 || keys["interface"] != 2 || keys["network"] != 2 || keys["snmp_device"] != 1 || keys["system"] != 1 {
		t.Errorf("get/pools: %v", keys)
	}
	runPoolSteps(t, s, nil, []poolStep{
		{"delete/pools.lua", nil, 200, "OK", "[]"},
		{"get/network/pools.lua", nil, 200, "OK", `[{"pool_id":0,"name":"Default","policy":"","members":[],"member_details":[]}]`},
		// Ids are not reused after a cleanup either.
		{"add/network/pool.lua", form{"pool_name": {"again"}, "pool_members": {""}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":2}`},
	})
}

func TestPoolTooManyAndBadInput(t *testing.T) {
	s := newPoolServer(t, true)
	for i := 2; i < pools.MaxPools; i++ {
		if _, err := s.cfg.Pools.Add(pools.Host, "p"+strings.Repeat("x", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	huge := strings.Repeat("10.0.0.1,", 5000)
	runPoolSteps(t, s, nil, []poolStep{
		{"add/host/pool.lua", form{"pool_name": {"last"}, "pool_members": {""}}, 409, "ADD_POOL_FAILED_TOO_MANY_POOLS", ""},
		{"edit/host/pool.lua", form{"pool": {"2"}, "pool_name": {"x"}, "pool_members": {huge}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"-4"}, "pool_name": {"x"}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"2"}, "pool_name": {strings.Repeat("n", 300)}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"2"}, "pool_name": {""}, "pool_members": {""}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"2"}, "pool_name": {"x"}, "pool_members": {"1.2.3.4@99999,\x00,::/999"}}, 409, "EDIT_POOL_FAILED", ""},
		{"edit/host/pool.lua", form{"pool": {"x2"}, "pool_name": {"x"}, "pool_members": {""}}, 400, "INVALID_ARGUMENTS", ""},
		{"delete/host/pool.lua", form{"pool": {"-1"}}, 409, "POOL_NOT_FOUND", ""},
		{"bind/host/pool/member.lua", form{"pool": {"-1"}, "member": {"1.1.1.1"}}, 409, "BIND_POOL_MEMBER_FAILED", ""},
		{"get/host/pool/members.lua?pool=-1", nil, 409, "POOL_NOT_FOUND", ""},
	})
	// JSON bodies work like forms (ntopng copies the payload to _GET).
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(restPrefix + "bind/host/pool/member.lua")
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.Header.SetContentType("application/json")
	ctx.Request.SetBodyString(`{"pool":2,"member":"10.9.9.9"}`)
	s.serve(&ctx)
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RCStr != "POOL_MEMBER_BOUND_SUCCESSFULLY" {
		t.Errorf("JSON bind: %s", ctx.Response.Body())
	}
}

func TestPoolsNotGranted(t *testing.T) {
	s := newPoolServer(t, false)
	if err := s.cfg.Auth.AddUser(auth.User{Username: "viewer", Group: "unprivileged"}, "secret12"); err != nil {
		t.Fatal(err)
	}
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("viewer:secret12"))}
	runPoolSteps(t, s, basic, []poolStep{
		{"add/host/pool.lua", form{"pool_name": {"lab"}, "pool_members": {""}}, 401, "NOT_GRANTED", ""},
		{"edit/host/pool.lua", form{"pool": {"1"}, "pool_name": {"x"}, "pool_members": {""}}, 401, "NOT_GRANTED", ""},
		{"delete/host/pool.lua", form{"pool": {"1"}}, 401, "NOT_GRANTED", ""},
		{"bind/host/pool/member.lua", form{"pool": {"1"}, "member": {"1.1.1.1"}}, 401, "NOT_GRANTED", ""},
		{"delete/pools.lua", nil, 401, "NOT_GRANTED", ""},
		{"/lua/pro/rest/v1/add/snmp/device/pool.lua", form{"pool_name": {"x"}, "pool_members": {""}}, 401, "NOT_GRANTED", ""},
		{"get/host/pools.lua", nil, 200, "OK", ""},
		{"get/pools.lua", nil, 200, "OK", ""},
	})
	// Without pools configured the calls say so instead of failing.
	s.cfg.Pools = nil
	runPoolSteps(t, s, basic, []poolStep{{"get/host/pools.lua", nil, 400, "NOT_ENABLED", ""}})
}

func TestPoolsPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Server, *store.Store) {
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := pools.New(st)
		if err != nil {
			t.Fatal(err)
		}
		return New(Config{Store: st, Pools: p, DisableLogin: true}), st
	}
	s, st := open()
	runPoolSteps(t, s, nil, []poolStep{
		{"add/host/pool.lua", form{"pool_name": {"lab"}, "pool_members": {"10.0.0.0/8"}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":2}`},
		{"bind/host/pool/member.lua", form{"pool": {"1"}, "member": {"1.2.3.4"}}, 200, "POOL_MEMBER_BOUND_SUCCESSFULLY", ""},
	})
	st.Close()
	s, st = open()
	defer st.Close()
	runPoolSteps(t, s, nil, []poolStep{
		{"get/host/pool_by_member.lua?member=10.0.0.0/8@0&pool_name_only=1", nil, 200, "OK", `{"pool_id":2,"name":"lab"}`},
		{"get/host/pool_by_member.lua?member=1.2.3.4&pool_name_only=1", nil, 200, "OK", `{"pool_id":1,"name":"Jailed Hosts"}`},
		{"add/host/pool.lua", form{"pool_name": {"two"}, "pool_members": {""}}, 200, "POOL_ADDED_SUCCESSFULLY", `{"pool_id":3}`},
	})
}

func TestPoolsConfigModule(t *testing.T) {
	s := newPoolServer(t, true)
	s.cfg.ConfigModules = map[string]ConfigModule{"pool": s.poolsModule(s.cfg.Pools)}
	runPoolSteps(t, s, nil, []poolStep{
		{"add/host/pool.lua", form{"pool_name": {"lab"}, "pool_members": {"10.0.0.0/8"}}, 200, "POOL_ADDED_SUCCESSFULLY", ""},
		{"add/interface/pool.lua", form{"pool_name": {"lan"}, "pool_members": {"0"}}, 200, "POOL_ADDED_SUCCESSFULLY", ""},
	})
	mod := s.poolsModule(s.cfg.Pools)
	before, err := mod.Export()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(before)
	if err := mod.Reset(); err != nil {
		t.Fatal(err)
	}
	if partial, err := mod.Import(raw); err != nil || partial {
		t.Fatalf("import: %v %v", partial, err)
	}
	after, _ := mod.Export()
	if b, _ := json.Marshal(after); string(b) != string(raw) {
		t.Errorf("round trip:\n%s\n%s", raw, b)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// FuzzPools is FuzzServe with pools set up: any request to a pool route
// answers one of ntopng's statuses, never 500.
func FuzzPools(f *testing.F) {
	st, err := store.Open(f.TempDir(), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	p, err := pools.New(st)
	if err != nil {
		f.Fatal(err)
	}
	s := New(Config{Store: st, Pools: p, DisableLogin: true})
	var paths []string
	for path := range s.routes {
		if strings.Contains(path, "pool") {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	for i := range paths {
		f.Add(uint8(i), "pool_name=a&pool_members=10.0.0.0/8,AA:BB:CC:DD:EE:FF&pool=2&member=1.2.3.4@7")
		f.Add(uint8(i), "pool_name=&pool_members=,,,@,/,::/0@4095&pool=-99999999999999999999&member=%00&action=edit&old_member=x")
	}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(paths[int(route)%len(paths)] + "?" + query)
		setMethodFor(s, &ctx)
		s.serve(&ctx)
		switch st := ctx.Response.StatusCode(); st {
		case 200, 302, 400, 401, 409: // 302: a query that garbles the path
		default:
			t.Fatalf("%s?%q: status %d: %s", paths[int(route)%len(paths)], query, st, ctx.Response.Body())
		}
	})
}
