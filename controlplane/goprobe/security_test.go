package goprobe

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/query"
)

// from answers a request made from the address ip, in process.
func from(s *Server, ip, method, target string, hdr map[string]string) answer {
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(target)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}, nil)
	s.Handler()(&ctx)
	return answer{status: ctx.Response.StatusCode(), body: append([]byte(nil), ctx.Response.Body()...)}
}

// TestAuthBeforeRateLimit: wrong keys spend only the guesser's own bucket,
// never the keyed client's, even from the same address; the keyed client's
// bucket is shared by every path.
func TestAuthBeforeRateLimit(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.Keys = []string{testKey} })
	good := map[string]string{"Authorization": "digest " + testKey}
	for i := range 20 {
		a := from(s, "127.0.0.1", "GET", "/api/v1/stats/packets", map[string]string{"Authorization": "digest wrong" + strconv.Itoa(i)})
		want := 401
		if i >= 6 { // goProbe's burst: six at once
			want = 429
		}
		if a.status != want {
			t.Fatalf("guess %d: %d, want %d", i, a.status, want)
		}
	}
	paths := []string{"/api/v1/stats/packets", "/api/v1/stats/errors", "/api/v1/flows/eth0", "/api/v1/stats/packets", "/api/v1/nope", "/api/v1/stats/errors"}
	for i, p := range paths {
		if a := from(s, "127.0.0.1", "GET", p, good); a.status == 401 || a.status == 429 {
			t.Fatalf("keyed request %d (%s) after the guesses: %d %q", i, p, a.status, a.body)
		}
	}
	if a := from(s, "127.0.0.1", "GET", "/api/v1/flows/eth1", good); a.status != 429 {
		t.Errorf("seventh keyed request on yet another path: %d, want 429 (one bucket across paths)", a.status)
	}
}

// TestRateLimitPerAddress: without keys the bucket is the address's.
func TestRateLimitPerAddress(t *testing.T) {
	s, _ := newTestServer(t, nil)
	for range 6 {
		from(s, "127.0.0.2", "GET", "/api/v1/stats/packets", nil)
	}
	if a := from(s, "127.0.0.2", "GET", "/api/v1/stats/errors", nil); a.status != 429 {
		t.Errorf("seventh request of 127.0.0.2: %d", a.status)
	}
	if a := from(s, "127.0.0.3", "GET", "/api/v1/stats/errors", nil); a.status != 200 {
		t.Errorf("another address: %d", a.status)
	}
}

// TestMetricsHideSecrets: /debug/vars never shows the command line (where
// keys are given) nor any variable holding a key.
func TestMetricsHideSecrets(t *testing.T) {
	old := os.Args
	os.Args = []string{"probe", "--goprobe-api-key", testKey, "--snmp-community", "s3cr3t-community"}
	t.Cleanup(func() { os.Args = old })
	leak := expvar.NewString("test_leak_" + strconv.FormatInt(time.Now().UnixNano(), 36))
	leak.Set("key=" + testKey)
	s, _ := newTestServer(t, func(c *Config) { c.Metrics = true; c.Keys = []string{testKey} })
	a := get(s, "/debug/vars", nil)
	var v map[string]any
	if a.status != 200 || json.Unmarshal(a.body, &v) != nil || v["memstats"] == nil {
		t.Fatalf("/debug/vars: %d %.200s", a.status, a.body)
	}
	for _, secret := range []string{testKey, "s3cr3t-community", `"cmdline"`} {
		if strings.Contains(string(a.body), secret) {
			t.Errorf("/debug/vars shows %q", secret)
		}
	}
}

func TestCheckExposure(t *testing.T) {
	cases := []struct {
		addr     string
		keys     int
		insecure bool
		ok       bool
	}{
		{"127.0.0.1:6060", 0, false, true},
		{"127.9.9.9:6060", 0, false, true},
		{"[::1]:6060", 0, false, true},
		{"localhost:6060", 0, false, true},
		{"0.0.0.0:6060", 0, false, false},
		{":6060", 0, false, false},
		{"[::]:6060", 0, false, false},
		{"192.0.2.1:6060", 0, false, false},
		{"[::ffff:127.0.0.1]:6060", 0, false, true},
		{"probe.example.org:6060", 0, false, false},
		{"6060", 0, false, false},
		{"0.0.0.0:6060", 1, false, true},
		{"0.0.0.0:6060", 0, true, true},
	}
	for _, c := range cases {
		err := CheckExposure(c.addr, c.keys, c.insecure)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrExposed)) {
			t.Errorf("CheckExposure(%q, %d, %v) = %v", c.addr, c.keys, c.insecure, err)
		}
	}
}

