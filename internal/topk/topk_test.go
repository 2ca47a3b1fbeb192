package topk

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKeeperMatchesSortAndCut compares with sorting the whole stream
// (ties broken by arrival) and cutting it, over random streams.
func TestKeeperMatchesSortAndCut(t *testing.T) {
	type item struct{ v, seq int }
	byV := func(a, b item) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.seq, b.seq)) } // largest first
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n, k := rng.IntN(200), rng.IntN(30)
		var all []item
		kp := New(k, byV)
		for i := range n {
			x := item{v: rng.IntN(20), seq: i}
			all = append(all, x)
			kp.Push(x)
		}
		slices.SortStableFunc(all, byV)
		want := all[:min(k, len(all))]
		if got := kp.Sorted(); !slices.Equal(got, want) {
			t.Fatalf("round %d (n %d, k %d): got %v\nwant %v", round, n, k, got, want)
		}
	}
}
