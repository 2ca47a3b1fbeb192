package l7

import "testing"

// BenchmarkTLSServerFlight is the cost one TLS flow adds on the packet
// path: a ServerHello, a two-certificate chain and ServerHelloDone in
// three segments, then the risk checks; "miss" parses the leaf, "hit" finds
// it in the cache as later connections to the same server do.
func BenchmarkTLSServerFlight(b *testing.B) {
	ca := newCA(b, dn(oidC, "US", oidO, "Bench", oidCN, "Bench CA"))
	leaf := makeCert(b, certSpec{dn(oidCN, "bench.example"), []string{"bench.example", "*.bench.example"},
		date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)
	segs := split(flight{version: VersionTLS12, cipher: 0xc02f, alpn: "h2", certs: [][]byte{leaf, ca.cert.Raw}, keyExchange: true}.bytes(), 1, 1448)
	now := date(2020, 6, 1, 0, 0, 0)
	run := func(b *testing.B, cache func() *CertCache) {
		b.ReportAllocs()
		for range b.N {
			var p TLSServerParser
			info := TLSInfo{ServerName: "www.bench.example"}
			c := cache()
			for _, s := range segs {
				p.Feed(s.seq, s.data, &info, c)
			}
			var ri RiskInfo
			info.ServerRisks(now, &ri)
			if info.Cert == nil {
				b.Fatal(p.Err())
			}
		}
	}
	b.Run("miss", func(b *testing.B) { run(b, func() *CertCache { return nil }) })
	var shared CertCache
	b.Run("hit", func(b *testing.B) { run(b, func() *CertCache { return &shared }) })
}
