package flowtable

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestCmp16MatchesBytesCompare: the flow key's word compare orders every
// pair of addresses as bytes.Compare does, on random pairs and on pairs
// that differ only in one byte (either half, either direction).
func TestCmp16MatchesBytesCompare(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 25))
	var a, b [16]byte
	for i := 0; i < 20000; i++ {
		for j := range a {
			a[j] = byte(rng.IntN(256))
		}
		b = a
		if i%2 == 0 {
			b[rng.IntN(16)] = byte(rng.IntN(256))
		} else {
			for j := range b {
				b[j] = byte(rng.IntN(256))
			}
		}
		if got, want := cmp16(&a, &b), bytes.Compare(a[:], b[:]); got != want {
			t.Fatalf("cmp16(%x, %x) = %d, bytes.Compare %d", a, b, got, want)
		}
	}
}
