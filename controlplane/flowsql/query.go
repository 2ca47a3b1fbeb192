package flowsql

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/topk"
)

// Bounds of the historical queries. A query streams the store and holds
// only what it may answer: db/flows the newest MaxHits records (a bounded
// heap), db/topk_flows its groups, then the MaxHits largest. What it holds
// is capped at MaxMemory; past it the query stops with ErrMemoryLimit
// rather than grow (goProbe's MaxMemPct idea, as a fixed budget since
// several queries run side by side). At most MaxConcurrent queries run at
// once; the next waits at most SlotWait for one to finish, then gets
// ErrBusy.
const (
	MaxConcurrent = 4
	MaxMemory     = 64 << 20 // bytes held by one query
	SlotWait      = 10 * time.Second
)

// Estimated costs of what a query holds, for the MaxMemory budget: a kept
// record (~150 B with the heap's bookkeeping) and its answer row, a map of
// the selected columns (~48 B per entry with the boxed value); a top-k
// group (its map entry, key string, key values and counters).
const (
	hitBytes        = 160
	rowColumnBytes  = 48
	groupBytes      = 192
	groupColumnByte = 64
)

// ErrMemoryLimit is a query stopped because what it would answer or group
// needs more memory than MaxMemory.
var ErrMemoryLimit = errors.New("flowsql: the query would hold more than its memory allowance; lower maxhits_clause or narrow the time range or where clause")

// ErrBusy is a query refused because MaxConcurrent others are running.
var ErrBusy = errors.New("flowsql: too many historical queries running; try again later")

// maxMemory is MaxMemory; tests lower it.
var maxMemory = MaxMemory

// slots bounds the queries running in this process: they all read the
// same store and each may hold up to MaxMemory.
var slots = make(chan struct{}, MaxConcurrent)

