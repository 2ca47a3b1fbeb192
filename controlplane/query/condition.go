package query

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Op is a comparator; IP-valued attributes only take OpEq and OpNeq.
type Op uint8

const (
	OpEq Op = iota + 1
	OpNeq
	OpLt
	OpGt
	OpLe
	OpGe
)

var opText = [...]string{OpEq: "=", OpNeq: "!=", OpLt: "<", OpGt: ">", OpLe: "<=", OpGe: ">="}

func (o Op) String() string {
	if int(o) < len(opText) && opText[o] != "" {
		return opText[o]
	}
	return "?"
}

func (o Op) cmp(a, b uint64) bool {
	switch o {
	case OpEq:
		return a == b
	case OpNeq:
		return a != b
	case OpLt:
		return a < b
	case OpGt:
		return a > b
	case OpLe:
		return a <= b
	case OpGe:
		return a >= b
	}
	return false
}

// Node is a parsed condition. String gives a canonical, fully bracketed
// form that parses back to the same tree.
type Node interface {
	Match(r *store.FlowRecord) bool
	String() string
}

type andNode struct{ l, r Node }
type orNode struct{ l, r Node }
type notNode struct{ x Node }

func (n andNode) Match(r *store.FlowRecord) bool { return n.l.Match(r) && n.r.Match(r) }
func (n orNode) Match(r *store.FlowRecord) bool  { return n.l.Match(r) || n.r.Match(r) }
func (n notNode) Match(r *store.FlowRecord) bool { return !n.x.Match(r) }
func (n andNode) String() string                 { return "(" + n.l.String() + " & " + n.r.String() + ")" }
func (n orNode) String() string                  { return "(" + n.l.String() + " | " + n.r.String() + ")" }
func (n notNode) String() string                 { return "!" + n.x.String() }

// ipNode compares one side's address with a prefix (a host is a /32 or
// /128); only = and != exist for addresses, as in goProbe.
type ipNode struct {
	server bool // dip/dnet, else sip/snet
	neq    bool
	pfx    netip.Prefix
}

func (n ipNode) Match(r *store.FlowRecord) bool {
	a := r.Client
	if n.server {
		a = r.Server
	}
	return n.pfx.Contains(a.Unmap()) != n.neq
}

func (n ipNode) String() string {
	v := n.pfx.Addr().String()
	if !n.pfx.IsSingleIP() {
		v = n.pfx.String()
	}
	return addrComparison(n.server, n.neq, v)
}

// addrComparison writes "sip = v", "dip != v"...
func addrComparison(server, neq bool, v string) string {
	attr := "sip"
	if server {
		attr = "dip"
	}
	op := OpEq
	if neq {
		op = OpNeq
	}
	return attr + " " + op.String() + " " + v
}

type dportNode struct {
	op Op
	v  uint16
}

func (n dportNode) Match(r *store.FlowRecord) bool {
	return n.op.cmp(uint64(r.ServerPort), uint64(n.v))
}
func (n dportNode) String() string { return "dport " + n.op.String() + " " + strconv.Itoa(int(n.v)) }

type protoNode struct {
	op Op
	v  uint8
}

func (n protoNode) Match(r *store.FlowRecord) bool { return n.op.cmp(uint64(r.Proto), uint64(n.v)) }
func (n protoNode) String() string                 { return "proto " + n.op.String() + " " + strconv.Itoa(int(n.v)) }

// hostNode is a comparison with a host name, replaced by the comparisons
// with its addresses before the condition runs (ResolveHosts); unresolved
// it matches nothing.
type hostNode struct {
	server bool
	neq    bool
	name   string
}

func (n hostNode) Match(*store.FlowRecord) bool { return false }
func (n hostNode) String() string               { return addrComparison(n.server, n.neq, n.name) }

// isHostname accepts DNS names (letters, digits, '-', '.'; a letter
// somewhere, so it is not a mistyped address).
func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return letter
}

