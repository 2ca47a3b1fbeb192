package goprobe

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

const testKey = "0123456789abcdef0123456789abcdef0123456789abcdef"

func newTestServer(t *testing.T, mod func(*Config)) (*Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := Config{
		Interfaces: func() []Interface {
			return []Interface{
				{Name: "eth1", Table: flowtable.New(flowtable.Config{Name: "eth1"}), Active: false,
					Errors: func() map[string]int { return map[string]int{"truncated": 2, "bad checksum": 7} }},
				{Name: "eth0", Table: flowtable.New(flowtable.Config{Name: "eth0"}), Active: true},
			}
		},
		Now: clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, clock
}

func get(s *Server, target string, hdr map[string]string) answer {
	return inProcess(s.Handler(), "GET", target, nil, hdr)
}

func TestRateLimitGCRA(t *testing.T) {
	s, clock := newTestServer(t, nil)
	// goProbe's defaults: 10/min with a burst of 5 → six at once, then 429.
	for i := range 6 {
		a := get(s, "/api/v1/stats/packets", nil)
		if a.status != 200 {
			t.Fatalf("request %d: status %d", i, a.status)
		}
		if got, want := a.header.Get("X-Ratelimit-Remaining"), []string{"5", "4", "3", "2", "1", "0"}[i]; got != want {
			t.Errorf("request %d: remaining %s, want %s", i, got, want)
		}
		if got := a.header.Get("X-Ratelimit-Reset"); got != []string{"6", "12", "18", "24", "30", "36"}[i] {
			t.Errorf("request %d: reset %s", i, got)
		}
	}
	a := get(s, "/api/v1/stats/packets", nil)
	if a.status != 429 || string(a.body) != "limit exceeded\n" || a.header.Get("Retry-After") != "6" ||
		a.header.Get("X-Ratelimit-Remaining") != "0" || a.header.Get("Content-Type") != ctText {
		t.Errorf("over the limit: %d %q %v", a.status, a.body, a.header)
	}
	clock.Advance(6 * time.Second)
	if a := get(s, "/api/v1/stats/packets", nil); a.status != 200 || a.header.Get("Retry-After") != "" {
		t.Errorf("after one interval: %d %v", a.status, a.header)
	}
	// One bucket per client, shared by every path: the interval's one
	// request is spent, so another path is refused too.
	if a := get(s, "/api/v1/stats/errors", nil); a.status != 429 || a.header.Get("X-Ratelimit-Remaining") != "0" {
		t.Errorf("other path: %d %v", a.status, a.header)
	}
	// Outside /api nothing is limited or labelled.
	if a := get(s, "/", nil); a.header.Get("X-Ratelimit-Limit") != "" {
		t.Errorf("rate headers outside /api: %v", a.header)
	}
}

func TestRateLimitConfigurable(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.RateLimit, c.Burst = 120, 1 })
	a := get(s, "/api/v1/stats/packets", nil)
	if a.header.Get("X-Ratelimit-Limit") != "2" || a.header.Get("X-Ratelimit-Reset") != "1" {
		t.Errorf("headers %v", a.header)
	}
	off, _ := newTestServer(t, func(c *Config) { c.RateLimit = -1 })
	for range 50 {
		if a := get(off, "/api/v1/stats/packets", nil); a.status != 200 || a.header.Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("disabled limiter: %d %v", a.status, a.header)
		}
	}
}

func TestAuth(t *testing.T) {
	for _, keys := range [][]string{{"short"}, {demoKey}} {
		if _, err := New(Config{Interfaces: func() []Interface { return nil }, Keys: keys}); err == nil {
			t.Errorf("New accepted keys %q", keys)
		}
	}
	s, _ := newTestServer(t, func(c *Config) { c.Keys = []string{testKey}; c.RateLimit = -1 })
	for _, h := range []map[string]string{nil, {"Authorization": "digest nope"}, {"Authorization": "Bearer " + testKey}, {"Authorization": testKey}} {
		a := get(s, "/api/v1/stats/packets", h)
		if a.status != 401 || string(a.body) != "Unauthorized\n" || a.header.Get("Content-Type") != ctText {
			t.Errorf("%v: %d %q", h, a.status, a.body)
		}
	}
	if a := get(s, "/api/v1/stats/packets", map[string]string{"Authorization": "digest " + testKey}); a.status != 200 {
		t.Errorf("good key: %d %q", a.status, a.body)
	}
	// Authentication guards all of /api, known route or not, but not the root.
	if a := get(s, "/api/v1/nope", nil); a.status != 401 {
		t.Errorf("unknown api path without key: %d", a.status)
	}
	if a := get(s, "/", nil); a.status != 404 {
		t.Errorf("root: %d", a.status)
	}
}

