package l7

import (
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
)

// clientHello builds a TLS 1.2 ClientHello record with one SNI entry, by
// the layout of RFC 8446 §4.1.2 / RFC 6066 §3.
func clientHello(sni string) []byte {
	var ext []byte
	if sni != "" {
		name := []byte(sni)
		list := append([]byte{0}, be16(len(name))...)
		list = append(list, name...)
		body := append(be16(len(list)), list...)
		ext = append(append([]byte{0, 0}, be16(len(body))...), body...)
	}
	// ALPN extension too, so SNI is not always the first.
	alpn := []byte{0, 16, 0, 5, 0, 3, 2, 'h', '2'}
	ext = append(alpn, ext...)
	hs := []byte{3, 3}
	hs = append(hs, make([]byte, 32)...) // random
	hs = append(hs, 0)                   // session id
	hs = append(hs, 0, 2, 0x13, 0x01)    // one cipher suite
	hs = append(hs, 1, 0)                // null compression
	hs = append(hs, be16(len(ext))...)
	hs = append(hs, ext...)
	msg := append([]byte{1, 0, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	return append([]byte{0x16, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func be16(n int) []byte { b := make([]byte, 2); binary.BigEndian.PutUint16(b, uint16(n)); return b }

func TestTLSServerName(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
		ok   bool
	}{
		{clientHello("www.Example.com"), "www.example.com", true},
		{clientHello(""), "", false},
		{clientHello("bad name\x00"), "", false},
		{clientHello("www.example.com")[:60], "", false}, // cut before the SNI
		{[]byte("GET / HTTP/1.1\r\n\r\n"), "", false},
		{[]byte{0x16, 3, 1, 0, 4, 2, 0, 0, 0}, "", false}, // a ServerHello
	}
	for i, c := range cases {
		got, ok := TLSServerName(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("case %d: got %q %v, want %q %v", i, got, ok, c.want, c.ok)
		}
	}
}

func TestHTTPHost(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{"GET / HTTP/1.1\r\nHost: Example.com\r\n\r\n", "example.com", true},
		{"POST /x HTTP/1.1\r\nUser-Agent: a\r\nhost:example.org:8080\r\n\r\n", "example.org", true},
		{"GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", "2001:db8::1", true},
		{"GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", "", false},
		{"HTTP/1.1 200 OK\r\nHost: a\r\n\r\n", "", false},   // a response
		{"GET / HTTP/1.1\r\n\r\nHost: late\r\n", "", false}, // in the body
		{"GET / HTTP/1.1\r\nHost: ev\til\r\n\r\n", "", false},
	}
	for _, c := range cases {
		got, ok := HTTPHost([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("%q: got %q %v, want %q %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzServerName(f *testing.F) {
	f.Add(clientHello("www.example.com"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"))
	f.Add([]byte{0x16, 3, 1, 0xff, 0xff, 1, 0xff, 0xff, 0xff})
	f.Add(helloWithGREASE())
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, ok := ParseClientHello(b); (h.JA3 != "" && len(h.JA3) != 32) || (!ok && h.JA3 != "") {
			t.Fatalf("fingerprint %q ok=%v", h.JA3, ok)
		}
		for _, fn := range []func([]byte) (string, bool){TLSServerName, HTTPHost} {
			name, ok := fn(b)
			if ok && (name == "" || len(name) > maxServerName) {
				t.Fatalf("accepted name %q", name)
			}
			if !ok && name != "" {
				t.Fatalf("name %q without ok", name)
			}
		}
	})
}

// helloWithGREASE builds a ClientHello the way browsers send them, with
// GREASE values among ciphers, extensions and groups (RFC 8701).
func helloWithGREASE() []byte {
	ext := func(typ int, body []byte) []byte {
		return append(append(be16(typ), be16(len(body))...), body...)
	}
	name := []byte("a.example")
	sniList := append(append([]byte{0}, be16(len(name))...), name...)
	var exts []byte
	exts = append(exts, ext(0x1a1a, nil)...)
	exts = append(exts, ext(0, append(be16(len(sniList)), sniList...))...)
	exts = append(exts, ext(10, []byte{0, 6, 0x2a, 0x2a, 0, 29, 0, 23})...)
	exts = append(exts, ext(11, []byte{1, 0})...)
	exts = append(exts, ext(16, []byte{0, 3, 2, 'h', '2'})...)
	hs := []byte{3, 3}
	hs = append(hs, make([]byte, 32)...)
	hs = append(hs, 0)
	hs = append(hs, 0, 6, 0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2b)
	hs = append(hs, 1, 0)
	hs = append(hs, be16(len(exts))...)
	hs = append(hs, exts...)
	msg := append([]byte{1, 0, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	return append([]byte{0x16, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func TestParseClientHelloJA3(t *testing.T) {
	// JA3 (Salesforce): version, ciphers, extensions, groups, point
	// formats, decimal, GREASE left out; the fingerprint is its MD5.
	sum := md5.Sum([]byte("771,4865-49195,0-10-11-16,29-23,0"))
	want := hex.EncodeToString(sum[:])
	full := helloWithGREASE()
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
		sni  string
		ja3  string
	}{
		{"full", full, true, "a.example", want},
		{"cut after the SNI", full[:len(full)-6], true, "a.example", ""},
		{"cut before the SNI", full[:50], false, "", ""},
		// md5("771,4865,16,,") as python3's hashlib computes it.
		{"no SNI", clientHello(""), true, "", "79bec9f8e9d974a2ec7ceb481134f481"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, ok := ParseClientHello(c.in)
			if ok != c.ok || h.ServerName != c.sni || h.JA3 != c.ja3 {
				t.Errorf("got %+v %v, want sni %q ja3 %q ok %v", h, ok, c.sni, c.ja3, c.ok)
			}
		})
	}
}

// TestHelloHasServerNameMatchesParse holds the classifier's cheap name
// check to what it replaced, TLSServerName's ok: on real crypto/tls hellos
// and crafted ones (names refused, a second name, a second server_name
// extension), every prefix of each and every byte of each set to 0x00,
// 0xff and +1.
func TestHelloHasServerNameMatchesParse(t *testing.T) {
	sni := func(names ...string) []byte {
		var list []byte
		for _, n := range names {
			list = append(append(append(list, 0), be16(len(n))...), n...)
		}
		return extension(0, append(be16(len(list)), list...))
	}
	hellos := [][]byte{
		goTLSHello(t, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2"}}),
		goTLSHello(t, &tls.Config{InsecureSkipVerify: true}),
		helloFrom([]uint16{0x1301}, sni("Bad Name", "ok.example")),
		helloFrom([]uint16{0x1301}, sni("bad\x00"), alpnExt("h2"), sni("second.example")),
		helloFrom([]uint16{0x1301}, alpnExt("h2"), sni("")),
		helloFrom(nil, sni("x.example")),
	}
	checked := 0
	for hi, h := range hellos {
		try := func(p []byte, what string) {
			checked++
			_, want := TLSServerName(p)
			if got := helloHasServerName(p); got != want {
				t.Fatalf("hello %d, %s: helloHasServerName %v, TLSServerName ok %v", hi, what, got, want)
			}
		}
		for n := 0; n <= len(h); n++ {
			try(h[:n], fmt.Sprintf("first %d bytes", n))
		}
		for i := range h {
			for _, v := range []byte{0, 0xff, h[i] + 1} {
				p := bytes.Clone(h)
				p[i] = v
				try(p, fmt.Sprintf("byte %d = %#x", i, v))
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d inputs checked", checked)
	}
}
