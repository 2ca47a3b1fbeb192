package l7

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func date(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

func TestTLSServerParserAndRisks(t *testing.T) {
	ca := newCA(t, dn(oidC, "US", oidO, "Let's Encrypt", oidCN, "Let's Encrypt Authority X3"))
	// Seen on 2020-05-17 12:00:00, as test_02.pcap was recorded.
	seen := date(2020, 5, 17, 12, 0, 0)

	expiredLeaf := makeCert(t, certSpec{dn(oidCN, "hello.ntop.org"), []string{"hello.ntop.org"},
		date(2019, 8, 24, 18, 4, 13), date(2019, 11, 22, 18, 4, 13)}, &ca)
	validLeaf := makeCert(t, certSpec{dn(oidCN, "www.example.com"), []string{"example.com", "*.example.com"},
		date(2020, 4, 1, 0, 0, 0), date(2020, 12, 1, 0, 0, 0)}, &ca)
	soonLeaf := makeCert(t, certSpec{dn(oidCN, "video.example.com"), []string{"video.example.com"},
		date(2020, 3, 17, 14, 14, 10), date(2020, 6, 15, 14, 14, 10)}, &ca)
	futureLeaf := makeCert(t, certSpec{dn(oidCN, "later.example.com"), []string{"later.example.com"},
		date(2020, 6, 1, 0, 0, 0), date(2020, 9, 1, 0, 0, 0)}, &ca)
	// Attributes deliberately out of Go's canonical order: the DN must
	// come out in certificate order.
	selfDN := dn(oidCN, "router.lan", oidOU, "Home", oidO, "ACME", oidC, "IT")
	selfLeaf := makeCert(t, certSpec{selfDN, []string{"router.lan"},
		date(2020, 1, 1, 0, 0, 0), date(2030, 1, 1, 0, 0, 0)}, nil)
	longLeaf := makeCert(t, certSpec{dn(oidCN, "long.example.com"), []string{"long.example.com"},
		date(2021, 1, 1, 0, 0, 0), date(2022, 5, 16, 0, 0, 0)}, &ca) // 500 days
	oldLongLeaf := makeCert(t, certSpec{dn(oidCN, "old.example.com"), []string{"old.example.com"},
		date(2019, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca) // 731 days, issued before the limit
	akamai := []string{"a248.e.akamai.net", "*.akamaized-staging.net", "*.akamaized.net", "*.akamaihd-staging.net", "*.akamaihd.net"}
	akamaiLeaf := makeCert(t, certSpec{dn(oidCN, "a248.e.akamai.net"), akamai,
		date(2019, 8, 13, 0, 0, 0), date(2020, 8, 12, 12, 0, 0)}, &ca)
	var many []string
	for i := range 40 {
		many = append(many, "host"+string(rune('a'+i%26))+".example.org")
	}
	manyLeaf := makeCert(t, certSpec{dn(oidCN, "x"), many, date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)
	cnOnlyLeaf := makeCert(t, certSpec{dn(oidCN, "cn.example.com"), nil, date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)

	tls12 := func(certs ...[]byte) flight {
		return flight{version: VersionTLS12, cipher: 0xc030, certs: certs, keyExchange: true}
	}
	type want struct {
		version uint16
		cipher  uint16
		alpn    string
		cert    []byte // the leaf expected, nil for none
		alert   bool
		risks   map[Risk]string
	}
	cases := []struct {
		name  string
		sni   string
		fl    flight
		sizes []int
		want  want
	}{
		{"expired, names another host", "beacon.krxd.net", tls12(expiredLeaf, ca.cert.Raw), []int{1448},
			want{VersionTLS12, 0xc030, "", expiredLeaf, false, map[Risk]string{
				RiskTLSCertificateExpired:  "24/Aug/2019 18:04:13 - 22/Nov/2019 18:04:13",
				RiskTLSCertificateMismatch: "beacon.krxd.net vs hello.ntop.org",
			}}},
		{"valid, wildcard match, ALPN h2", "www.example.com",
			flight{version: VersionTLS12, cipher: 0xc02f, alpn: "h2", certs: [][]byte{validLeaf, ca.cert.Raw}}, []int{100, 7, 1000},
			want{VersionTLS12, 0xc02f, "h2", validLeaf, false, nil}},
		{"bare domain matches its own entry", "EXAMPLE.com", tls12(validLeaf), []int{3},
			want{VersionTLS12, 0xc030, "", validLeaf, false, nil}},
		{"wildcard is one label only", "a.b.example.com", tls12(validLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", validLeaf, false, map[Risk]string{
				RiskTLSCertificateMismatch: "a.b.example.com vs example.com,*.example.com",
			}}},
		{"about to expire", "video.example.com", tls12(soonLeaf), []int{536},
			want{VersionTLS12, 0xc030, "", soonLeaf, false, map[Risk]string{
				RiskTLSCertificateAboutToExpire: "17/Mar/2020 14:14:10 - 15/Jun/2020 14:14:10",
			}}},
		{"not yet valid counts as expired", "later.example.com", tls12(futureLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", futureLeaf, false, map[Risk]string{
				RiskTLSCertificateExpired: "01/Jun/2020 00:00:00 - 01/Sep/2020 00:00:00",
			}}},
		{"self-signed", "router.lan", tls12(selfLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", selfLeaf, false, map[Risk]string{
				RiskTLSSelfSignedCertificate: "CN=router.lan, OU=Home, O=ACME, C=IT",
			}}},
		{"akamai names in certificate order", "cdn.gigya.com", tls12(akamaiLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", akamaiLeaf, false, map[Risk]string{
				RiskTLSCertificateMismatch: "cdn.gigya.com vs " + strings.Join(akamai, ","),
			}}},
		{"long name list cut like nDPI's buffer", "nomatch.example.net", tls12(manyLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", manyLeaf, false, map[Risk]string{
				RiskTLSCertificateMismatch: ("nomatch.example.net vs " + strings.Join(many, ","))[:127],
			}}},
		{"certificate without DNS names is not held to the SNI", "other.example.com", tls12(cnOnlyLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", cnOnlyLeaf, false, nil}},
		{"validity too long, issued after the CA/B limit", "long.example.com", tls12(longLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", longLeaf, false, map[Risk]string{
				RiskTLSCertValidityTooLong: "TLS Cert lasts 500 days",
				RiskTLSCertificateExpired:  "01/Jan/2021 00:00:00 - 16/May/2022 00:00:00",
			}}},
		{"long validity issued before the limit", "old.example.com", tls12(oldLongLeaf), []int{1448},
			want{VersionTLS12, 0xc030, "", oldLongLeaf, false, nil}},
		{"messages cut across small records", "www.example.com",
			flight{version: VersionTLS12, cipher: 0xc030, certs: [][]byte{validLeaf, ca.cert.Raw}, keyExchange: true, recordSize: 50}, []int{61, 1},
			want{VersionTLS12, 0xc030, "", validLeaf, false, nil}},
		{"TLS 1.0 negotiated", "old.example.com",
			flight{version: VersionTLS10, cipher: 0x002f, certs: [][]byte{oldLongLeaf}}, []int{1448},
			want{VersionTLS10, 0x002f, "", oldLongLeaf, false, map[Risk]string{RiskTLSObsoleteVersion: "TLSv1"}}},
		{"SSLv3 negotiated", "old.example.com",
			flight{version: VersionSSL30, cipher: 0x000a, certs: [][]byte{oldLongLeaf}}, []int{1448},
			want{VersionSSL30, 0x000a, "", oldLongLeaf, false, map[Risk]string{RiskTLSObsoleteVersion: "SSLv3"}}},
		{"TLS 1.3: version only, the rest is encrypted", "www.example.com",
			flight{version: VersionTLS12, cipher: 0x1301, supportedVersion: VersionTLS13, tail: record(23, make([]byte, 900))}, []int{1448},
			want{VersionTLS13, 0x1301, "", nil, false, nil}},
		{"resumption: ChangeCipherSpec right after the hello", "www.example.com",
			flight{version: VersionTLS12, cipher: 0xc02f, tail: record(20, []byte{1})}, []int{1448},
			want{VersionTLS12, 0xc02f, "", nil, false, nil}},
		{"fatal alert instead of a hello", "www.example.com",
			flight{tail: []byte{21, 3, 1, 0, 2, 2, 70}}, []int{1448},
			want{0, 0, "", nil, true, map[Risk]string{RiskTLSFatalAlert: ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, info := feedAll(t, split(c.fl.bytes(), 0xfffffff0, c.sizes...), nil)
			if !p.Done() {
				t.Fatalf("not done after the flight (err %v)", p.Err())
			}
			if p.buf != nil || p.hs != nil {
				t.Errorf("buffers kept after done")
			}
			w := c.want
			if info.ServerVersion != w.version || info.CipherSuite != w.cipher || info.ALPN != w.alpn || info.FatalAlert != w.alert {
				t.Errorf("got version %#x cipher %#x alpn %q alert %v, want %#x %#x %q %v",
					info.ServerVersion, info.CipherSuite, info.ALPN, info.FatalAlert, w.version, w.cipher, w.alpn, w.alert)
			}
			if (info.Cert != nil) != (w.cert != nil) {
				t.Fatalf("certificate %v, want one: %v (err %v)", info.Cert != nil, w.cert != nil, p.Err())
			}
			if w.cert != nil {
				checkCert(t, info.Cert, w.cert)
			}
			info.ServerName = c.sni
			var ri RiskInfo
			info.ServerRisks(seen, &ri)
			checkRisks(t, ri, w.risks)
		})
	}
}

// checkCert compares what the parser kept with the certificate's own
// fields, read back with the standard library.
func checkCert(t *testing.T, got *TLSCert, der []byte) {
	t.Helper()
	want, err := parseCertFields(der)
	if err != nil {
		t.Fatal(err)
	}
	if !got.NotBefore.Equal(want.NotBefore) || !got.NotAfter.Equal(want.NotAfter) || got.SubjectCN != want.Subject.CommonName ||
		strings.Join(got.DNSNames, ",") != strings.Join(want.DNSNames, ",") || got.SelfSigned != bytes.Equal(want.RawIssuer, want.RawSubject) {
		t.Errorf("certificate %+v, want validity %v–%v CN %q names %v", got, want.NotBefore, want.NotAfter, want.Subject.CommonName, want.DNSNames)
	}
}

func checkRisks(t *testing.T, ri RiskInfo, want map[Risk]string) {
	t.Helper()
	var got Risks
	for r, info := range want {
		got.Set(r)
		if !ri.Has(r) {
			t.Errorf("%v not raised", r)
		} else if ri.Info(r) != info {
			t.Errorf("%v info %q, want %q", r, ri.Info(r), info)
		}
	}
	if ri.Risks != got {
		ri.Each(func(r Risk, info string) {
			if _, ok := want[r]; !ok {
				t.Errorf("unexpected %v %q", r, info)
			}
		})
	}
}

func TestTLSServerParserStops(t *testing.T) {
	ca := newCA(t, dn(oidCN, "Test CA"))
	leaf := makeCert(t, certSpec{dn(oidCN, "a.example"), []string{"a.example"}, date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)
	stream := flight{version: VersionTLS12, cipher: 0xc02f, certs: [][]byte{leaf, ca.cert.Raw}}.bytes()

	t.Run("retransmissions and overlaps are skipped", func(t *testing.T) {
		segs := split(stream, 1000, 300)
		var withDup []segment
		for i, s := range segs {
			withDup = append(withDup, s)
			if i%2 == 0 {
				withDup = append(withDup, s) // a plain retransmission
			}
			if i > 0 {
				// One that overlaps old bytes and carries a new one.
				prev := segs[i-1]
				if len(s.data) > 0 {
					withDup = append(withDup, segment{prev.seq, append(append([]byte{}, prev.data...), s.data[0])})
				}
			}
		}
		p, info := feedAll(t, withDup, nil)
		if !p.Done() || p.Err() != nil || info.Cert == nil || info.Cert.SubjectCN != "a.example" {
			t.Fatalf("done %v err %v cert %+v", p.Done(), p.Err(), info.Cert)
		}
	})
	t.Run("a gap ends it", func(t *testing.T) {
		segs := split(stream, 1000, 100)
		segs = append(segs[:1], segs[2:]...)
		p, info := feedAll(t, segs, nil)
		if !p.Done() || !errors.Is(p.Err(), ErrTLSGap) || info.Cert != nil {
			t.Fatalf("done %v err %v cert %v", p.Done(), p.Err(), info.Cert != nil)
		}
		if info.ServerVersion != VersionTLS12 {
			t.Errorf("ServerHello before the gap lost: %+v", info)
		}
	})
	t.Run("not TLS", func(t *testing.T) {
		p, _ := feedAll(t, []segment{{1, []byte("HTTP/1.1 200 OK\r\n\r\n")}}, nil)
		if !p.Done() || !errors.Is(p.Err(), ErrTLSNotRecord) {
			t.Fatalf("done %v err %v", p.Done(), p.Err())
		}
	})
	t.Run("first message not a ServerHello", func(t *testing.T) {
		p, _ := feedAll(t, []segment{{1, record(22, hsMsg(1, make([]byte, 40)))}}, nil)
		if !p.Done() || !errors.Is(p.Err(), ErrTLSNotServerHello) {
			t.Fatalf("done %v err %v", p.Done(), p.Err())
		}
	})
	t.Run("unparsable certificate", func(t *testing.T) {
		bad := bytes.Clone(leaf)
		bad[len(bad)/2] ^= 0xff
		bad = bad[:len(bad)-3]
		s := flight{version: VersionTLS12, cipher: 0xc02f, certs: [][]byte{bad}}.bytes()
		p, info := feedAll(t, split(s, 5, 700), nil)
		if !p.Done() || p.Err() == nil || info.Cert != nil || info.ServerVersion != VersionTLS12 {
			t.Fatalf("done %v err %v cert %v", p.Done(), p.Err(), info.Cert != nil)
		}
	})
	t.Run("a certificate over the buffer bound", func(t *testing.T) {
		huge := make([]byte, 40<<10)
		s := flight{version: VersionTLS12, cipher: 0xc02f, certs: [][]byte{huge}, recordSize: 16000}.bytes()
		p, _ := feedAll(t, split(s, 5, 1448), nil)
		if !p.Done() || !errors.Is(p.Err(), ErrTLSTooLarge) {
			t.Fatalf("done %v err %v", p.Done(), p.Err())
		}
	})
	t.Run("a coalesced segment larger than the bound", func(t *testing.T) {
		s := flight{version: VersionTLS12, cipher: 0xc02f, certs: [][]byte{leaf}, recordSize: 100}.bytes()
		for len(s) < 2*maxTLSBuffered {
			s = append(s, record(22, hsMsg(22, make([]byte, 1000)))...) // never reached: done at the leaf
		}
		p, info := feedAll(t, []segment{{7, s}}, nil)
		if !p.Done() || p.Err() != nil || info.Cert == nil {
			t.Fatalf("done %v err %v cert %v", p.Done(), p.Err(), info.Cert != nil)
		}
	})
	t.Run("nothing after done", func(t *testing.T) {
		p, info := feedAll(t, split(stream, 0, 1448), nil)
		before := info
		if p.Feed(uint32(len(stream)), record(22, hsMsg(2, make([]byte, 40))), &info, nil) != true || info != before {
			t.Fatalf("fed after done: %+v", info)
		}
	})
}

func TestCertCacheSharesParses(t *testing.T) {
	ca := newCA(t, dn(oidCN, "Test CA"))
	leaf := makeCert(t, certSpec{dn(oidCN, "a.example"), []string{"a.example"}, date(2020, 1, 1, 0, 0, 0), date(2021, 1, 1, 0, 0, 0)}, &ca)
	stream := flight{version: VersionTLS12, cipher: 0xc02f, certs: [][]byte{leaf}}.bytes()
	var cache CertCache
	_, a := feedAll(t, split(stream, 0, 1448), &cache)
	_, b := feedAll(t, split(stream, 0, 10), &cache)
	if a.Cert == nil || a.Cert != b.Cert || cache.Len() != 1 {
		t.Fatalf("certs %p %p, cache %d", a.Cert, b.Cert, cache.Len())
	}
	for i := range maxCachedCerts + 10 {
		_, _ = cache.Parse([]byte{byte(i), byte(i >> 8)})
	}
	if cache.Len() > maxCachedCerts {
		t.Fatalf("cache grew to %d", cache.Len())
	}
	if _, err := cache.Parse([]byte{1, 0}); err == nil {
		t.Error("garbage parsed")
	}
	// Leaves as large as a parser keeps: the bytes bound holds first.
	big := make([]byte, maxTLSBuffered)
	for i := range 2 * maxCachedCertBytes / maxTLSBuffered {
		big[0], big[1] = byte(i), byte(i>>8)
		_, _ = cache.Parse(big)
		if cache.bytes > maxCachedCertBytes || cache.Len() > maxCachedCerts {
			t.Fatalf("after %d large leaves: %d bytes in %d entries", i+1, cache.bytes, cache.Len())
		}
	}
	// A hit is the same bytes, not a look-alike: the shared leaf still
	// parses to what it did, and a one-byte change to it does not hit.
	if c, err := cache.Parse(leaf); err != nil || c.SubjectCN != "a.example" {
		t.Fatalf("leaf after eviction: %v %v", c, err)
	}
	other := bytes.Clone(leaf)
	other[len(other)-1] ^= 1
	if c, _ := cache.Parse(other); c == a.Cert {
		t.Error("a changed leaf hit the cached one")
	}
}

func TestTLSClientRisks(t *testing.T) {
	cases := []struct {
		name  string
		hello ClientHello
		port  uint16
		risks map[Risk]string
	}{
		{"modern", ClientHello{ServerName: "a.example", MaxVersion: VersionTLS13, ALPN: true, Complete: true}, 443, nil},
		{"TLS 1.0 client", ClientHello{ServerName: "a.example", MaxVersion: VersionTLS10, ALPN: true, Complete: true}, 443,
			map[Risk]string{RiskTLSObsoleteVersion: "TLSv1"}},
		{"TLS 1.1 client", ClientHello{ServerName: "a.example", MaxVersion: VersionTLS11, ALPN: true, Complete: true}, 443,
			map[Risk]string{RiskTLSObsoleteVersion: "TLSv1.1"}},
		{"no ALPN on 443", ClientHello{ServerName: "a.example", MaxVersion: VersionTLS12, Complete: true}, 443,
			map[Risk]string{RiskTLSNotCarryingHTTPS: "No ALPN"}},
		{"no ALPN elsewhere", ClientHello{ServerName: "a.example", MaxVersion: VersionTLS12, Complete: true}, 993, nil},
		{"no SNI", ClientHello{MaxVersion: VersionTLS12, ALPN: true, Complete: true}, 443,
			map[Risk]string{RiskTLSMissingSNI: ""}},
		{"cut hello proves no absence", ClientHello{MaxVersion: VersionTLS12}, 443, nil},
		{"IP literal as SNI", ClientHello{ServerName: "10.1.2.3", MaxVersion: VersionTLS12, ALPN: true, Complete: true}, 443,
			map[Risk]string{RiskNumericIPHost: "10.1.2.3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var info TLSInfo
			info.SetClientHello(c.hello)
			var ri RiskInfo
			info.ClientRisks(c.port, &ri)
			checkRisks(t, ri, c.risks)
		})
	}
}

// helloWith builds a ClientHello record with the given extensions (type,
// body) in order.
func helloWith(version uint16, exts ...[]byte) []byte {
	var ext []byte
	for _, e := range exts {
		ext = append(ext, e...)
	}
	hs := be16(int(version))
	hs = append(hs, make([]byte, 32)...)
	hs = append(hs, 0, 0, 2, 0xc0, 0x2f, 1, 0)
	hs = append(append(hs, be16(len(ext))...), ext...)
	msg := hsMsg(1, hs)
	return append([]byte{0x16, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func extension(typ int, body []byte) []byte {
	return append(append(be16(typ), be16(len(body))...), body...)
}

func sniExt(name string) []byte {
	list := append(append([]byte{0}, be16(len(name))...), name...)
	return extension(0, append(be16(len(list)), list...))
}

func TestParseClientHelloVersionsAndALPN(t *testing.T) {
	alpn := extension(16, []byte{0, 3, 2, 'h', '2'})
	versions := extension(43, []byte{6, 0x7a, 0x7a, 3, 4, 3, 3}) // GREASE, 1.3, 1.2
	cases := []struct {
		name                string
		in                  []byte
		ok                  bool
		version, maxVersion uint16
		alpn, complete      bool
		sni                 string
	}{
		{"TLS 1.3 offer", helloWith(0x0303, sniExt("a.example"), alpn, versions), true, 0x0303, 0x0304, true, true, "a.example"},
		{"TLS 1.0 only, no ALPN", helloWith(0x0301, sniExt("a.example")), true, 0x0301, 0x0301, false, true, "a.example"},
		{"no SNI", helloWith(0x0303, alpn), true, 0x0303, 0x0303, true, true, ""},
		{"cut after SNI", helloWith(0x0303, sniExt("a.example"), alpn)[:72], true, 0x0303, 0x0303, false, false, "a.example"},
		{"cut before SNI", helloWith(0x0303, alpn, sniExt("a.example"))[:60], false, 0x0303, 0x0303, false, false, ""},
	}
	for _, c := range cases {
		h, ok := ParseClientHello(c.in)
		if ok != c.ok || h.Version != c.version || h.MaxVersion != c.maxVersion || h.ALPN != c.alpn || h.Complete != c.complete || h.ServerName != c.sni {
			t.Errorf("%s: got %+v ok %v", c.name, h, ok)
		}
	}
}

func TestTLSVersionName(t *testing.T) {
	for v, want := range map[uint16]string{0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3", 0x7f1c: "TLSv1.3 (draft)", 0x1234: "TLS (1234)"} {
		if got := TLSVersionName(v); got != want {
			t.Errorf("%#x: %q, want %q", v, got, want)
		}
	}
}