func acquire(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(SlotWait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// ctxCheckEvery is how many records pass between cancellation checks.
const ctxCheckEvery = 1 << 14

// FlowsQuery is db/flows: the stored records of one interface in a time
// range that match Where, newest first, at most MaxHits of them.
type FlowsQuery struct {
	IfID       uint16
	Begin, End int64 // unix seconds; records whose last packet is in [Begin, End]
	Select     []*Column
	Where      Expr
	MaxHits    int // < 1: every record, within MaxMemory
	// Visible, when set, hides the records it returns false for (a
	// restricted user's networks).
	Visible func(r *store.FlowRecord) bool
}

// hit is a kept record and its place in the scan, which breaks ties of
// LastSeen as the store's order (block, then write order) does.
type hit struct {
	rec   store.FlowRecord
	block int64
	seq   int
}

// newestFirst orders hits by LastSeen, newest first, ties in store order.
func newestFirst(a, b hit) int {
	return cmp.Or(cmp.Compare(b.rec.LastSeen, a.rec.LastSeen), cmp.Compare(a.block, b.block), cmp.Compare(a.seq, b.seq))
}

// blocksInRange are ifid's blocks that may hold records with LastSeen in
// [begin, end], newest first.
func blocksInRange(st *store.Store, ifid uint16, begin, end int64) ([]int64, error) {
	all, err := st.FlowBlocks(ifid)
	if err != nil {
		return nil, err
	}
	var out []int64
	for i := len(all) - 1; i >= 0; i-- {
		if b := all[i]; b <= end && b > begin-store.BlockSeconds {
			out = append(out, b)
		}
	}
	return out, nil
}

// Flows runs q. Blocks are read newest first and every record of a block
// is newer than every record of the blocks before it in time, so once
// MaxHits records are kept the older blocks cannot change the answer and
// are not read.
func Flows(ctx context.Context, st *store.Store, q FlowsQuery) ([]map[string]any, error) {
	release, err := acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()

	limit := q.MaxHits
	if limit < 1 {
		limit = math.MaxInt
	}
	capRows := MaxRows(len(q.Select))
	// One beyond the cap tells a query past it from one that just fits.
	kept := topk.New(min(limit, capRows+1), newestFirst)
	blocks, err := blocksInRange(st, q.IfID, q.Begin, q.End)
	if err != nil {
		return nil, fmt.Errorf("db/flows: %w", err)
	}
	n := 0
	for _, b := range blocks {
		seq := 0
		err := st.ScanFlows(q.IfID, b, b+1, func(r *store.FlowRecord) error {
			if n++; n%ctxCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			seq++
			if r.LastSeen < q.Begin || r.LastSeen > q.End || !q.Where.Eval(r) || (q.Visible != nil && !q.Visible(r)) {
				return nil
			}
			if kept.Full() && kept.Worst().rec.LastSeen > r.LastSeen {
				return nil // the common case once full: no copy
			}
			kept.Push(hit{rec: *r, block: b, seq: seq})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("db/flows: %w", err)
		}
		if kept.Len() > capRows {
			return nil, ErrMemoryLimit
		}
		if kept.Len() >= limit {
			break
		}
	}
	hits := kept.Sorted()
	out := make([]map[string]any, 0, len(hits))
	for i := range hits {
		row := make(map[string]any, len(q.Select))
		for _, c := range q.Select {
			row[c.Name] = c.Value(&hits[i].rec)
		}
		out = append(out, row)
	}
	return out, nil
}

// Aggregations of db/topk_flows.
var aggregations = map[string]bool{"SUM": true, "AVG": true, "MAX": true, "MIN": true, "COUNT": true}

// TopKQuery is db/topk_flows: records grouped by Keys, Value aggregated
// with Agg, the MaxHits largest groups.
type TopKQuery struct {
	IfID       uint16
	Begin, End int64
	Keys       []*Column
	Value      *Column
	Agg        string // SUM, AVG, MAX, MIN, COUNT
	Where      Expr
	MaxHits    int // < 1: every group
	// Visible, when set, leaves out the records it returns false for.
	Visible func(r *store.FlowRecord) bool
}

// ParseAgg validates a topk_clause.
func ParseAgg(s string) (string, error) {
	a := strings.ToUpper(strings.TrimSpace(s))
	if a == "" {
		return "SUM", nil
	}
	if !aggregations[a] {
		return "", fmt.Errorf("unknown top-k aggregation %q (SUM, AVG, MAX, MIN or COUNT)", s)
	}
	return a, nil
}

// MaxRows is how many answer rows of cols selected columns one query may
// hold within MaxMemory, whichever store answers it.
func MaxRows(cols int) int { return maxMemory / (hitBytes + rowColumnBytes*max(1, cols)) }

// MaxGroups is how many top-k groups of keys key columns one query may
// hold within MaxMemory, whichever store answers it.
func MaxGroups(keys int) int { return maxMemory / (groupBytes + groupColumnByte*keys) }

// TopK runs q. Each row has the key columns and the aggregate under the
// value column's name. Groups are counted against MaxMemory as they
// appear; the answer is picked by a bounded heap instead of sorting them
// all.
func TopK(ctx context.Context, st *store.Store, q TopKQuery) ([]map[string]any, error) {
	release, err := acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()

	groups := NewTopKGroups(&q)
	n := 0
	err = st.ScanFlows(q.IfID, q.Begin, q.End+1, func(r *store.FlowRecord) error {
		if n++; n%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if r.LastSeen < q.Begin || r.LastSeen > q.End || !q.Where.Eval(r) || (q.Visible != nil && !q.Visible(r)) {
			return nil
		}
		v, ok := q.Value.Number(r)
		if !ok {
			return nil
		}
		return groups.Add(r, v, 1, v, v)
	})
	if errors.Is(err, ErrMemoryLimit) {
		return nil, ErrMemoryLimit
	}
	if err != nil {
		return nil, fmt.Errorf("db/topk_flows: %w", err)
	}
	return groups.Rows(), nil
}

// TopKGroups gathers db/topk_flows' groups, in order of appearance (the
// tie-break), and ranks them: one place for both stores, Badger adding
// each record, ClickHouse each group it aggregated.
type TopKGroups struct {
	q   *TopKQuery
	max int
	m   map[string]*topKGroup
	kb  strings.Builder
}

type topKGroup struct {
	keys     []any
	sum, n   int64
	max, min int64
	seq      int
}

// NewTopKGroups gathers q's groups, at most MaxGroups of them.
func NewTopKGroups(q *TopKQuery) *TopKGroups {
	return &TopKGroups{q: q, max: MaxGroups(len(q.Keys)), m: map[string]*topKGroup{}}
}

// Add counts n values (their sum, max and min) into the group of r's key
// columns; ErrMemoryLimit when that group would be one too many.
func (gs *TopKGroups) Add(r *store.FlowRecord, sum, n, mx, mn int64) error {
	gs.kb.Reset()
	for _, c := range gs.q.Keys {
		fmt.Fprint(&gs.kb, c.Value(r), "\x00")
	}
	g := gs.m[gs.kb.String()]
	if g == nil {
		if len(gs.m) >= gs.max {
			return ErrMemoryLimit
		}
		keys := make([]any, len(gs.q.Keys))
		for i, c := range gs.q.Keys {
			keys[i] = c.Value(r)
		}
		g = &topKGroup{keys: keys, max: mx, min: mn, seq: len(gs.m)}
		gs.m[gs.kb.String()] = g
	}
	g.sum += sum
	g.n += n
	g.max, g.min = max(g.max, mx), min(g.min, mn)
	return nil
}

// value is a group's aggregate.
func (gs *TopKGroups) value(g *topKGroup) float64 {
	switch gs.q.Agg {
	case "AVG":
		return float64(g.sum) / float64(g.n)
	case "MAX":
		return float64(g.max)
	case "MIN":
		return float64(g.min)
	case "COUNT":
		return float64(g.n)
	}
	return float64(g.sum)
}

// Rows answers the MaxHits largest groups (every group when MaxHits < 1),
// largest first, earlier first on a tie.
func (gs *TopKGroups) Rows() []map[string]any {
	q := gs.q
	limit := q.MaxHits
	if limit < 1 {
		limit = len(gs.m)
	}
	type ranked struct {
		g   *topKGroup
		agg float64
	}
	best := topk.New(limit, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(b.agg, a.agg), cmp.Compare(a.g.seq, b.g.seq))
	})
	for _, g := range gs.m {
		best.Push(ranked{g, gs.value(g)})
	}
	top := best.Sorted()
	out := make([]map[string]any, 0, len(top))
	for _, t := range top {
		row := make(map[string]any, len(q.Keys)+1)
		for i, c := range q.Keys {
			row[c.Name] = t.g.keys[i]
		}
		if q.Agg == "AVG" {
			row[q.Value.Name] = t.agg
		} else {
			row[q.Value.Name] = int64(t.agg)
		}
		out = append(out, row)
	}
	return out
}
