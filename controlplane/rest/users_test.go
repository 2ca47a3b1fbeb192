package rest

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/controlplane/auth"
)

func TestUserEndpoints(t *testing.T) {
	s := newTestServer(t, 1, false)
	admin := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin"))}
	call := func(path string, form url.Values, hdr map[string]string) (int, string, string) {
		ctx := postForm(s, path, form)
		for k, v := range hdr {
			ctx.Request.Header.Set(k, v)
		}
		ctx.Response.Reset()
		s.serve(ctx)
		if len(ctx.Response.Body()) == 0 {
			return ctx.Response.StatusCode(), "", ""
		}
		e := decodeEnv[any](t, ctx.Response.Body())
		return ctx.Response.StatusCode(), e.RCStr, string(ctx.Response.Body())
	}
	// The default admin gets nothing but the password change.
	ctx0 := do(s, "/lua/rest/v1/get/ntopng/users.lua", admin)
	if loc := string(ctx0.Response.Header.Peek("Location")); ctx0.Response.StatusCode() != 302 || !strings.HasPrefix(loc, "/lua/change_password.lua?referer=") {
		t.Fatalf("default admin: %d %q", ctx0.Response.StatusCode(), loc)
	}
	for _, c := range []struct {
		form url.Values
		code int
		rc   string
	}{
		{url.Values{"new_password": {"x1"}, "confirm_new_password": {"x2"}}, 400, "PASSWORD_MISMATCH"},
		{url.Values{"new_password": {"admin"}, "confirm_new_password": {"admin"}}, 400, "INVALID_ARGUMENTS"},
		{url.Values{"new_password": {strings.Repeat("p", 100)}, "confirm_new_password": {strings.Repeat("p", 100)}}, 400, "INVALID_ARGUMENTS"},
		{url.Values{"new_password": {"n3w-admin"}, "confirm_new_password": {"n3w-admin"}}, 200, "OK"},
	} {
		if code, rc, body := call("/lua/change_password.lua", c.form, admin); code != c.code || rc != c.rc {
			t.Fatalf("change password %v: %d %s, want %d %s", c.form, code, body, c.code, c.rc)
		}
	}
	if code, _, _ := call("/lua/rest/v1/get/ntopng/users.lua", nil, admin); code != 302 {
		t.Errorf("the old admin password still works: %d", code)
	}
	admin = map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:n3w-admin"))}
	user := url.Values{"username": {"Alice"}, "full_name": {"Alice A."}, "password": {"s3cret!"}, "confirm_password": {"s3cret!"},
		"user_role": {"unprivileged"}, "allowed_networks": {"192.168.1.0/24"}, "allowed_interface": {"0"}}
	steps := []struct {
		name, path string
		form       url.Values
		code       int
		rc         string
	}{
		{"add", "/lua/rest/v1/add/ntopng/user.lua", user, 200, "OK"},
		{"add again", "/lua/rest/v1/add/ntopng/user.lua", user, 409, "USER_ALREADY_EXISTING"},
		{"mismatch", "/lua/rest/v1/add/ntopng/user.lua", url.Values{"username": {"bob"}, "full_name": {"B"}, "password": {"a"}, "confirm_password": {"b"},
			"user_role": {"unprivileged"}, "allowed_networks": {"0.0.0.0/0"}, "allowed_interface": {""}}, 400, "PASSWORD_MISMATCH"},
		{"missing field", "/lua/rest/v1/add/ntopng/user.lua", url.Values{"username": {"bob"}}, 400, "INVALID_ARGUMENTS"},
		{"bad network", "/lua/rest/v1/add/ntopng/user.lua", url.Values{"username": {"bob"}, "full_name": {"B"}, "password": {"a"}, "confirm_password": {"a"},
			"user_role": {"unprivileged"}, "allowed_networks": {"not-a-net"}, "allowed_interface": {""}}, 409, "ADD_USER_FAILED"},
		{"edit unknown", "/lua/rest/v1/edit/ntopng/user.lua", url.Values{"username": {"nobody"}, "full_name": {"x"}}, 409, "USER_DOES_NOT_EXIST"},
		{"edit nothing", "/lua/rest/v1/edit/ntopng/user.lua", url.Values{"username": {"alice"}}, 400, "INVALID_ARGUMENTS"},
		{"edit", "/lua/rest/v1/edit/ntopng/user.lua", url.Values{"username": {"alice"}, "allow_pcap_download": {"1"}, "user_language": {"it"}}, 200, "OK"},
		{"delete admin", "/lua/rest/v1/delete/ntopng/user.lua", url.Values{"username": {"admin"}}, 409, "DELETE_USER_FAILED"},
	}
	for _, st := range steps {
		if code, rc, body := call(st.path, st.form, admin); code != st.code || rc != st.rc {
			t.Errorf("%s: %d %s, want %d %s", st.name, code, body, st.code, st.rc)
		}
	}
	ctx := do(s, "/lua/rest/v1/get/ntopng/users.lua", admin)
	users := decodeEnv[map[string]map[string]any](t, ctx.Response.Body()).Rsp
	a := users["alice"]
	if a == nil || a["group"] != "unprivileged" || a["allowed_nets"] != "192.168.1.0/24" || a["allowed_ifname"] != "bench.pcap" ||
		a["language"] != "it" || a["allow_pcap_download"] != true || a["password"] != "" || users["admin"]["group"] != "administrator" {
		t.Errorf("users: %s", ctx.Response.Body())
	}
	// The unprivileged user may log in but not manage users.
	alice := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret!"))}
	if code, rc, body := call("/lua/rest/v1/get/ntopng/users.lua", nil, alice); code != 401 || rc != "NOT_GRANTED" {
		t.Errorf("unprivileged get users: %d %s", code, body)
	}
	if code, rc, body := call("/lua/rest/v1/delete/ntopng/user.lua", url.Values{"username": {"alice"}}, admin); code != 200 || rc != "OK" {
		t.Errorf("delete: %d %s", code, body)
	}
	if code, _, _ := call("/lua/rest/v1/get/ntopng/interfaces.lua", nil, alice); code != 302 {
		t.Errorf("deleted user still logs in: %d", code)
	}
}

