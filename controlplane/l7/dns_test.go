package l7

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/dns/dnsmessage"
)

// Messages are packed by x/net's dnsmessage (which compresses names) or by
// gopacket (which does not), so the bytes under test are not produced by the
// code under test. Malformed messages start from a library-built message and
// add the few hand-written bytes no encoder would emit. Expected values are
// literals.

type addrRec struct {
	QName, Owner string
	Addr         netip.Addr
}

type dnsCase struct {
	name    string
	msg     []byte
	ok      bool
	info    DNSInfo   // checked when ok
	answers []addrRec // records DNSAnswers must deliver (before err, if any)
	err     error     // DNSAnswers' error
}

func mustPack(tb testing.TB, m dnsmessage.Message) []byte {
	tb.Helper()
	b, err := m.Pack()
	if err != nil {
		tb.Fatalf("dnsmessage pack: %v", err)
	}
	return b
}

func gopacketPack(tb testing.TB, d *layers.DNS) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := d.SerializeTo(buf, gopacket.SerializeOptions{FixLengths: true}); err != nil {
		tb.Fatalf("gopacket serialize: %v", err)
	}
	return buf.Bytes()
}

func question(name string, t dnsmessage.Type) dnsmessage.Question {
	return dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: t, Class: dnsmessage.ClassINET}
}

func rr(owner string, body dnsmessage.ResourceBody) dnsmessage.Resource {
	return dnsmessage.Resource{
		Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(owner), Class: dnsmessage.ClassINET, TTL: 300},
		Body:   body,
	}
}

func aBody(s string) *dnsmessage.AResource {
	return &dnsmessage.AResource{A: netip.MustParseAddr(s).As4()}
}

func aaaaBody(s string) *dnsmessage.AAAAResource {
	return &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(s).As16()}
}

func cnameBody(s string) *dnsmessage.CNAMEResource {
	return &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(s)}
}

