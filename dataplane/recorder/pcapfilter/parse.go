// Package pcapfilter compiles tcpdump (pcap-filter(7)) expressions for
// Ethernet frames to classic BPF and runs them with golang.org/x/net/bpf's
// VM, in pure Go (the firmware has no cgo, so no libpcap).
//
// It covers the common subset: ip, ip6, arp, rarp, tcp, udp, sctp, icmp,
// icmp6, igmp; [src|dst|src or dst|src and dst] host/net/port/portrange with
// ip/ip6/arp/rarp/ether/tcp/udp/sctp qualifiers; ip/ip6/ether proto; vlan
// [id]; ether host/broadcast/multicast; greater/less; and, or, not,
// parentheses and libpcap's reuse of the last qualifiers for a bare id
// ("port 80 or 443"). Anything else (packet-byte expressions such as
// tcp[13], host names, service names) is refused with an error instead of
// being matched differently from tcpdump.
package pcapfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Limits keep hostile input cheap: an expression is at most this long and
// nests at most this deep.
const (
	maxExprLen = 4096
	maxDepth   = 64
)

// ErrUnsupported marks valid tcpdump syntax this compiler does not handle.
var ErrUnsupported = errors.New("not supported")

type token struct {
	s   string
	pos int
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, token{string(c), i})
			i++
		case c == '!':
			if i+1 < len(s) && s[i+1] == '=' {
				return nil, fmt.Errorf("position %d: comparisons (!=) are %w", i, ErrUnsupported)
			}
			toks = append(toks, token{"!", i})
			i++
		case c == '&' || c == '|':
			if i+1 < len(s) && s[i+1] == c {
				toks = append(toks, token{s[i : i+2], i})
				i += 2
				continue
			}
			return nil, fmt.Errorf("position %d: arithmetic (%c) is %w", i, c, ErrUnsupported)
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{s[i:j], i})
			i = j
		case c == '[' || c == ']' || c == '=' || c == '<' || c == '>' || c == '+' || c == '*':
			return nil, fmt.Errorf("position %d: packet-byte expressions and comparisons (%q) are %w", i, c, ErrUnsupported)
		default:
			return nil, fmt.Errorf("position %d: unexpected character %q", i, c)
		}
	}
	return toks, nil
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == ':' || c == '/' || c == '-' || c == '_' || c == '\\'
}

// Qualifier values.
const (
	// directions
	dirSrc    = "src"
	dirDst    = "dst"
	dirSrcDst = "src or dst"
	dirBoth   = "src and dst"
)

var protoQuals = map[string]bool{
	"ether": true, "ip": true, "ip6": true, "arp": true, "rarp": true,
	"tcp": true, "udp": true, "sctp": true, "icmp": true, "icmp6": true, "igmp": true,
}

var typeQuals = map[string]bool{"host": true, "net": true, "port": true, "portrange": true, "proto": true}

// keywords can never be a bare id.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "src": true, "dst": true,
	"vlan": true, "greater": true, "less": true, "broadcast": true, "multicast": true,
	"gateway": true, "mask": true, "len": true, "inbound": true, "outbound": true,
	"mpls": true, "pppoes": true, "pppoed": true, "geneve": true, "ifname": true, "on": true,
}

type quals struct{ proto, dir, typ string }

type parser struct {
	toks  []token
	i     int
	depth int
	last  quals // what a bare id inherits ("host a or b")
	link  uint32
}

// parse builds the match tree of expr; nil means every packet.
func parse(expr string) (node, error) {
	if len(expr) > maxExprLen {
		return nil, fmt.Errorf("expression longer than %d bytes", maxExprLen)
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, nil
	}
	p := &parser{toks: toks, link: 14}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, p.errf("unexpected %q", p.toks[p.i].s)
	}
	return n, nil
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].s
	}
	return ""
}

func (p *parser) peekAt(k int) string {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k].s
	}
	return ""
}

func (p *parser) next() string {
	s := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return s
}

func (p *parser) errf(format string, a ...any) error {
	if p.i < len(p.toks) {
		return fmt.Errorf("position %d: "+format, append([]any{p.toks[p.i].pos}, a...)...)
	}
	return fmt.Errorf("at end of expression: "+format, a...)
}

func isAnd(s string) bool { return s == "and" || s == "&&" }
func isOr(s string) bool  { return s == "or" || s == "||" }
func isNot(s string) bool { return s == "not" || s == "!" }

// expr: and/or have the same precedence and associate left to right, as
// pcap-filter(7) says ("a or b and c" is "(a or b) and c").
func (p *parser) expr() (node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		if !isAnd(op) && !isOr(op) {
			return left, nil
		}
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		if isAnd(op) {
			left = and(left, right)
		} else {
			left = or(left, right)
		}
	}
}

func (p *parser) unary() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, p.errf("nested deeper than %d", maxDepth)
	}
	switch t := p.peek(); {
	case t == "":
		return nil, p.errf("expression expected")
	case isNot(t):
		p.next()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case t == "(":
		p.next()
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			p.i--
			return nil, p.errf("missing )")
		}
		return n, nil
	case t == ")":
		return nil, p.errf("unexpected )")
	}
	return p.primitive()
}

// isID reports whether s can be the id of a primitive (an address, number,
// range, ...), as opposed to a keyword or an operator.
func isID(s string) bool {
	if s == "" || s == "(" || s == ")" || isAnd(s) || isOr(s) || isNot(s) {
		return false
	}
	return !keywords[s] && !protoQuals[s] && !typeQuals[s]
}

func (p *parser) primitive() (node, error) {
	switch t := p.peek(); t {
	case "vlan":
		p.next()
		return p.vlan()
	case "greater", "less":
		p.next()
		v, err := p.number("length")
		if err != nil {
			return nil, err
		}
		if t == "greater" {
			return lenAtom(jge, v), nil
		}
		return notNode{lenAtom(jgt, v)}, nil
	case "broadcast", "multicast":
		p.next()
		return etherCast(t), nil
	}
	if isID(p.peek()) {
		// A bare id takes the qualifiers of the primitive before it.
		if p.last == (quals{}) {
			return nil, p.errf("%q needs a qualifier such as host, net or port", p.peek())
		}
		return p.withID(p.last, p.next())
	}
	var q quals
	if protoQuals[p.peek()] {
		q.proto = p.next()
		if q.proto == "ether" && (p.peek() == "broadcast" || p.peek() == "multicast") {
			return etherCast(p.next()), nil
		}
	}
	if d := p.peek(); d == "src" || d == "dst" {
		p.next()
		q.dir = d
		if (isAnd(p.peek()) || isOr(p.peek())) && (p.peekAt(1) == "src" || p.peekAt(1) == "dst") && p.peekAt(1) != d {
			if isAnd(p.next()) {
				q.dir = dirBoth
			} else {
				q.dir = dirSrcDst
			}
			p.next()
		}
	}
	if typeQuals[p.peek()] {
		q.typ = p.next()
	}
	if q == (quals{}) {
		if t := p.peek(); keywords[t] {
			return nil, p.errf("%q is %w", t, ErrUnsupported)
		}
		return nil, p.errf("unexpected %q", p.peek())
	}
	if !isID(p.peek()) {
		if q.typ != "" || q.dir != "" {
			return nil, p.errf("%s needs a value", strings.TrimSpace(q.proto+" "+q.dir+" "+q.typ))
		}
		return protoOnly(q.proto, p.link)
	}
	p.last = q
	return p.withID(q, p.next())
}

func (p *parser) number(what string) (uint32, error) {
	s := p.next()
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		p.i--
		return 0, p.errf("%s %q is not a number", what, s)
	}
	return uint32(v), nil
}

func (p *parser) vlan() (node, error) {
	l := p.link
	var n node = or(or(etherType(l, 0x8100), etherType(l, 0x88a8)), etherType(l, 0x9100))
	if isID(p.peek()) {
		id, err := p.number("vlan id")
		if err != nil {
			return nil, err
		}
		if id > 4095 {
			return nil, p.errf("vlan id %d above 4095", id)
		}
		n = and(n, atom{ld: ldAbs, off: l, size: 2, mask: 0x0fff, test: jeq, val: id})
	}
	// As libpcap: everything parsed after "vlan" looks 4 bytes further.
	p.link += 4
	return n, nil
}

