package clickhouse

import (
	"context"
	"fmt"
	"math"
	"net/netip"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/store"
)

// db/topk_flows ranked in ClickHouse. The answer is the one Go's ranking
// (flowsql.TopKGroups) gives over every group only when ClickHouse's
// groups are the answer's groups: each SQL key expression below takes one
// value per distinct flowsql key value, so no two SQL groups merge in Go.
// Address keys are the trap: every flow that is not IPv4 is null under
// IPV4_SRC_ADDR, whatever its IPV6 columns hold, so it groups by the IPv4
// address or one value past them all, never by the raw columns.
// The groups then come ranked by the aggregate as Go computes it (a
// float64), ties in key order, and TopKGroups, which breaks ties by the
// order groups arrive, keeps that order.

// sqlKey is one key column's GROUP BY expressions, where their values are
// scanned, and how they become a record whose flowsql value is the key's.
type sqlKey struct {
	exprs []string
	dests []any
	set   func(*store.FlowRecord)
}

// rankedKeys are q's keys as sqlKeys; ok false when a key cannot be
// grouped one-to-one in SQL (the caller then groups by the raw columns).
func rankedKeys(keys []*flowsql.Column) (out []sqlKey, ok bool) {
	var side [2]int // address keys per side: client, server
	for _, k := range keys {
		switch k.Name {
		case "IPV4_SRC_ADDR", "IPV6_SRC_ADDR":
			side[0]++
		case "IPV4_DST_ADDR", "IPV6_DST_ADDR":
			side[1]++
		}
	}
	if side[0] > 1 || side[1] > 1 {
		return nil, false
	}
	for _, k := range keys {
		switch k.Name {
		case "IPV4_SRC_ADDR", "IPV4_DST_ADDR":
			col, server := "IPV4_SRC_ADDR", false
			if k.Name == "IPV4_DST_ADDR" {
				col, server = "IPV4_DST_ADDR", true
			}
			// One UInt64: the IPv4 address, or 2^32 for every other
			// family (null). One numeric key is ClickHouse's fastest
			// grouping.
			var v uint64
			out = append(out, sqlKey{
				exprs: []string{"if(IP_PROTOCOL_VERSION = 4, toUInt64(" + col + "), toUInt64(4294967296))"},
				dests: []any{&v},
				set: func(r *store.FlowRecord) {
					a := netip.Addr{} // not IPv4: null, as every other family
					if v <= math.MaxUint32 {
						a = addr(4, uint32(v), "")
					}
					if server {
						r.Server = a
					} else {
						r.Client = a
					}
				},
			})
		case "IPV6_SRC_ADDR", "IPV6_DST_ADDR":
			col, server := "IPV6_SRC_ADDR", false
			if k.Name == "IPV6_DST_ADDR" {
				col, server = "IPV6_DST_ADDR", true
			}
			var ver uint8
			var v6 string
			out = append(out, sqlKey{
				// IPv4: null; IPv6: the address; another version: the
				// invalid address's text, the same for all of them.
				exprs: []string{"multiIf(IP_PROTOCOL_VERSION = 4, toUInt8(4), IP_PROTOCOL_VERSION = 6, toUInt8(6), toUInt8(0))",
					"if(IP_PROTOCOL_VERSION = 6, " + col + ", toFixedString(unhex(''), 16))"},
				dests: []any{&ver, &v6},
				set: func(r *store.FlowRecord) {
					a := addr(ver, 0, v6)
					if server {
						r.Server = a
					} else {
						r.Client = a
					}
				},
			})
		case "IP_PROTOCOL_VERSION":
			// 4 for an IPv4 client, else 6. A client address key already
			// tells it (and sets the client): nothing more to group by.
			if side[0] > 0 {
				continue
			}
			var is4 uint8
			out = append(out, sqlKey{
				exprs: []string{"IP_PROTOCOL_VERSION = 4"},
				dests: []any{&is4},
				set: func(r *store.FlowRecord) {
					r.Client = netip.Addr{}
					if is4 == 1 {
						r.Client = netip.IPv4Unspecified()
					}
				},
			})
		case "L7_PROTO_MASTER":
			// One value (null) for every stored flow: no grouping.
		default:
			n, ok := needs[k.Name]
			if !ok || len(n) != 1 {
				return nil, false
			}
			// One table column, whose value is the key's (ports,
			// protocol, L7, VLAN, times): the raw record fields.
			var rw raw
			c := recCols[n[0]]
			out = append(out, sqlKey{
				exprs: []string{c.expr},
				dests: []any{c.dest(&rw)},
				set: func(r *store.FlowRecord) {
					x := rw.record(0)
					switch k.Name {
					case "L4_SRC_PORT", "IP_SRC_PORT":
						r.ClientPort = x.ClientPort
					case "L4_DST_PORT", "IP_DST_PORT":
						r.ServerPort = x.ServerPort
					case "PROTOCOL":
						r.Proto = x.Proto
					case "L7_PROTO":
						r.L7 = x.L7
					case "VLAN_ID":
						r.VLAN = x.VLAN
					case "FIRST_SEEN":
						r.FirstSeen = x.FirstSeen
					case "FLOW_TIME", "LAST_SEEN":
						r.LastSeen = x.LastSeen
					}
				},
			})
		}
	}
	return out, true
}

