package l7

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
)

// TLS protocol versions as they appear on the wire.
const (
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// TLSVersionName is nDPI's name of a version (ndpi_ssl_version2str), the
// text ntopng shows, e.g. "TLSv1" for 0x0301.
func TLSVersionName(v uint16) string {
	switch v {
	case VersionSSL30:
		return "SSLv3"
	case VersionTLS10:
		return "TLSv1"
	case VersionTLS11:
		return "TLSv1.1"
	case VersionTLS12:
		return "TLSv1.2"
	case VersionTLS13:
		return "TLSv1.3"
	case 0xfb1a:
		return "TLSv1.3 (Fizz)"
	case 0xfeff:
		return "DTLSv1.0"
	case 0xfefd:
		return "DTLSv1.2"
	}
	if v >= 0x7f00 && v <= 0x7fff {
		return "TLSv1.3 (draft)"
	}
	return fmt.Sprintf("TLS (%04X)", v)
}

// TLSInfo is what the probe learns from one TLS handshake over TCP.
type TLSInfo struct {
	// From the ClientHello.
	ServerName    string // SNI, "" if none
	ClientVersion uint16 // highest version offered
	ALPNOffered   bool
	// ClientALPN is the offered protocol ids in the client's order, joined
	// by commas as nDPI keeps them (advertised_alpns).
	ClientALPN string
	JA3, JA4   string // client fingerprints; "" for a hello cut short
	// HelloComplete says the whole ClientHello was read: only then does a
	// missing SNI or ALPN mean the client did not send one.
	HelloComplete bool

	// From the server's handshake flight.
	ServerVersion uint16 // negotiated (supported_versions when present), 0 until seen
	CipherSuite   uint16
	ALPN          string   // protocol the server selected
	FatalAlert    bool     // the server answered with a plaintext fatal alert
	Cert          *TLSCert // leaf certificate; nil for TLS 1.3, resumption or an unreadable one
}

// SetClientHello takes the client's side from a parsed ClientHello.
func (t *TLSInfo) SetClientHello(h ClientHello) {
	t.ServerName = h.ServerName
	t.ClientVersion = h.MaxVersion
	t.ALPNOffered = h.ALPN
	t.ClientALPN = strings.Join(h.ALPNList, ",")
	t.JA3, t.JA4 = h.JA3, h.JA4
	t.HelloComplete = h.Complete
}

// Record and handshake message types (RFC 5246 §6.2.1, §7.4).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23

	hsServerHello     = 2
	hsCertificate     = 11
	hsServerHelloDone = 14

	extALPN              = 16
	extSupportedVersions = 43
)

const (
	// maxTLSBuffered bounds what one flow's parser holds: a ServerHello
	// and the leaf certificate fit many times over, and nothing waits for
	// the rest of the chain.
	maxTLSBuffered = 32 << 10
	// maxTLSRecord is the largest record RFC 5246 §6.2.3 allows.
	maxTLSRecord = 1<<14 + 2048
)

// TLSError says why a server parser gave up. A string type so the values
// below are constants: the package keeps no global state.
type TLSError string

func (e TLSError) Error() string { return string(e) }

// Reasons TLSServerParser.Err reports. Compare with errors.Is.
const (
	ErrTLSGap            TLSError = "l7/tls: bytes of the server stream are missing"
	ErrTLSTooLarge       TLSError = "l7/tls: handshake larger than the parser's buffer"
	ErrTLSNotRecord      TLSError = "l7/tls: not a TLS record"
	ErrTLSNotServerHello TLSError = "l7/tls: server flight does not start with a ServerHello"
	ErrTLSBadServerHello TLSError = "l7/tls: malformed ServerHello"
	ErrTLSBadCertificate TLSError = "l7/tls: malformed Certificate message"
)

