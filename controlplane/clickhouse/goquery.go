package clickhouse

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
)

// goQuery over the fleet (goProbe's _query and `probe query` under
// --history clickhouse). The interfaces are every probe's: across the
// fleet each is named "probe:iface" (a bare interface name in Ifaces
// stands for that interface on every probe), and a query for one probe
// (Args.Probe) names them as that probe does, so that its answers are the
// probe's own, byte for byte.

// FleetIface is one probe's interface: its name and the store ids its
// rows carry (INTERFACE_ID, in the table's sort key: reading by id skips
// the other interfaces' rows). Shared, when one of its ids also names
// another interface of the probe (a store started afresh): its rows are
// then told apart by name too.
type FleetIface struct {
	Probe, Name string
	IDs         []uint16
	Shared      bool
}

// GoQuery answers goQuery's queries from the flows table: it is the
// interface list a query is prepared against and the query.Grouper that
// runs it.
type GoQuery struct {
	r      *Reader
	probe  string
	ifaces []FleetIface // by synthetic id
}

// FleetSep joins a probe's name and its interface's across the fleet.
const FleetSep = ":"

// GoQuery lists the interfaces holding flows, of probe (empty: every
// probe).
func (r *Reader) GoQuery(ctx context.Context, probe string) (*GoQuery, error) {
	s := &sqlb{}
	s.w("SELECT DISTINCT NTOPNG_INSTANCE_NAME, INTERFACE_NAME, INTERFACE_ID FROM ", r.db, ".flows")
	if probe != "" {
		s.w(" WHERE NTOPNG_INSTANCE_NAME = ")
		s.arg(probe)
	}
	rows, err := r.conn.Query(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("goQuery interfaces from clickhouse: %w", err)
	}
	defer rows.Close()
	g := &GoQuery{r: r, probe: probe}
	type probeID struct {
		probe string
		id    uint16
	}
	byName := map[[2]string]*FleetIface{}
	names := map[probeID]int{}
	for rows.Next() {
		var probe, name string
		var id uint16
		if err := rows.Scan(&probe, &name, &id); err != nil {
			return nil, fmt.Errorf("goQuery interfaces from clickhouse: %w", err)
		}
		if name == "" {
			continue // a record whose interface the sink could not name
		}
		f := byName[[2]string{probe, name}]
		if f == nil {
			f = &FleetIface{Probe: probe, Name: name}
			byName[[2]string{probe, name}] = f
		}
		f.IDs = append(f.IDs, id)
		names[probeID{probe, id}]++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("goQuery interfaces from clickhouse: %w", err)
	}
	for _, f := range byName {
		slices.Sort(f.IDs)
		for _, id := range f.IDs {
			f.Shared = f.Shared || names[probeID{f.Probe, id}] > 1
		}
		g.ifaces = append(g.ifaces, *f)
	}
	if len(g.ifaces) > math.MaxUint16 {
		return nil, fmt.Errorf("goQuery: %d interfaces in the fleet, at most %d can be asked", len(g.ifaces), math.MaxUint16)
	}
	slices.SortFunc(g.ifaces, func(a, b FleetIface) int {
		return strings.Compare(a.Probe+"\x00"+a.Name, b.Probe+"\x00"+b.Name)
	})
	return g, nil
}

func (g *GoQuery) name(f FleetIface) string {
	if g.probe != "" {
		return f.Name
	}
	return f.Probe + FleetSep + f.Name
}

// Names are the interfaces by id, for query.Prepare.
func (g *GoQuery) Names() map[uint16]string {
	m := make(map[uint16]string, len(g.ifaces))
	for i, f := range g.ifaces {
		m[uint16(i)] = g.name(f)
	}
	return m
}

