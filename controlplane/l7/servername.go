package l7

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"strconv"
)

// maxServerName bounds what we keep of a name taken from the wire.
const maxServerName = 253

// TLSServerName returns the SNI host name of a TLS ClientHello that starts
// at the beginning of payload (the first record of a TCP stream, or the
// first segment of one). ok is false for anything else, including a
// ClientHello cut before its SNI extension.
func TLSServerName(payload []byte) (name string, ok bool) {
	h, ok := ParseClientHello(payload)
	if !ok || h.ServerName == "" {
		return "", false
	}
	return h.ServerName, true
}

// ClientHello is what the probe keeps of a TLS ClientHello.
type ClientHello struct {
	ServerName string // SNI host name, "" if none
	JA3        string // JA3 client fingerprint (hex MD5), as nDPI's ja3c

	Version uint16 // legacy_version of the hello (0x0303 for TLS 1.2 and 1.3)
	// MaxVersion is the highest version offered: the largest non-GREASE
	// entry of supported_versions, else Version.
	MaxVersion uint16
	ALPN       bool // an ALPN extension (RFC 7301) was offered
	// ALPNList is the offered protocol ids in the client's order (at most
	// maxALPNKept, printable ones only), nil if none.
	ALPNList []string
	// JA4 is the FoxIO JA4 client fingerprint ("t13d1516h2_…"), "" unless
	// Complete.
	JA4 string
	// Complete says every extension was read, so an absent SNI or ALPN is
	// really absent rather than cut off with the rest of the segment.
	Complete bool
}

// ParseClientHello reads a TLS ClientHello that starts at the beginning of
// payload. ok is false for anything else. A ClientHello cut before the end
// of its extensions has no JA3 (none is better than a wrong one) and is ok
// only if its server name was read. h.Version is set whenever payload
// starts a ClientHello, even one too short to be ok.
func ParseClientHello(payload []byte) (h ClientHello, ok bool) {
	rec, ok := handshakeRecord(payload)
	if !ok {
		return h, false
	}
	return parseClientHelloMsg(rec, false)
}

// handshakeRecord is the body of the TLS handshake record payload starts
// with (as far as payload holds it), ok false if it starts none.
func handshakeRecord(payload []byte) ([]byte, bool) {
	// Record header: type 22 (handshake), version 3.x, length.
	if len(payload) < 5+4 || payload[0] != 0x16 || payload[1] != 3 {
		return nil, false
	}
	rec := payload[5:]
	if n := int(binary.BigEndian.Uint16(payload[3:5])); n < len(rec) {
		rec = rec[:n]
	}
	return rec, true
}

// parseClientHelloMsg reads a ClientHello handshake message (header
// included) as a TLS record or a QUIC CRYPTO stream carries it; quic picks
// JA4's transport letter.
func parseClientHelloMsg(rec []byte, quic bool) (h ClientHello, ok bool) {
	version, ciphers, ext, truncated, ok := helloFields(rec)
	if !ok {
		h.Version, h.MaxVersion = version, version
		return h, false
	}
	h.Version, h.MaxVersion = version, version
	var ja3Buf [256]byte
	ja3 := ja3Buf[:0]
	ja3 = strconv.AppendUint(ja3, uint64(version), 10)
	ja3 = append(ja3, ',')
	ja3 = appendU16List(ja3, ciphers)
	ja3 = append(ja3, ',')
	var groups, formats, sigAlgs, firstALPN []byte
	var extBuf [48]uint16
	exts := extBuf[:0] // non-GREASE extension types, for JA4
	hasSNI := false
	er := reader{b: ext}
	first := true
	for len(er.b) >= 4 && !er.bad {
		typ := er.u16()
		body := er.take(int(er.u16()))
		if er.bad {
			break
		}
		if !isGREASE(typ) {
			if !first {
				ja3 = append(ja3, '-')
			}
			first = false
			ja3 = strconv.AppendUint(ja3, uint64(typ), 10)
			exts = append(exts, typ)
		}
		br := reader{b: body}
		switch typ {
		case 0: // server_name
			hasSNI = true
			if host := firstHostName(body); host != nil && h.ServerName == "" {
				h.ServerName, _ = cleanName(host)
			}
		case 10: // supported_groups
			groups = br.take(int(br.u16()))
		case 11: // ec_point_formats
			formats = br.take(int(br.u8()))
		case 13: // signature_algorithms
			sigAlgs = br.take(int(br.u16()))
		case 16: // application_layer_protocol_negotiation
			h.ALPN = true
			firstALPN, h.ALPNList = alpnList(br.take(int(br.u16())))
		case 43: // supported_versions
			if v := maxVersion(br.take(int(br.u8()))); v > h.MaxVersion {
				h.MaxVersion = v
			}
		}
	}
	if er.bad || truncated {
		return h, h.ServerName != ""
	}
	h.Complete = true
	ja3 = append(ja3, ',')
	ja3 = appendU16List(ja3, groups)
	ja3 = append(ja3, ',')
	for i, f := range formats {
		if i > 0 {
			ja3 = append(ja3, '-')
		}
		ja3 = strconv.AppendUint(ja3, uint64(f), 10)
	}
	sum := md5.Sum(ja3)
	h.JA3 = hex.EncodeToString(sum[:])
	h.JA4 = ja4(ja4Hello{
		quic: quic, version: h.MaxVersion, ciphers: ciphers, exts: exts,
		sni: hasSNI, alpn: firstALPN, sigAlgs: sigAlgs,
	})
	return h, true
}

