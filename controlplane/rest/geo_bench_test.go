package rest

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// publicServer is a server whose table has a local host talking to n
// public remote hosts (fixed seed: the same addresses every run).
func publicServer(b *testing.B, n int, db *geoip.DB) *Server {
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	au, err := auth.New(st)
	if err != nil {
		b.Fatal(err)
	}
	table := flowtable.New(flowtable.Config{Offline: true, MaxHosts: 2 * n, MaxFlows: 2 * n,
		LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	rng := rand.New(rand.NewPCG(21, 4))
	local := netip.MustParseAddr("192.168.1.10")
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 0; i < n; {
		u := rng.Uint32()
		remote := netip.AddrFrom4([4]byte{byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)})
		if !geoip.Routable(remote) {
			continue
		}
		table.HandlePacket(&decode.Packet{Timestamp: ts + int64(i), WireLen: 100, IPVersion: 4,
			Src: local, Dst: remote, Proto: 6, SrcPort: uint16(1024 + i%60000), DstPort: 443, TCPFlags: decode.TCPSyn}, decode.ErrNone)
		i++
	}
	return New(Config{
		Interfaces: []Interface{{ID: 0, Name: "bench.pcap", Table: table, SpeedMbps: 1000}},
		Auth:       au, Store: st, DisableLogin: true, HTTPPort: 3000, GeoIP: db,
	})
}

// benchGeoAnswer times uri on a server with the real databases and the
// same call on the same table without databases, alternately in the same
// loop (a busy machine slows both alike): ns/geo and ns/nogeo per call,
// x-nogeo the cost of geography as a ratio.
func benchGeoAnswer(b *testing.B, hosts int, uri string) {
	with, without := publicServer(b, hosts, realGeoIP(b)), publicServer(b, hosts, nil)
	get := func(s *Server) time.Duration {
		start := time.Now()
		if ctx := do(s, uri, nil); ctx.Response.StatusCode() != 200 {
			b.Fatalf("%s: %d %s", uri, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		return time.Since(start)
	}
	// Warm: every host shown was looked up once (the cache's steady state).
	get(with)
	get(without)
	var geo, nogeo time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		nogeo += get(without)
		geo += get(with)
	}
	b.StopTimer()
	b.ReportMetric(float64(geo.Nanoseconds())/float64(b.N), "ns/geo")
	b.ReportMetric(float64(nogeo.Nanoseconds())/float64(b.N), "ns/nogeo")
	b.ReportMetric(float64(geo)/float64(nogeo), "x-nogeo")
}

// BenchmarkHostListGeo is a page of 100 hosts of get/host/active (of
// 10,000), every one placed by the databases.
func BenchmarkHostListGeo(b *testing.B) {
	benchGeoAnswer(b, 10000, "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=100&mode=remote")
}

// BenchmarkHostListGeoSortCountry is the same page sorted by country:
// every host of the table is looked up (from the cache once warm).
func BenchmarkHostListGeoSortCountry(b *testing.B) {
	benchGeoAnswer(b, 10000, "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=100&sortColumn=country")
}

// BenchmarkHostListGeoFilterCountry filters the 10,000 hosts by country.
func BenchmarkHostListGeoFilterCountry(b *testing.B) {
	benchGeoAnswer(b, 10000, "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=100&country=US")
}

// BenchmarkFlowListGeo is a page of 100 active flows with their peers'
// countries.
func BenchmarkFlowListGeo(b *testing.B) {
	benchGeoAnswer(b, 10000, "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=100")
}
