package rest

import (
	"encoding/json"
	"testing"
)

// TestUsersListAsNtopng: a fresh probe's get/ntopng/users is ntopng's
// recorded answer (research notes §4.20, e2e get_ntopng_users_01):
// {"admin":{"allowed_ifname":"","allowed_nets":"0.0.0.0/0,::/0","full_name":
// "ntopng Administrator","group":"administrator","language":"","password":
// "<md5>"}} — field for field, except that the probe never shows a password
// hash (it keeps bcrypt, and shows ""). allow_* fields appear only when set,
// with ntopng's names.
func TestUsersListAsNtopng(t *testing.T) {
	s := newTestServer(t, 0, true)
	got := decodeEnv[json.RawMessage](t, do(s, "/lua/rest/v1/get/ntopng/users.lua", nil).Response.Body()).Rsp
	want := `{"admin":{"allowed_ifname":"","allowed_nets":"0.0.0.0/0,::/0","full_name":"ntopng Administrator","group":"administrator","language":"","password":""}}`
	var g, w any
	_ = json.Unmarshal(got, &g)
	_ = json.Unmarshal([]byte(want), &w)
	a, _ := json.Marshal(g)
	b, _ := json.Marshal(w)
	if string(a) != string(b) {
		t.Fatalf("users:\n%s\nwant\n%s", a, b)
	}
	for _, step := range []string{
		"/lua/rest/v1/add/ntopng/user.lua?username=ann&full_name=Ann&password=Pw-ann-123&confirm_password=Pw-ann-123&user_role=unprivileged&allowed_networks=192.168.1.0/24&allowed_interface=&user_language=de&allow_pcap_download=1&allow_historical_flows=1&allow_alerts=1",
	} {
		if env := decodeEnv[json.RawMessage](t, do(s, step, nil).Response.Body()); env.RCStr != "OK" {
			t.Fatalf("%s: %+v", step, env)
		}
	}
	var users map[string]map[string]any
	_ = json.Unmarshal(decodeEnv[json.RawMessage](t, do(s, "/lua/rest/v1/get/ntopng/users.lua", nil).Response.Body()).Rsp, &users)
	ann := users["ann"]
	for k, v := range map[string]any{"full_name": "Ann", "group": "unprivileged", "language": "de", "allowed_nets": "192.168.1.0/24",
		"allowed_ifname": "", "allow_pcap_download": true, "allow_historical_flows": true, "allow_alerts": true, "password": ""} {
		if ann[k] != v {
			t.Errorf("ann[%q] = %v, want %v (all: %v)", k, ann[k], v, ann)
		}
	}
}