// helloFields walks a ClientHello handshake message (header included) up
// to its extensions: the legacy version (set whenever rec starts a
// ClientHello), the raw cipher suites, the extensions block as far as rec
// holds it and whether it is cut short (a large ClientHello spans
// segments: the SNI can still be read from the first one, the
// fingerprint cannot). ok is false when rec is no ClientHello or ends
// before its extensions' length.
func helloFields(rec []byte) (version uint16, ciphers, ext []byte, truncated, ok bool) {
	// Handshake header: type 1 (ClientHello), 24-bit length. The record
	// length may claim less than the header needs.
	if len(rec) < 4 || rec[0] != 1 {
		return 0, nil, nil, false, false
	}
	hs := rec[4:]
	if n := int(rec[1])<<16 | int(rec[2])<<8 | int(rec[3]); n < len(hs) {
		hs = hs[:n]
	}
	r := reader{b: hs}
	version = r.u16()
	r.skip(32)                     // random
	r.skip(int(r.u8()))            // session id
	ciphers = r.take(int(r.u16())) // cipher suites
	r.skip(int(r.u8()))            // compression methods
	extLen := int(r.u16())
	if r.bad {
		return version, nil, nil, false, false
	}
	return version, ciphers, r.b[:min(extLen, len(r.b))], extLen > len(r.b), true
}

// helloHasServerName is TLSServerName's ok without its cost: payload
// starts a ClientHello whose first usable SNI host name ParseClientHello
// would return. No fingerprint is computed and nothing is allocated, for
// the classifier, which only needs the yes or no.
func helloHasServerName(payload []byte) bool {
	rec, ok := handshakeRecord(payload)
	if !ok {
		return false
	}
	_, _, ext, _, ok := helloFields(rec)
	if !ok {
		return false
	}
	// The same walk as parseClientHelloMsg's: it stops at the first bad
	// extension header.
	er := reader{b: ext}
	for len(er.b) >= 4 && !er.bad {
		typ := er.u16()
		body := er.take(int(er.u16()))
		if !er.bad && typ == 0 && firstHostName(body) != nil {
			return true
		}
	}
	return false
}

// firstHostName is the first host name of a server_name extension's body
// that cleanName takes, nil if none.
func firstHostName(body []byte) []byte {
	br := reader{b: body}
	list := reader{b: br.take(int(br.u16()))}
	for len(list.b) >= 3 && !list.bad {
		nameType := list.u8()
		host := list.take(int(list.u16()))
		if !list.bad && nameType == 0 && isCleanName(host) {
			return host
		}
	}
	return nil
}

// maxALPNKept bounds the protocol ids kept of one hello.
const maxALPNKept = 8

// alpnList splits an ALPN protocol_name_list. first is the raw first id
// (JA4 reads it whatever its bytes); list keeps the printable ids.
func alpnList(b []byte) (first []byte, list []string) {
	r := reader{b: b}
	for len(r.b) > 0 && !r.bad {
		id := r.take(int(r.u8()))
		if r.bad {
			break
		}
		if first == nil {
			first = id[:len(id):len(id)]
		}
		if len(list) < maxALPNKept && printable(id) {
			list = append(list, string(id))
		}
	}
	return first, list
}

