package query

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/topk"
)

// Counters are a row's traffic in goProbe's terms. On a capture port
// every packet is "received": rcvd holds both directions, sent stays 0.
type Counters struct {
	PktsRcvd, PktsSent, BytesRcvd, BytesSent uint64
}

func (c *Counters) add(o Counters) {
	c.PktsRcvd += o.PktsRcvd
	c.PktsSent += o.PktsSent
	c.BytesRcvd += o.BytesRcvd
	c.BytesSent += o.BytesSent
}

// Packets and Bytes are the counters a mode shows as one number.
func (c Counters) Packets(m Mode) uint64 {
	switch m {
	case ModeIn:
		return c.PktsRcvd
	case ModeOut:
		return c.PktsSent
	}
	return c.PktsRcvd + c.PktsSent
}

func (c Counters) Bytes(m Mode) uint64 {
	switch m {
	case ModeIn:
		return c.BytesRcvd
	case ModeOut:
		return c.BytesSent
	}
	return c.BytesRcvd + c.BytesSent
}

// Row is one group; attributes not queried are zero.
type Row struct {
	Time  int64 // block start, unix s
	Iface string
	SIP   netip.Addr
	DIP   netip.Addr
	DPort uint16
	Proto uint8
	Counters
}

// Result is a finished query.
type Result struct {
	Attrs     []Attr
	Mode      Mode
	SortBy    SortBy
	Ascending bool
	Ifaces    []string
	First     time.Time // requested range
	Last      time.Time
	DataFirst time.Time // first/last packet of the matching records
	DataLast  time.Time
	// BlocksFirst and BlocksLast bound the storage blocks that held
	// matching records (the start of the first, the end of the last): the
	// time span goQuery's text footer shows.
	BlocksFirst, BlocksLast time.Time
	Rows                    []Row    // sorted, at most NumResults
	TotalRows               int      // rows before truncation
	Total                   Counters // of all rows, the base of the percentages
	Records                 int      // records scanned
	// Names are the reverse-DNS names of addresses (ResolveNames), which
	// the outputs print instead of the addresses.
	Names    map[netip.Addr]string
	Duration time.Duration
}

// rowKey is a group's identity; fields of attributes not queried stay zero
// so that records fall into one group. Addresses are plain 16-byte arrays
// (IPv4 mapped): hashing and comparing netip.Addr in the map costs about
// twice as much.
type rowKey struct {
	time  int64
	sip   [16]byte
	dip   [16]byte
	ifIdx uint16 // index into Query.ifNames
	dport uint16
	proto uint8
	hasIP uint8 // bit 0: sip set, bit 1: dip set (the zero address is valid)
}

// keyAddr undoes As16; mapped addresses were IPv4 (records are unmapped
// before grouping, so no real IPv6 address takes this form).
func keyAddr(b [16]byte, set bool) netip.Addr {
	if !set {
		return netip.Addr{}
	}
	return netip.AddrFrom16(b).Unmap()
}

// Run prepares and executes args. A Prepare error wraps ErrInvalidArgs;
// anything else is an execution failure.
func Run(ctx context.Context, st *store.Store, ifaces map[uint16]string, args Args, now time.Time) (*Result, error) {
	q, err := Prepare(args, ifaces, now)
	if err != nil {
		return nil, err
	}
	return q.Run(ctx, st)
}

// ctxCheckEvery is how many records pass between cancellation checks:
// rare enough to cost nothing, frequent enough to stop within milliseconds.
const ctxCheckEvery = 1 << 14

// scanPart is one slice of the work: an interface and a block range.
type scanPart struct {
	idx      int // into q.ifIDs
	from, to int64
}

// partial is what one worker aggregated: each group's counters in a
// dense slice, found through a map of group keys to indices (a map of
// pointers to separately allocated counters cost a cache miss more per
// record). Queries grouping by one address alone, the common top-talkers
// question, key by the 16-byte address instead of the whole rowKey.
type partial struct {
	index               map[rowKey]int32
	addr4Index          [2]*u32Index // client, server
	addrIndex           [2]map[[16]byte]int32
	keys                []rowKey
	ctrs                []Counters
	n                   int
	dataFirst, dataLast int64
	matched             int   // records that met the condition
	blockFirst          int64 // of the matching records, if any
	blockLast           int64
	err                 error
}

// group returns k's counters, adding the group if new.
func (p *partial) group(k rowKey) *Counters {
	i, ok := p.index[k]
	if !ok {
		i = int32(len(p.ctrs))
		p.index[k] = i
		p.keys = append(p.keys, k)
		p.ctrs = append(p.ctrs, Counters{})
	}
	return &p.ctrs[i]
}

// addrGroup is group for address-only queries (side 0 client, 1 server);
// IPv4 addresses, nearly all of them, take the map's fast 32-bit path.
func (p *partial) addrGroup(a netip.Addr, side int) *Counters {
	var i int32
	var ok bool
	if a.Is4() {
		v := a.As4()
		i, ok = p.addr4Index[side].get(binary.BigEndian.Uint32(v[:]))
	} else {
		i, ok = p.addrIndex[side][a.As16()]
	}
	if ok {
		return &p.ctrs[i]
	}
	i = int32(len(p.ctrs))
	if a.Is4() {
		v := a.As4()
		p.addr4Index[side].put(binary.BigEndian.Uint32(v[:]), i)
	} else {
		p.addrIndex[side][a.As16()] = i
	}
	k := rowKey{sip: a.As16(), hasIP: 1}
	if side == 1 {
		k = rowKey{dip: a.As16(), hasIP: 2}
	}
	p.keys = append(p.keys, k)
	p.ctrs = append(p.ctrs, Counters{})
	return &p.ctrs[i]
}

// parts splits the query's time range of every interface into slices of
// whole blocks, so workers can scan them side by side.
func (q *Query) parts(st *store.Store, workers int) ([]scanPart, error) {
	var out []scanPart
	for idx, ifid := range q.ifIDs {
		blocks, err := st.FlowBlocks(ifid)
		if err != nil {
			return nil, fmt.Errorf("query: blocks of interface %s: %w", q.ifNames[idx], err)
		}
		var in []int64
		for _, b := range blocks {
			if b+store.BlockSeconds > q.first && b <= q.last {
				in = append(in, b)
			}
		}
		if len(in) == 0 {
			continue
		}
		per := (len(in) + workers - 1) / workers
		for k := 0; k < len(in); k += per {
			end := min(k+per, len(in))
			from := max(in[k], q.first)
			to := q.last + 1
			if end < len(in) {
				to = in[end]
			}
			out = append(out, scanPart{idx: idx, from: from, to: to})
		}
	}
	return out, nil
}

// Run executes q over st, scanning slices of the time range in parallel
// (one worker per CPU) and merging what they aggregated.
func (q *Query) Run(ctx context.Context, st *store.Store) (*Result, error) {
	start := time.Now()
	var use [numAttrs]bool
	for _, a := range q.attrs {
		use[a] = true
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	parts, err := q.parts(st, workers)
	if err != nil {
		return nil, err
	}
	results := make([]partial, len(parts))
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for pi := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func(pi int) {
			defer wg.Done()
			defer func() { <-sem }()
			results[pi] = q.scan(ctx, st, parts[pi], &use, workers)
		}(pi)
	}
	wg.Wait()

	groups := map[rowKey]*Counters{}
	var n int
	dataFirst, dataLast := int64(0), int64(0)
	matched, blockFirst, blockLast := 0, int64(0), int64(0)
	for ri := range results {
		r := &results[ri]
		if r.err != nil {
			return nil, r.err
		}
		n += r.n
		if r.n > 0 {
			if dataFirst == 0 || (r.dataFirst != 0 && r.dataFirst < dataFirst) {
				dataFirst = r.dataFirst
			}
			dataLast = max(dataLast, r.dataLast)
		}
		if r.matched > 0 {
			if matched == 0 || r.blockFirst < blockFirst {
				blockFirst = r.blockFirst
			}
			blockLast = max(blockLast, r.blockLast)
			matched += r.matched
		}
		for i, k := range r.keys {
			if g := groups[k]; g != nil {
				g.add(r.ctrs[i])
			} else {
				groups[k] = &r.ctrs[i]
			}
		}
	}

	res := q.result(groups, &use, n, dataFirst, dataLast, blockFirst, blockLast)
	res.Duration = time.Since(start)
	return res, nil
}

// result ranks the merged groups into the answer: the one place both
// Run (over the store) and RunGrouped (a store that groups itself) build
// it. n is the records scanned; the times are those of the matching
// records (unix s).
func (q *Query) result(groups map[rowKey]*Counters, use *[numAttrs]bool, n int, dataFirst, dataLast, blockFirst, blockLast int64) *Result {
	res := &Result{
		Attrs: q.attrs, Mode: q.mode, SortBy: q.sortBy, Ascending: q.asc,
		Ifaces: q.ifNames, First: time.Unix(q.first, 0), Last: time.Unix(q.last, 0),
		Records: n, TotalRows: len(groups),
	}
	if len(groups) > 0 {
		res.DataFirst, res.DataLast = time.Unix(dataFirst, 0), time.Unix(dataLast, 0)
		res.BlocksFirst, res.BlocksLast = time.Unix(blockFirst, 0), time.Unix(blockLast+store.BlockSeconds, 0)
	}
	// Only the rows answered are built: a bounded heap picks them as the
	// groups go by (the totals still count every group).
	limit := len(groups)
	if q.limit > 0 {
		limit = min(limit, q.limit)
	}
	best := topk.New(limit, q.compare())
	for k, c := range groups {
		res.Total.add(*c)
		row := Row{Time: k.time, SIP: keyAddr(k.sip, k.hasIP&1 != 0), DIP: keyAddr(k.dip, k.hasIP&2 != 0), DPort: k.dport, Proto: k.proto,
			Iface: ifaceName(q, k.ifIdx, use[AttrIface]), Counters: *c}
		best.Push(row)
	}
	res.Rows = best.Sorted()
	return res
}

// scan aggregates one slice of the work, decoding only the fields the
// query's attributes and condition read.
func (q *Query) scan(ctx context.Context, st *store.Store, part scanPart, use *[numAttrs]bool, workers int) partial {
	p := partial{index: make(map[rowKey]int32)}
	for side := range 2 {
		p.addr4Index[side], p.addrIndex[side] = newU32Index(), make(map[[16]byte]int32)
	}
	if err := ctx.Err(); err != nil {
		p.err = err
		return p
	}
	want := store.FieldPkts | store.FieldBytes | store.FieldTimes
	if use[AttrSIP] {
		want |= store.FieldClient
	}
	if use[AttrDIP] {
		want |= store.FieldServer
	}
	if use[AttrDport] {
		want |= store.FieldPorts
	}
	if use[AttrProto] {
		want |= store.FieldProto
	}
	if q.cond != nil {
		want |= condFields(q.cond)
	}
	// One address and nothing else: the top-talkers shape.
	addrOnly := use[AttrSIP] != use[AttrDIP] && !use[AttrTime] && !use[AttrIface] && !use[AttrDport] && !use[AttrProto]
	nextCheck := ctxCheckEvery
	err := st.ScanFlowColumns(q.ifIDs[part.idx], part.from, part.to, want, func(recs []store.FlowRecord) error {
		if p.n >= nextCheck {
			nextCheck += ctxCheckEvery
			if err := ctx.Err(); err != nil {
				return err
			}
			// Each worker holds its own groups; together they stay in
			// the budget (the merge holds at most the sum).
			if q.maxGroups > 0 && len(p.ctrs)*workers > q.maxGroups {
				return ErrMemoryLimit
			}
		}
		matched := 0
		for i := range recs {
			// The store hands out only blocks in [part.from, part.to)
			// and files every record in the block of its LastSeen.
			r := &recs[i]
			p.n++
			if q.cond != nil && !q.cond.Match(r) {
				continue
			}
			var c *Counters
			if addrOnly {
				if use[AttrSIP] {
					c = p.addrGroup(r.Client, 0)
				} else {
					c = p.addrGroup(r.Server, 1)
				}
			} else {
				var k rowKey
				if use[AttrTime] {
					k.time = store.BlockStart(r.LastSeen) // WriteFlows files records by LastSeen
				}
				if use[AttrIface] {
					k.ifIdx = uint16(part.idx)
				}
				if use[AttrSIP] {
					k.sip, k.hasIP = r.Client.As16(), k.hasIP|1
				}
				if use[AttrDIP] {
					k.dip, k.hasIP = r.Server.As16(), k.hasIP|2
				}
				if use[AttrDport] {
					k.dport = r.ServerPort
				}
				if use[AttrProto] {
					k.proto = r.Proto
				}
				c = p.group(k)
			}
			c.PktsRcvd += r.PktsC2S + r.PktsS2C
			c.BytesRcvd += r.BytesC2S + r.BytesS2C
			if p.dataFirst == 0 || r.FirstSeen < p.dataFirst {
				p.dataFirst = r.FirstSeen
			}
			p.dataLast = max(p.dataLast, r.LastSeen)
			matched++
		}
		if matched > 0 { // a chunk's records share one block
			b := store.BlockStart(recs[0].LastSeen)
			if p.matched == 0 || b < p.blockFirst {
				p.blockFirst = b
			}
			p.blockLast = max(p.blockLast, b)
			p.matched += matched
		}
		return nil
	})
	if err != nil {
		p.err = fmt.Errorf("query: scan interface %s: %w", q.ifNames[part.idx], err)
	}
	return p
}