func TestRoutingAndMethods(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.RateLimit = -1 })
	cases := []struct {
		method, target string
		status         int
		body           string
	}{
		{"POST", "/api/v1/flows/eth0", 405, ""},
		{"POST", "/api/v1/stats/packets", 405, ""},
		{"GET", "/api/v1/flows/eth0/extra", 404, "404 page not found\n"},
		{"GET", "/api/v1/stats/packets/", 404, "404 page not found\n"},
		{"GET", "/api", 404, "404 page not found\n"},
		{"GET", "/debug/vars", 404, "404 page not found\n"},
		{"GET", "/api/v1/flows/eth9", 404, "Not Found\n"},
		{"POST", "/api/v1/_reload", 500, "Internal Server Error\n"}, // no Reload wired
		{"POST", "/api/v1/_query", 500, "Internal Server Error: failed to execute query\n"},
	}
	for _, c := range cases {
		a := inProcess(s.Handler(), c.method, c.target, nil, nil)
		if a.status != c.status || string(a.body) != c.body {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, a.status, a.body, c.status, c.body)
		}
		if c.status == 405 && a.header.Get("Content-Type") != "" {
			t.Errorf("%s %s: 405 with Content-Type %q", c.method, c.target, a.header.Get("Content-Type"))
		}
	}
}

func TestAllInterfacesAndStats(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.RateLimit = -1 })
	a := get(s, "/api/v1/flows/all", nil)
	if string(a.body) != `{"eth0":null,"eth1":null}`+"\n" {
		t.Errorf("flows/all: %q", a.body)
	}
	a = get(s, "/api/v1/stats/errors", nil)
	if string(a.body) != `{"eth0":{},"eth1":{"bad checksum":7,"truncated":2}}`+"\n" {
		t.Errorf("errors: %q", a.body)
	}
	a = get(s, "/api/v1/stats/errors?pretty=1", nil)
	if !strings.Contains(string(a.body), "- eth1") || !strings.Contains(string(a.body), "[       7] bad checksum\n    [       2] truncated") {
		t.Errorf("errors pretty: %q", a.body)
	}
	a = get(s, "/api/v1/stats/packets?debug=1", nil)
	var ps struct {
		IfaceActive int `json:"iface_active"`
		IfaceTotal  int `json:"iface_total"`
		Ifaces      map[string]struct {
			State int `json:"state"`
			Stats struct {
				Pcap *pcapStats `json:"pcap"`
			} `json:"stats"`
		} `json:"ifaces"`
	}
	if err := json.Unmarshal(a.body, &ps); err != nil {
		t.Fatal(err)
	}
	if ps.IfaceActive != 1 || ps.IfaceTotal != 2 || ps.Ifaces["eth1"].State != stateError || ps.Ifaces["eth0"].Stats.Pcap != nil {
		t.Errorf("packets debug: %s", a.body)
	}
	a = get(s, "/api/v1/stats/packets?pretty=1", nil)
	if !strings.Contains(string(a.body), "[ WARN ] 1/2 interfaces active") {
		t.Errorf("packets pretty: %s", a.body)
	}
}

func TestQueryAndReload(t *testing.T) {
	var gotBody string
	reloadErr := errors.New("bad config")
	s, _ := newTestServer(t, func(c *Config) {
		c.RateLimit = -1
		c.Query = func(_ context.Context, b []byte) QueryAnswer {
			gotBody = string(b)
			return QueryAnswer{400, ctText, []byte("Bad Request: failed to decode query arguments\n"), "query: unexpected end of JSON input"}
		}
		c.Reload = func() error { return reloadErr }
	})
	a := inProcess(s.Handler(), "POST", "/api/v1/_query", []byte(`{"Query":"sip"`), nil)
	if gotBody != `{"Query":"sip"` || a.status != 400 || a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("query: %q → %d %v", gotBody, a.status, a.header)
	}
	// The reason is for the probe's own CLI only: goProbe clients see
	// goProbe's headers.
	if a.header.Get(QueryErrorHeader) != "" {
		t.Errorf("reason shown to a remote client: %v", a.header)
	}
	a = inProcess(s.Handler(), "POST", "/api/v1/_reload", nil, nil)
	if a.status != 500 || string(a.body) != "Internal Server Error\n" {
		t.Errorf("reload failure: %d %q", a.status, a.body)
	}
	a = inProcess(s.Handler(), "POST", "/api/v1/_reload?pretty=1", nil, nil)
	if a.status != 500 || !strings.Contains(string(a.body), "[FAILED] bad config") {
		t.Errorf("reload failure pretty: %d %q", a.status, a.body)
	}
}