// TLSServerParser follows the server→client bytes of one TCP connection
// until the handshake has told what it can in the clear: the ServerHello
// and the leaf certificate. It reassembles records and handshake messages
// across segments in sequence order only; a gap or data arriving ahead of
// its turn ends it, since re-ordering would cost per-flow memory for a
// handshake that usually fits in two or three segments. The zero value is
// ready to use.
type TLSServerParser struct {
	buf      []byte  // stream bytes not yet consumed: at most one partial record
	pooled   *[]byte // buf's pooled buffer (recBufs), nil if none
	hs       []byte  // handshake bytes carried across records, not yet consumed
	next     uint32  // sequence number of the next byte expected
	started  bool
	sawHello bool
	done     bool
	err      error
}

// Done reports that the parser wants no more segments.
func (p *TLSServerParser) Done() bool { return p.done }

// Err is why the parser stopped before the handshake said all it could,
// nil if it did not (or has not stopped).
func (p *TLSServerParser) Err() error { return p.err }

// Feed hands the parser one server→client TCP segment: its sequence
// number and payload. What it learns goes into info; certs, which may be
// nil, saves parsing a certificate seen before. The payload is copied only
// while a record or message spans segments. Feed reports Done.
func (p *TLSServerParser) Feed(seq uint32, seg []byte, info *TLSInfo, certs *CertCache) bool {
	if p.done || len(seg) == 0 {
		return p.done
	}
	if seg = p.fresh(seq, seg); len(seg) == 0 {
		return p.done
	}
	// A record begun in an earlier segment is completed first, with only
	// the bytes it lacks (first its header, so a bad one fails as soon as
	// it is whole); the rest of the segment is read where it lies. The
	// records come in the same order as from the whole stream.
	for len(p.buf) > 0 && len(seg) > 0 {
		want := 5
		if len(p.buf) >= 5 {
			want = recordLen(p.buf) // checked by records
		}
		p.reserve(want)
		take := min(want-len(p.buf), len(seg))
		p.buf = append(p.buf, seg[:take]...)
		seg = seg[take:]
		if len(p.buf) < want {
			break
		}
		rest := p.records(p.buf, info, certs) // a whole header (kept) or record (consumed)
		if p.done {
			p.release()
			return true
		}
		p.buf = p.buf[:len(rest)]
	}
	rest := seg
	if len(p.buf) == 0 {
		rest = p.records(seg, info, certs)
		if p.done {
			p.release()
			return true
		}
	}
	// Only what is kept is bounded: a coalesced (GRO) segment may be
	// large, and most of it is consumed on the spot.
	if kept := len(p.buf) + len(rest) + len(p.hs); kept > maxTLSBuffered {
		p.fail(fmt.Errorf("%w (%d bytes)", ErrTLSTooLarge, kept))
		return true
	}
	if len(p.buf) == 0 {
		// Keep the partial record for the next segment, in a buffer that
		// holds the whole record: the segments that complete it append
		// without growing it step by step.
		if len(rest) == 0 {
			p.releaseBuf()
			return false
		}
		want := len(rest)
		if len(rest) >= 5 {
			want = recordLen(rest) // checked by records
		}
		p.reserve(want)
		p.buf = append(p.buf[:0], rest...)
	}
	return false
}

// fresh is what seg (starting at sequence number seq) adds to the stream
// after the bytes fed before: nil for a plain retransmission (a
// retransmission may still carry new bytes past the old ones); a gap
// fails the parser.
func (p *TLSServerParser) fresh(seq uint32, seg []byte) []byte {
	if !p.started {
		p.started, p.next = true, seq
	}
	if ahead := int32(seq - p.next); ahead > 0 {
		p.fail(fmt.Errorf("%w: %d bytes before seq %d", ErrTLSGap, ahead, seq))
		return nil
	}
	if old := p.next - seq; old > 0 {
		if uint64(old) >= uint64(len(seg)) {
			return nil
		}
		seg = seg[old:]
	}
	p.next += uint32(len(seg))
	return seg
}

