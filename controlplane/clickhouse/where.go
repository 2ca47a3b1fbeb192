package clickhouse

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
)

// sqlb builds a parameterised condition: the SQL text comes only from the
// fixed vocabulary below (column names, operators, ?), every value a
// request carries goes into args, bound by the driver.
type sqlb struct {
	b    strings.Builder
	args []any
}

func (s *sqlb) w(parts ...string) {
	for _, p := range parts {
		s.b.WriteString(p)
	}
}

func (s *sqlb) arg(v any) { s.b.WriteString("?"); s.args = append(s.args, v) }

// numExpr is the ClickHouse expression of a numeric flowsql column, as
// Int64 (Badger compares int64 values); "" for a column stored flows
// never have (L7_PROTO_MASTER: null, matches nothing).
var numExpr = map[string]string{
	"IP_PROTOCOL_VERSION": "toInt64(IP_PROTOCOL_VERSION)",
	"FLOW_TIME":           "toInt64(toUInt32(LAST_SEEN))",
	"LAST_SEEN":           "toInt64(toUInt32(LAST_SEEN))",
	"FIRST_SEEN":          "toInt64(toUInt32(FIRST_SEEN))",
	"VLAN_ID":             "toInt64(VLAN_ID)",
	"PACKETS":             "toInt64(PACKETS)",
	"SRC2DST_PACKETS":     "toInt64(SRC2DST_PACKETS)",
	"DST2SRC_PACKETS":     "toInt64(DST2SRC_PACKETS)",
	"TOTAL_BYTES":         "toInt64(TOTAL_BYTES)",
	"SRC2DST_BYTES":       "toInt64(SRC2DST_BYTES)",
	"DST2SRC_BYTES":       "toInt64(DST2SRC_BYTES)",
	"L4_SRC_PORT":         "toInt64(IP_SRC_PORT)",
	"L4_DST_PORT":         "toInt64(IP_DST_PORT)",
	"IP_SRC_PORT":         "toInt64(IP_SRC_PORT)",
	"IP_DST_PORT":         "toInt64(IP_DST_PORT)",
	"PROTOCOL":            "toInt64(PROTOCOL)",
	"L7_PROTO":            "toInt64(L7_PROTO)",
	"L7_PROTO_MASTER":     "",
}

// addrCols are the address columns: their family and table column.
var addrCols = map[string]struct {
	family uint8
	col    string
}{
	"IPV4_SRC_ADDR": {4, "IPV4_SRC_ADDR"},
	"IPV4_DST_ADDR": {4, "IPV4_DST_ADDR"},
	"IPV6_SRC_ADDR": {6, "IPV6_SRC_ADDR"},
	"IPV6_DST_ADDR": {6, "IPV6_DST_ADDR"},
}