func TestMetrics(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.Metrics = true })
	a := get(s, "/debug/vars", nil)
	var v map[string]any
	if a.status != 200 || json.Unmarshal(a.body, &v) != nil || v["memstats"] == nil {
		t.Errorf("/debug/vars: %d %.200s", a.status, a.body)
	}
	if a.header.Get("X-Ratelimit-Limit") != "" {
		t.Errorf("/debug/vars is outside /api: %v", a.header)
	}
}

func TestPanicIsA500(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) {
		c.RateLimit = -1
		c.Reload = func() error { panic("boom") }
	})
	if a := inProcess(s.Handler(), "POST", "/api/v1/_reload", nil, nil); a.status != 500 {
		t.Errorf("panic: %d", a.status)
	}
	// The request slot was released: the next request is served.
	if a := get(s, "/api/v1/stats/errors", nil); a.status != 200 {
		t.Errorf("after panic: %d", a.status)
	}
}

// TestLastWriteoutBeforeFirst: before the first writeout goProbe counts
// last_writeout from its start (not Go's largest duration).
func TestLastWriteoutBeforeFirst(t *testing.T) {
	for _, name := range []string{"no LastWriteout", "zero LastWriteout"} {
		t.Run(name, func(t *testing.T) {
			s, clock := newTestServer(t, func(c *Config) {
				c.RateLimit = -1
				if name == "zero LastWriteout" {
					c.LastWriteout = func() time.Time { return time.Time{} }
				}
			})
			clock.Advance(42 * time.Second)
			a := get(s, "/api/v1/stats/packets", nil)
			var v struct {
				LastWriteout float64 `json:"last_writeout"`
			}
			if err := json.Unmarshal(a.body, &v); err != nil || v.LastWriteout != 42 {
				t.Errorf("last_writeout %v (%v): %s; want 42 s since start", v.LastWriteout, err, a.body)
			}
			a = get(s, "/api/v1/stats/packets?pretty=1", nil)
			if !strings.Contains(string(a.body), "last writeout: 42s ago") {
				t.Errorf("pretty: %s", a.body)
			}
		})
	}
}

// TestLocalToken: the probe's own CLI (token, over loopback) is
// authenticated, never throttled and told why a query failed; the same
// token from elsewhere or a wrong one counts for nothing.
func TestLocalToken(t *testing.T) {
	const tok = "local-token-0123456789"
	s, _ := newTestServer(t, func(c *Config) {
		c.Keys = []string{testKey}
		c.LocalToken = tok
		c.Query = func(context.Context, []byte) QueryAnswer {
			return QueryAnswer{400, ctText, []byte("Bad Request: failed to prepare query. Invalid arguments provided\n"),
				"condition: position 14: expected \")\"\nsecond line"}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Shutdown() })
	base := "http://" + ln.Addr().String()
	local := map[string]string{LocalTokenHeader: tok}
	// goProbe's default limit is six at once: the CLI goes far beyond.
	for i := range 20 {
		a := overLoopback(t, base, "GET", "/api/v1/stats/packets", nil, local)
		if a.status != 200 || a.header.Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("local request %d: %d %v", i, a.status, a.header)
		}
	}
	a := overLoopback(t, base, "POST", "/api/v1/_query", []byte(`{}`), local)
	if got := a.header.Get(QueryErrorHeader); a.status != 400 || got != `condition: position 14: expected ")" second line` {
		t.Errorf("local query error: %d reason %q", a.status, got)
	}
	if got := oneLine(strings.Repeat("é", 400)); len(got) > maxReason+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("long reason kept as %d bytes: %q", len(got), got)
	}
	for _, h := range []map[string]string{nil, {LocalTokenHeader: tok + "x"}, {LocalTokenHeader: ""}} {
		if a := overLoopback(t, base, "GET", "/api/v1/stats/packets", nil, h); a.status != 401 {
			t.Errorf("%v: %d, want 401", h, a.status)
		}
	}
	// A keyed remote client keeps goProbe's limit and answers.
	keyed := map[string]string{"Authorization": "digest " + testKey}
	a = overLoopback(t, base, "POST", "/api/v1/_query", []byte(`{}`), keyed)
	if a.status != 400 || a.header.Get(QueryErrorHeader) != "" || a.header.Get("X-Ratelimit-Limit") != "6" {
		t.Errorf("keyed query: %d %v", a.status, a.header)
	}
	// Not from loopback (in-process requests come from 0.0.0.0): refused.
	if a := get(s, "/api/v1/stats/packets", local); a.status != 401 {
		t.Errorf("token from a non-loopback address: %d", a.status)
	}
}
