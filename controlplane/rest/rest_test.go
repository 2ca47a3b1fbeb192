package rest

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

func TestNumFormatsLikeLua(t *testing.T) {
	cases := map[float64]string{
		0:                   "0",
		3:                   "3",
		-0.88262498378754:   "-0.88262498378754",
		5.2767765737372e-05: "5.2767765737372e-05",
		0.37000000476837158: "0.37000000476837",
		1.0 / 3:             "0.33333333333333",
		1e20:                "1e+20",
	}
	for in, want := range cases {
		b, _ := json.Marshal(Num(in))
		if string(b) != want {
			t.Errorf("Num(%v) = %s, want %s", in, b, want)
		}
	}
}

func TestLintDropsUnknownAndInvalid(t *testing.T) {
	p := lint(map[string]string{
		"ifid": "0", "host": "192.168.1.1@10", "perPage": "x", "sortOrder": "sideways",
		"bogus": "1", "mode": "local", "mac": "aa:bb:cc:dd:ee:ff", "vlan": "-",
	})
	want := Params{"ifid": "0", "host": "192.168.1.1@10", "mode": "local", "mac": "aa:bb:cc:dd:ee:ff"}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Errorf("lint = %v, want %v", p, want)
	}
}

func TestJSONParamsBecomeStrings(t *testing.T) {
	m := map[string]string{}
	if err := jsonParams([]byte(`{"ifid": 0, "all": true, "host": "1.2.3.4", "nested": {"a": 1}, "n": null}`), m); err != nil {
		t.Fatal(err)
	}
	if m["ifid"] != "0" || m["all"] != "true" || m["host"] != "1.2.3.4" || len(m) != 3 {
		t.Errorf("got %v", m)
	}
	for _, bad := range []string{`{"ifid": `, `[1]`, `{"a":1} {"b":2}`, `"str"`} {
		if err := jsonParams([]byte(bad), map[string]string{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestUptimeAndShorten(t *testing.T) {
	for sec, want := range map[int64]string{25: "00:25 sec", 84: "01:24", 3723: "1:02:03", 90000 + 61: "1 day, 01:01:01", 2*86400 + 5: "2 days, 00:00:05"} {
		if got := secondsToUptime(sec); got != want {
			t.Errorf("secondsToUptime(%d) = %q, want %q", sec, got, want)
		}
	}
	// ntopng's own output for this host name.
	if got := shortenString("ocsp.int-x3.letsencrypt.org", 24); got != "ocsp.int-x3.letsencrypt.…" {
		t.Errorf("shortenString = %q", got)
	}
}

// fillTable puts n remote hosts (each talking to one local host) in a table.
func fillTable(tb *flowtable.Table, n int) {
	local := netip.MustParseAddr("192.168.1.10")
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < n; i++ {
		remote := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tb.HandlePacket(&decode.Packet{Timestamp: ts + int64(i), WireLen: uint32(60 + i%1000), IPVersion: 4,
			Src: local, Dst: remote, Proto: 6, SrcPort: uint16(1024 + i%60000), DstPort: 443, TCPFlags: decode.TCPSyn}, decode.ErrNone)
	}
}

func newTestServer(tb testing.TB, n int, disableLogin bool) *Server {
	st, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	au, err := auth.New(st)
	if err != nil {
		tb.Fatal(err)
	}
	table := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	fillTable(table, n)
	return New(Config{
		Interfaces: []Interface{{ID: 0, Name: "bench.pcap", Table: table, SpeedMbps: 1000}},
		Auth:       au, Store: st, DisableLogin: disableLogin, HTTPPort: 3000,
	})
}

// do calls uri as the route table says it is called: GET, or POST for a
// route that changes state.
func do(s *Server, uri string, hdr map[string]string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	setMethodFor(s, &ctx)
	for k, v := range hdr {
		ctx.Request.Header.Set(k, v)
	}
	s.serve(&ctx)
	return &ctx
}

// setMethodFor sets POST on a request to a route that changes state.
func setMethodFor(s *Server, ctx *fasthttp.RequestCtx) {
	if rt, ok := s.routes[string(ctx.Path())]; ok && rt.writes() {
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
	}
}

func TestHostActivePagingAndSorting(t *testing.T) {
	s := newTestServer(t, 25, true)
	ctx := do(s, "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=10&currentPage=3&sortColumn=ip&sortOrder=asc", nil)
	var env struct {
		Rsp struct {
			Data []struct {
				IP string `json:"ip"`
			} `json:"data"`
			Sort [][]string `json:"sort"`
		} `json:"rsp"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil {
		t.Fatal(err)
	}
	// 26 hosts: 10.0.0.0..10.0.0.24 and 192.168.1.10, ascending by IP.
	if len(env.Rsp.Data) != 6 || env.Rsp.Data[0].IP != "10.0.0.20" || env.Rsp.Data[5].IP != "192.168.1.10" {
		t.Errorf("page 3: %s", ctx.Response.Body())
	}
	if len(env.Rsp.Sort) != 1 || env.Rsp.Sort[0][0] != "column_ip" || env.Rsp.Sort[0][1] != "asc" {
		t.Errorf("sort echo %v", env.Rsp.Sort)
	}
	ctx = do(s, "/lua/rest/v1/get/host/active.lua?ifid=0&mode=local", nil)
	if n := len(mustData(t, ctx)); n != 1 {
		t.Errorf("mode=local: %d hosts", n)
	}
}

func mustData(t *testing.T, ctx *fasthttp.RequestCtx) []any {
	var env struct {
		Rsp struct {
			Data []any `json:"data"`
		} `json:"rsp"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &env); err != nil {
		t.Fatal(err)
	}
	return env.Rsp.Data
}

func TestUnknownPathAndMethod(t *testing.T) {
	s := newTestServer(t, 1, true)
	ctx := do(s, "/lua/rest/v1/get/nothing/here.lua", nil)
	if ctx.Response.StatusCode() != 302 {
		t.Errorf("unknown script: %d", ctx.Response.StatusCode())
	}
	var c fasthttp.RequestCtx
	c.Request.SetRequestURI("/lua/rest/v1/get/ntopng/interfaces.lua")
	c.Request.Header.SetMethod("DELETE")
	s.serve(&c)
	if c.Response.StatusCode() != 405 {
		t.Errorf("DELETE: %d", c.Response.StatusCode())
	}
}

// BenchmarkHostActive10k is get/host/active on a table of 10 000 hosts,
// in-process (no network, no authentication).
func BenchmarkHostActive10k(b *testing.B) {
	s := newTestServer(b, 10000, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx := do(s, "/lua/rest/v1/get/host/active.lua?ifid=0", nil)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}