// deadDNS is a real DNS server on loopback that reads queries and never
// answers, and a resolver that asks it.
func deadDNS(t *testing.T) query.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

// TestSlowQueriesDoNotHoldTheAPI: queries resolving names against a DNS
// server that never answers, with goProbe's largest ResolveRows and
// ResolveTimeout, run side by side up to MaxQueries; one more is refused
// at once with 429; the cheap routes are served meanwhile; every query ends
// by the whole-query deadline.
func TestSlowQueriesDoNotHoldTheAPI(t *testing.T) {
	res := deadDNS(t)
	const deadline = 1500 * time.Millisecond
	var running sync.WaitGroup
	started := make(chan struct{}, 8)
	s, _ := newTestServer(t, func(c *Config) {
		c.RateLimit, c.MaxQueries, c.RequestTimeout = -1, 2, deadline
		c.Query = func(ctx context.Context, body []byte) QueryAnswer {
			started <- struct{}{}
			args, err := query.ParseArgsJSON(body)
			if err != nil {
				return QueryAnswer{Status: 400, ContentType: ctText}
			}
			q, err := query.Prepare(args, map[uint16]string{1: "eth0"}, time.Now())
			if err != nil {
				return QueryAnswer{Status: 400, ContentType: ctText, Body: []byte(err.Error())}
			}
			ok, rows, timeout := q.Resolve()
			r := &query.Result{Attrs: []query.Attr{query.AttrSIP, query.AttrDIP}}
			for i := range 300 {
				a := [4]byte{10, 1, byte(i >> 8), byte(i)}
				b := [4]byte{10, 2, byte(i >> 8), byte(i)}
				r.Rows = append(r.Rows, query.Row{SIP: netip.AddrFrom4(a), DIP: netip.AddrFrom4(b)})
			}
			if ok {
				r.ResolveNames(ctx, res, rows, timeout)
			}
			return QueryAnswer{Status: 200, ContentType: ctText, Body: r.JSON("sip,dip")}
		}
	})
	base := serveLoopback(t, s)
	body := `{"query":"sip,dip","ifaces":"eth0","resolve":true,"resolve_rows":1000000,"resolve_timeout":100000}`
	start := time.Now()
	statuses := make(chan int, 2)
	for range 2 {
		running.Add(1)
		go func() {
			defer running.Done()
			resp, err := http.Post(base+"/api/v1/_query", "application/json", strings.NewReader(body))
			if err != nil {
				statuses <- -1
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("queries did not start")
		}
	}
	a := overLoopback(t, base, "POST", "/api/v1/_query", []byte(body), nil)
	if a.status != 429 || !strings.Contains(string(a.body), "queries are already running") {
		t.Errorf("third query: %d %q, want an immediate 429", a.status, a.body)
	}
	if a := overLoopback(t, base, "GET", "/api/v1/stats/packets", nil, nil); a.status != 200 {
		t.Errorf("stats during slow queries: %d", a.status)
	}
	running.Wait()
	took := time.Since(start)
	for range 2 {
		if st := <-statuses; st != 200 {
			t.Errorf("slow query: %d", st)
		}
	}
	// Bounded by the deadline (plus scheduling), far below 300 rows × 2
	// names × 100000 s.
	if took > deadline+3*time.Second {
		t.Errorf("slow queries took %v with a %v deadline", took, deadline)
	}
	if a := overLoopback(t, base, "POST", "/api/v1/_query", []byte(`{"query":"sip","ifaces":"eth0"}`), nil); a.status != 200 {
		t.Errorf("query after the slow ones: %d %q", a.status, a.body)
	}
}