// HostResolver is what ResolveHosts needs of a *net.Resolver.
type HostResolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ResolveHosts replaces every host-name comparison of n by the
// comparisons with all of the name's addresses (= any of them; != none of
// them), as goProbe does. A name that does not resolve is an error.
func ResolveHosts(ctx context.Context, n Node, r HostResolver) (Node, error) {
	switch x := n.(type) {
	case andNode:
		l, rr, err := resolvePair(ctx, x.l, x.r, r)
		return andNode{l, rr}, err
	case orNode:
		l, rr, err := resolvePair(ctx, x.l, x.r, r)
		return orNode{l, rr}, err
	case notNode:
		y, err := ResolveHosts(ctx, x.x, r)
		return notNode{y}, err
	case hostNode:
		addrs, err := r.LookupNetIP(ctx, "ip", x.name)
		if err != nil {
			return nil, fmt.Errorf("cannot resolve host %q: %w", x.name, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("host %q has no addresses", x.name)
		}
		var out Node
		for _, a := range addrs {
			a = a.Unmap().WithZone("")
			var t Node = ipNode{x.server, x.neq, netip.PrefixFrom(a, a.BitLen())}
			switch {
			case out == nil:
				out = t
			case x.neq:
				out = andNode{out, t}
			default:
				out = orNode{out, t}
			}
		}
		return out, nil
	}
	return n, nil
}

func resolvePair(ctx context.Context, a, b Node, r HostResolver) (Node, Node, error) {
	a, err := ResolveHosts(ctx, a, r)
	if err != nil {
		return nil, nil, err
	}
	b, err = ResolveHosts(ctx, b, r)
	return a, b, err
}

// hasHosts reports host-name comparisons in n.
func hasHosts(n Node) bool {
	switch x := n.(type) {
	case andNode:
		return hasHosts(x.l) || hasHosts(x.r)
	case orNode:
		return hasHosts(x.l) || hasHosts(x.r)
	case notNode:
		return hasHosts(x.x)
	case hostNode:
		return true
	}
	return false
}

// condFields are the record fields a condition reads.
func condFields(n Node) store.FlowFields {
	switch n := n.(type) {
	case andNode:
		return condFields(n.l) | condFields(n.r)
	case orNode:
		return condFields(n.l) | condFields(n.r)
	case notNode:
		return condFields(n.x)
	case ipNode:
		if n.server {
			return store.FieldServer
		}
		return store.FieldClient
	case hostNode:
		if n.server {
			return store.FieldServer
		}
		return store.FieldClient
	case geoNode:
		if n.server {
			return store.FieldServer
		}
		return store.FieldClient
	case dportNode:
		return store.FieldPorts
	case protoNode:
		return store.FieldProto
	}
	return store.FieldsAll // a node kind added later: read everything
}

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 64

type parser struct {
	toks  []token
	i     int
	depth int
}

// ParseCondition parses goProbe's condition language: "attr op value"
// terms joined by not/!, and/&/&&/*, or/|/||/+ (NOT binds tightest, then
// AND, then OR) and brackets (), [], {}. An empty condition is a nil Node,
// which matches everything.
func ParseCondition(s string) (Node, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := &parser{toks: lex(s)}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errAt(t, "unexpected token after complete condition")
	}
	return n, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, a ...any) error {
	return &SyntaxError{Pos: t.pos, Token: t.text, Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) or() (Node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokOr {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (Node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

var closing = map[string]string{"(": ")", "[": "]", "{": "}"}

func (p *parser) unary() (Node, error) {
	p.depth++
	defer func() { p.depth-- }()
	t := p.next()
	if p.depth > maxDepth {
		return nil, p.errAt(t, "nested deeper than %d levels", maxDepth)
	}
	switch t.kind {
	case tokNot:
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case tokOpen:
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		c := p.next()
		if c.kind != tokClose || c.text != closing[t.text] {
			return nil, p.errAt(c, "expected %q closing %q at position %d", closing[t.text], t.text, t.pos)
		}
		return x, nil
	case tokWord:
		return p.comparison(t)
	case tokEOF:
		return nil, p.errAt(t, "expected a comparison like \"dport = 80\"")
	}
	return nil, p.errAt(t, "expected an attribute, \"!\" or \"(\"")
}

func (p *parser) comparison(attr token) (Node, error) {
	opTok := p.next()
	op := opTok.op
	if opTok.kind == tokWord {
		op = opWords[strings.ToLower(opTok.text)]
	}
	if (opTok.kind != tokOp && opTok.kind != tokWord) || op == 0 {
		return nil, p.errAt(opTok, "expected a comparator (=, !=, <, >, <=, >=) after %q", attr.text)
	}
	val := p.next()
	if val.kind != tokWord {
		return nil, p.errAt(val, "expected a value after %q", opTok.text)
	}
	return p.term(attr, op, val)
}

// term builds the test of one comparison; host and net are sugar for the
// same test on either side (for != on both sides).
func (p *parser) term(attr token, op Op, val token) (Node, error) {
	name := strings.ToLower(attr.text)
	switch name {
	case "sip", "src", "dip", "dst", "snet", "dnet", "host", "net":
		if op != OpEq && op != OpNeq {
			return nil, p.errAt(attr, "%s only compares with = or !=", name)
		}
		neq := op == OpNeq
		pfx, err := parseAddrOrPrefix(val.text)
		if err != nil && (name == "snet" || name == "dnet" || name == "net" || !isHostname(val.text)) {
			return nil, p.errAt(val, "%s wants an IP address, CIDR network or host name: %v", name, err)
		}
		if err != nil {
			// goProbe resolves host names to all their addresses; that
			// needs the network, so Prepare does it (ResolveHosts).
			switch name {
			case "sip", "src":
				return hostNode{false, neq, val.text}, nil
			case "dip", "dst":
				return hostNode{true, neq, val.text}, nil
			}
			s, d := hostNode{false, neq, val.text}, hostNode{true, neq, val.text}
			if neq {
				return andNode{s, d}, nil
			}
			return orNode{s, d}, nil
		}
		switch name {
		case "sip", "src", "snet":
			return ipNode{false, neq, pfx}, nil
		case "dip", "dst", "dnet":
			return ipNode{true, neq, pfx}, nil
		}
		s, d := ipNode{false, neq, pfx}, ipNode{true, neq, pfx}
		if neq {
			return andNode{s, d}, nil
		}
		return orNode{s, d}, nil
	case "dport", "port":
		n, err := strconv.ParseUint(val.text, 10, 16)
		if err != nil {
			return nil, p.errAt(val, "%s wants a port number 0-65535", name)
		}
		return dportNode{op, uint16(n)}, nil
	case "proto":
		n, ok := parseProto(val.text)
		if !ok {
			return nil, p.errAt(val, "unknown protocol (want a name like TCP or a number 0-255)")
		}
		return protoNode{op, n}, nil
	}
	if n, ok, err := p.geoTerm(attr, name, op, val); ok {
		return n, err // country, asn (geo.go)
	}
	return nil, p.errAt(attr, "unknown attribute (want sip, dip, snet, dnet, host, net, dport or proto)")
}

// parseAddrOrPrefix reads "10.1.2.3" or "10.0.0.0/8"; host bits of a
// network are dropped, as "10.1.2.3/8" obviously means 10.0.0.0/8.
func parseAddrOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a := pfx.Addr()
		bits := pfx.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		return netip.PrefixFrom(a.WithZone(""), bits).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}