// Ifaces rewrites a query's interface list for Prepare: across the fleet a
// bare interface name becomes that interface of every probe. Names it does
// not know stay, for Prepare to refuse.
func (g *GoQuery) Ifaces(list string) string {
	if g.probe != "" {
		return list
	}
	switch strings.ToLower(strings.TrimSpace(list)) {
	case "any", "all", "":
		return list
	}
	var out []string
	for w := range strings.SplitSeq(list, ",") {
		w = strings.TrimSpace(w)
		n := len(out)
		for _, f := range g.ifaces {
			if g.name(f) == w {
				out = append(out, w)
				break
			}
		}
		if len(out) > n {
			continue
		}
		for _, f := range g.ifaces {
			if f.Name == w {
				out = append(out, g.name(f))
			}
		}
		if len(out) == n {
			out = append(out, w)
		}
	}
	return strings.Join(out, ",")
}

func (g *GoQuery) selected(ids []uint16) ([]FleetIface, error) {
	out := make([]FleetIface, len(ids))
	for i, id := range ids {
		if int(id) >= len(g.ifaces) {
			return nil, fmt.Errorf("goQuery: interface id %d of %d", id, len(g.ifaces))
		}
		out[i] = g.ifaces[id]
	}
	return out, nil
}

// keyCols are the table columns (and expressions) each attribute groups
// by, in query.Attr order.
var keyCols = map[query.Attr][]string{
	query.AttrTime:  {fmt.Sprintf("toInt64(intDiv(toUInt32(LAST_SEEN), %d) * %d)", store.BlockSeconds, store.BlockSeconds)},
	query.AttrIface: {"NTOPNG_INSTANCE_NAME", "INTERFACE_ID"}, // and INTERFACE_NAME for a Shared id
	query.AttrSIP:   {"IP_PROTOCOL_VERSION", "IPV4_SRC_ADDR", "IPV6_SRC_ADDR"},
	query.AttrDIP:   {"IP_PROTOCOL_VERSION", "IPV4_DST_ADDR", "IPV6_DST_ADDR"},
	query.AttrDport: {"IP_DST_PORT"},
	query.AttrProto: {"PROTOCOL"},
}

// Group runs a prepared query's grouping in ClickHouse (query.Grouper).
func (g *GoQuery) Group(ctx context.Context, gr *query.Grouping) (out query.Grouped, err error) {
	ifs, err := g.selected(gr.IfIDs)
	if err != nil {
		return out, err
	}
	last := min(gr.LastBlock, math.MaxUint32-store.BlockSeconds) + store.BlockSeconds - 1 // as sqlb.blocks
	err = g.r.read(ctx, gr.FirstBlock, last, func(from string) (err error) {
		out, err = g.group(ctx, gr, ifs, from)
		return err
	})
	return out, err
}