func TestUnprivilegedUserSeesItsNetworksAndInterface(t *testing.T) {
	s := newTestServer(t, 5, false) // 192.168.1.10 talking to 10.0.0.0..4
	if err := s.cfg.Auth.AddUser(auth.User{Username: "carol", AllowedNets: "192.168.1.0/24", AllowedIfname: "bench.pcap"}, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.cfg.Auth.AddUser(auth.User{Username: "dave", AllowedIfname: "other0"}, "pw"); err != nil {
		t.Fatal(err)
	}
	carol := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("carol:pw"))}
	dave := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("dave:pw"))}
	if n := len(mustData(t, do(s, "/lua/rest/v1/get/host/active.lua?ifid=0", carol))); n != 1 {
		t.Errorf("carol sees %d hosts, want her network's 1", n)
	}
	if ctx := do(s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=10.0.0.1", carol); ctx.Response.StatusCode() != 401 {
		t.Errorf("carol reads a host outside her networks: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if ctx := do(s, "/lua/rest/v1/get/host/data.lua?ifid=0&host=192.168.1.10", carol); ctx.Response.StatusCode() != 200 {
		t.Errorf("carol cannot read her own host: %d", ctx.Response.StatusCode())
	}
	if ctx := do(s, "/lua/rest/v1/get/interface/data.lua?ifid=0", dave); ctx.Response.StatusCode() != 401 {
		t.Errorf("dave reads an interface he is not allowed: %d", ctx.Response.StatusCode())
	}
	var ifs struct {
		Rsp []any `json:"rsp"`
	}
	json.Unmarshal(do(s, "/lua/rest/v1/get/ntopng/interfaces.lua", dave).Response.Body(), &ifs)
	if len(ifs.Rsp) != 0 {
		t.Errorf("dave lists interfaces %v", ifs.Rsp)
	}
}