// recordLen is the length, header included, of the record whose 5-byte
// header starts hdr.
func recordLen(hdr []byte) int { return 5 + int(binary.BigEndian.Uint16(hdr[3:5])) }

// recBufClasses are the capacities of the pooled record buffers: a
// partial record is kept in the smallest that holds the whole record
// (at most twice its size), the largest holds any record.
var recBufClasses = [...]int{1 << 11, 1 << 12, 1 << 13, 1 << 14, 5 + maxTLSRecord}

// recBufs pool the buffers of records split over segments, by class: a
// handshake's certificate record usually spans a few segments, and every
// TLS flow would otherwise allocate (and zero) one for it.
var recBufs [len(recBufClasses)]sync.Pool

// reserve makes p.buf (holding a partial record) able to grow to want
// bytes without reallocating, taking a pooled buffer when it cannot.
func (p *TLSServerParser) reserve(want int) {
	if cap(p.buf) >= want {
		return
	}
	for i, c := range recBufClasses {
		if c < want {
			continue
		}
		b, _ := recBufs[i].Get().(*[]byte)
		if b == nil {
			nb := make([]byte, 0, c)
			b = &nb
		}
		*b = append((*b)[:0], p.buf...)
		p.releaseBuf()
		p.pooled, p.buf = b, *b
		return
	}
	// Larger than any record: records refuses such a header first.
}

// releaseBuf gives p.buf's pooled buffer back (nothing points into it
// after Feed: what the parser learns is copied out) and drops p.buf.
func (p *TLSServerParser) releaseBuf() {
	if b := p.pooled; b != nil {
		p.pooled = nil
		for i, c := range recBufClasses {
			if cap(*b) == c {
				*b = (*b)[:0]
				recBufs[i].Put(b)
				break
			}
		}
	}
	p.buf = nil
}

// release drops what the parser buffers (it is done).
func (p *TLSServerParser) release() {
	p.releaseBuf()
	p.hs = nil
}

// keep copies rest (a partial record or handshake message) to the start
// of buf, first sizing buf for the whole unit once rest shows its header
// (hdr bytes; size reads it), at most maxTLSBuffered. rest may lie in buf.
func keep(buf, rest []byte, hdr int, size func([]byte) int) []byte {
	if len(rest) >= hdr {
		if want := min(size(rest), maxTLSBuffered); cap(buf) < want && want >= len(rest) {
			b := make([]byte, len(rest), want)
			copy(b, rest)
			return b
		}
	}
	return append(buf[:0], rest...)
}

// records consumes the complete records at the start of b and returns
// what is left.
func (p *TLSServerParser) records(b []byte, info *TLSInfo, certs *CertCache) []byte {
	for !p.done && len(b) >= 5 {
		typ, n := b[0], int(binary.BigEndian.Uint16(b[3:5]))
		if b[1] != 3 || typ < recChangeCipherSpec || typ > recApplicationData || n > maxTLSRecord {
			p.fail(fmt.Errorf("%w: type %d version %d.%d length %d", ErrTLSNotRecord, typ, b[1], b[2], n))
			break
		}
		if len(b) < 5+n {
			break
		}
		frag := b[5 : 5+n]
		b = b[5+n:]
		switch typ {
		case recHandshake:
			p.handshake(frag, info, certs)
		case recAlert:
			// Only a plaintext alert is two bytes long; level 2 is fatal.
			if n == 2 && frag[0] == 2 {
				info.FatalAlert = true
			}
			p.done = true
		default:
			// ChangeCipherSpec or application data: the rest is encrypted.
			p.done = true
		}
	}
	return b
}