func (g *GoQuery) group(ctx context.Context, gr *query.Grouping, ifs []FleetIface, from string) (out query.Grouped, err error) {
	where := func(s *sqlb) {
		s.w(" WHERE ")
		s.ifaces(ifs)
		s.w(" AND ")
		s.blocks(gr.FirstBlock, gr.LastBlock)
	}
	// The records in the range, matching or not (goQuery's hits),
	// counted beside the grouping.
	s := &sqlb{}
	s.w("SELECT count()", from)
	where(s)
	type count struct {
		n   uint64
		err error
	}
	counted := make(chan count, 1)
	countSQL, countArgs := s.b.String(), s.args
	go func() {
		var c count
		c.err = g.r.conn.QueryRow(ctx, countSQL, countArgs...).Scan(&c.n)
		counted <- c
	}()
	defer func() {
		c := <-counted
		if c.err != nil && err == nil {
			err = fmt.Errorf("goQuery from clickhouse: %w", c.err)
		}
		out.Scanned = int(c.n)
	}()

	var keys []string
	shared := slices.ContainsFunc(ifs, func(f FleetIface) bool { return f.Shared })
	for _, a := range gr.Attrs {
		cols := keyCols[a]
		if a == query.AttrIface && shared {
			cols = append(slices.Clip(cols), "INTERFACE_NAME")
		}
		for _, c := range cols {
			if !slices.Contains(keys, c) {
				keys = append(keys, c)
			}
		}
	}
	if len(keys) == 0 {
		return out, fmt.Errorf("goQuery: no attributes")
	}
	s = &sqlb{}
	s.w("SELECT ", strings.Join(keys, ", "),
		", sum(PACKETS), sum(TOTAL_BYTES), toUInt32(min(FIRST_SEEN)), toUInt32(min(LAST_SEEN)), toUInt32(max(LAST_SEEN))", from)
	where(s)
	s.w(" AND ")
	if err := s.cond(gr.Cond); err != nil {
		return out, err
	}
	s.w(" GROUP BY ", strings.Join(keys, ", "))
	if gr.MaxGroups > 0 {
		s.w(" LIMIT ")
		s.arg(uint64(gr.MaxGroups) + 1)
	}
	rows, err := g.r.conn.Query(ctx, s.b.String(), s.args...)
	if err != nil {
		return out, fmt.Errorf("goQuery from clickhouse: %w", err)
	}
	defer rows.Close()
	var (
		tm                int64
		probe, ifname     string
		ifid              uint16
		ver               uint8
		s4, d4            uint32
		s6, d6            string
		dport             uint16
		proto             uint8
		pkts, bytes       uint64
		first, lmin, lmax uint32
	)
	dests := map[string]any{
		keyCols[query.AttrTime][0]: &tm, "NTOPNG_INSTANCE_NAME": &probe, "INTERFACE_ID": &ifid, "INTERFACE_NAME": &ifname,
		"IP_PROTOCOL_VERSION": &ver, "IPV4_SRC_ADDR": &s4, "IPV6_SRC_ADDR": &s6, "IPV4_DST_ADDR": &d4, "IPV6_DST_ADDR": &d6,
		"IP_DST_PORT": &dport, "PROTOCOL": &proto,
	}
	var dest []any
	for _, k := range keys {
		dest = append(dest, dests[k])
	}
	dest = append(dest, &pkts, &bytes, &first, &lmin, &lmax)
	type ifKey struct {
		probe string
		id    uint16
		name  string // for a Shared id only
	}
	index := map[ifKey]int{}
	for i, f := range ifs {
		for _, id := range f.IDs {
			k := ifKey{f.Probe, id, ""}
			if shared {
				k.name = f.Name
			}
			index[k] = i
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return out, fmt.Errorf("goQuery from clickhouse: %w", err)
		}
		if gr.MaxGroups > 0 && len(out.Groups) >= gr.MaxGroups {
			return out, query.ErrMemoryLimit
		}
		out.Groups = append(out.Groups, query.Group{
			Time: tm, IfIdx: index[ifKey{probe, ifid, ifname}],
			SIP: addr(ver, s4, s6), DIP: addr(ver, d4, d6), DPort: dport, Proto: proto,
			Packets: pkts, Bytes: bytes, FirstSeen: int64(first), LastMin: int64(lmin), LastMax: int64(lmax),
		})
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("goQuery from clickhouse: %w", err)
	}
	return out, nil
}

// Newest is the start of the newest block holding flows of the interfaces
// (query.Grouper).
func (g *GoQuery) Newest(ctx context.Context, ids []uint16) (int64, bool, error) {
	ifs, err := g.selected(ids)
	if err != nil {
		return 0, false, err
	}
	s := &sqlb{}
	s.w("SELECT count(), toUInt32(max(LAST_SEEN)) FROM ", g.r.db, ".flows WHERE ")
	s.ifaces(ifs)
	var n uint64
	var last uint32
	if err := g.r.conn.QueryRow(ctx, s.b.String(), s.args...).Scan(&n, &last); err != nil {
		return 0, false, fmt.Errorf("goQuery from clickhouse: %w", err)
	}
	if n == 0 {
		return 0, false, nil
	}
	return store.BlockStart(int64(last)), true, nil
}
