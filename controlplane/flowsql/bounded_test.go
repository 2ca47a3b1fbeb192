package flowsql

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

const t0 = 1_700_000_100 // a block start (multiple of 300)

// randomStore writes n records over nBlocks blocks, with many equal
// LastSeen values (ties) and written out of time order.
func randomStore(t *testing.T, n, nBlocks int) (*store.Store, []store.FlowRecord) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rng := rand.New(rand.NewPCG(7, 9))
	recs := make([]store.FlowRecord, n)
	for i := range recs {
		last := int64(t0 + rng.IntN(nBlocks)*store.BlockSeconds + rng.IntN(4)*60)
		recs[i] = rec(fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(8)), fmt.Sprintf("192.0.2.%d", rng.IntN(16)),
			uint16(1024+i%5000), []uint16{53, 80, 443}[rng.IntN(3)], []uint8{6, 17}[rng.IntN(2)], uint64(100+rng.IntN(5000)), last)
	}
	// Several writes, so a block holds several chunks.
	for i := 0; i < n; i += 700 {
		if err := st.WriteFlows(recs[i:min(i+700, n)]); err != nil {
			t.Fatal(err)
		}
	}
	return st, recs
}

// naiveFlows is db/flows as it was: every match read, stably sorted newest
// first, cut to maxhits.
func naiveFlows(t *testing.T, st *store.Store, q FlowsQuery) []map[string]any {
	t.Helper()
	var hits []store.FlowRecord
	err := st.ScanFlows(q.IfID, q.Begin, q.End+1, func(r *store.FlowRecord) error {
		if r.LastSeen >= q.Begin && r.LastSeen <= q.End && q.Where.Eval(r) && (q.Visible == nil || q.Visible(r)) {
			hits = append(hits, *r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(hits, func(a, b store.FlowRecord) int { return cmp.Compare(b.LastSeen, a.LastSeen) })
	if q.MaxHits > 0 && len(hits) > q.MaxHits {
		hits = hits[:q.MaxHits]
	}
	out := []map[string]any{}
	for i := range hits {
		row := map[string]any{}
		for _, c := range q.Select {
			row[c.Name] = c.Value(&hits[i])
		}
		out = append(out, row)
	}
	return out
}

// TestFlowsSameAsReadingEverything: the streaming db/flows answers exactly
// what reading, sorting and cutting everything answers.
func TestFlowsSameAsReadingEverything(t *testing.T) {
	st, _ := randomStore(t, 6000, 9)
	sel, _ := ParseSelect("*")
	inNet := netip.MustParsePrefix("10.0.1.0/24")
	for _, where := range []string{"", "PROTOCOL = 17", "L4_DST_PORT = 443 AND TOTAL_BYTES > 2500", "PROTOCOL = 99"} {
		for _, maxHits := range []int{1, 3, 10, 100, 2500, 0} {
			for _, rng := range [][2]int64{{t0, t0 + 9*300}, {t0 + 700, t0 + 1500}, {t0 - 5000, t0 + 60}, {t0 + 299, t0 + 300}} {
				for _, vis := range []func(*store.FlowRecord) bool{nil, func(r *store.FlowRecord) bool { return inNet.Contains(r.Client) }} {
					w, err := ParseWhere(where)
					if err != nil {
						t.Fatal(err)
					}
					q := FlowsQuery{Begin: rng[0], End: rng[1], Select: sel, Where: w, MaxHits: maxHits, Visible: vis}
					got, err := Flows(context.Background(), st, q)
					if err != nil {
						t.Fatal(err)
					}
					if want := naiveFlows(t, st, q); !reflect.DeepEqual(got, want) {
						t.Fatalf("where %q maxhits %d range %v visible %v: %d rows, want %d\n got %v\nwant %v",
							where, maxHits, rng, vis != nil, len(got), len(want), first(got), first(want))
					}
				}
			}
		}
	}
}

func first(rows []map[string]any) []map[string]any { return rows[:min(3, len(rows))] }

// TestFlowsStopsEarly: with maxhits met in the newest block, no older
// block is read.
func TestFlowsStopsEarly(t *testing.T) {
	st, recs := randomStore(t, 5000, 10)
	newest := int64(0)
	for _, r := range recs {
		newest = max(newest, store.BlockStart(r.LastSeen))
	}
	all, _ := ParseWhere("")
	sel, _ := ParseSelect("LAST_SEEN")
	var seen, older int
	rows, err := Flows(context.Background(), st, FlowsQuery{Begin: t0, End: t0 + 3600, Select: sel, Where: all, MaxHits: 5,
		Visible: func(r *store.FlowRecord) bool {
			seen++
			if r.LastSeen < newest {
				older++
			}
			return true
		}})
	if err != nil || len(rows) != 5 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	if older != 0 || seen == 0 || seen > len(recs)/5 {
		t.Errorf("read %d records, %d of them older than the newest block", seen, older)
	}
}

// TestMemoryLimit: a query that would hold more than the allowance stops
// with ErrMemoryLimit; one within it is answered.
func TestMemoryLimit(t *testing.T) {
	st, _ := randomStore(t, 3000, 4)
	old := maxMemory
	maxMemory = 200 * (hitBytes + rowColumnBytes*len(columns)) // 200 rows of select *
	t.Cleanup(func() { maxMemory = old })
	all, _ := ParseWhere("")
	sel, _ := ParseSelect("*")
	for _, c := range []struct {
		maxHits int
		err     error
	}{{200, nil}, {10, nil}, {201, ErrMemoryLimit}, {0, ErrMemoryLimit}} {
		rows, err := Flows(context.Background(), st, FlowsQuery{Begin: t0, End: t0 + 3600, Select: sel, Where: all, MaxHits: c.maxHits})
		if !errors.Is(err, c.err) || (err == nil && len(rows) != c.maxHits) {
			t.Errorf("maxhits %d: %d rows, %v; want %v", c.maxHits, len(rows), err, c.err)
		}
	}
	k, _ := Lookup("L4_SRC_PORT") // 3000 distinct values
	v, _ := Lookup("BYTES")
	maxMemory = 100 * (groupBytes + groupColumnByte)
	if _, err := TopK(context.Background(), st, TopKQuery{Begin: t0, End: t0 + 3600, Keys: []*Column{k}, Value: v, Agg: "SUM", Where: all, MaxHits: 10}); !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("topk over 3000 groups with room for 100: %v", err)
	}
	k2, _ := Lookup("PROTOCOL") // 2 groups
	if rows, err := TopK(context.Background(), st, TopKQuery{Begin: t0, End: t0 + 3600, Keys: []*Column{k2}, Value: v, Agg: "SUM", Where: all, MaxHits: 10}); err != nil || len(rows) != 2 {
		t.Errorf("topk over 2 groups: %v %v", rows, err)
	}
}

// TestTopKSameAsSortingAll checks the heap's pick against sorting every
// group (ties in order of appearance), for each aggregation.
func TestTopKSameAsSortingAll(t *testing.T) {
	st, recs := randomStore(t, 4000, 5)
	k1, _ := Lookup("IPV4_SRC_ADDR")
	k2, _ := Lookup("L4_DST_PORT")
	v, _ := Lookup("BYTES")
	all, _ := ParseWhere("")
	inNet := netip.MustParsePrefix("10.0.2.0/24")
	vis := func(r *store.FlowRecord) bool { return inNet.Contains(r.Client) }
	// Appearance order is the store's scan order.
	var scanned []store.FlowRecord
	st.ScanFlows(0, t0, t0+3600, func(r *store.FlowRecord) error { scanned = append(scanned, *r); return nil })
	if len(scanned) != len(recs) {
		t.Fatalf("scanned %d of %d", len(scanned), len(recs))
	}
	for _, agg := range []string{"SUM", "AVG", "MAX", "MIN", "COUNT"} {
		for _, maxHits := range []int{1, 5, 1000, 0} {
			for _, visible := range []func(*store.FlowRecord) bool{nil, vis} {
				type g struct {
					key            string
					src            string
					port           int64
					sum, n, mx, mn int64
				}
				var order []*g
				idx := map[string]*g{}
				for i := range scanned {
					r := &scanned[i]
					if visible != nil && !visible(r) {
						continue
					}
					b := int64(r.BytesC2S + r.BytesS2C)
					key := fmt.Sprint(r.Client, r.ServerPort)
					x := idx[key]
					if x == nil {
						x = &g{key: key, src: r.Client.String(), port: int64(r.ServerPort), mx: b, mn: b}
						idx[key] = x
						order = append(order, x)
					}
					x.sum += b
					x.n++
					x.mx, x.mn = max(x.mx, b), min(x.mn, b)
				}
				val := func(x *g) float64 {
					switch agg {
					case "AVG":
						return float64(x.sum) / float64(x.n)
					case "MAX":
						return float64(x.mx)
					case "MIN":
						return float64(x.mn)
					case "COUNT":
						return float64(x.n)
					}
					return float64(x.sum)
				}
				slices.SortStableFunc(order, func(a, b *g) int { return cmp.Compare(val(b), val(a)) })
				if maxHits > 0 && len(order) > maxHits {
					order = order[:maxHits]
				}
				got, err := TopK(context.Background(), st, TopKQuery{Begin: t0, End: t0 + 3600, Keys: []*Column{k1, k2}, Value: v, Agg: agg, Where: all, MaxHits: maxHits, Visible: visible})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(order) {
					t.Fatalf("%s maxhits %d: %d rows, want %d", agg, maxHits, len(got), len(order))
				}
				for i, x := range order {
					var want any = int64(val(x))
					if agg == "AVG" {
						want = val(x)
					}
					if got[i]["IPV4_SRC_ADDR"] != x.src || got[i]["L4_DST_PORT"] != x.port || got[i]["TOTAL_BYTES"] != want {
						t.Fatalf("%s maxhits %d row %d: %v, want %s %d %v", agg, maxHits, i, got[i], x.src, x.port, want)
					}
				}
			}
		}
	}
}

// TestConcurrencyBound: with MaxConcurrent queries running, the next one
// waits for a slot and gives up with ErrBusy when its context ends.
func TestConcurrencyBound(t *testing.T) {
	st, _ := randomStore(t, 100, 1)
	for range MaxConcurrent {
		slots <- struct{}{}
	}
	all, _ := ParseWhere("")
	sel, _ := ParseSelect("*")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Flows(ctx, st, FlowsQuery{Begin: t0, End: t0 + 300, Select: sel, Where: all, MaxHits: 1})
	if !errors.Is(err, ErrBusy) || time.Since(start) > 5*time.Second {
		t.Errorf("query beyond the bound: %v after %v", err, time.Since(start))
	}
	<-slots // one query finishes: the next runs
	if rows, err := Flows(context.Background(), st, FlowsQuery{Begin: t0, End: t0 + 300, Select: sel, Where: all, MaxHits: 1}); err != nil || len(rows) != 1 {
		t.Errorf("with a free slot: %v %v", rows, err)
	}
	for range MaxConcurrent - 1 {
		<-slots
	}
}
