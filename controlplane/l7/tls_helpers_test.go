package l7

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// Test certificates and handshakes are built from real bytes: certificates
// with crypto/x509, TLS messages by the layouts of RFC 5246 §7.4 and
// RFC 8446 §4.1.3.

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// dn builds a distinguished name whose attributes appear in the given
// order (ExtraNames replace Go's canonical ordering).
func dn(pairs ...any) pkix.Name {
	var n pkix.Name
	for i := 0; i+1 < len(pairs); i += 2 {
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: pairs[i].(asn1.ObjectIdentifier), Value: pairs[i+1]})
	}
	return n
}

type certSpec struct {
	subject             pkix.Name
	names               []string
	notBefore, notAfter time.Time
}

type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCA makes a self-signed CA to sign leaves with.
func newCA(t testing.TB, subject pkix.Name) issuer {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: subject,
		NotBefore: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issuer{c, key}
}

// makeCert returns the DER of a leaf signed by by, or self-signed when by
// is nil.
func makeCert(t testing.TB, s certSpec, by *issuer) []byte {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: s.subject, DNSNames: s.names,
		NotBefore: s.notBefore, NotAfter: s.notAfter,
	}
	parent, signer := tmpl, crypto.Signer(key)
	if by != nil {
		parent, signer = by.cert, by.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// flight is a server's handshake flight.
type flight struct {
	version          uint16 // ServerHello legacy_version
	cipher           uint16
	alpn             string
	supportedVersion uint16   // 0: no supported_versions extension
	certs            [][]byte // nil: no Certificate message
	keyExchange      bool     // a ServerKeyExchange before ServerHelloDone
	recordSize       int      // 0: one record per message; else the handshake stream cut into records this long
	tail             []byte   // raw bytes after the handshake records
}

func u24(n int) []byte { return []byte{byte(n >> 16), byte(n >> 8), byte(n)} }

func hsMsg(typ byte, body []byte) []byte {
	return append(append([]byte{typ}, u24(len(body))...), body...)
}

func record(typ byte, frag []byte) []byte {
	return append([]byte{typ, 3, 3, byte(len(frag) >> 8), byte(len(frag))}, frag...)
}

func (f flight) messages() [][]byte {
	var ext []byte
	if f.alpn != "" {
		list := append([]byte{byte(len(f.alpn))}, f.alpn...)
		body := append(be16(len(list)), list...)
		ext = append(append(append(ext, 0, 16), be16(len(body))...), body...)
	}
	if f.supportedVersion != 0 {
		ext = append(append(ext, 0, 43, 0, 2), be16(int(f.supportedVersion))...)
	}
	hello := be16(int(f.version))
	hello = append(hello, make([]byte, 32)...) // random
	hello = append(hello, 32)                  // session id
	hello = append(hello, make([]byte, 32)...)
	hello = append(hello, be16(int(f.cipher))...)
	hello = append(hello, 0) // null compression
	if len(ext) > 0 {
		hello = append(append(hello, be16(len(ext))...), ext...)
	}
	msgs := [][]byte{hsMsg(2, hello)}
	if f.certs != nil {
		var list []byte
		for _, c := range f.certs {
			list = append(append(list, u24(len(c))...), c...)
		}
		msgs = append(msgs, hsMsg(11, append(u24(len(list)), list...)))
	}
	if f.supportedVersion == 0 {
		if f.keyExchange {
			msgs = append(msgs, hsMsg(12, make([]byte, 300)))
		}
		msgs = append(msgs, hsMsg(14, nil))
	}
	return msgs
}

// bytes is the flight as the server's TCP stream carries it; without a
// version, just the tail.
func (f flight) bytes() []byte {
	if f.version == 0 {
		return f.tail
	}
	var out []byte
	msgs := f.messages()
	if f.recordSize == 0 {
		for _, m := range msgs {
			out = append(out, record(22, m)...)
		}
	} else {
		var hs []byte
		for _, m := range msgs {
			hs = append(hs, m...)
		}
		for len(hs) > 0 {
			n := min(len(hs), f.recordSize)
			out = append(out, record(22, hs[:n])...)
			hs = hs[n:]
		}
	}
	return append(out, f.tail...)
}

type segment struct {
	seq  uint32
	data []byte
}

// split cuts a stream starting at sequence number isn into segments of the
// given sizes, the last size repeating.
func split(stream []byte, isn uint32, sizes ...int) []segment {
	var segs []segment
	off := 0
	for i := 0; off < len(stream); i++ {
		n := sizes[min(i, len(sizes)-1)]
		n = min(n, len(stream)-off)
		segs = append(segs, segment{isn + uint32(off), stream[off : off+n]})
		off += n
	}
	return segs
}

// feedAll feeds segments in order and returns the parser and what it
// learnt, checking that it stays within its buffer bound.
func feedAll(t testing.TB, segs []segment, certs *CertCache) (*TLSServerParser, TLSInfo) {
	t.Helper()
	var p TLSServerParser
	var info TLSInfo
	for _, s := range segs {
		done := p.Feed(s.seq, s.data, &info, certs)
		if done != p.Done() {
			t.Fatalf("Feed returned %v, Done %v", done, p.Done())
		}
		if n := len(p.buf) + len(p.hs); n > maxTLSBuffered {
			t.Fatalf("parser holds %d bytes", n)
		}
	}
	return &p, info
}

// parseCertFields reads a generated certificate back with the standard
// library, for expected values.
func parseCertFields(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }
