package query

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// A store that groups flow records itself (ClickHouse, for a fleet of
// probes) answers a Query through RunGrouped: it is handed the query's
// attributes, condition tree (walked with Inspect), interfaces and block
// range, returns one Group per distinct attribute tuple, and the ranking,
// limits, totals and output shapes stay here, shared with Run.

// Grouping is what a Grouper is asked.
type Grouping struct {
	Attrs []Attr // ascending, without duplicates
	Cond  Node   // nil matches every record
	IfIDs []uint16
	// FirstBlock and LastBlock bound the records read, by the start of
	// the block of their LastSeen (store.BlockStart), both inclusive: the
	// whole blocks Run reads from the store.
	FirstBlock, LastBlock int64
	// MaxGroups is the most groups the query may hold (0: no limit): a
	// Grouper finding more stops and returns ErrMemoryLimit.
	MaxGroups int
}

// Group is one group: the attributes of Grouping.Attrs (the others
// zero; IfIdx indexes Grouping.IfIDs), the traffic of its records, the
// oldest FirstSeen and the oldest and newest LastSeen among them.
type Group struct {
	Time             int64
	IfIdx            int
	SIP, DIP         netip.Addr
	DPort            uint16
	Proto            uint8
	Packets, Bytes   uint64
	FirstSeen        int64
	LastMin, LastMax int64
}

// Grouped is a Grouper's answer: the groups of the matching records and
// the number of records in the range (matching or not).
type Grouped struct {
	Groups  []Group
	Scanned int
}

// Grouper is a flow store that groups records itself.
type Grouper interface {
	Group(ctx context.Context, g *Grouping) (Grouped, error)
	// Newest is the start of the newest block holding records of the
	// interfaces (ok false: none).
	Newest(ctx context.Context, ifIDs []uint16) (block int64, ok bool, err error)
}

// RunGrouped executes q over a store that groups records itself; the
// answer is the one Run gives over the same records.
func (q *Query) RunGrouped(ctx context.Context, src Grouper) (*Result, error) {
	start := time.Now()
	var use [numAttrs]bool
	for _, a := range q.attrs {
		use[a] = true
	}
	g := &Grouping{Attrs: q.attrs, Cond: q.cond, IfIDs: q.ifIDs,
		FirstBlock: store.BlockStart(q.first), LastBlock: store.BlockStart(q.last), MaxGroups: q.maxGroups}
	ans, err := src.Group(ctx, g)
	if err != nil {
		return nil, err
	}
	if q.maxGroups > 0 && len(ans.Groups) > q.maxGroups {
		return nil, ErrMemoryLimit
	}
	groups := make(map[rowKey]*Counters, len(ans.Groups))
	var dataFirst, dataLast, blockFirst, blockLast int64
	for i := range ans.Groups {
		gr := &ans.Groups[i]
		var k rowKey
		if use[AttrTime] {
			k.time = gr.Time
		}
		if use[AttrIface] {
			if gr.IfIdx < 0 || gr.IfIdx >= len(q.ifIDs) {
				return nil, fmt.Errorf("query: grouped store answered interface %d of %d", gr.IfIdx, len(q.ifIDs))
			}
			k.ifIdx = uint16(gr.IfIdx)
		}
		if use[AttrSIP] {
			k.sip, k.hasIP = gr.SIP.Unmap().As16(), k.hasIP|1
		}
		if use[AttrDIP] {
			k.dip, k.hasIP = gr.DIP.Unmap().As16(), k.hasIP|2
		}
		if use[AttrDport] {
			k.dport = gr.DPort
		}
		if use[AttrProto] {
			k.proto = gr.Proto
		}
		c := groups[k]
		if c == nil {
			c = &Counters{}
			groups[k] = c
		}
		c.PktsRcvd += gr.Packets
		c.BytesRcvd += gr.Bytes
		if dataFirst == 0 || (gr.FirstSeen != 0 && gr.FirstSeen < dataFirst) {
			dataFirst = gr.FirstSeen
		}
		dataLast = max(dataLast, gr.LastMax)
		if i == 0 || store.BlockStart(gr.LastMin) < blockFirst {
			blockFirst = store.BlockStart(gr.LastMin)
		}
		blockLast = max(blockLast, store.BlockStart(gr.LastMax))
	}
	res := q.result(groups, &use, ans.Scanned, dataFirst, dataLast, blockFirst, blockLast)
	res.Duration = time.Since(start)
	return res, nil
}

// NewestGrouped is NewestStored over a store that groups records itself.
func (q *Query) NewestGrouped(ctx context.Context, src Grouper) (block int64, ok bool, err error) {
	return src.Newest(ctx, q.ifIDs)
}

// CondKind is the kind of a condition node (Inspect).
type CondKind uint8

const (
	CondAnd     CondKind = iota + 1 // Kids[0] and Kids[1]
	CondOr                          // Kids[0] or Kids[1]
	CondNot                         // not Kids[0]
	CondAddr                        // the side's address in Prefix (!= with Neq); another family is not in it
	CondDport                       // the server port Op Value
	CondProto                       // the IP protocol Op Value
	CondCountry                     // the side's country (ISO code) is Country (!= with Neq)
	CondASN                         // the side's AS number is ASN (!= with Neq)
)

// CondTerm is a condition node as a translator of the tree (ClickHouse's
// SQL) sees it: the parsed values, never the request's text.
type CondTerm struct {
	Kind    CondKind
	Kids    []Node
	Server  bool // the server's side, else the client's
	Neq     bool
	Prefix  netip.Prefix
	Op      Op
	Value   uint64
	Country string
	ASN     uint32
}

// Inspect tells what n is. ok is false for a host name not yet resolved
// (Prepare resolves them) and for kinds a translator cannot know.
func Inspect(n Node) (t CondTerm, ok bool) {
	switch x := n.(type) {
	case andNode:
		return CondTerm{Kind: CondAnd, Kids: []Node{x.l, x.r}}, true
	case orNode:
		return CondTerm{Kind: CondOr, Kids: []Node{x.l, x.r}}, true
	case notNode:
		return CondTerm{Kind: CondNot, Kids: []Node{x.x}}, true
	case ipNode:
		return CondTerm{Kind: CondAddr, Server: x.server, Neq: x.neq, Prefix: x.pfx}, true
	case dportNode:
		return CondTerm{Kind: CondDport, Op: x.op, Value: uint64(x.v)}, true
	case protoNode:
		return CondTerm{Kind: CondProto, Op: x.op, Value: uint64(x.v)}, true
	case geoNode:
		if x.country != "" {
			return CondTerm{Kind: CondCountry, Server: x.server, Neq: x.neq, Country: x.country}, true
		}
		return CondTerm{Kind: CondASN, Server: x.server, Neq: x.neq, ASN: x.asn}, true
	}
	return CondTerm{}, false
}