func respHeader(id uint16) dnsmessage.Header {
	return dnsmessage.Header{ID: id, Response: true, RecursionDesired: true, RecursionAvailable: true}
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// rawRecord encodes a resource record around an owner given in wire form, for
// owners no encoder would write (pointer chains, loops, over-long names).
func rawRecord(owner []byte, typ, class uint16, rdata []byte) []byte {
	b := append([]byte(nil), owner...)
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, class)
	b = binary.BigEndian.AppendUint32(b, 300)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

// withRaw packs m and appends answer records built by the funcs, each given
// the offset it will start at so it can point at itself or at earlier bytes.
func withRaw(tb testing.TB, m dnsmessage.Message, recs ...func(off int) []byte) []byte {
	tb.Helper()
	b := mustPack(tb, m)
	for _, r := range recs {
		b = append(b, r(len(b))...)
	}
	binary.BigEndian.PutUint16(b[6:], uint16(len(m.Answers)+len(recs)))
	return b
}

func ptr(off int) []byte { return []byte{0xc0 | byte(off>>8), byte(off)} }

// header12 is a bare header for hand-made messages.
func header12(id uint16, flags uint16, qd, an uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint16(b, qd)
	b = binary.BigEndian.AppendUint16(b, an)
	return append(b, 0, 0, 0, 0)
}

// qTail is QTYPE=A, QCLASS=IN.
func qTail() []byte { return []byte{0, 1, 0, 1} }

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// pointerChain builds a response whose A record owner reaches the question
// name through `hops` compression pointers: one in the owner, the rest in a
// chain stored in the RDATA of a NULL record, each pointing at the previous.
func pointerChain(tb testing.TB, hops int) []byte {
	m := dnsmessage.Message{Header: respHeader(9), Questions: []dnsmessage.Question{question("target.example.", dnsmessage.TypeA)}}
	var chainEnd int
	return withRaw(tb, m,
		func(off int) []byte {
			ownerLen := 2
			rdStart := off + ownerLen + 10
			var rd []byte
			rd = append(rd, ptr(dnsHeaderLen)...)
			for i := 1; i < hops-1; i++ {
				rd = append(rd, ptr(rdStart+2*(i-1))...)
			}
			chainEnd = rdStart + len(rd) - 2
			return rawRecord(ptr(dnsHeaderLen), 10, 1, rd)
		},
		func(int) []byte { return rawRecord(ptr(chainEnd), 1, 1, []byte{198, 51, 100, 7}) },
	)
}

func dnsCases(tb testing.TB) []dnsCase {
	tb.Helper()
	var cases []dnsCase
	add := func(c dnsCase) { cases = append(cases, c) }

	// --- queries ---
	add(dnsCase{
		name: "query A",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 0x1234, RecursionDesired: true},
			Questions: []dnsmessage.Question{question("www.example.com.", dnsmessage.TypeA)},
		}),
		ok:   true,
		info: DNSInfo{ID: 0x1234, QType: 1, QName: "www.example.com"},
	})
	add(dnsCase{
		name: "query 0x20 mixed case AAAA",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 1},
			Questions: []dnsmessage.Question{question("wWw.ExAmPlE.CoM.", dnsmessage.TypeAAAA)},
		}),
		ok:   true,
		info: DNSInfo{ID: 1, QType: 28, QName: "www.example.com"},
	})
	add(dnsCase{
		name: "query root NS (priming)",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 2},
			Questions: []dnsmessage.Question{question(".", dnsmessage.TypeNS)},
		}),
		ok:   true,
		info: DNSInfo{ID: 2, QType: 2, QName: ""},
	})
	add(dnsCase{
		name: "query PTR",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 3},
			Questions: []dnsmessage.Question{question("4.3.2.1.in-addr.arpa.", dnsmessage.TypePTR)},
		}),
		ok:   true,
		info: DNSInfo{ID: 3, QType: 12, QName: "4.3.2.1.in-addr.arpa"},
	})
	add(dnsCase{
		name: "query ANY via gopacket",
		msg: gopacketPack(tb, &layers.DNS{
			ID:        4,
			Questions: []layers.DNSQuestion{{Name: []byte("Example.NET"), Type: layers.DNSType(255), Class: layers.DNSClassIN}}, // gopacket has no name for ANY
		}),
		ok:   true,
		info: DNSInfo{ID: 4, QType: 255, QName: "example.net"},
	})
	add(dnsCase{
		// An answer in a query is the asker's claim; it must not name hosts.
		name: "query carrying an answer is not harvested",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 5},
			Questions: []dnsmessage.Question{question("bank.example.", dnsmessage.TypeA)},
			Answers:   []dnsmessage.Resource{rr("bank.example.", aBody("203.0.113.66"))},
		}),
		ok:   true,
		info: DNSInfo{ID: 5, QType: 1, QName: "bank.example", NumAnswers: 1},
	})
	longName := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	add(dnsCase{
		name: "query 255-octet name",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 6},
			Questions: []dnsmessage.Question{question(longName+".", dnsmessage.TypeA)},
		}),
		ok:   true,
		info: DNSInfo{ID: 6, QType: 1, QName: longName},
	})
	add(dnsCase{
		name: "NOTIFY opcode",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 7, OpCode: 4, Authoritative: true},
			Questions: []dnsmessage.Question{question("zone.example.", dnsmessage.TypeSOA)},
		}),
		ok:   true,
		info: DNSInfo{ID: 7, Opcode: 4, QType: 6, QName: "zone.example"},
	})

	// --- responses ---
	add(dnsCase{
		name: "response two A",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    respHeader(0xbeef),
			Questions: []dnsmessage.Question{question("example.org.", dnsmessage.TypeA)},
			Answers: []dnsmessage.Resource{
				rr("example.org.", aBody("93.184.216.34")),
				rr("example.org.", aBody("93.184.216.35")),
			},
		}),
		ok:   true,
		info: DNSInfo{ID: 0xbeef, Response: true, QType: 1, QName: "example.org", NumAnswers: 2},
		answers: []addrRec{
			{"example.org", "example.org", ip("93.184.216.34")},
			{"example.org", "example.org", ip("93.184.216.35")},
		},
	})
	add(dnsCase{
		name: "response AAAA",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    respHeader(10),
			Questions: []dnsmessage.Question{question("ipv6.example.net.", dnsmessage.TypeAAAA)},
			Answers:   []dnsmessage.Resource{rr("ipv6.example.net.", aaaaBody("2001:db8::1"))},
		}),
		ok:      true,
		info:    DNSInfo{ID: 10, Response: true, QType: 28, QName: "ipv6.example.net", NumAnswers: 1},
		answers: []addrRec{{"ipv6.example.net", "ipv6.example.net", ip("2001:db8::1")}},
	})
	add(dnsCase{
		name: "CNAME chain compressed",
		msg:  cnameChainCompressed(tb),
		ok:   true,
		info: DNSInfo{ID: 11, Response: true, QType: 1, QName: "www.x.com", NumAnswers: 5},
		answers: []addrRec{
			{"www.x.com", "e1.z.akamaiedge.net", ip("1.2.3.4")},
			{"www.x.com", "e1.z.akamaiedge.net", ip("1.2.3.5")},
			{"www.x.com", "e1.z.akamaiedge.net", ip("2001:db8::5")},
		},
	})
	add(dnsCase{
		name: "CNAME chain mixed case",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    respHeader(12),
			Questions: []dnsmessage.Question{question("WWW.X.com.", dnsmessage.TypeA)},
			Answers: []dnsmessage.Resource{
				rr("www.X.COM.", cnameBody("Edge.Y.net.")),
				rr("EDGE.y.NET.", aBody("10.0.0.1")),
			},
		}),
		ok:      true,
		info:    DNSInfo{ID: 12, Response: true, QType: 1, QName: "www.x.com", NumAnswers: 2},
		answers: []addrRec{{"www.x.com", "edge.y.net", ip("10.0.0.1")}},
	})
	add(dnsCase{
		name: "NXDOMAIN with SOA",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 13, Response: true, RCode: dnsmessage.RCodeNameError},
			Questions: []dnsmessage.Question{question("nope.example.", dnsmessage.TypeA)},
			Authorities: []dnsmessage.Resource{rr("example.", &dnsmessage.SOAResource{
				NS: dnsmessage.MustNewName("ns.example."), MBox: dnsmessage.MustNewName("host.example."),
				Serial: 1, Refresh: 2, Retry: 3, Expire: 4, MinTTL: 5,
			})},
		}),
		ok:   true,
		info: DNSInfo{ID: 13, Response: true, RCode: 3, QType: 1, QName: "nope.example"},
	})
	add(dnsCase{
		name: "NXDOMAIN after CNAME",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 14, Response: true, RCode: dnsmessage.RCodeNameError},
			Questions: []dnsmessage.Question{question("alias.example.", dnsmessage.TypeA)},
			Answers:   []dnsmessage.Resource{rr("alias.example.", cnameBody("gone.example."))},
		}),
		ok:   true,
		info: DNSInfo{ID: 14, Response: true, RCode: 3, QType: 1, QName: "alias.example", NumAnswers: 1},
	})
	add(dnsCase{
		name: "MX TXT NS skipped, additional glue ignored",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    respHeader(15),
			Questions: []dnsmessage.Question{question("example.com.", dnsmessage.TypeMX)},
			Answers: []dnsmessage.Resource{
				rr("example.com.", &dnsmessage.MXResource{Pref: 10, MX: dnsmessage.MustNewName("mail.example.com.")}),
				rr("example.com.", &dnsmessage.TXTResource{TXT: []string{"v=spf1 -all"}}),
				rr("example.com.", &dnsmessage.NSResource{NS: dnsmessage.MustNewName("ns1.example.com.")}),
				rr("mail.example.com.", aBody("192.0.2.25")),
			},
			Additionals: []dnsmessage.Resource{rr("ns1.example.com.", aBody("192.0.2.53"))},
		}),
		ok:      true,
		info:    DNSInfo{ID: 15, Response: true, QType: 15, QName: "example.com", NumAnswers: 4},
		answers: []addrRec{{"example.com", "mail.example.com", ip("192.0.2.25")}},
	})
	add(dnsCase{
		name: "two questions, qname is the first",
		msg: mustPack(tb, dnsmessage.Message{
			Header: respHeader(16),
			Questions: []dnsmessage.Question{
				question("a.example.", dnsmessage.TypeA),
				question("b.example.", dnsmessage.TypeAAAA),
			},
			Answers: []dnsmessage.Resource{
				rr("a.example.", aBody("192.0.2.1")),
				rr("b.example.", aaaaBody("2001:db8::b")),
			},
		}),
		ok:   true,
		info: DNSInfo{ID: 16, Response: true, QType: 1, QName: "a.example", NumAnswers: 2},
		answers: []addrRec{
			{"a.example", "a.example", ip("192.0.2.1")},
			{"a.example", "b.example", ip("2001:db8::b")},
		},
	})
	add(dnsCase{
		name: "response without question",
		msg:  mustPack(tb, dnsmessage.Message{Header: dnsmessage.Header{ID: 17, Response: true, RCode: dnsmessage.RCodeFormatError}}),
		ok:   true,
		info: DNSInfo{ID: 17, Response: true, RCode: 1},
	})
	add(dnsCase{
		// mDNS answers carry no question and set the cache-flush bit in the
		// class; a CHAOS-class A record is not an address of anything.
		name: "mDNS cache-flush and CHAOS class",
		msg: gopacketPack(tb, &layers.DNS{
			ID: 0, QR: true, AA: true,
			Answers: []layers.DNSResourceRecord{
				{Name: []byte("Printer.local"), Type: layers.DNSTypeA, Class: 0x8001, TTL: 120, IP: net.ParseIP("192.168.1.50")},
				{Name: []byte("chaos.local"), Type: layers.DNSTypeA, Class: layers.DNSClassCH, TTL: 120, IP: net.ParseIP("192.168.1.51")},
				{Name: []byte("printer.local"), Type: layers.DNSTypeAAAA, Class: 0x8001, TTL: 120, IP: net.ParseIP("fe80::50")},
			},
		}),
		ok:   true,
		info: DNSInfo{Response: true, NumAnswers: 3},
		answers: []addrRec{
			{"", "printer.local", ip("192.168.1.50")},
			{"", "printer.local", ip("fe80::50")},
		},
	})
	add(dnsCase{
		name: "truncated (TC) response keeps what is there",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 18, Response: true, Truncated: true},
			Questions: []dnsmessage.Question{question("big.example.", dnsmessage.TypeA)},
			Answers:   []dnsmessage.Resource{rr("big.example.", aBody("192.0.2.99"))},
		}),
		ok:      true,
		info:    DNSInfo{ID: 18, Response: true, QType: 1, QName: "big.example", NumAnswers: 1},
		answers: []addrRec{{"big.example", "big.example", ip("192.0.2.99")}},
	})
	add(dnsCase{
		name:    "pointer chain at the jump limit",
		msg:     pointerChain(tb, maxNameJumps),
		ok:      true,
		info:    DNSInfo{ID: 9, Response: true, QType: 1, QName: "target.example", NumAnswers: 2},
		answers: []addrRec{{"target.example", "target.example", ip("198.51.100.7")}},
	})
	add(dnsCase{
		name: "pointer chain over the jump limit",
		msg:  pointerChain(tb, maxNameJumps+1),
		ok:   true,
		info: DNSInfo{ID: 9, Response: true, QType: 1, QName: "target.example", NumAnswers: 2},
		err:  ErrDNSTooManyJumps,
	})
	// "a.b" is one label and "\x" another: without escaping it would read as
	// the three-label name a.b.\x.example.
	add(dnsCase{
		name: "dot and backslash inside labels are escaped",
		msg:  cat(header12(19, 0x0100, 1, 0), []byte("\x03A.b\x02\\X\x07example\x00"), qTail()),
		ok:   true,
		info: DNSInfo{ID: 19, QType: 1, QName: `a\.b.\\x.example`},
	})
	add(dnsCase{
		name: "non-ASCII bytes kept raw, ASCII lowered",
		msg:  cat(header12(20, 0, 1, 0), []byte("\x04Caf\xc3\x05LOCAL\x00"), qTail()),
		ok:   true,
		info: DNSInfo{ID: 20, QType: 1, QName: "caf\xc3.local"},
	})

	// --- malformed ---
	add(dnsCase{name: "empty", msg: nil, err: ErrDNSShort})
	add(dnsCase{name: "11 bytes", msg: header12(1, 0x8000, 0, 0)[:11], err: ErrDNSShort})
	add(dnsCase{name: "query without question", msg: header12(21, 0x0100, 0, 0)})
	add(dnsCase{
		name: "question is a pointer to itself",
		msg:  cat(header12(22, 0x8180, 1, 0), ptr(12), qTail()),
		err:  ErrDNSPointer,
	})
	add(dnsCase{
		name: "question label then pointer back to its own start",
		msg:  cat(header12(23, 0x8180, 1, 0), []byte("\x03www"), ptr(12), qTail()),
		err:  ErrDNSPointer,
	})
	add(dnsCase{
		name: "question pointer forward",
		msg:  cat(header12(24, 0x8180, 1, 0), ptr(18), qTail(), []byte("\x03www\x00")),
		err:  ErrDNSPointer,
	})
	add(dnsCase{
		name: "question pointer past the end",
		msg:  cat(header12(25, 0x8180, 1, 0), []byte("\x01a"), ptr(0x3fff), qTail()),
		err:  ErrDNSPointer,
	})
	add(dnsCase{
		name: "question pointer into the header",
		msg:  cat(header12(26, 0x8180, 1, 0), []byte("\x01a"), ptr(2), qTail()),
		err:  ErrDNSPointer,
	})
	add(dnsCase{name: "reserved label type 0x40", msg: cat(header12(27, 0x8180, 1, 0), []byte{0x41, 0}, qTail()), err: ErrDNSLabelType})
	add(dnsCase{name: "reserved label type 0x80", msg: cat(header12(28, 0x8180, 1, 0), []byte{0x81, 0}, qTail()), err: ErrDNSLabelType})
	add(dnsCase{name: "label runs past the end", msg: cat(header12(29, 0x8180, 1, 0), []byte("\x3fshort")), err: ErrDNSTruncated})
	add(dnsCase{name: "pointer cut in half", msg: cat(header12(30, 0x8180, 1, 0), []byte{0xc0}), err: ErrDNSTruncated})
	add(dnsCase{name: "question without QTYPE/QCLASS", msg: cat(header12(31, 0x8180, 1, 0), []byte("\x01a\x00\x00\x01")), err: ErrDNSTruncated})
	add(dnsCase{
		// gopacket does not enforce the 255-octet limit, so it can write
		// a 256-octet name for us.
		name: "question name of 256 octets",
		msg: gopacketPack(tb, &layers.DNS{
			ID: 32, QR: true,
			Questions: []layers.DNSQuestion{{Name: []byte(longName + "d"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}},
		}),
		err: ErrDNSNameTooLong,
	})

	q193 := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63)
	longQ := dnsmessage.Message{Header: respHeader(33), Questions: []dnsmessage.Question{question(q193+".", dnsmessage.TypeA)}}
	add(dnsCase{
		name: "owner reaches exactly 255 octets through a pointer",
		msg: withRaw(tb, longQ, func(int) []byte {
			return rawRecord(cat([]byte{61}, []byte(strings.Repeat("Y", 61)), ptr(12)), 1, 1, []byte{192, 0, 2, 1})
		}),
		ok:      true,
		info:    DNSInfo{ID: 33, Response: true, QType: 1, QName: q193, NumAnswers: 1},
		answers: []addrRec{{q193, strings.Repeat("y", 61) + "." + q193, ip("192.0.2.1")}},
	})
	add(dnsCase{
		name: "owner exceeds 255 octets through a pointer",
		msg: withRaw(tb, longQ, func(int) []byte {
			return rawRecord(cat([]byte{62}, []byte(strings.Repeat("y", 62)), ptr(12)), 1, 1, []byte{192, 0, 2, 1})
		}),
		ok:   true,
		info: DNSInfo{ID: 33, Response: true, QType: 1, QName: q193, NumAnswers: 1},
		err:  ErrDNSNameTooLong,
	})

	base := dnsmessage.Message{
		Header:    respHeader(34),
		Questions: []dnsmessage.Question{question("loop.example.", dnsmessage.TypeA)},
		Answers:   []dnsmessage.Resource{rr("loop.example.", aBody("192.0.2.34"))},
	}
	baseInfo := DNSInfo{ID: 34, Response: true, QType: 1, QName: "loop.example", NumAnswers: 2}
	baseAns := []addrRec{{"loop.example", "loop.example", ip("192.0.2.34")}}
	add(dnsCase{
		name: "answer owner loops onto itself",
		msg: withRaw(tb, base, func(off int) []byte {
			return rawRecord(cat([]byte("\x01b"), ptr(off)), 1, 1, []byte{192, 0, 2, 2})
		}),
		ok: true, info: baseInfo, answers: baseAns, err: ErrDNSPointer,
	})
	add(dnsCase{
		// The A owner y→X is backwards and legal; X is CNAME RDATA
		// (never walked by DNSAnswers) pointing forward at the owner again.
		// Only the strictly-backwards rule stops this before the jump cap.
		name: "two-name loop through CNAME RDATA",
		msg: func() []byte {
			var rdStart int
			return withRaw(tb, base,
				func(off int) []byte {
					rdStart = off + 2 + 10
					rd := cat([]byte("\x01x"), ptr(rdStart+4)) // the next record's owner
					return rawRecord(ptr(12), 5, 1, rd)
				},
				func(off int) []byte {
					return rawRecord(cat([]byte("\x01y"), ptr(rdStart)), 1, 1, []byte{192, 0, 2, 3})
				},
			)
		}(),
		ok: true, info: DNSInfo{ID: 34, Response: true, QType: 1, QName: "loop.example", NumAnswers: 3},
		answers: baseAns, err: ErrDNSPointer,
	})
	add(dnsCase{
		// Owner Z→X, X→Y, Y→X with X < Y < Z: every pointer lands before
		// the owner's start, so only "below every offset used so far"
		// (not merely "below where the name began") catches it at once.
		name: "three-name loop, each pointer before the owner",
		msg: func() []byte {
			var x, y int
			return withRaw(tb, base,
				func(off int) []byte {
					x = off + 2 + 10
					y = x + 4 + 2 + 10 // RDATA of the next record
					return rawRecord(ptr(12), 5, 1, cat([]byte("\x01x"), ptr(y)))
				},
				func(int) []byte { return rawRecord(ptr(12), 5, 1, cat([]byte("\x01y"), ptr(x))) },
				func(int) []byte { return rawRecord(cat([]byte("\x01z"), ptr(x)), 1, 1, []byte{192, 0, 2, 3}) },
			)
		}(),
		ok: true, info: DNSInfo{ID: 34, Response: true, QType: 1, QName: "loop.example", NumAnswers: 4},
		answers: baseAns, err: ErrDNSPointer,
	})
	add(dnsCase{
		// Owners of records that are skipped get the same pointer checks,
		// so whether a message is malformed does not depend on record type.
		name: "skipped CNAME owner points forward",
		msg: withRaw(tb, base,
			func(off int) []byte { return rawRecord(ptr(off+14), 5, 1, []byte{0}) },
			func(int) []byte { return rawRecord(ptr(12), 1, 1, []byte{192, 0, 2, 9}) },
		),
		ok: true, info: DNSInfo{ID: 34, Response: true, QType: 1, QName: "loop.example", NumAnswers: 3},
		answers: baseAns, err: ErrDNSPointer,
	})
	add(dnsCase{
		name: "answer owner points forward",
		msg: withRaw(tb, base, func(off int) []byte {
			return rawRecord(ptr(off+100), 1, 1, []byte{192, 0, 2, 4})
		}),
		ok: true, info: baseInfo, answers: baseAns, err: ErrDNSPointer,
	})
	add(dnsCase{
		name: "A record with 5-byte RDATA",
		msg: mustPack(tb, dnsmessage.Message{
			Header:    respHeader(35),
			Questions: []dnsmessage.Question{question("odd.example.", dnsmessage.TypeA)},
			Answers: []dnsmessage.Resource{
				rr("odd.example.", aBody("192.0.2.5")),
				rr("odd.example.", &dnsmessage.UnknownResource{Type: dnsmessage.TypeA, Data: []byte{192, 0, 2, 6, 0}}),
			},
		}),
		ok:      true,
		info:    DNSInfo{ID: 35, Response: true, QType: 1, QName: "odd.example", NumAnswers: 2},
		answers: []addrRec{{"odd.example", "odd.example", ip("192.0.2.5")}},
		err:     ErrDNSRDataLength,
	})
	add(dnsCase{
		name: "ANCOUNT larger than the records present",
		msg: func() []byte {
			b := mustPack(tb, base)
			binary.BigEndian.PutUint16(b[6:], 3)
			return b
		}(),
		ok:      true,
		info:    DNSInfo{ID: 34, Response: true, QType: 1, QName: "loop.example", NumAnswers: 3},
		answers: baseAns, err: ErrDNSTruncated,
	})
	return cases
}

// cnameChainCompressed is the ntopng example: www.x.com → CNAME edge.y.net
// → CNAME e1.z.akamaiedge.net → A/AAAA, packed with name compression.
func cnameChainCompressed(tb testing.TB) []byte {
	return mustPack(tb, cnameChainMsg())
}

func cnameChainMsg() dnsmessage.Message {
	return dnsmessage.Message{
		Header:    respHeader(11),
		Questions: []dnsmessage.Question{question("www.x.com.", dnsmessage.TypeA)},
		Answers: []dnsmessage.Resource{
			rr("www.x.com.", cnameBody("edge.y.net.")),
			rr("edge.y.net.", cnameBody("e1.z.akamaiedge.net.")),
			rr("e1.z.akamaiedge.net.", aBody("1.2.3.4")),
			rr("e1.z.akamaiedge.net.", aBody("1.2.3.5")),
			rr("e1.z.akamaiedge.net.", aaaaBody("2001:db8::5")),
		},
	}
}

func collectAnswers(msg []byte) ([]addrRec, error) {
	var got []addrRec
	err := DNSAnswers(msg, func(q, o string, a netip.Addr) { got = append(got, addrRec{q, o, a}) })
	return got, err
}

func TestParseDNS(t *testing.T) {
	for _, c := range dnsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			info, ok := ParseDNS(c.msg)
			if ok != c.ok {
				t.Fatalf("ok = %v, want %v (info %+v)", ok, c.ok, info)
			}
			if ok && info != c.info {
				t.Errorf("info =\n  %+v\nwant\n  %+v", info, c.info)
			}
			if !ok && info != (DNSInfo{}) {
				t.Errorf("rejected message returned non-zero info %+v", info)
			}
		})
	}
}