// appendU16List appends big-endian 16-bit values joined by '-', without
// GREASE values (RFC 8701), as JA3 does.
func appendU16List(dst, list []byte) []byte {
	first := true
	for i := 0; i+1 < len(list); i += 2 {
		v := binary.BigEndian.Uint16(list[i:])
		if isGREASE(v) {
			continue
		}
		if !first {
			dst = append(dst, '-')
		}
		first = false
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	return dst
}

// maxVersion is the largest non-GREASE entry of a supported_versions list.
func maxVersion(list []byte) uint16 {
	var v uint16
	for i := 0; i+1 < len(list); i += 2 {
		if x := binary.BigEndian.Uint16(list[i:]); !isGREASE(x) && x > v {
			v = x
		}
	}
	return v
}

// isGREASE reports the reserved 0x?a?a values clients sprinkle in.
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// HTTPHost returns the Host header of an HTTP/1.x request that starts at
// the beginning of payload, without a port, lower-cased.
func HTTPHost(payload []byte) (name string, ok bool) {
	v := httpHostHeader(payload)
	if len(v) > 0 && v[0] == '[' { // IPv6 literal
		if j := bytes.IndexByte(v, ']'); j > 0 {
			v = v[1:j]
		}
	} else if j := bytes.LastIndexByte(v, ':'); j >= 0 {
		v = v[:j]
	}
	return cleanName(v)
}

// HTTPHostValue is the Host header's value as nDPI's HTTP dissector first
// sees it: trimmed and lower-cased, a port still on it.
func HTTPHostValue(payload []byte) (string, bool) {
	return cleanName(httpHostHeader(payload))
}

// httpHostHeader is the trimmed Host value of the request at the start of
// payload, nil if there is none.
func httpHostHeader(payload []byte) []byte {
	if !looksLikeHTTPRequest(payload) {
		return nil
	}
	end := bytes.Index(payload, []byte("\r\n\r\n"))
	head := payload
	if end >= 0 {
		head = payload[:end+2]
	}
	for {
		i := bytes.Index(head, []byte("\r\n"))
		if i < 0 {
			return nil
		}
		head = head[i+2:]
		if len(head) >= 5 && bytes.EqualFold(head[:5], []byte("host:")) {
			v := head[5:]
			if j := bytes.Index(v, []byte("\r\n")); j >= 0 {
				v = v[:j]
			}
			return bytes.TrimSpace(v)
		}
	}
}

var httpMethods = [][]byte{
	[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE "),
}

func looksLikeHTTPRequest(p []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(p, m) {
			return true
		}
	}
	return false
}

// cleanName lower-cases a host name and refuses anything that is not
// printable host-name material, so a binary blob never becomes a label.
func cleanName(b []byte) (string, bool) {
	if !isCleanName(b) {
		return "", false
	}
	var buf [maxServerName]byte
	out := buf[:len(b)]
	for i, c := range b {
		out[i] = lowerASCII(c)
	}
	return string(out), true
}

// isCleanName says whether cleanName takes b.
func isCleanName(b []byte) bool {
	if len(b) == 0 || len(b) > maxServerName {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '-', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

// reader reads big-endian fields and remembers running off the end.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() uint8 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(n int) { r.take(n) }

// HTTP request methods as ntopng counts them.
const (
	HTTPGet = iota
	HTTPPost
	HTTPHead
	HTTPPut
	HTTPOther
	NumHTTPMethods
)

// HTTPRequestMethod says whether payload starts an HTTP/1.x request and
// which method it uses.
func HTTPRequestMethod(p []byte) (int, bool) {
	switch {
	case hasAnyPrefix(p, "GET "):
		return HTTPGet, true
	case hasAnyPrefix(p, "POST "):
		return HTTPPost, true
	case hasAnyPrefix(p, "HEAD "):
		return HTTPHead, true
	case hasAnyPrefix(p, "PUT "):
		return HTTPPut, true
	case looksLikeHTTPRequest(p):
		return HTTPOther, true
	}
	return 0, false
}

// HTTPResponseClass says whether payload starts an HTTP/1.x response and
// its status class (1 for 1xx … 5 for 5xx).
func HTTPResponseClass(p []byte) (int, bool) {
	if len(p) < 12 || string(p[:7]) != "HTTP/1." || p[8] != ' ' {
		return 0, false
	}
	c := int(p[9] - '0')
	if c < 1 || c > 5 || p[10] < '0' || p[10] > '9' || p[11] < '0' || p[11] > '9' {
		return 0, false
	}
	return c, true
}
