package clickhouse

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Reader answers the historical flow queries (db/flows, db/topk_flows)
// from the flows table every probe of a fleet writes, with the same
// answers flowsql gives over Badger for the same records. A batch
// delivered twice counts once: rows are read FINAL wherever a copy can
// be (dedup.go).
type Reader struct {
	conn driver.Conn
	db   string
	// alwaysFinal reads FINAL even where no copy can be (benchmarks:
	// the reads as they were).
	alwaysFinal bool
}

// OpenReader connects to t (lazily: the first query dials).
func OpenReader(t Target) (*Reader, error) {
	if !validIdent(t.Database) {
		return nil, fmt.Errorf("clickhouse: bad database name %q", t.Database)
	}
	conn, err := ch.Open(&ch.Options{
		Addr: []string{t.Addr}, Auth: ch.Auth{Database: "default", Username: t.User, Password: t.Password},
		Compression: &ch.Compression{Method: ch.CompressionLZ4}, DialTimeout: 3 * time.Second,
		ReadTimeout: 60 * time.Second, MaxOpenConns: 4,
	})
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", t.Addr, err)
	}
	return &Reader{conn: conn, db: t.Database}, nil
}

// Close closes the connections.
func (r *Reader) Close() error { return r.conn.Close() }

// Scope narrows a query: Probe keeps one probe's rows (NTOPNG_INSTANCE_NAME;
// empty: every probe), Nets a restricted user's networks (nil: every flow;
// a flow is kept when one end is in them).
type Scope struct {
	Probe string
	Nets  []netip.Prefix
}

// raw is a row's record columns, scanned with ClickHouse's exact types.
type raw struct {
	ver                    uint8
	s4, d4                 uint32
	s6, d6                 string
	sp, dp                 uint16
	proto                  uint8
	l7, vlan               uint16
	first, last            uint32
	pc2s, ps2c, bc2s, bs2c uint64
}

// recCols are the table columns a store.FlowRecord is rebuilt from, so
// that flowsql's columns give their values exactly as over Badger.
var recCols = []struct {
	expr string
	dest func(*raw) any
}{
	{"IP_PROTOCOL_VERSION", func(r *raw) any { return &r.ver }},
	{"IPV4_SRC_ADDR", func(r *raw) any { return &r.s4 }},
	{"IPV6_SRC_ADDR", func(r *raw) any { return &r.s6 }},
	{"IPV4_DST_ADDR", func(r *raw) any { return &r.d4 }},
	{"IPV6_DST_ADDR", func(r *raw) any { return &r.d6 }},
	{"IP_SRC_PORT", func(r *raw) any { return &r.sp }},
	{"IP_DST_PORT", func(r *raw) any { return &r.dp }},
	{"PROTOCOL", func(r *raw) any { return &r.proto }},
	{"L7_PROTO", func(r *raw) any { return &r.l7 }},
	{"VLAN_ID", func(r *raw) any { return &r.vlan }},
	{"toUInt32(FIRST_SEEN)", func(r *raw) any { return &r.first }},
	{"toUInt32(LAST_SEEN)", func(r *raw) any { return &r.last }},
	{"SRC2DST_PACKETS", func(r *raw) any { return &r.pc2s }},
	{"DST2SRC_PACKETS", func(r *raw) any { return &r.ps2c }},
	{"SRC2DST_BYTES", func(r *raw) any { return &r.bc2s }},
	{"DST2SRC_BYTES", func(r *raw) any { return &r.bs2c }},
}

