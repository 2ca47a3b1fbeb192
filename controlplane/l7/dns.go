// Package l7 holds the application-layer dissectors the control plane runs
// on payloads the data plane hands up, and nDPI's tables that name what
// they find.
//
// Address lists: a flow whose names give no application takes its
// server's (else client's) address application, as nDPI does. The
// built-in lists are nDPI 4.2's IPv4 lists without Tor (iplist.go), plus
// IPv6 ranges the services publish. Amazon's published ranges (service
// AMAZON of ip-ranges.json, as nDPI >= 4.4 has them) are generated into
// iplist_aws_gen.go by `go run ./tools/ipranges`, from the only copy
// reachable when it was written (2017, in a Go module's testdata; `-aws
// FILE -source ...` takes a newer file). CloudFront's edge ranges
// published since (13.224.0.0/14 and eight more) are kept by hand in
// iplist_cloudfront.go until a newer file is at hand; a test fails once
// the generated list covers one of them.
package l7

import (
	"github.com/probe-appliance/probe/dataplane/decode"

	"encoding/binary"
	"net/netip"
)

// DNSInfo is what flow splitting and host naming need from a DNS message:
// the header fields and the first question.
type DNSInfo struct {
	ID       uint16
	Response bool // QR bit
	Opcode   uint8
	RCode    uint8
	// QType is the first question's type (A=1, NS=2, CNAME=5, SOA=6,
	// PTR=12, MX=15, TXT=16, AAAA=28, ANY=255); 0 if there is no question.
	QType uint16
	// QName is the first question's name, ASCII lower-cased, without the
	// trailing dot; "" for the root or when there is no question. Bytes are
	// kept raw except that '.' and '\' inside a label are escaped as `\.`
	// and `\\` (RFC 1035 §5.1): DNS-SD instance names legitimately contain
	// dots, and without the escape "a.b" as one label would read the same
	// as two labels and could pass for a different host.
	QName      string
	NumAnswers int // ANCOUNT as sent, not the number of records present
}

// DNSError describes why a message was rejected. It is a string type so the
// error values below can be constants: the package keeps no global state.
type DNSError string

func (e DNSError) Error() string { return string(e) }

// Errors returned by DNSAnswers. Compare with == or errors.Is.
const (
	ErrDNSShort        DNSError = "l7/dns: message shorter than the 12-byte header"
	ErrDNSTruncated    DNSError = "l7/dns: message ends inside a name or record"
	ErrDNSLabelType    DNSError = "l7/dns: reserved label type (0x40/0x80)"
	ErrDNSPointer      DNSError = "l7/dns: compression pointer is not strictly backwards or points into the header"
	ErrDNSTooManyJumps DNSError = "l7/dns: too many compression pointers in one name"
	ErrDNSNameTooLong  DNSError = "l7/dns: name longer than 255 octets"
	ErrDNSRDataLength  DNSError = "l7/dns: A/AAAA record with wrong RDATA length"
)

const (
	dnsHeaderLen = 12
	// maxWireName is RFC 1035's limit on a name in wire form, length
	// octets and the terminating root label included.
	maxWireName = 255
	// maxNameJumps bounds the work one name can cost. Go's own resolver
	// gives up after 10 pointers and is used against every kind of server,
	// so real compressors stay far below this; the strictly-backwards rule
	// in readName already rules out loops, this only caps long chains.
	maxNameJumps = 32
	// nameBufLen fits the longest presentation form: a 255-octet wire name
	// has at most 253 label bytes, each escaped to 2, plus the dots.
	nameBufLen = 512

	dnsTypeA    = 1
	dnsTypeAAAA = 28
	dnsClassIN  = 1
	// mDNS reuses the top bit of the class as the cache-flush flag
	// (RFC 6762 §10.2); the records are still class IN.
	dnsClassMask = 0x7fff
)

// NameBuf holds a decoded name: readName builds names in the caller's
// buffer (on its stack, or a scratch buffer it keeps), so only a string
// conversion allocates.
type NameBuf [nameBufLen]byte

