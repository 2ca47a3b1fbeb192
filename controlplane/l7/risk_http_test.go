package l7

import (
	"strings"
	"testing"
)

func TestHTTPRequestRisks(t *testing.T) {
	req := func(target, ua string) []byte {
		return []byte("GET " + target + " HTTP/1.1\r\nHost: a.example\r\nUser-Agent: " + ua + "\r\n\r\n")
	}
	reqWith := func(header string) []byte {
		return []byte("GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: Mozilla/5.0\r\n" + header + "\r\n\r\n")
	}
	for _, c := range []struct {
		name string
		p    []byte
		want []Risk
	}{
		{"ordinary", req("/", "Mozilla/5.0 (X11)"), nil},
		{"log4shell", req("/", "${jndi:ldap://x/a}"), []Risk{RiskHTTPSuspiciousUserAgent, RiskPossibleExploit}},
		{"php", req("/", "<?php echo 1; ?>"), []Risk{RiskHTTPSuspiciousUserAgent, RiskPossibleExploit}},
		{"url in agent", req("/", "bot http://x"), []Risk{RiskHTTPSuspiciousUserAgent, RiskPossibleExploit}},
		{"three characters", req("/", "abc"), []Risk{RiskHTTPSuspiciousUserAgent}},
		{"four characters", req("/", "abcd"), nil},
		{"257 characters", req("/", strings.Repeat("a", 257)), []Risk{RiskHTTPSuspiciousUserAgent}},
		{"256 characters", req("/", strings.Repeat("a", 256)), nil},
		{"test tool", req("/", "testing/1"), []Risk{RiskHTTPSuspiciousUserAgent}},
		{"brace", req("/", "x}y/1.0"), []Risk{RiskHTTPSuspiciousUserAgent}},
		{"traversal", req("/a/../b", "Mozilla/5.0"), []Risk{RiskHTTPSuspiciousURL}},
		{"suspicious header", reqWith("Arch: x86_64"), []Risk{RiskHTTPSuspiciousHeader}},
		{"header name a prefix of one", reqWith("Osn: x"), []Risk{RiskHTTPSuspiciousHeader}},
		{"header name longer than one", reqWith("Rootkit: x"), nil},
		{"header first letter lower-case", reqWith("uuid: x"), nil},
		{"header rest upper-case", reqWith("X-HIRE-ME: yes"), []Risk{RiskHTTPSuspiciousHeader}},
		{"header without colon", reqWith("Arch x"), nil},
		{"credentials", reqWith("Authorization: Bearer x"), []Risk{RiskClearTextCredentials}},
		{"credentials lower-case", reqWith("authorization: Basic eA=="), []Risk{RiskClearTextCredentials}},
		{"credentials without a space", reqWith("Authorization:Basic eA=="), nil},
		{"credentials empty", reqWith("Authorization: "), nil},
		{"proxy credentials", reqWith("Proxy-Authorization: Basic eA=="), nil},
		{"no user agent", []byte("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"), nil},
		{"no line end", []byte("GET /../ HTTP/1.1"), nil},
	} {
		var ri RiskInfo
		HTTPRequestRisks(c.p, &ri)
		var got []Risk
		ri.Risks.Each(func(r Risk) { got = append(got, r) })
		if len(got) != len(c.want) || len(got) > 0 && (got[0] != c.want[0] || got[len(got)-1] != c.want[len(c.want)-1]) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestHTTPResponseRisks(t *testing.T) {
	resp := func(ct, body string) []byte {
		return []byte("HTTP/1.1 200 OK\r\nContent-Type: " + ct + "\r\n\r\n" + body)
	}
	for _, c := range []struct {
		name string
		p    []byte
		want bool
	}{
		{"html", resp("text/html", "<html>"), false},
		{"binary html", resp("text/html", "\x00\x01\x02\x03"), true},
		{"gzip json", resp("application/json", "\x1f\x8b\x08\x00zz"), false},
		{"binary form", resp("application/x-www-form-urlencoded", "ab\xffc"), true},
		{"binary image", resp("image/png", "\x89PNG"), false},
		{"tabs and newlines", resp("text/plain", "\t\r\nx"), false},
		{"no body yet", resp("text/plain", ""), false},
		{"short binary body", resp("text/plain", "\x01"), true},
	} {
		var ri RiskInfo
		HTTPResponseRisks(c.p, "a.example", false, &ri)
		if got := ri.Has(RiskHTTPSuspiciousContent); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzHTTPRisks: any bytes as a request or a response head give an
// answer without a panic; a request's possible exploit always comes with
// its suspicious User-Agent.
func FuzzHTTPRisks(f *testing.F) {
	f.Add([]byte("GET /../ HTTP/1.1\r\nHost: 1.2.3.4\r\nUser-Agent: ${x}\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n\x00"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/java-vm\r\nContent-Disposition: attachment; filename=\"a.exe\"\r\n\r\nMZ"))
	f.Fuzz(func(t *testing.T, p []byte) {
		var ri RiskInfo
		HTTPRequestRisks(p, &ri)
		if ri.Has(RiskPossibleExploit) && !ri.Has(RiskHTTPSuspiciousUserAgent) {
			t.Fatalf("exploit without a suspicious agent: %q", p)
		}
		HTTPResponseRisks(p, "a.example", true, &ri)
	})
}
