// Package flowsql answers ntopng's historical-flow REST queries (db/flows
// and db/topk_flows) over the stored flow records: a small SQL-like where
// clause over ntopng's column names, a select list, top-k aggregation.
//
// The where clause is parsed into a tree and evaluated in Go; nothing is
// ever handed to a database engine as text, so there is nothing to inject.
package flowsql

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Column is one of ntopng's flow columns.
type Column struct {
	Name   string
	Addr   bool                                    // compares as an address (string literals, CIDRs)
	Number func(r *store.FlowRecord) (int64, bool) // numeric value; ok false when absent (e.g. IPv4 column of an IPv6 flow)
	Text   func(r *store.FlowRecord) (string, bool)
}

func num(f func(r *store.FlowRecord) int64) func(r *store.FlowRecord) (int64, bool) {
	return func(r *store.FlowRecord) (int64, bool) { return f(r), true }
}

func addr4(src bool) func(r *store.FlowRecord) (string, bool) {
	return func(r *store.FlowRecord) (string, bool) {
		a := r.Server
		if src {
			a = r.Client
		}
		if !a.Is4() {
			return "", false
		}
		return a.String(), true
	}
}

func addr6(src bool) func(r *store.FlowRecord) (string, bool) {
	return func(r *store.FlowRecord) (string, bool) {
		a := r.Server
		if src {
			a = r.Client
		}
		if a.Is4() {
			return "", false
		}
		return a.String(), true
	}
}

// columns are the columns the seed names, plus the ports and per-direction
// packets ntopng's flow table also has. SRC is the flow's client.
var columns = []Column{
	{Name: "IP_PROTOCOL_VERSION", Number: num(func(r *store.FlowRecord) int64 {
		if r.Client.Is4() {
			return 4
		}
		return 6
	})},
	{Name: "FLOW_TIME", Number: num(func(r *store.FlowRecord) int64 { return r.LastSeen })},
	{Name: "FIRST_SEEN", Number: num(func(r *store.FlowRecord) int64 { return r.FirstSeen })},
	{Name: "LAST_SEEN", Number: num(func(r *store.FlowRecord) int64 { return r.LastSeen })},
	{Name: "VLAN_ID", Number: num(func(r *store.FlowRecord) int64 { return int64(r.VLAN) })},
	{Name: "PACKETS", Number: num(func(r *store.FlowRecord) int64 { return int64(r.PktsC2S + r.PktsS2C) })},
	{Name: "SRC2DST_PACKETS", Number: num(func(r *store.FlowRecord) int64 { return int64(r.PktsC2S) })},
	{Name: "DST2SRC_PACKETS", Number: num(func(r *store.FlowRecord) int64 { return int64(r.PktsS2C) })},
	{Name: "TOTAL_BYTES", Number: num(func(r *store.FlowRecord) int64 { return int64(r.BytesC2S + r.BytesS2C) })},
	{Name: "SRC2DST_BYTES", Number: num(func(r *store.FlowRecord) int64 { return int64(r.BytesC2S) })},
	{Name: "DST2SRC_BYTES", Number: num(func(r *store.FlowRecord) int64 { return int64(r.BytesS2C) })},
	{Name: "IPV4_SRC_ADDR", Addr: true, Text: addr4(true)},
	{Name: "IPV4_DST_ADDR", Addr: true, Text: addr4(false)},
	{Name: "IPV6_SRC_ADDR", Addr: true, Text: addr6(true)},
	{Name: "IPV6_DST_ADDR", Addr: true, Text: addr6(false)},
	{Name: "L4_SRC_PORT", Number: num(func(r *store.FlowRecord) int64 { return int64(r.ClientPort) })},
	{Name: "L4_DST_PORT", Number: num(func(r *store.FlowRecord) int64 { return int64(r.ServerPort) })},
	{Name: "PROTOCOL", Number: num(func(r *store.FlowRecord) int64 { return int64(r.Proto) })},
	{Name: "L7_PROTO", Number: num(func(r *store.FlowRecord) int64 { return int64(r.L7) })},
}

// v2Columns are ntopng 6's names of stored-flow columns (its ClickHouse
// table) that ntopng 5's seed table lacks; selectable and usable in
// clauses, not part of "*" (v1 answers keep the seed's columns).
// L7_PROTO_MASTER is always null: stored flows keep one application id,
// L7_PROTO.
var v2Columns = []Column{
	{Name: "IP_SRC_PORT", Number: num(func(r *store.FlowRecord) int64 { return int64(r.ClientPort) })},
	{Name: "IP_DST_PORT", Number: num(func(r *store.FlowRecord) int64 { return int64(r.ServerPort) })},
	{Name: "L7_PROTO_MASTER", Number: func(*store.FlowRecord) (int64, bool) { return 0, false }},
}

// aliases are the value names db/topk_flows accepts for columns.
var aliases = map[string]string{"BYTES": "TOTAL_BYTES", "SRC_ADDR": "IPV4_SRC_ADDR", "DST_ADDR": "IPV4_DST_ADDR"}

// Lookup finds a column by (case-insensitive) name.
func Lookup(name string) (*Column, bool) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	for _, cols := range [][]Column{columns, v2Columns} {
		for i := range cols {
			if cols[i].Name == n {
				return &cols[i], true
			}
		}
	}
	return nil, false
}

// Columns returns every column name, in ntopng's order.
func Columns() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.Name
	}
	return out
}

// Value returns a column's value for r as JSON wants it: a number, a
// string, or nil when the flow has no such value.
func (c *Column) Value(r *store.FlowRecord) any {
	if c.Text != nil {
		if s, ok := c.Text(r); ok {
			return s
		}
		return nil
	}
	if v, ok := c.Number(r); ok {
		return v
	}
	return nil
}

// ParseSelect parses a select list: "*" or comma-separated column names.
func ParseSelect(s string) ([]*Column, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		out := make([]*Column, len(columns))
		for i := range columns {
			out[i] = &columns[i]
		}
		return out, nil
	}
	var out []*Column
	for _, part := range strings.Split(s, ",") {
		c, ok := Lookup(part)
		if !ok {
			return nil, fmt.Errorf("unknown column %q in select clause", strings.TrimSpace(part))
		}
		out = append(out, c)
	}
	return out, nil
}

// matchAddr compares an address column's value with a literal that may be
// an address or a CIDR.
func matchAddr(val, lit string) bool {
	if p, err := netip.ParsePrefix(lit); err == nil {
		a, err := netip.ParseAddr(val)
		return err == nil && p.Contains(a)
	}
	a, err1 := netip.ParseAddr(val)
	b, err2 := netip.ParseAddr(lit)
	if err1 == nil && err2 == nil {
		return a == b
	}
	return val == lit
}
