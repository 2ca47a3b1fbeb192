package rest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/timeseries"
)

// BenchmarkTimeSeriesQuery24h: one host's host:traffic over 24 hours
// (288 points of 5 minutes) among 1,000 hosts, compare in one run:
//
//		go test -run '^$' -bench TimeSeriesQuery24h ./controlplane/rest/
//
//	  - ts.lua-over-HTTP: GET get/timeseries/ts.lua over loopback (login
//	    off), the whole answer read by net/http's client;
//	  - baseline=db.Query: the same question to the store, in process;
//	  - baseline=fasthttp-hello: a fasthttp server answering "hello" to the
//	    same client over loopback (the floor of any HTTP answer).
func BenchmarkTimeSeriesQuery24h(b *testing.B) {
	const hosts, t0 = 1000, 1767225600
	s := newTestServer(b, 1, true)
	db, err := timeseries.Open(s.cfg.Store, timeseries.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s.cfg.TimeSeries = db
	pts := make([]timeseries.Point, hosts)
	for k := -1; k < 288; k++ {
		for i := range pts {
			v := float64(k+1) * float64(1000+i)
			pts[i] = timeseries.Point{Schema: "host:traffic", Tags: []string{"0", fmt.Sprintf("10.0.%d.%d", i>>8, i&255)}, Time: int64(t0 + 300*k), Values: []float64{v, v / 3}}
		}
		if err := db.Write(pts); err != nil {
			b.Fatal(err)
		}
	}
	q := timeseries.Query{Schema: "host:traffic", Filter: "ifid:0,host:10.0.1.244", Begin: t0, End: t0 + 86400 - 1, Limit: 288}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(b *testing.B, url string) {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			b.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	listen := func(b *testing.B) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		return ln
	}
	b.Run("ts.lua-over-HTTP", func(b *testing.B) {
		ln := listen(b)
		go s.Serve(ln)
		defer s.Shutdown()
		url := fmt.Sprintf("http://%s/lua/rest/v2/get/timeseries/ts.lua?ts_schema=host:traffic&ts_query=%s&epoch_begin=%d&epoch_end=%d&limit=288",
			ln.Addr(), q.Filter, q.Begin, q.End)
		get(b, url)
		for b.Loop() {
			get(b, url)
		}
	})
	b.Run("baseline=db.Query", func(b *testing.B) {
		for b.Loop() {
			r, err := db.Query(q)
			if err != nil || r.Count != 288 || r.Statistics.Total == 0 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("baseline=fasthttp-hello", func(b *testing.B) {
		ln := listen(b)
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello") }}
		go srv.Serve(ln)
		defer srv.Shutdown()
		url := "http://" + ln.Addr().String() + "/"
		get(b, url)
		for b.Loop() {
			get(b, url)
		}
	})
}