// needs are, per flowsql column, the recCols its value reads (indexes).
var needs = map[string][]int{
	"IP_PROTOCOL_VERSION": {0},
	"IPV4_SRC_ADDR":       {0, 1, 2}, "IPV6_SRC_ADDR": {0, 1, 2},
	"IPV4_DST_ADDR": {0, 3, 4}, "IPV6_DST_ADDR": {0, 3, 4},
	"L4_SRC_PORT": {5}, "IP_SRC_PORT": {5}, "L4_DST_PORT": {6}, "IP_DST_PORT": {6},
	"PROTOCOL": {7}, "L7_PROTO": {8}, "VLAN_ID": {9}, "FIRST_SEEN": {10}, "FLOW_TIME": {11}, "LAST_SEEN": {11},
	"SRC2DST_PACKETS": {12}, "DST2SRC_PACKETS": {13}, "PACKETS": {12, 13},
	"SRC2DST_BYTES": {14}, "DST2SRC_BYTES": {15}, "TOTAL_BYTES": {14, 15},
	"L7_PROTO_MASTER": {},
}

func addr(ver uint8, v4 uint32, v6 string) netip.Addr {
	switch ver {
	case 4:
		return netip.AddrFrom4([4]byte{byte(v4 >> 24), byte(v4 >> 16), byte(v4 >> 8), byte(v4)})
	case 6:
		var b [16]byte
		copy(b[:], v6)
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

func (r *raw) record(ifid uint16) store.FlowRecord {
	return store.FlowRecord{
		IfID: ifid, Client: addr(r.ver, r.s4, r.s6), Server: addr(r.ver, r.d4, r.d6),
		ClientPort: r.sp, ServerPort: r.dp, Proto: r.proto, L7: r.l7, VLAN: r.vlan,
		FirstSeen: int64(r.first), LastSeen: int64(r.last),
		PktsC2S: r.pc2s, PktsS2C: r.ps2c, BytesC2S: r.bc2s, BytesS2C: r.bs2c,
	}
}

func clampTime(t int64) uint32 { return uint32(min(max(t, 0), math.MaxUint32)) }

// filter writes the WHERE clause every query shares: the interface, the
// time range (LastSeen in [begin, end], as over Badger), the probe, the
// user's scope and the request's where tree.
func filter(s *sqlb, ifid uint16, begin, end int64, where flowsql.Expr, sc Scope) error {
	s.w(" WHERE INTERFACE_ID = ")
	s.arg(ifid)
	s.w(" AND LAST_SEEN >= toDateTime(")
	s.arg(clampTime(begin))
	s.w(") AND LAST_SEEN <= toDateTime(")
	s.arg(clampTime(end))
	s.w(")")
	if sc.Probe != "" {
		s.w(" AND NTOPNG_INSTANCE_NAME = ")
		s.arg(sc.Probe)
	}
	if sc.Nets != nil {
		s.w(" AND ")
		s.scope(sc.Nets)
	}
	s.w(" AND ")
	return s.where(flowsql.Tree(where))
}

func (r *Reader) from() string { return " FROM " + r.db + ".flows FINAL" }

// Flows answers db/flows: newest first, at most q.MaxHits rows. q.Visible
// is not used (it is a Badger record test): sc.Nets says the same in SQL.
func (r *Reader) Flows(ctx context.Context, q flowsql.FlowsQuery, sc Scope) (out []map[string]any, err error) {
	err = r.read(ctx, q.Begin, q.End, func(from string) (err error) {
		out, err = r.flows(ctx, q, sc, from)
		return err
	})
	return out, err
}

func (r *Reader) flows(ctx context.Context, q flowsql.FlowsQuery, sc Scope, from string) ([]map[string]any, error) {
	capRows := flowsql.MaxRows(len(q.Select))
	limit := capRows + 1
	if q.MaxHits > 0 {
		limit = min(q.MaxHits, limit)
	}
	s := &sqlb{}
	s.w("SELECT ")
	for i, c := range recCols {
		if i > 0 {
			s.w(", ")
		}
		s.w(c.expr)
	}
	s.w(from)
	if err := filter(s, q.IfID, q.Begin, q.End, q.Where, sc); err != nil {
		return nil, err
	}
	s.w(" ORDER BY LAST_SEEN DESC LIMIT ")
	s.arg(uint64(limit))
	rows, err := r.conn.Query(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("db/flows from clickhouse: %w", err)
	}
	defer rows.Close()
	var out []map[string]any
	var rw raw
	dest := make([]any, len(recCols))
	for i, c := range recCols {
		dest[i] = c.dest(&rw)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("db/flows from clickhouse: %w", err)
		}
		if len(out) >= capRows {
			return nil, flowsql.ErrMemoryLimit
		}
		rec := rw.record(q.IfID)
		row := make(map[string]any, len(q.Select))
		for _, c := range q.Select {
			row[c.Name] = c.Value(&rec)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db/flows from clickhouse: %w", err)
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out, nil
}

// TopK answers db/topk_flows: ranked and limited in ClickHouse when its
// groups are the answer's (topKRanked), else every group is read and
// ranked here (topKInGo).
func (r *Reader) TopK(ctx context.Context, q flowsql.TopKQuery, sc Scope) ([]map[string]any, error) {
	val, ok := numExpr[q.Value.Name]
	if !ok {
		return nil, fmt.Errorf("clickhouse: %s is not numeric", q.Value.Name)
	}
	if val == "" {
		return []map[string]any{}, nil // a column stored flows never have: no record has a value
	}
	keys, ranked := rankedKeys(q.Keys)
	var rows []map[string]any
	err := r.read(ctx, q.Begin, q.End, func(from string) (err error) {
		if ranked && q.MaxHits > 0 {
			rows, err = r.topKRanked(ctx, q, sc, val, keys, from)
		} else {
			rows, err = r.topKInGo(ctx, q, sc, val, from)
		}
		return err
	})
	return rows, err
}

// topKInGo answers q ranking every group in Go: for keys whose SQL groups
// merge here, and for a query without a limit.
// ClickHouse groups by the table columns the keys read; groups whose keys
// give the same values (two IPv6 clients under IPV4_SRC_ADDR are both
// null) are merged here, as Badger groups by the values.
func (r *Reader) topKInGo(ctx context.Context, q flowsql.TopKQuery, sc Scope, val, from string) ([]map[string]any, error) {
	var idx []int
	for _, k := range q.Keys {
		n, ok := needs[k.Name]
		if !ok {
			return nil, fmt.Errorf("clickhouse: key column %s", k.Name)
		}
		for _, i := range n {
			if !slices.Contains(idx, i) {
				idx = append(idx, i)
			}
		}
	}
	slices.Sort(idx)
	maxGroups := flowsql.MaxGroups(len(q.Keys))
	s := &sqlb{}
	s.w("SELECT ")
	var group []string
	for _, i := range idx {
		group = append(group, recCols[i].expr)
	}
	for _, g := range group {
		s.w(g, ", ")
	}
	s.w("sum(", val, "), count(), max(", val, "), min(", val, ")", from)
	if err := filter(s, q.IfID, q.Begin, q.End, q.Where, sc); err != nil {
		return nil, err
	}
	if len(group) > 0 {
		g := strings.Join(group, ", ")
		s.w(" GROUP BY ", g, " ORDER BY ", g)
	}
	s.w(" LIMIT ")
	s.arg(uint64(maxGroups + 1))
	rows, err := r.conn.Query(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("db/topk_flows from clickhouse: %w", err)
	}
	defer rows.Close()
	groups := flowsql.NewTopKGroups(&q)
	var rw raw
	var sum, mx, mn int64
	var n uint64
	dest := []any{}
	for _, i := range idx {
		dest = append(dest, recCols[i].dest(&rw))
	}
	dest = append(dest, &sum, &n, &mx, &mn)
	read := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("db/topk_flows from clickhouse: %w", err)
		}
		if read++; read > maxGroups {
			return nil, flowsql.ErrMemoryLimit
		}
		if n == 0 {
			continue // no group by: one row even when nothing matched
		}
		rec := rw.record(q.IfID)
		if err := groups.Add(&rec, sum, int64(n), mx, mn); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("db/topk_flows from clickhouse: %w", err)
	}
	return groups.Rows(), nil
}
