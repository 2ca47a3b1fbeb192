package l7

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// feedWhole is Feed as it was before it completed a pending record with
// only the bytes it lacks: the segment appended whole to the pending
// bytes, then every complete record read. It is the oracle of
// TestFeedMatchesWholeSegmentFeed.
func (p *TLSServerParser) feedWhole(seq uint32, seg []byte, info *TLSInfo, certs *CertCache) bool {
	if p.done || len(seg) == 0 {
		return p.done
	}
	if seg = p.fresh(seq, seg); len(seg) == 0 {
		return p.done
	}
	data := seg
	if len(p.buf) > 0 {
		data = append(append([]byte(nil), p.buf...), seg...)
	}
	rest := p.records(data, info, certs)
	if p.done {
		p.buf, p.hs = nil, nil
		return true
	}
	if kept := len(rest) + len(p.hs); kept > maxTLSBuffered {
		p.fail(ErrTLSTooLarge)
		return true
	}
	p.buf = append([]byte(nil), rest...)
	return false
}

// TestFeedMatchesWholeSegmentFeed feeds the same server flights (good
// ones, ones cut into small records, bad headers, a fatal alert, a TLS 1.3
// answer, garbage) cut at random into segments of 1 byte to 2 KB to Feed
// and to the old whole-segment Feed, and requires the same verdict after
// every segment: done or not, the same error kind, the same TLSInfo.
func TestFeedMatchesWholeSegmentFeed(t *testing.T) {
	ca := newCA(t, dn(oidC, "US", oidO, "Diff", oidCN, "Diff CA"))
	leaf := makeCert(t, certSpec{dn(oidCN, "diff.example"), []string{"diff.example"},
		date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)
	good := flight{version: VersionTLS12, cipher: 0xc02f, alpn: "h2", certs: [][]byte{leaf, ca.cert.Raw}, keyExchange: true}.bytes()
	badHeader := append(append([]byte(nil), good[:40]...), 0x99, 3, 3, 0, 9)
	streams := map[string][]byte{
		"good":          good,
		"small records": flight{version: VersionTLS12, cipher: 0xc030, certs: [][]byte{leaf}, recordSize: 30}.bytes(),
		"tls13":         flight{version: VersionTLS12, cipher: 0x1301, supportedVersion: VersionTLS13}.bytes(),
		"fatal alert":   flight{tail: []byte{21, 3, 1, 0, 2, 2, 70}}.bytes(),
		"bad header":    append(badHeader, good[40:]...),
		"huge record":   append([]byte{22, 3, 3, 0xff, 0xff}, good...),
		"empty record":  append([]byte{22, 3, 3, 0, 0}, good...),
		"garbage":       []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	}
	rng := rand.New(rand.NewPCG(25, 2))
	// Two lanes step in turn, the named stream and the good flight, each a
	// new parser beside an old one: pooled buffers pass from one parser to
	// another between segments, and must never carry one's bytes into the
	// other's.
	type lane struct {
		name     string
		stream   []byte
		off      int
		a, b     TLSServerParser
		ia, ib   TLSInfo
		finished bool
	}
	for name, stream := range streams {
		for round := range 300 {
			maxSeg := []int{3, 40, 600, 2048}[round%4]
			lanes := []*lane{{name: name, stream: stream}, {name: "good beside " + name, stream: good}}
			for busy := true; busy; {
				busy = false
				for _, l := range lanes {
					if l.finished || l.off >= len(l.stream) {
						continue
					}
					busy = true
					n := 1 + rng.IntN(min(len(l.stream)-l.off, maxSeg))
					seg := l.stream[l.off : l.off+n]
					da := l.a.Feed(uint32(l.off), seg, &l.ia, nil)
					db := l.b.feedWhole(uint32(l.off), seg, &l.ib, nil)
					l.off += n
					if da != db || errKind(l.a.err) != errKind(l.b.err) || !reflect.DeepEqual(l.ia, l.ib) {
						t.Fatalf("%s, round %d, after %d bytes: done %v/%v, err %v/%v\ninfo %+v\nold  %+v", l.name, round, l.off, da, db, l.a.err, l.b.err, l.ia, l.ib)
					}
					l.finished = da
				}
			}
		}
	}
}

// errKind is which of the parser's reasons err is, "" for none.
func errKind(err error) TLSError {
	for _, k := range []TLSError{ErrTLSGap, ErrTLSTooLarge, ErrTLSNotRecord, ErrTLSNotServerHello, ErrTLSBadServerHello, ErrTLSBadCertificate} {
		if errors.Is(err, k) {
			return k
		}
	}
	if err != nil {
		return TLSError(err.Error())
	}
	return ""
}
