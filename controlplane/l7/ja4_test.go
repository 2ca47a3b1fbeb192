package l7

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// helloFrom builds a ClientHello record from cipher suites and
// extensions, in order.
func helloFrom(ciphers []uint16, exts ...[]byte) []byte {
	var cs []byte
	for _, c := range ciphers {
		cs = append(cs, byte(c>>8), byte(c))
	}
	var ext []byte
	for _, e := range exts {
		ext = append(ext, e...)
	}
	hs := []byte{3, 3}
	hs = append(hs, make([]byte, 32)...)
	hs = append(hs, 0)
	hs = append(append(hs, be16(len(cs))...), cs...)
	hs = append(hs, 1, 0)
	hs = append(append(hs, be16(len(ext))...), ext...)
	msg := hsMsg(1, hs)
	return append([]byte{0x16, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func alpnExt(ids ...string) []byte {
	var list []byte
	for _, id := range ids {
		list = append(append(list, byte(len(id))), id...)
	}
	return extension(16, append(be16(len(list)), list...))
}

func u16Ext(typ int, lenBytes int, vs ...uint16) []byte {
	var body []byte
	for _, v := range vs {
		body = append(body, byte(v>>8), byte(v))
	}
	if lenBytes == 1 {
		return extension(typ, append([]byte{byte(len(body))}, body...))
	}
	return extension(typ, append(be16(len(body)), body...))
}

// TestJA4SpecExample rebuilds the hello behind the FoxIO JA4 README's
// example (its JA4_r lists the sorted ciphers, extensions and signature
// algorithms) and expects the fingerprint the README prints.
func TestJA4SpecExample(t *testing.T) {
	ciphers := []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035, 0x5a5a}
	others := []uint16{0x0005, 0x000a, 0x000b, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002d, 0x0033, 0x4469, 0xff01}
	exts := [][]byte{extension(0x3a3a, nil), sniExt("www.example.com"), alpnExt("h2", "http/1.1"),
		u16Ext(0x000d, 2, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601),
		u16Ext(0x002b, 1, 0x7a7a, 0x0304, 0x0303)}
	for _, e := range others {
		exts = append(exts, extension(int(e), nil))
	}
	h, ok := ParseClientHello(helloFrom(ciphers, exts...))
	if !ok || !h.Complete {
		t.Fatalf("hello does not parse: %+v", h)
	}
	if want := "t13d1516h2_8daaf6152771_e5627efa2ab1"; h.JA4 != want {
		t.Errorf("JA4 %s, want the spec's %s", h.JA4, want)
	}
	if !slices.Equal(h.ALPNList, []string{"h2", "http/1.1"}) {
		t.Errorf("ALPN %q", h.ALPNList)
	}
}

// TestJA4Edges: the prefix's corner cases, each against the spec's rule.
func TestJA4Edges(t *testing.T) {
	c := []uint16{0x1301}
	for _, tc := range []struct {
		name   string
		in     []byte
		prefix string
	}{
		{"no ALPN, no SNI, legacy TLS 1.2", helloFrom(c), "t12i0100"},
		{"one-char ALPN", helloFrom(c, alpnExt("h")), "t12i0101hh"},
		{"non-alphanumeric ALPN: hex digits", helloFrom(c, alpnExt("\xab\x01\xcd")), "t12i0101ad"},
		{"ALPN ending in a dot", helloFrom(c, alpnExt("h2.")), "t12i01016e"},
		{"empty ALPN id", helloFrom(c, alpnExt("")), "t12i010100"},
		{"TLS 1.0", helloWith(0x0301, sniExt("a.example")), "t10d0101"},
	} {
		h, ok := ParseClientHello(tc.in)
		if !ok || !strings.HasPrefix(h.JA4, tc.prefix) {
			t.Errorf("%s: JA4 %q, want prefix %q", tc.name, h.JA4, tc.prefix)
		}
	}
	// No extensions at all: the second hash is the spec's zeros.
	if h, _ := ParseClientHello(helloFrom(c)); !strings.HasSuffix(h.JA4, "_000000000000") {
		t.Errorf("no extensions: %s", h.JA4)
	}
	// A cut hello has no fingerprint: none beats a wrong one.
	full := helloFrom(c, sniExt("a.example"), alpnExt("h2"))
	if h, ok := ParseClientHello(full[:len(full)-3]); !ok || h.JA4 != "" {
		t.Errorf("cut hello: %+v %v", h, ok)
	}
}

// cryptobyteJA4 is a second JA4, written straight from the spec with
// x/crypto/cryptobyte over the raw handshake message: a cross-check that
// shares no parsing code with ours.
func cryptobyteJA4(t testing.TB, msg []byte, proto byte) string {
	t.Helper()
	s := cryptobyte.String(msg)
	var body cryptobyte.String
	var typ uint8
	var legacy uint16
	var sid, suites, comp, exts cryptobyte.String
	if !s.ReadUint8(&typ) || typ != 1 || !s.ReadUint24LengthPrefixed(&body) ||
		!body.ReadUint16(&legacy) || !body.Skip(32) || !body.ReadUint8LengthPrefixed(&sid) ||
		!body.ReadUint16LengthPrefixed(&suites) || !body.ReadUint8LengthPrefixed(&comp) ||
		!body.ReadUint16LengthPrefixed(&exts) {
		t.Fatal("cryptobyte: not a ClientHello")
	}
	grease := func(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }
	hex4 := func(v uint16) string { return hex.EncodeToString([]byte{byte(v >> 8), byte(v)}) }
	var cs []string
	for !suites.Empty() {
		var v uint16
		suites.ReadUint16(&v)
		if !grease(v) {
			cs = append(cs, hex4(v))
		}
	}
	version, sni, alpn, n := legacy, "i", "00", 0
	var es, algs []string
	for !exts.Empty() {
		var et uint16
		var ed cryptobyte.String
		if !exts.ReadUint16(&et) || !exts.ReadUint16LengthPrefixed(&ed) {
			t.Fatal("cryptobyte: extensions")
		}
		if grease(et) {
			continue
		}
		n++
		switch et {
		case 0:
			sni = "d"
		case 16:
			var list, id cryptobyte.String
			if ed.ReadUint16LengthPrefixed(&list) && list.ReadUint8LengthPrefixed(&id) && len(id) > 0 {
				alpn = string(id[0]) + string(id[len(id)-1])
			}
		case 13:
			var list cryptobyte.String
			ed.ReadUint16LengthPrefixed(&list)
			for !list.Empty() {
				var v uint16
				list.ReadUint16(&v)
				algs = append(algs, hex4(v))
			}
		case 43:
			var list cryptobyte.String
			ed.ReadUint8LengthPrefixed(&list)
			version = 0
			for !list.Empty() {
				var v uint16
				list.ReadUint16(&v)
				if !grease(v) && v > version {
					version = v
				}
			}
		}
		if et != 0 && et != 16 {
			es = append(es, hex4(et))
		}
	}
	ver := map[uint16]string{0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10"}[version]
	sort.Strings(cs)
	sort.Strings(es)
	ext := strings.Join(es, ",")
	if len(algs) > 0 {
		ext += "_" + strings.Join(algs, ",")
	}
	two := func(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }
	return string(proto) + ver + sni + two(len(cs)) + two(n) + alpn + "_" +
		sha256Hex(strings.Join(cs, ","))[:12] + "_" + sha256Hex(ext)[:12]
}

// goTLSHello has crypto/tls send a ClientHello over a real loopback TCP
// connection and returns the first record as the server read it.
func goTLSHello(t testing.TB, conf *tls.Config) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_ = tls.Client(c, conf).Handshake() // fails when the server hangs up
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(c, rec); err != nil {
		t.Fatal(err)
	}
	return append(hdr, rec...)
}

// TestJA4RealHellos fingerprints crypto/tls's ClientHellos (TCP) and
// quic-go's (QUIC), checking ours against the cryptobyte implementation
// and, for TCP, tshark's reading of the same bytes.
func TestJA4RealHellos(t *testing.T) {
	for _, c := range []struct {
		name string
		conf *tls.Config
	}{
		{"TLS 1.3 default", &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}}},
		{"TLS 1.2 only, no ALPN", &tls.Config{ServerName: "a.example", MaxVersion: tls.VersionTLS12}},
		{"no SNI", &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := goTLSHello(t, c.conf)
			h, ok := ParseClientHello(rec)
			if !ok || !h.Complete {
				t.Fatalf("no hello: %+v", h)
			}
			if want := cryptobyteJA4(t, rec[5:], 't'); h.JA4 != want {
				t.Errorf("JA4 %s, cryptobyte %s", h.JA4, want)
			}
			if !slices.Equal(h.ALPNList, c.conf.NextProtos) {
				t.Errorf("ALPN %q, configured %q", h.ALPNList, c.conf.NextProtos)
			}
			ts := tsharkHelloOf(t, [][]byte{rec}, true)
			if want := ts.ja4(false); h.JA4 != want || ts.ja3 != h.JA3 || ts.sni != h.ServerName {
				t.Errorf("ours %s %s %q; tshark %s %s %q", h.JA4, h.JA3, h.ServerName, want, ts.ja3, ts.sni)
			}
		})
	}
}