func TestDNSAnswers(t *testing.T) {
	for _, c := range dnsCases(t) {
		t.Run(c.name, func(t *testing.T) {
			got, err := collectAnswers(c.msg)
			if err != c.err {
				t.Errorf("err = %v, want %v", err, c.err)
			}
			if !slices.Equal(got, c.answers) {
				t.Errorf("answers =\n  %v\nwant\n  %v", got, c.answers)
			}
			crossCheck(t, c.msg)
		})
	}
}

// The same message with and without compression must read the same, and the
// compressed one must really contain pointers for this to mean anything.
func TestCompressionEquivalence(t *testing.T) {
	compressed := cnameChainCompressed(t)
	plain := gopacketPack(t, &layers.DNS{
		ID: 11, QR: true, RD: true, RA: true,
		Questions: []layers.DNSQuestion{{Name: []byte("www.x.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}},
		Answers: []layers.DNSResourceRecord{
			{Name: []byte("www.x.com"), Type: layers.DNSTypeCNAME, Class: layers.DNSClassIN, TTL: 300, CNAME: []byte("edge.y.net")},
			{Name: []byte("edge.y.net"), Type: layers.DNSTypeCNAME, Class: layers.DNSClassIN, TTL: 300, CNAME: []byte("e1.z.akamaiedge.net")},
			{Name: []byte("e1.z.akamaiedge.net"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300, IP: net.ParseIP("1.2.3.4")},
			{Name: []byte("e1.z.akamaiedge.net"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 300, IP: net.ParseIP("1.2.3.5")},
			{Name: []byte("e1.z.akamaiedge.net"), Type: layers.DNSTypeAAAA, Class: layers.DNSClassIN, TTL: 300, IP: net.ParseIP("2001:db8::5")},
		},
	})
	if len(compressed) >= len(plain) {
		t.Fatalf("compressed %d bytes, plain %d: dnsmessage did not compress", len(compressed), len(plain))
	}
	ic, okc := ParseDNS(compressed)
	ipl, okp := ParseDNS(plain)
	if !okc || !okp || ic != ipl {
		t.Fatalf("ParseDNS differs: compressed %+v %v, plain %+v %v", ic, okc, ipl, okp)
	}
	ac, errc := collectAnswers(compressed)
	ap, errp := collectAnswers(plain)
	if errc != nil || errp != nil || !slices.Equal(ac, ap) || len(ac) != 3 {
		t.Fatalf("answers differ: compressed %v %v, plain %v %v", ac, errc, ap, errp)
	}
}

// Every prefix of a valid message must be handled without panicking:
// ParseDNS succeeds exactly once the first question is complete, and
// DNSAnswers reports truncation after delivering only complete records.
func TestTruncatedPrefixes(t *testing.T) {
	m := cnameChainMsg()
	full := mustPack(t, m)
	qEnd := len(mustPack(t, dnsmessage.Message{Header: m.Header, Questions: m.Questions}))
	want, err := collectAnswers(full)
	if err != nil || len(want) != 3 {
		t.Fatalf("full message: %v %v", want, err)
	}
	for n := range len(full) {
		p := full[:n:n] // cap so a read past the end would fault, not see the rest
		if _, ok := ParseDNS(p); ok != (n >= qEnd) {
			t.Errorf("prefix %d: ParseDNS ok = %v, want %v", n, ok, n >= qEnd)
		}
		got, err := collectAnswers(p)
		if err != ErrDNSTruncated && err != ErrDNSShort {
			t.Errorf("prefix %d: err = %v, want truncation", n, err)
		}
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Errorf("prefix %d: got %v, not a prefix of %v", n, got, want)
		}
	}
}

func TestStripTCPLength(t *testing.T) {
	msg := cnameChainCompressed(t)
	framed := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	framed = append(framed, msg...)

	for _, c := range []struct {
		name    string
		payload []byte
		want    []byte
	}{
		{"nil", nil, nil},
		{"one byte", []byte{0}, nil},
		{"zero length", []byte{0, 0, 1, 2}, []byte{}},
		{"whole message", framed, msg},
		{"pipelined second message cut off", append(slices.Clone(framed), framed...), msg},
		{"segment shorter than announced", framed[:30], msg[:28]},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := StripTCPLength(c.payload)
			if (got == nil) != (c.want == nil) || !slices.Equal(got, c.want) {
				t.Fatalf("got %x, want %x", got, c.want)
			}
		})
	}

	info, ok := ParseDNS(StripTCPLength(framed))
	if !ok || info.QName != "www.x.com" || info.ID != 11 {
		t.Fatalf("ParseDNS over TCP: %+v %v", info, ok)
	}
	// Appending to the stripped message must not overwrite the next one.
	two := append(slices.Clone(framed), framed...)
	_ = append(StripTCPLength(two), 0xff)
	if two[len(framed)] != framed[0] {
		t.Fatal("append to stripped message clobbered the pipelined message")
	}
}

func TestDNSAnswersAllocs(t *testing.T) {
	msg := cnameChainCompressed(t)
	fn := func(string, string, netip.Addr) {}
	// One string for the question, one for the owner shared by its three
	// address records.
	if n := testing.AllocsPerRun(100, func() { _ = DNSAnswers(msg, fn) }); n > 2 {
		t.Errorf("DNSAnswers: %v allocs/op, want <= 2", n)
	}
	if n := testing.AllocsPerRun(100, func() { ParseDNS(msg) }); n > 1 {
		t.Errorf("ParseDNS: %v allocs/op, want <= 1", n)
	}
}

// refResult is what x/net's dnsmessage makes of a message, normalised the
// way this package promises to normalise (lower-case ASCII, no trailing dot,
// '\' escaped) and filtered by this package's documented policy (responses
// only, class IN with the mDNS bit masked, exact A/AAAA RDATA length).
type refResult struct {
	q1OK    bool // header and first question parsed (or there is none)
	info    DNSInfo
	ansOK   bool // every question and answer parsed
	answers []addrRec
}

func refName(n dnsmessage.Name) string {
	s := strings.TrimSuffix(n.String(), ".")
	b := make([]byte, 0, len(s))
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c == '\\':
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return string(b)
}

func refParse(msg []byte) (r refResult) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return r
	}
	r.info = DNSInfo{
		ID: h.ID, Response: h.Response, Opcode: uint8(h.OpCode), RCode: uint8(h.RCode),
		NumAnswers: int(binary.BigEndian.Uint16(msg[6:])),
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	r.q1OK = qd == 0
	for i := range qd {
		q, err := p.Question()
		if err != nil {
			return r
		}
		if i == 0 {
			r.q1OK = true
			r.info.QName, r.info.QType = refName(q.Name), uint16(q.Type)
		}
	}
	if err := p.SkipAllQuestions(); err != nil {
		return r
	}
	if !h.Response {
		r.ansOK = true
		return r
	}
	for {
		rh, err := p.AnswerHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return r
		}
		in := rh.Class&0x7fff == 1
		switch {
		case in && rh.Type == dnsmessage.TypeA:
			a, err := p.AResource()
			if err != nil || rh.Length != 4 {
				return r
			}
			r.answers = append(r.answers, addrRec{r.info.QName, refName(rh.Name), netip.AddrFrom4(a.A)})
		case in && rh.Type == dnsmessage.TypeAAAA:
			a, err := p.AAAAResource()
			if err != nil || rh.Length != 16 {
				return r
			}
			r.answers = append(r.answers, addrRec{r.info.QName, refName(rh.Name), netip.AddrFrom16(a.AAAA)})
		default:
			if err := p.SkipAnswer(); err != nil {
				return r
			}
		}
	}
	r.ansOK = true
	return r
}