// StripTCPLength removes the 2-byte length prefix of DNS over TCP (RFC 1035
// §4.2.2) and returns the first message. When the segment holds less than
// the announced length the available part is returned, so ParseDNS can still
// read the header and question of a message split across segments; bytes
// beyond the announced length (a pipelined next message) are cut off. It
// returns nil when there is no complete prefix.
func StripTCPLength(payload []byte) []byte {
	if len(payload) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(payload))
	msg := payload[2:]
	if n < len(msg) {
		msg = msg[:n:n] // cap too, so appending to the result cannot clobber the next message
	}
	return msg
}

// ParseDNS parses the header and the first question. ok is false when the
// payload is not plausibly DNS: shorter than a header, a query without a
// question, or a first question whose name is malformed or truncated. A
// response without a question (some FORMERR/NOTIFY answers) is accepted with
// an empty QName. Records after the first question are not looked at, so a
// capture truncated by snaplen still classifies.
func ParseDNS(msg []byte) (info DNSInfo, ok bool) {
	var buf NameBuf
	info, name, ok := ParseDNSName(msg, &buf)
	if len(name) > 0 {
		info.QName = string(name)
	}
	return info, ok
}

// ParseDNSName is ParseDNS without allocating: the first question's name
// is decoded into buf and returned as a slice of it (info.QName is left
// empty), for callers that look at the name on most packets but keep it
// on few.
func ParseDNSName(msg []byte, buf *NameBuf) (info DNSInfo, name []byte, ok bool) {
	if len(msg) < dnsHeaderLen {
		return DNSInfo{}, nil, false
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	info = DNSInfo{
		ID:         binary.BigEndian.Uint16(msg),
		Response:   flags&0x8000 != 0,
		Opcode:     uint8(flags>>11) & 0xf,
		RCode:      uint8(flags) & 0xf,
		NumAnswers: int(binary.BigEndian.Uint16(msg[6:])),
	}
	if binary.BigEndian.Uint16(msg[4:]) == 0 {
		if !info.Response {
			return DNSInfo{}, nil, false
		}
		return info, nil, true
	}
	n, off, err := readName(msg, dnsHeaderLen, buf)
	if err != nil || off+4 > len(msg) {
		return DNSInfo{}, nil, false
	}
	info.QType = binary.BigEndian.Uint16(msg[off:])
	return info, buf[:n], true
}

// isDNS is whether ParseDNS accepts msg, without making the name a string.
func isDNS(msg []byte) bool {
	var buf NameBuf
	_, _, ok := ParseDNSName(msg, &buf)
	return ok
}

// DNSAnswers calls fn for every class-IN A and AAAA record in the answer
// section of a response. qname is the first question's name ("" if there is
// none) and owner the record's own name, both normalised like
// DNSInfo.QName: the address is named after what was asked, as ntopng does,
// so www.x.com → CNAME edge.y.net → A 1.2.3.4 yields ("www.x.com",
// "edge.y.net", 1.2.3.4). DNSAnswers does not check that owner is actually
// reachable from qname through the CNAMEs; callers that care compare the two.
//
// Queries yield nothing and no error: an answer section in a query (mDNS
// known-answer lists, crafted packets) is the asker's claim, not a
// resolver's. Authority and additional sections are ignored because glue and
// extra records do not answer the question.
//
// Records are delivered as they are decoded, so on error fn has already seen
// every record before the bad one; owner strings are shared between calls
// when they repeat, so a response costs about one allocation per distinct
// name.
func DNSAnswers(msg []byte, fn func(qname, owner string, addr netip.Addr)) error {
	var w answerWalk
	if err := w.start(msg); err != nil {
		return err
	}
	var qname, owner string // owner: the last one handed out, reused while records repeat it
	if w.qlen > 0 {
		qname = string(w.buf[:w.qlen]) // before next reuses the buffer
	}
	for {
		name, addr, err := w.next()
		if err != nil || name == nil {
			return err
		}
		// The comparisons convert without allocating; only a new name does.
		switch {
		case string(name) == owner:
		case string(name) == qname:
			owner = qname
		default:
			owner = string(name)
		}
		fn(qname, owner, addr)
	}
}

// DNSAnswerAddrs calls fn with the address of each record DNSAnswers
// delivers, in its order and with its errors, and makes no string: for
// callers that decoded the question themselves (ParseDNSName).
func DNSAnswerAddrs(msg []byte, fn func(addr netip.Addr)) error {
	var w answerWalk
	if err := w.start(msg); err != nil {
		return err
	}
	for {
		name, addr, err := w.next()
		if err != nil || name == nil {
			return err
		}
		fn(addr)
	}
}

// answerWalk reads the class-IN A and AAAA records of a response's answer
// section one at a time, names decoded into its own buffer.
type answerWalk struct {
	msg       []byte
	off, left int // where the next record starts; records not read yet
	// qlen is the length of the first question's name, in buf until the
	// first record's name replaces it (a length, not a slice: a pointer
	// into itself would move the walk to the heap).
	qlen int
	buf  NameBuf
}

// start reads the header and the questions; a query leaves no records.
func (w *answerWalk) start(msg []byte) error {
	if len(msg) < dnsHeaderLen {
		return ErrDNSShort
	}
	if msg[2]&0x80 == 0 {
		return nil
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	w.msg, w.left = msg, int(binary.BigEndian.Uint16(msg[6:]))
	off := dnsHeaderLen
	for i := 0; i < qd; i++ {
		var err error
		if i == 0 {
			w.qlen, off, err = readName(msg, off, &w.buf)
		} else {
			off, err = skipName(msg, off)
		}
		if err != nil {
			return err
		}
		if off+4 > len(msg) {
			return ErrDNSTruncated
		}
		off += 4 // QTYPE, QCLASS
	}
	w.off = off
	return nil
}

// next is the next address record's owner name and address; a nil owner
// when there are no more.
func (w *answerWalk) next() (owner []byte, addr netip.Addr, err error) {
	msg, off := w.msg, w.off
	for ; w.left > 0; w.left-- {
		start := off
		// Skip first and decode the name only for address records: most
		// answers in a CNAME chain are never named.
		if off, err = skipName(msg, off); err != nil {
			return nil, netip.Addr{}, err
		}
		if off+10 > len(msg) {
			return nil, netip.Addr{}, ErrDNSTruncated
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		class := binary.BigEndian.Uint16(msg[off+2:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			return nil, netip.Addr{}, ErrDNSTruncated
		}
		rdata := msg[off : off+rdlen]
		off += rdlen
		if class&dnsClassMask != dnsClassIN {
			continue
		}
		switch typ {
		case dnsTypeA:
			if rdlen != 4 {
				return nil, netip.Addr{}, ErrDNSRDataLength
			}
			addr = netip.AddrFrom4([4]byte(rdata))
		case dnsTypeAAAA:
			if rdlen != 16 {
				return nil, netip.Addr{}, ErrDNSRDataLength
			}
			addr = netip.AddrFrom16([16]byte(rdata))
		default:
			continue
		}
		n, _, err := readName(msg, start, &w.buf)
		if err != nil {
			return nil, netip.Addr{}, err
		}
		w.off, w.left = off, w.left-1
		return w.buf[:n:n], addr, nil
	}
	return nil, netip.Addr{}, nil
}

// readName decodes the possibly compressed name starting at off into buf and
// returns its presentation length and the offset just past the name's own
// bytes (where the record continues).
//
// Loops are impossible rather than detected after the fact: every pointer
// must land strictly below the lowest offset this name has used so far (the
// rule BIND applies), so offsets strictly decrease jump by jump. Compressors
// only ever point at names already written, so real messages satisfy it.
// Pointers into the header are rejected since no name can live there.
func readName(msg []byte, off int, buf *NameBuf) (n, next int, err error) {
	pos := off
	lowest := off
	next = -1
	wire := 1 // the terminating root label
	jumps := 0
	for {
		if pos >= len(msg) {
			return 0, 0, ErrDNSTruncated
		}
		c := int(msg[pos])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				if next < 0 {
					next = pos + 1
				}
				return n, next, nil
			}
			end := pos + 1 + c
			if end > len(msg) {
				return 0, 0, ErrDNSTruncated
			}
			if wire += 1 + c; wire > maxWireName {
				return 0, 0, ErrDNSNameTooLong
			}
			if n > 0 {
				buf[n] = '.'
				n++
			}
			if c < 8 {
				n = appendEscaped(buf, n, msg[pos+1:end]) // inlined: short labels are most
			} else {
				n = appendLabel(buf, n, msg[pos+1:end])
			}
			pos = end
		case 0xc0:
			if pos+1 >= len(msg) {
				return 0, 0, ErrDNSTruncated
			}
			if next < 0 {
				next = pos + 2
			}
			ptr := (c&0x3f)<<8 | int(msg[pos+1])
			if ptr < dnsHeaderLen || ptr >= lowest {
				return 0, 0, ErrDNSPointer
			}
			if jumps++; jumps > maxNameJumps {
				return 0, 0, ErrDNSTooManyJumps
			}
			lowest, pos = ptr, ptr
		default:
			return 0, 0, ErrDNSLabelType
		}
	}
}

// appendLabel writes label at buf[n:] lower-cased, with '.' and '\\'
// escaped, and returns the new length. Labels are copied whole and
// lower-cased in place eight bytes at a time; only one that holds a byte
// to escape (rare: DNS-SD instance names) is written byte by byte.
func appendLabel(buf *NameBuf, n int, label []byte) int {
	dst := buf[n : n+len(label)]
	copy(dst, label)
	i := 0
	for ; i+8 <= len(dst); i += 8 {
		w := binary.LittleEndian.Uint64(dst[i:])
		if bytesEqual(w, '.')|bytesEqual(w, '\\') != 0 {
			return appendEscaped(buf, n, label)
		}
		binary.LittleEndian.PutUint64(dst[i:], w|upperASCII(w)>>2) // 0x80>>2 is 'a'-'A'
	}
	for ; i < len(dst); i++ {
		switch b := dst[i]; {
		case b-'A' < 26:
			dst[i] = b + 'a' - 'A'
		case b == '.' || b == '\\':
			return appendEscaped(buf, n, label)
		}
	}
	return n + len(label)
}

const (
	ones64 = 0x0101010101010101
	low7   = 0x7f * ones64
	high1  = 0x80 * ones64
)

// bytesEqual has the high bit set in each byte of w equal to c, and no
// other bit (exact: no borrow between bytes).
func bytesEqual(w uint64, c byte) uint64 {
	v := w ^ uint64(c)*ones64
	return ^((v&low7 + low7) | v | low7)
}

// upperASCII has the high bit set in each byte of w in 'A'..'Z', and no
// other bit (the "has between" of Bit Twiddling Hacks, exact per byte).
func upperASCII(w uint64) uint64 {
	x := w & low7
	return (ones64*(127+'Z'+1) - x) & ^w & (x + ones64*(127-('A'-1))) & high1
}

// appendEscaped is appendLabel byte by byte.
func appendEscaped(buf *NameBuf, n int, label []byte) int {
	for _, b := range label {
		switch {
		case b-'A' < 26:
			b += 'a' - 'A'
		case b == '.' || b == '\\':
			buf[n] = '\\'
			n++
		}
		buf[n] = b
		n++
	}
	return n
}

// skipName returns the offset just past the name at off without following
// its pointer, for names whose text nobody needs. It still applies readName's
// structural checks to the bytes it walks so that both agree on which
// messages are malformed as far as those bytes go.
func skipName(msg []byte, off int) (int, error) {
	start := off
	wire := 1
	for {
		if off >= len(msg) {
			return 0, ErrDNSTruncated
		}
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1, nil
			}
			if wire += 1 + c; wire > maxWireName {
				return 0, ErrDNSNameTooLong
			}
			off += 1 + c
		case 0xc0:
			if off+1 >= len(msg) {
				return 0, ErrDNSTruncated
			}
			if ptr := (c&0x3f)<<8 | int(msg[off+1]); ptr < dnsHeaderLen || ptr >= start {
				return 0, ErrDNSPointer
			}
			return off + 2, nil
		default:
			return 0, ErrDNSLabelType
		}
	}
}

// StripTCPLengthIf strips DNS's TCP length prefix when proto is TCP.
func StripTCPLengthIf(proto uint8, payload []byte) []byte {
	if proto == decode.ProtoTCP {
		return StripTCPLength(payload)
	}
	return payload
}
