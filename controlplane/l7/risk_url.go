package l7

import (
	"strings"

	"github.com/corazawaf/libinjection-go"
)

// URLRisk is nDPI 4.2's ndpi_validate_url on a URL as nDPI keeps it (the
// Host value, then the request target unless that is absolute): the one
// risk it gives, or RiskNone.
//
// Only the query (after the first '?') is read, split on '&' as strtok
// does (empty pieces vanish). A piece without '=' ends the scan; a piece
// with an empty value, a malformed %-escape, or a value that decodes to
// nothing before a NUL is skipped. Each decoded value is tried for XSS,
// then SQL injection (libinjection, as bundled in libndpi), and the first
// hit ends the scan. RCE injection needs a libndpi built with PCRE, which
// Debian's 4.2 is not: it is never raised, as ndpiReader never raises it.
// With no injection found, ".." anywhere in the URL makes it suspicious.
//
// libinjection-go is pinned at v0.3.5: against libndpi 4.2's libinjection
// 3.9.2 (ndpiReader on libinjection's own 493 test inputs and 135 more
// URLs) it differs only on 4 "1.e" number inputs, a bypass fixed later.
// v0.3.6 differs on 3 more (LIKE, charset introducers); v0.2.2 misses an
// XSS and panics on an unterminated CDATA section.
func URLRisk(url string) Risk {
	// nDPI's URL is a C string: a NUL from the wire ends it.
	if i := strings.IndexByte(url, 0); i >= 0 {
		url = url[:i]
	}
	if _, query, ok := strings.Cut(url, "?"); ok {
		if r := queryInjection(query); r != RiskNone {
			return r
		}
	}
	if strings.Contains(url, "..") {
		return RiskHTTPSuspiciousURL
	}
	return RiskNone
}

// queryInjection scans a query's values for XSS, then SQL injection.
func queryInjection(query string) Risk {
	var buf []byte
	for piece := range QueryPieces(query) {
		_, value, ok := strings.Cut(piece, "=")
		if !ok {
			return RiskNone // nDPI stops at the first piece without '='
		}
		if value == "" {
			continue
		}
		var valid bool
		buf, valid = URLDecode(buf[:0], value)
		if !valid {
			continue
		}
		// libinjection is given the value as a C string.
		v := string(buf)
		if i := strings.IndexByte(v, 0); i >= 0 {
			v = v[:i]
		}
		if v == "" {
			continue
		}
		if libinjection.IsXSS(v) {
			return RiskURLPossibleXSS
		}
		if sqli, _ := libinjection.IsSQLi(v); sqli {
			return RiskURLPossibleSQLInjection
		}
	}
	return RiskNone
}

// QueryPieces yields a query's '&'-separated pieces as strtok(query, "&")
// does: runs of '&' separate, and no piece is empty.
func QueryPieces(query string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		for query != "" {
			var piece string
			piece, query, _ = strings.Cut(query, "&")
			if piece != "" && !yield(piece) {
				return
			}
		}
	}
}

// URLDecode appends s decoded as nDPI's ndpi_url_decode does to dst: '+'
// is a space and %XX the byte XX. valid is false, and the value is
// skipped by nDPI, when a '%' is not followed by two hex digits.
func URLDecode(dst []byte, s string) (out []byte, valid bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return dst, false
			}
			c = hexValue(s[i+1])<<4 | hexValue(s[i+2])
			i += 2
		}
		dst = append(dst, c)
	}
	return dst, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexValue(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
