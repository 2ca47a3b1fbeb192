package l7

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// ja4Hello is what JA4 reads of a ClientHello; byte slices are the raw
// wire lists (big-endian 16-bit values).
type ja4Hello struct {
	quic    bool
	version uint16   // highest version offered (supported_versions, else legacy)
	ciphers []byte   // cipher_suites
	exts    []uint16 // extension types in wire order, GREASE removed
	sni     bool     // a server_name extension was sent
	alpn    []byte   // first ALPN protocol id, nil if none
	sigAlgs []byte   // signature_algorithms list, wire order
}

// ja4 is the FoxIO JA4 client fingerprint, e.g.
// "t13d1516h2_8daaf6152771_e5627efa2ab1": a readable prefix, then
// truncated SHA-256 of the sorted cipher suites and of the sorted
// extensions (without SNI and ALPN, whose presence the prefix already
// tells) followed by the signature algorithms in the client's order.
// Sorting makes it stable against clients that shuffle extensions
// (Chrome does since 2023), which broke JA3.
func ja4(h ja4Hello) string {
	// Stack buffers for a usual hello (a few dozen ciphers and
	// extensions); append grows them on the heap for a larger one.
	var cipherBuf, extBuf, algBuf [64]uint16
	var outBuf [40]byte
	var hexBuf [512]byte
	ciphers := cipherBuf[:0]
	for i := 0; i+1 < len(h.ciphers); i += 2 {
		if v := binary.BigEndian.Uint16(h.ciphers[i:]); !isGREASE(v) {
			ciphers = append(ciphers, v)
		}
	}
	out := outBuf[:0]
	if h.quic {
		out = append(out, 'q')
	} else {
		out = append(out, 't')
	}
	out = append(out, ja4Version(h.version)...)
	if h.sni {
		out = append(out, 'd')
	} else {
		out = append(out, 'i')
	}
	out = appendCount(out, len(ciphers))
	out = appendCount(out, len(h.exts))
	out = appendALPNChars(out, h.alpn)
	out = append(out, '_')

	slices.Sort(ciphers)
	out = appendTruncHash(out, appendHexList(hexBuf[:0], ciphers))
	out = append(out, '_')

	exts := extBuf[:0]
	for _, e := range h.exts {
		if e != 0x0000 && e != 0x0010 {
			exts = append(exts, e)
		}
	}
	slices.Sort(exts)
	algs := algBuf[:0]
	for i := 0; i+1 < len(h.sigAlgs); i += 2 {
		if v := binary.BigEndian.Uint16(h.sigAlgs[i:]); !isGREASE(v) {
			algs = append(algs, v)
		}
	}
	s := appendHexList(hexBuf[:0], exts)
	if len(algs) > 0 {
		s = append(s, '_')
		s = appendHexList(s, algs)
	}
	out = appendTruncHash(out, s)
	return string(out)
}

// ja4Version is JA4's two-character version.
func ja4Version(v uint16) string {
	switch v {
	case VersionTLS13:
		return "13"
	case VersionTLS12:
		return "12"
	case VersionTLS11:
		return "11"
	case VersionTLS10:
		return "10"
	case VersionSSL30:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// appendCount writes a count as two decimal digits, 99 at most.
func appendCount(dst []byte, n int) []byte {
	n = min(n, 99)
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// appendALPNChars writes the first and last character of the first ALPN
// id; when either is not alphanumeric, the first and last hex digit of
// the id instead; "00" without one.
func appendALPNChars(dst, alpn []byte) []byte {
	if len(alpn) == 0 {
		return append(dst, '0', '0')
	}
	a, z := alpn[0], alpn[len(alpn)-1]
	if isAlnum(a) && isAlnum(z) {
		return append(dst, a, z)
	}
	const digits = "0123456789abcdef"
	return append(dst, digits[a>>4], digits[z&0xf])
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// appendHexList writes values as 4-digit lower-case hex joined by commas.
func appendHexList(dst []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		const digits = "0123456789abcdef"
		dst = append(dst, digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf])
	}
	return dst
}

// appendTruncHash writes the first 12 hex digits of SHA-256(s), or twelve
// zeros for an empty list, as the spec has it.
func appendTruncHash(dst, s []byte) []byte {
	if len(s) == 0 {
		return append(dst, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	return hex.AppendEncode(dst, sum[:6])
}