// aggOrder is the ClickHouse expression of the value TopKGroups ranks by,
// as the float64 it computes (so that two sums Go cannot tell apart tie
// in SQL too).
func aggOrder(agg, val string) string {
	switch agg {
	case "AVG":
		return "toFloat64(sum(" + val + ")) / toFloat64(count())"
	case "MAX":
		return "toFloat64(max(" + val + "))"
	case "MIN":
		return "toFloat64(min(" + val + "))"
	case "COUNT":
		return "toFloat64(count())"
	}
	return "toFloat64(sum(" + val + "))"
}

// aggCols are the sum, count, max and min TopKGroups.Add takes, of which
// only the ranked aggregate's are computed (count always: a query without
// keys tells no match by it).
func aggCols(agg, val string) string {
	sum, mx, mn := "toInt64(0)", "toInt64(0)", "toInt64(0)"
	switch agg {
	case "MAX":
		mx = "max(" + val + ")"
	case "MIN":
		mn = "min(" + val + ")"
	case "COUNT":
	default: // SUM, AVG
		sum = "sum(" + val + ")"
	}
	return sum + ", count(), " + mx + ", " + mn
}

// topKRanked answers q (keys: rankedKeys', q.MaxHits > 0) with ClickHouse
// ranking and limiting the groups. More groups than MaxGroups is
// ErrMemoryLimit, as over Badger: ClickHouse reports how many rows the
// LIMIT cut.
func (r *Reader) topKRanked(ctx context.Context, q flowsql.TopKQuery, sc Scope, val string, keys []sqlKey, from string) ([]map[string]any, error) {
	var group []string
	var dest []any
	for _, k := range keys {
		group = append(group, k.exprs...)
		dest = append(dest, k.dests...)
	}
	maxGroups := flowsql.MaxGroups(len(q.Keys))
	s := &sqlb{}
	s.w("SELECT ")
	for _, g := range group {
		s.w(g, ", ")
	}
	s.w(aggCols(q.Agg, val), from)
	if err := filter(s, q.IfID, q.Begin, q.End, q.Where, sc); err != nil {
		return nil, err
	}
	if len(group) > 0 {
		s.w(" GROUP BY ")
		for i, g := range group {
			if i > 0 {
				s.w(", ")
			}
			s.w(g)
		}
	}
	s.w(" ORDER BY ", aggOrder(q.Agg, val), " DESC")
	for _, g := range group {
		s.w(", ", g)
	}
	s.w(" LIMIT ")
	s.arg(uint64(q.MaxHits))
	var before uint64
	var counted bool
	ctx = ch.Context(ctx, ch.WithProfileInfo(func(p *ch.ProfileInfo) {
		before, counted = max(before, p.RowsBeforeLimit), counted || p.CalculatedRowsBeforeLimit
	}))
	res, err := r.conn.Query(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("db/topk_flows from clickhouse: %w", err)
	}
	defer res.Close()
	groups := flowsql.NewTopKGroups(&q)
	var sum, mx, mn int64
	var n uint64
	dest = append(dest, &sum, &n, &mx, &mn)
	for res.Next() {
		if err := res.Scan(dest...); err != nil {
			return nil, fmt.Errorf("db/topk_flows from clickhouse: %w", err)
		}
		if n == 0 {
			continue // no group by: one row even when nothing matched
		}
		rec := store.FlowRecord{IfID: q.IfID}
		for _, k := range keys {
			k.set(&rec)
		}
		if err := groups.Add(&rec, sum, int64(n), mx, mn); err != nil {
			return nil, err
		}
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("db/topk_flows from clickhouse: %w", err)
	}
	res.Close()
	if !counted {
		return nil, fmt.Errorf("db/topk_flows from clickhouse: the server did not count the groups")
	}
	if before > uint64(maxGroups) {
		return nil, flowsql.ErrMemoryLimit
	}
	return groups.Rows(), nil
}