func (p *parser) withID(q quals, id string) (node, error) {
	typ := q.typ
	dir := q.dir
	if dir == "" {
		dir = dirSrcDst
	}
	switch typ {
	case "port", "portrange":
		return p.port(q.proto, dir, typ, id)
	case "proto":
		if q.dir != "" {
			return nil, p.errf("proto with %s", q.dir)
		}
		return protoNum(q.proto, id, p.link)
	case "", "host", "net":
	default:
		return nil, p.errf("%s %q is %w", typ, id, ErrUnsupported)
	}
	if q.proto == "ether" || isMAC(id) {
		if q.proto != "ether" {
			return nil, p.errf("ethernet address %q used in non-ether expression", id)
		}
		if typ == "net" {
			return nil, p.errf("ether net is %w", ErrUnsupported)
		}
		mac, err := net.ParseMAC(id)
		if err != nil || len(mac) != 6 {
			return nil, p.errf("bad ethernet address %q", id)
		}
		return etherHost(dir, mac), nil
	}
	switch q.proto {
	case "", "ip", "ip6", "arp", "rarp":
	default:
		return nil, p.errf("'%s' modifier applied to %s", q.proto, map[bool]string{true: "net", false: "host"}[typ == "net"])
	}
	addr, bits, err := p.address(id, typ == "net")
	if err != nil {
		return nil, err
	}
	return hostNet(q.proto, dir, addr, bits, p.link)
}

func isMAC(s string) bool {
	if strings.Count(s, ":") != 5 || strings.Contains(s, "::") {
		return false
	}
	_, err := net.ParseMAC(s)
	return err == nil
}

// address parses a host or net id: a full address, or for net a CIDR or
// libpcap's shortened dotted form ("net 192.168.1" is a /24).
func (p *parser) address(id string, isNet bool) (netip.Addr, int, error) {
	if a, err := netip.ParseAddr(id); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return a, a.BitLen(), nil
	}
	if strings.Contains(id, "/") {
		if !isNet {
			return netip.Addr{}, 0, fmt.Errorf("%q: mask syntax for networks only", id)
		}
		pfx, err := netip.ParsePrefix(id)
		if err != nil {
			return netip.Addr{}, 0, fmt.Errorf("bad network %q", id)
		}
		if pfx.Masked() != pfx {
			return netip.Addr{}, 0, fmt.Errorf("non-network bits set in %q", id)
		}
		return pfx.Addr().Unmap(), pfx.Bits(), nil
	}
	if isNet {
		parts := strings.Split(id, ".")
		if len(parts) < 4 {
			var b [4]byte
			ok := true
			for i, s := range parts {
				v, err := strconv.ParseUint(s, 10, 8)
				if err != nil {
					ok = false
					break
				}
				b[i] = byte(v)
			}
			if ok {
				return netip.AddrFrom4(b), 8 * len(parts), nil
			}
		}
	}
	return netip.Addr{}, 0, fmt.Errorf("%q is not an IP address (host names are %w)", id, ErrUnsupported)
}

func (p *parser) port(proto, dir, typ, id string) (node, error) {
	switch proto {
	case "", "tcp", "udp", "sctp", "ip", "ip6":
	default:
		return nil, fmt.Errorf("'%s' modifier applied to %s", proto, typ)
	}
	lo, hi, err := portRange(id, typ == "portrange")
	if err != nil {
		return nil, err
	}
	return ports(proto, dir, lo, hi, p.link), nil
}

func portRange(id string, isRange bool) (uint32, uint32, error) {
	parse1 := func(s string) (uint32, error) {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("port %q is not a number (service names are %w)", s, ErrUnsupported)
		}
		if v > 65535 {
			return 0, fmt.Errorf("port %d above 65535", v)
		}
		return uint32(v), nil
	}
	if !isRange {
		v, err := parse1(id)
		return v, v, err
	}
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, fmt.Errorf("portrange %q: want lo-hi", id)
	}
	lo, err := parse1(a)
	if err != nil {
		return 0, 0, err
	}
	hi, err := parse1(b)
	if err != nil {
		return 0, 0, err
	}
	if lo > hi {
		lo, hi = hi, lo // libpcap swaps them too
	}
	return lo, hi, nil
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
