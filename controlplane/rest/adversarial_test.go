package rest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/auth"
)

// TestAdversarialRouteTable tries every route of the table, over HTTP on
// loopback, with every credential form a stranger or an unprivileged user
// has (none, a wrong password, a bad token, a forged session cookie, a
// user without rights) × path tricks × methods, with parameters that would
// change state for an administrator. It fails on any answer that carries
// data (a JSON answer other than an empty NOT_GRANTED, a cookie) and on
// any state change (configuration export, user list, appliance actions
// compared before and after each route) without rights.
func TestAdversarialRouteTable(t *testing.T) {
	if testing.Short() {
		t.Skip("tens of thousands of requests")
	}
	s := newFullServer(t)
	s.cfg.DisableLogin = false
	var actions atomic.Int64 // factory resets, updates, reboots, appliance settings
	s.cfg.FactoryReset = func() { actions.Add(1) }
	s.cfg.StageUpdate = func(UpdateRequest) error { actions.Add(1); return nil }
	s.cfg.Reboot = func() { actions.Add(1) }
	s.cfg.ApplianceConfig = func() (any, error) { return map[string]any{"secret": "appliance-canary"}, nil }
	s.cfg.SetApplianceConfig = func([]byte) error { actions.Add(1); return nil }
	if err := s.cfg.Auth.SetPassword("admin", testAdminPW); err != nil {
		t.Fatal(err)
	}
	if err := s.cfg.Auth.AddUser(auth.User{Username: "viewer", Group: auth.GroupUnprivileged}, "viewer-pw-1"); err != nil {
		t.Fatal(err)
	}
	adminTok, err := s.cfg.Auth.CreateToken("admin")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })

	admin := map[string]string{"Authorization": "Token " + adminTok}
	snapshot := func() string {
		var b strings.Builder
		for _, uri := range []string{restPrefix + "export/all/config.lua", restPrefix + "get/ntopng/users.lua"} {
			ctx := send(s, call{method: "GET", uri: uri, hdr: admin, from: "127.0.0.2"})
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("snapshot %s: %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
			}
			b.Write(ctx.Response.Body())
		}
		fmt.Fprintf(&b, "actions=%d", actions.Load())
		return b.String()
	}
	if a, b := snapshot(), snapshot(); a != b {
		t.Fatalf("two snapshots differ without any request:\n%s\n%s", a, b)
	}

	randHex := func() string {
		var b [16]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	type cred struct {
		name string
		hdr  map[string]string
		from string
		user bool // authenticated as the unprivileged user
	}
	creds := []cred{
		{"none", nil, "127.30.0.1", false},
		{"wrong password", map[string]string{"Authorization": "Basic " + b64("admin:not-the-password")}, "127.30.0.2", false},
		{"bad token", map[string]string{"Authorization": "Token " + randHex()}, "127.30.0.3", false},
		{"forged cookie", map[string]string{"Cookie": "session=" + randHex() + "; session_3000_0=" + randHex()}, "127.30.0.4", false},
		{"non-admin", map[string]string{"Authorization": "Basic " + b64("viewer:viewer-pw-1")}, "127.30.0.5", true},
	}
	// Parameters that would change something for an administrator.
	bag := url.Values{
		"username": {"evil"}, "password": {"Evil-pw-12"}, "confirm_password": {"Evil-pw-12"}, "user_role": {"administrator"},
		"allowed_networks": {"0.0.0.0/0"}, "allowed_interface": {""}, "full_name": {"evil"},
		"pool_name": {"evil"}, "pool_members": {"10.66.0.0/16"}, "pool": {"1"}, "member": {"10.66.0.1"},
		"custom_name": {"evil"}, "host": {"10.0.0.1"}, "ifid": {"0"}, "action": {"disable"},
		"check_subdir": {"flow"}, "script_key": {"blacklisted"}, "enabled": {"false"},
		"endpoint_conf_name": {"evil"}, "endpoint_key": {"webhook"}, "webhook_url": {"http://127.0.0.1:1/"},
		"recipient_name": {"evil"}, "endpoint_id": {"0"}, "recipient_id": {"0"}, "minimum_severity": {"1"},
		"address": {"127.0.0.1:2055"}, "transport": {"udp"}, "id": {"0"},
		"snmp_host": {"127.0.0.1"}, "snmp_port": {"161"}, "snmp_version": {"1"}, "snmp_read_community": {"public"},
		"snmp_admin_status": {"down"}, "snmp_port_idx": {"1"},
		"instance_id": {"x"}, "alias": {"evil"}, "url": {"http://127.0.0.1:1/"}, "token": {"x"},
		"JSON": {"{}"}, "kernel_url": {"http://127.0.0.1:1/k"}, "kernel_sha256": {"00"}, "initrd_url": {"http://127.0.0.1:1/i"}, "initrd_sha256": {"00"},
		"row_id": {"1"}, "alert_type": {"1"},
	}.Encode()
	tricks := []struct {
		name string
		f    func(string) string
	}{
		{"plain", func(p string) string { return p }},
		{"//", func(p string) string { return strings.Replace(p, "/", "//", 2) }},
		{"..", func(p string) string { return strings.Replace(p, "/lua/", "/lua/x/../", 1) }},
		{"%2e", func(p string) string { return strings.Replace(p, "/lua/", "/lua/%2e/", 1) }},
		{"%2F", func(p string) string { i := strings.LastIndex(p, "/"); return p[:i] + "%2F" + p[i+1:] }},
		{"case", strings.ToUpper},
		{"trailing /", func(p string) string { return p + "/" }},
		{";", func(p string) string { return p + ";jsessionid=1" }},
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}

	paths := make([]string, 0, len(s.routes))
	for p := range s.routes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	clients := make([]*rawClient, len(creds))
	for i, c := range creds {
		clients[i] = &rawClient{addr: ln.Addr().String(), from: c.from}
		defer clients[i].close()
	}
	tried, leaks := 0, 0
	before := snapshot()
	for _, p := range paths {
		rt := s.routes[p]
		mayUse := rt.role != roleAdmin && rt.cap == capNone // what the non-admin may call
		for ci, c := range creds {
			for _, tr := range tricks {
				for _, m := range methods {
					uri := tr.f(p) + "?" + bag
					body := ""
					if m == "POST" {
						body = bag
					}
					resp, err := clients[ci].do(m, uri, c.hdr, body)
					tried++
					if err != nil {
						t.Fatalf("%s %s as %s: %v", m, uri, c.name, err)
					}
					if c.user && mayUse {
						continue // the user may see this route's data
					}
					if why := leaked(resp); why != "" {
						leaks++
						if leaks <= 20 {
							t.Errorf("LEAK %s %s (%s) as %s: %s", m, tr.f(p), tr.name, c.name, why)
						}
					}
				}
			}
		}
		if after := snapshot(); after != before {
			t.Errorf("STATE CHANGE by requests to %s without rights:\nbefore %s\nafter  %s", p, before, after)
			before = after
		}
	}
	t.Logf("%d requests (%d routes × %d credential forms × %d path forms × %d methods): %d leaks", tried, len(paths), len(creds), len(tricks), len(methods), leaks)
	if tried != len(paths)*len(creds)*len(tricks)*len(methods) {
		t.Errorf("tried %d requests", tried)
	}

	// The detector sees a change when there are rights.
	ctx := send(s, call{method: "POST", uri: restPrefix + "add/ntopng/user.lua", hdr: admin, from: "127.0.0.2", body: bag})
	if rcOf(ctx) != "OK" || snapshot() == before {
		t.Errorf("an administrator's add/ntopng/user (%s) did not show in the snapshot", ctx.Response.Body())
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// leaked says what in an answer to a caller without rights is data.
func leaked(r rawResponse) string {
	if sc := r.header.Get("Set-Cookie"); sc != "" && !strings.Contains(sc, "max-age=0") {
		return "set a cookie: " + sc
	}
	if v := r.header.Get("Access-Control-Allow-Origin"); v != "" {
		return "CORS answer " + v
	}
	body := strings.TrimSpace(string(r.body))
	if !strings.HasPrefix(body, "{") {
		switch r.status {
		case 302, 400, 401, 405, 413: // 401: NOT_GRANTED to a HEAD (no body)
			if r.status == 400 || body == "" {
				return "" // fasthttp's own "cannot parse" text, or nothing
			}
		}
		return fmt.Sprintf("status %d with %q", r.status, trunc(body))
	}
	var env struct {
		RCStr string          `json:"rc_str"`
		Rsp   json.RawMessage `json:"rsp"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return fmt.Sprintf("status %d, unreadable JSON %q", r.status, trunc(body))
	}
	rsp := strings.TrimSpace(string(env.Rsp))
	if env.RCStr == "NOT_GRANTED" && (rsp == "" || rsp == "[]" || rsp == "{}" || rsp == "null") {
		return ""
	}
	return fmt.Sprintf("status %d %s rsp %q", r.status, env.RCStr, trunc(rsp))
}

func trunc(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// rawClient sends requests as written (no path cleaning) on one
// keep-alive connection from a fixed loopback address, reconnecting when
// the server closes it.
type rawClient struct {
	addr, from string
	c          net.Conn
	br         *bufio.Reader
}

func (rc *rawClient) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

func (rc *rawClient) do(method, uri string, hdr map[string]string, body string) (rawResponse, error) {
	for attempt := 0; ; attempt++ {
		r, err := rc.try(method, uri, hdr, body)
		if err == nil || attempt == 2 {
			return r, err
		}
		rc.close() // the server closed a kept-alive connection: again on a new one
	}
}

func (rc *rawClient) try(method, uri string, hdr map[string]string, body string) (rawResponse, error) {
	if rc.c == nil {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(rc.from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", rc.addr)
		if err != nil {
			return rawResponse{}, err
		}
		rc.c, rc.br = c, bufio.NewReader(c)
	}
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: probe.test:3000\r\n", method, uri)
	for k, v := range hdr {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	if method == "OPTIONS" {
		b.WriteString("Origin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n")
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(rc.c, b.String()); err != nil {
		return rawResponse{}, err
	}
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		return rawResponse{}, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return rawResponse{}, err
	}
	if resp.Close {
		rc.close()
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: data}, nil
}