func ifaceName(q *Query, idx uint16, used bool) string {
	if !used {
		return ""
	}
	return q.ifNames[idx]
}

// compare orders rows by the chosen counter (of the mode's columns summed,
// as goProbe does for the "both" mode), then by the attributes so that
// ties come out the same on every run: a total order, since groups differ
// in their attributes.
func (q *Query) compare() func(a, b Row) int {
	mode := q.mode
	if mode == ModeBoth {
		mode = ModeSum
	}
	primary := func(a, b *Row) int {
		switch q.sortBy {
		case SortPackets:
			return cmp.Compare(a.Packets(mode), b.Packets(mode))
		case SortTime:
			return cmp.Compare(a.Time, b.Time)
		}
		return cmp.Compare(a.Bytes(mode), b.Bytes(mode))
	}
	return func(a, b Row) int {
		c := primary(&a, &b)
		if !q.asc {
			c = -c
		}
		if c == 0 && q.sortBy == SortTime {
			// Within a block the big rows first, as a reader expects.
			c = -cmp.Compare(a.Bytes(mode), b.Bytes(mode))
		}
		if c != 0 {
			return c
		}
		return cmpAttrs(&a, &b)
	}
}

func cmpAttrs(a, b *Row) int {
	return cmp.Or(
		cmp.Compare(a.Time, b.Time),
		cmp.Compare(a.Iface, b.Iface),
		a.SIP.Compare(b.SIP),
		a.DIP.Compare(b.DIP),
		cmp.Compare(a.DPort, b.DPort),
		cmp.Compare(a.Proto, b.Proto),
	)
}

// NewestStored is the start of the newest stored block of the query's
// interfaces (ok false: none of them has any stored flow). goProbe v3
// failed a query over interfaces without stored data (500) instead of
// answering it empty; `probe query` uses it to find data older than its
// default window.
func (q *Query) NewestStored(st *store.Store) (block int64, ok bool, err error) {
	for _, id := range q.ifIDs {
		b, found, err := st.LatestFlowBlock(id, math.MaxInt64)
		if err != nil {
			return 0, false, fmt.Errorf("query: newest stored block: %w", err)
		}
		if found && (!ok || b > block) {
			block, ok = b, true
		}
	}
	return block, ok, nil
}