// hasEscapedDot reports a '.' that was inside a label, which dnsmessage
// refuses (golang/go#56246) and this package escapes.
func hasEscapedDot(s string) bool {
	for i := 0; i < len(s)-1; i++ {
		if s[i] == '\\' {
			if s[i+1] == '.' {
				return true
			}
			i++
		}
	}
	return false
}

// strictPointer reports the errors that come only from this package's
// pointer rules (strictly backwards, not into the header, at most
// maxNameJumps), which dnsmessage does not apply.
func strictPointer(err error) bool { return err == ErrDNSPointer || err == ErrDNSTooManyJumps }

// checkName checks the invariants every returned name must hold.
func checkName(t *testing.T, what, s string) {
	t.Helper()
	if len(s) > nameBufLen {
		t.Errorf("%s: %d bytes", what, len(s))
	}
	label := 0 // bytes in the current label, an escape counting once
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z':
			t.Errorf("%s %q: upper-case byte", what, s)
		case c == '\\':
			if i+1 == len(s) || (s[i+1] != '.' && s[i+1] != '\\') {
				t.Errorf("%s %q: stray backslash", what, s)
			}
			i++
			label++
		case c == '.':
			if label == 0 {
				t.Errorf("%s %q: empty label", what, s)
			}
			label = 0
		default:
			label++
		}
	}
	if s != "" && label == 0 {
		t.Errorf("%s %q: empty last label", what, s)
	}
}