// handshake adds a handshake record's fragment and reads the messages it
// completes.
func (p *TLSServerParser) handshake(frag []byte, info *TLSInfo, certs *CertCache) {
	h := frag
	if len(p.hs) > 0 {
		p.hs = append(p.hs, frag...)
		h = p.hs
	}
	for !p.done && len(h) >= 4 {
		typ, n := h[0], int(h[1])<<16|int(h[2])<<8|int(h[3])
		if !p.sawHello && typ != hsServerHello {
			p.fail(fmt.Errorf("%w: message type %d", ErrTLSNotServerHello, typ))
			return
		}
		if typ == hsCertificate {
			// The leaf comes first: no need to wait for the whole chain.
			der, ok := leafDER(h[4:min(len(h), 4+n)])
			switch {
			case ok:
				p.certificate(der, info, certs)
				p.done = true
			case len(h) >= 4+n:
				p.fail(fmt.Errorf("%w: leaf longer than the message", ErrTLSBadCertificate))
			}
			break
		}
		if 4+n > len(h) {
			if n > maxTLSBuffered {
				p.fail(fmt.Errorf("%w: handshake message of %d bytes", ErrTLSTooLarge, n))
			}
			break
		}
		body := h[4 : 4+n]
		h = h[4+n:]
		switch typ {
		case hsServerHello:
			p.sawHello = true
			p.serverHello(body, info)
		case hsServerHelloDone:
			p.done = true
		}
	}
	if !p.done {
		p.hs = keep(p.hs, h, 4, func(h []byte) int { return 4 + (int(h[1])<<16 | int(h[2])<<8 | int(h[3])) })
	}
}

// serverHello reads the negotiated version, cipher and ALPN.
func (p *TLSServerParser) serverHello(body []byte, info *TLSInfo) {
	r := reader{b: body}
	version := r.u16()
	r.skip(32)          // random
	r.skip(int(r.u8())) // session id
	cipher := r.u16()
	r.skip(1) // compression method
	if r.bad {
		p.fail(fmt.Errorf("%w: %d bytes", ErrTLSBadServerHello, len(body)))
		return
	}
	info.ServerVersion, info.CipherSuite = version, cipher
	if len(r.b) < 2 {
		return
	}
	er := reader{b: r.take(int(r.u16()))}
	for len(er.b) >= 4 && !er.bad {
		typ := er.u16()
		ext := reader{b: er.take(int(er.u16()))}
		switch typ {
		case extSupportedVersions:
			if v := ext.u16(); !ext.bad {
				info.ServerVersion = v
				// Only TLS 1.3 negotiates here, and it encrypts all
				// that follows the ServerHello.
				p.done = true
			}
		case extALPN:
			list := reader{b: ext.take(int(ext.u16()))}
			if proto := list.take(int(list.u8())); !list.bad && printable(proto) {
				info.ALPN = string(proto)
			}
		}
	}
}

// certificate parses the leaf, keeping nothing if it will not parse.
func (p *TLSServerParser) certificate(der []byte, info *TLSInfo, certs *CertCache) {
	if der == nil {
		p.err = fmt.Errorf("%w: no leaf certificate", ErrTLSBadCertificate)
		return
	}
	c, err := certs.Parse(der)
	if err != nil {
		p.err = err
		return
	}
	info.Cert = c
}

// leafDER returns the first certificate of a (TLS ≤ 1.2) Certificate
// message body; ok is false while its bytes have not all arrived. A
// malformed or empty list yields nil and ok.
func leafDER(body []byte) (der []byte, ok bool) {
	if len(body) < 3 {
		return nil, false
	}
	list := int(body[0])<<16 | int(body[1])<<8 | int(body[2])
	if list == 0 {
		return nil, true
	}
	if len(body) < 6 {
		return nil, false
	}
	n := int(body[3])<<16 | int(body[4])<<8 | int(body[5])
	if n == 0 || 3+n > list {
		return nil, true
	}
	if len(body) < 6+n {
		return nil, false
	}
	return body[6 : 6+n], true
}

func (p *TLSServerParser) fail(err error) {
	p.done = true
	p.err = err
	p.release()
}

// printable accepts visible ASCII, so a protocol id from the wire never
// carries control bytes into a label.
func printable(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
