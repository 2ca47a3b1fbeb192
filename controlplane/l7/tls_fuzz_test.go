package l7

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzTLSServerParser feeds arbitrary bytes as arbitrary segment
// sequences. plan drives the segmentation, two bytes per segment: the
// first sets the length, the second's low bits pick what happens to the
// sequence number (in order, a retransmission of the last segment, an
// overlap, a jump ahead). The parser must not panic, must stay within its
// buffer bound, and once done must stay done.
func FuzzTLSServerParser(f *testing.F) {
	ca := newCA(f, dn(oidC, "US", oidO, "Fuzz", oidCN, "Fuzz CA"))
	leaf := makeCert(f, certSpec{dn(oidCN, "fuzz.example"), []string{"fuzz.example", "*.fuzz.example"},
		date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)
	f.Add(flight{version: VersionTLS12, cipher: 0xc02f, alpn: "h2", certs: [][]byte{leaf, ca.cert.Raw}, keyExchange: true}.bytes(), []byte{200, 0, 13, 0, 255, 0})
	f.Add(flight{version: VersionTLS12, cipher: 0xc030, certs: [][]byte{leaf}, recordSize: 30}.bytes(), []byte{1, 0, 77, 1, 77, 2, 5, 0})
	f.Add(flight{version: VersionTLS12, cipher: 0x1301, supportedVersion: VersionTLS13}.bytes(), []byte{10, 0})
	f.Add(flight{tail: []byte{21, 3, 1, 0, 2, 2, 70}}.bytes(), []byte{3, 3})
	f.Add([]byte{22, 3, 3, 0, 4, 11, 0, 0, 0}, []byte{9, 0})

	f.Fuzz(func(t *testing.T, data, plan []byte) {
		var p TLSServerParser
		var info TLSInfo
		var cache CertCache
		seq := binary.BigEndian.Uint32(append(plan, 0, 0, 0, 0)[:4])
		next := seq
		var last segment
		for off, i := 0, 0; off < len(data) && i < 512; i++ {
			n, mode := 1448, byte(0)
			if 2*i+1 < len(plan) {
				n, mode = int(plan[2*i])+1, plan[2*i+1]&3
			}
			n = min(n, len(data)-off)
			s := segment{next, data[off : off+n]}
			switch mode {
			case 1:
				if last.data != nil {
					s = last
				}
			case 2:
				if last.data != nil {
					s = segment{last.seq, data[off-len(last.data) : off+n]}
				}
			case 3:
				s.seq += uint32(n)
			}
			if mode != 1 || last.data == nil {
				off += n
				next += uint32(n)
			}
			last = s
			wasDone := p.Done()
			done := p.Feed(s.seq, s.data, &info, &cache)
			if wasDone && !done {
				t.Fatal("done parser restarted")
			}
			if len(p.buf)+len(p.hs) > maxTLSBuffered {
				t.Fatalf("parser holds %d bytes", len(p.buf)+len(p.hs))
			}
			if done && (p.buf != nil || p.hs != nil) {
				t.Fatal("buffers kept after done")
			}
		}
		var ri RiskInfo
		info.ServerName = "fuzz.example"
		info.ServerRisks(time.Unix(1589716800, 0), &ri)
	})
}