// crossCheck compares both functions with dnsmessage on any input. They may
// only disagree for the documented reasons.
func crossCheck(t *testing.T, msg []byte) {
	t.Helper()
	info, ok := ParseDNS(msg)
	got, err := collectAnswers(msg)
	ref := refParse(msg)

	checkName(t, "QName", info.QName)
	for _, a := range got {
		checkName(t, "qname", a.QName)
		checkName(t, "owner", a.Owner)
		if !a.Addr.IsValid() {
			t.Errorf("invalid address delivered: %+v", a)
		}
		if ok && a.QName != info.QName {
			t.Errorf("DNSAnswers qname %q != ParseDNS QName %q", a.QName, info.QName)
		}
	}

	switch {
	case ok && ref.q1OK:
		if info != ref.info {
			t.Errorf("ParseDNS %+v, dnsmessage %+v", info, ref.info)
		}
	case ok && !ref.q1OK:
		if !hasEscapedDot(info.QName) {
			t.Errorf("ParseDNS accepted %+v, dnsmessage rejected the question", info)
		}
	case !ok && ref.q1OK && len(msg) >= dnsHeaderLen:
		if binary.BigEndian.Uint16(msg[4:]) == 0 {
			if ref.info.Response {
				t.Errorf("response without question rejected")
			}
			break
		}
		var buf NameBuf
		if _, _, nerr := readName(msg, dnsHeaderLen, &buf); !strictPointer(nerr) {
			t.Errorf("ParseDNS rejected a question dnsmessage accepts (%+v), name error %v", ref.info, nerr)
		}
	}

	if err != nil && len(got) > len(ref.answers) && ref.ansOK {
		t.Errorf("delivered %v before %v, dnsmessage has only %v", got, err, ref.answers)
	}
	switch {
	case err == nil && ref.ansOK:
		if !slices.Equal(got, ref.answers) {
			t.Errorf("answers %v, dnsmessage %v", got, ref.answers)
		}
	case err != nil && ref.ansOK:
		if !strictPointer(err) {
			t.Errorf("DNSAnswers: %v where dnsmessage parses %v", err, ref.answers)
		}
		if !slices.Equal(got, ref.answers[:min(len(got), len(ref.answers))]) {
			t.Errorf("delivered %v, not a prefix of dnsmessage's %v", got, ref.answers)
		}
	}
}

