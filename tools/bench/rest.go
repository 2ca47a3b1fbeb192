package main

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/rest"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// load drives GET uri on addr from conns connections for d and returns
// the successful requests per second.
func load(addr, uri string, hdr map[string]string, conns int, d time.Duration) (float64, error) {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	var ok, bad atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + uri)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			for time.Now().Before(deadline) {
				if err := hc.Do(req, resp); err != nil {
					firstErr.CompareAndSwap(nil, err)
					bad.Add(1)
					continue
				}
				if resp.StatusCode() != 200 {
					firstErr.CompareAndSwap(nil, fmt.Errorf("status %d: %.200s", resp.StatusCode(), resp.Body()))
					bad.Add(1)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if bad.Load() > 0 {
		return 0, fmt.Errorf("%d failed requests, first: %v", bad.Load(), firstErr.Load())
	}
	return float64(ok.Load()) / el.Seconds(), nil
}

func serveOn(h fasthttp.RequestHandler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Shutdown() }, nil
}

func benchREST(nHosts, conns int, d time.Duration, runs int) error {
	dir, err := os.MkdirTemp("", "probe-bench-rest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	au, err := auth.New(st)
	if err != nil {
		return err
	}
	tb := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}})
	local := netip.MustParseAddr("192.168.1.10")
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < nHosts-1; i++ {
		remote := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tb.HandlePacket(&decode.Packet{Timestamp: ts + int64(i), WireLen: uint32(60 + i%1400), IPVersion: 4,
			Src: local, Dst: remote, Proto: 6, SrcPort: uint16(1024 + i%60000), DstPort: 443, TCPFlags: decode.TCPSyn}, decode.ErrNone)
	}
	ifaces := []rest.Interface{{ID: 0, Name: "bench.pcap", Table: tb, SpeedMbps: 1000}}
	open := rest.New(rest.Config{Interfaces: ifaces, Auth: au, Store: st, DisableLogin: true})
	secured := rest.New(rest.Config{Interfaces: ifaces, Auth: au, Store: st})

	hello := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"hello":"world"}`)
	}
	type target struct {
		name    string
		handler fasthttp.RequestHandler
		uri     string
		hdr     map[string]string
	}
	// The default admin password serves nothing until changed.
	if err := au.SetPassword("admin", "bench-admin"); err != nil {
		return err
	}
	basic := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:bench-admin"))}
	targets := []target{
		{"fasthttp hello (baseline)", hello, "/", nil},
		{"get/host/active, login disabled", open.Handler(), "/lua/rest/v1/get/host/active.lua?ifid=0", nil},
		{"get/host/active, Basic auth", secured.Handler(), "/lua/rest/v1/get/host/active.lua?ifid=0", basic},
		{"get/interface/data, login disabled", open.Handler(), "/lua/rest/v1/get/interface/data.lua?ifid=0", nil},
	}
	fmt.Printf("rest: %d hosts in the table, %d connections over loopback, %v per run, best of %d\n", nHosts, conns, d, runs)
	var baseline float64
	for _, t := range targets {
		addr, stop, err := serveOn(t.handler)
		if err != nil {
			return err
		}
		var best float64
		for i := 0; i < runs; i++ {
			rps, err := load(addr, t.uri, t.hdr, conns, d)
			if err != nil {
				stop()
				return fmt.Errorf("%s: %w", t.name, err)
			}
			best = max(best, rps)
		}
		stop()
		if baseline == 0 {
			baseline = best
		}
		fmt.Printf("  %-36s %9.0f req/s  (%.2f of baseline)\n", t.name, best, best/baseline)
	}
	return nil
}