var sqlOps = map[string]string{"=": "=", "==": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

func v4num(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// lastAddr is the last address of p (p masked).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// inRange writes "col BETWEEN lo AND hi" (or "col = a" when lo == hi)
// for a family's column; the caller checked the family.
func (s *sqlb) inRange(col string, family uint8, lo, hi netip.Addr) {
	val := func(a netip.Addr) {
		if family == 4 {
			s.arg(v4num(a))
			return
		}
		b := a.As16()
		s.w("unhex(")
		s.arg(hex.EncodeToString(b[:]))
		s.w(")")
	}
	if lo == hi {
		s.w(col, " = ")
		val(lo)
		return
	}
	s.w(col, " BETWEEN ")
	val(lo)
	s.w(" AND ")
	val(hi)
}

// family writes the test that a row's addresses are of family f. Like
// SQL's NULL in Badger's evaluation, a flow of the other family has no
// value in an address column and matches neither = nor !=.
func (s *sqlb) family(f uint8) { s.w("IP_PROTOCOL_VERSION = "); s.arg(f) }

// addrMatch writes the condition "column matches lit" (an address or a
// CIDR), without the family test.
func (s *sqlb) addrMatch(col string, family uint8, lit string) {
	var lo, hi netip.Addr
	if p, err := netip.ParsePrefix(lit); err == nil {
		p = p.Masked()
		lo, hi = p.Addr(), lastAddr(p)
	} else if a, err := netip.ParseAddr(lit); err == nil {
		lo, hi = a, a
	} else {
		s.w("0") // the parser lets no other literal through
		return
	}
	if lo.Zone() != "" || (family == 4) != lo.Is4() {
		s.w("0") // an address of the other family equals nothing here
		return
	}
	s.inRange(col, family, lo, hi)
}

func (s *sqlb) cmp(c *flowsql.Column, op string, lit flowsql.Lit) error {
	if a, ok := addrCols[c.Name]; ok {
		s.w("(")
		s.family(a.family)
		if op == "!=" || op == "<>" {
			s.w(" AND NOT (")
		} else {
			s.w(" AND (")
		}
		s.addrMatch(a.col, a.family, lit.Text)
		s.w("))")
		return nil
	}
	e, ok := numExpr[c.Name]
	if !ok {
		return fmt.Errorf("clickhouse: column %s has no ClickHouse counterpart", c.Name)
	}
	o, ok := sqlOps[op]
	if !ok {
		return fmt.Errorf("clickhouse: operator %q", op)
	}
	if e == "" {
		s.w("0")
		return nil
	}
	s.w("(", e, " ", o, " ")
	s.arg(lit.N)
	s.w(")")
	return nil
}

// where writes n as a condition.
func (s *sqlb) where(n flowsql.Node) error {
	switch n.Kind {
	case flowsql.All:
		s.w("1")
	case flowsql.And, flowsql.Or:
		op := " AND "
		if n.Kind == flowsql.Or {
			op = " OR "
		}
		s.w("(")
		for i, k := range n.Kids {
			if i > 0 {
				s.w(op)
			}
			if err := s.where(k); err != nil {
				return err
			}
		}
		s.w(")")
	case flowsql.Not:
		s.w("NOT (")
		if err := s.where(n.Kids[0]); err != nil {
			return err
		}
		s.w(")")
	case flowsql.Cmp:
		return s.cmp(n.Col, n.Op, n.Lits[0])
	case flowsql.In:
		s.w("(")
		for i, l := range n.Lits {
			if i > 0 {
				s.w(" OR ")
			}
			if err := s.cmp(n.Col, "=", l); err != nil {
				return err
			}
		}
		s.w(")")
	default:
		return fmt.Errorf("clickhouse: where node kind %d", n.Kind)
	}
	return nil
}

// scope writes a restricted user's visibility: flows with an end in one
// of nets (as rest's visibility.seesFlow).
func (s *sqlb) scope(nets []netip.Prefix) {
	if len(nets) == 0 {
		s.w("0")
		return
	}
	s.w("(")
	first := true
	for _, p := range nets {
		p = p.Masked()
		fam := uint8(6)
		if p.Addr().Is4() {
			fam = 4
		}
		for _, side := range []string{"SRC", "DST"} {
			if !first {
				s.w(" OR ")
			}
			first = false
			s.w("(")
			s.family(fam)
			s.w(" AND ")
			s.inRange(fmt.Sprintf("IPV%d_%s_ADDR", fam, side), fam, p.Addr(), lastAddr(p))
			s.w(")")
		}
	}
	s.w(")")
}

// goQuery's condition trees (controlplane/query). Their semantics differ
// from flowsql's in one place: an address of the other family is simply
// not in a network, so "sip != 10.0.0.0/8" keeps IPv6 flows (goProbe's
// rule, query's Match).

// condOps are goQuery's comparators in SQL.
var condOps = map[query.Op]string{query.OpEq: "=", query.OpNeq: "!=", query.OpLt: "<", query.OpGt: ">", query.OpLe: "<=", query.OpGe: ">="}

// side is the column of a flow's client (SRC) or server (DST) end.
func side(server bool, name string) string {
	if server {
		return strings.Replace(name, "SRC", "DST", 1)
	}
	return name
}

// cond writes goQuery's condition n (nil: every record).
func (s *sqlb) cond(n query.Node) error {
	if n == nil {
		s.w("1")
		return nil
	}
	t, ok := query.Inspect(n)
	if !ok {
		return fmt.Errorf("clickhouse: condition term %q has no SQL form", n)
	}
	switch t.Kind {
	case query.CondAnd, query.CondOr:
		op := " AND "
		if t.Kind == query.CondOr {
			op = " OR "
		}
		s.w("(")
		if err := s.cond(t.Kids[0]); err != nil {
			return err
		}
		s.w(op)
		if err := s.cond(t.Kids[1]); err != nil {
			return err
		}
		s.w(")")
	case query.CondNot:
		s.w("NOT (")
		if err := s.cond(t.Kids[0]); err != nil {
			return err
		}
		s.w(")")
	case query.CondAddr:
		if t.Neq {
			s.w("NOT ")
		}
		p := t.Prefix.Masked()
		fam := uint8(6)
		if p.Addr().Is4() {
			fam = 4
		}
		s.w("(")
		s.family(fam)
		s.w(" AND ")
		s.inRange(side(t.Server, fmt.Sprintf("IPV%d_SRC_ADDR", fam)), fam, p.Addr(), lastAddr(p))
		s.w(")")
	case query.CondDport, query.CondProto:
		o, ok := condOps[t.Op]
		if !ok {
			return fmt.Errorf("clickhouse: comparator %v", t.Op)
		}
		col := "IP_DST_PORT"
		if t.Kind == query.CondProto {
			col = "PROTOCOL"
		}
		s.w("(", col, " ", o, " ")
		s.arg(t.Value)
		s.w(")")
	case query.CondCountry, query.CondASN:
		col, val := side(t.Server, "SRC_COUNTRY_CODE"), any(t.Country)
		if t.Kind == query.CondASN {
			col, val = side(t.Server, "SRC_ASN"), t.ASN
		}
		o := " = "
		if t.Neq {
			o = " != "
		}
		s.w("(", col, o)
		s.arg(val)
		s.w(")")
	default:
		return fmt.Errorf("clickhouse: condition kind %d", t.Kind)
	}
	return nil
}

// ifaces writes the test that a row is of one of the interfaces (by the
// probe and store ids, the table's sort key; by name too for a Shared id).
func (s *sqlb) ifaces(list []FleetIface) {
	if len(list) == 0 {
		s.w("0")
		return
	}
	s.w("(")
	for i, f := range list {
		if i > 0 {
			s.w(" OR ")
		}
		s.w("(NTOPNG_INSTANCE_NAME = ")
		s.arg(f.Probe)
		s.w(" AND (")
		for j, id := range f.IDs {
			if j > 0 {
				s.w(" OR ")
			}
			s.w("INTERFACE_ID = ")
			s.arg(id)
		}
		if len(f.IDs) == 0 {
			s.w("0")
		}
		s.w(")")
		if f.Shared {
			s.w(" AND INTERFACE_NAME = ")
			s.arg(f.Name)
		}
		s.w(")")
	}
	s.w(")")
}

// blocks writes the test that a row's LastSeen is in the blocks starting
// from first to last (inclusive), the whole blocks goQuery reads.
func (s *sqlb) blocks(first, last int64) {
	s.w("LAST_SEEN >= toDateTime(")
	s.arg(clampTime(first))
	s.w(") AND LAST_SEEN < toDateTime(")
	s.arg(clampTime(min(last, math.MaxUint32-store.BlockSeconds) + store.BlockSeconds))
	s.w(")")
}