func FuzzParseDNS(f *testing.F) {
	for _, c := range dnsCases(f) {
		f.Add(c.msg)
		f.Add(append(binary.BigEndian.AppendUint16(nil, uint16(len(c.msg))), c.msg...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:len(data):len(data)]
		crossCheck(t, data)
		// The same bytes as a TCP payload.
		msg := StripTCPLength(data)
		if len(data) >= 2 {
			if want := min(len(data)-2, int(binary.BigEndian.Uint16(data))); len(msg) != want {
				t.Fatalf("StripTCPLength: %d bytes, want %d", len(msg), want)
			}
		} else if msg != nil {
			t.Fatalf("StripTCPLength of %d bytes: %x", len(data), msg)
		}
		crossCheck(t, msg)
	})
}

func BenchmarkParseDNS(b *testing.B) {
	for _, bc := range []struct {
		name string
		msg  []byte
	}{
		{"query", mustPack(b, dnsmessage.Message{
			Header:    dnsmessage.Header{ID: 1, RecursionDesired: true},
			Questions: []dnsmessage.Question{question("www.example.com.", dnsmessage.TypeA)},
		})},
		{"response-cname-chain", cnameChainCompressed(b)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.msg)))
			for b.Loop() {
				if _, ok := ParseDNS(bc.msg); !ok {
					b.Fatal("not ok")
				}
			}
		})
	}
}

func BenchmarkDNSAnswers(b *testing.B) {
	msg := cnameChainCompressed(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	n := 0
	fn := func(string, string, netip.Addr) { n++ }
	for b.Loop() {
		if err := DNSAnswers(msg, fn); err != nil {
			b.Fatal(err)
		}
	}
	if n == 0 {
		b.Fatal("no answers")
	}
}
