package flowsql

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/probe-appliance/probe/controlplane/store"
)

// FlowsQuery is db/flows: the stored records of one interface in a time
// range that match Where, newest first, at most MaxHits of them.
type FlowsQuery struct {
	IfID       uint16
	Begin, End int64 // unix seconds; records whose last packet is in [Begin, End]
	Select     []*Column
	Where      Expr
	MaxHits    int
}

// Flows runs q.
func Flows(st *store.Store, q FlowsQuery) ([]map[string]any, error) {
	type hit struct {
		rec store.FlowRecord
	}
	var hits []hit
	err := st.ScanFlows(q.IfID, q.Begin, q.End+1, func(r *store.FlowRecord) error {
		if r.LastSeen < q.Begin || r.LastSeen > q.End || !q.Where.Eval(r) {
			return nil
		}
		hits = append(hits, hit{*r})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("db/flows: %w", err)
	}
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(b.rec.LastSeen, a.rec.LastSeen) })
	if q.MaxHits > 0 && len(hits) > q.MaxHits {
		hits = hits[:q.MaxHits]
	}
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
	MaxHits    int
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

// TopK runs q. Each row has the key columns and the aggregate under the
// value column's name.
func TopK(st *store.Store, q TopKQuery) ([]map[string]any, error) {
	type group struct {
		keys     []any
		sum, n   int64
		max, min int64
		first    bool
	}
	groups := map[string]*group{}
	var order []string
	var kb strings.Builder
	err := st.ScanFlows(q.IfID, q.Begin, q.End+1, func(r *store.FlowRecord) error {
		if r.LastSeen < q.Begin || r.LastSeen > q.End || !q.Where.Eval(r) {
			return nil
		}
		v, ok := q.Value.Number(r)
		if !ok {
			return nil
		}
		kb.Reset()
		keys := make([]any, len(q.Keys))
		for i, c := range q.Keys {
			keys[i] = c.Value(r)
			fmt.Fprint(&kb, keys[i], "\x00")
		}
		g := groups[kb.String()]
		if g == nil {
			g = &group{keys: keys, first: true}
			groups[kb.String()] = g
			order = append(order, kb.String())
		}
		g.sum += v
		g.n++
		if g.first || v > g.max {
			g.max = v
		}
		if g.first || v < g.min {
			g.min = v
		}
		g.first = false
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("db/topk_flows: %w", err)
	}
	agg := func(g *group) float64 {
		switch q.Agg {
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
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(agg(groups[b]), agg(groups[a])) })
	if q.MaxHits > 0 && len(order) > q.MaxHits {
		order = order[:q.MaxHits]
	}
	out := make([]map[string]any, 0, len(order))
	for _, k := range order {
		g := groups[k]
		row := make(map[string]any, len(q.Keys)+1)
		for i, c := range q.Keys {
			row[c.Name] = g.keys[i]
		}
		a := agg(g)
		if q.Agg == "AVG" {
			row[q.Value.Name] = a
		} else {
			row[q.Value.Name] = int64(a)
		}
		out = append(out, row)
	}
	return out, nil
}
