package query

import (
	"math/rand/v2"
	"testing"
)

// TestU32IndexAgreesWithMap checks the table against a Go map on keys that
// collide on purpose (multiples of a power of two) and random ones,
// through several growths.
func TestU32IndexAgreesWithMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, gen := range []func(i int) uint32{
		func(i int) uint32 { return uint32(i) << 16 },
		func(i int) uint32 { return rng.Uint32() % 50000 },
		func(i int) uint32 { return uint32(i) },
	} {
		idx, ref := newU32Index(), map[uint32]int32{}
		for i := range 100_000 {
			k := gen(i)
			v, ok := idx.get(k)
			rv, rok := ref[k]
			if ok != rok || v != rv {
				t.Fatalf("key %d: got %d,%v want %d,%v", k, v, ok, rv, rok)
			}
			if !ok {
				idx.put(k, int32(len(ref)))
				ref[k] = int32(len(ref))
			}
		}
		if idx.n != len(ref) {
			t.Fatalf("%d keys, want %d", idx.n, len(ref))
		}
		for k, rv := range ref {
			if v, ok := idx.get(k); !ok || v != rv {
				t.Fatalf("key %d after growth: %d,%v want %d", k, v, ok, rv)
			}
		}
	}
}

// BenchmarkU32Index and BenchmarkU32Map look up 20 000 client addresses in
// a random order, the top-talkers scan's access pattern.
func BenchmarkU32Index(b *testing.B) {
	keys := benchKeys()
	idx := newU32Index()
	for i, k := range keys[:20000] {
		if _, ok := idx.get(k); !ok {
			idx.put(k, int32(i))
		}
	}
	var sum int32
	for i := 0; b.Loop(); i++ {
		v, _ := idx.get(keys[i&(len(keys)-1)])
		sum += v
	}
	_ = sum
}

func BenchmarkU32Map(b *testing.B) {
	keys := benchKeys()
	m := map[uint32]int32{}
	for i, k := range keys[:20000] {
		if _, ok := m[k]; !ok {
			m[k] = int32(i)
		}
	}
	var sum int32
	for i := 0; b.Loop(); i++ {
		sum += m[keys[i&(len(keys)-1)]]
	}
	_ = sum
}

func benchKeys() []uint32 {
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint32, 1<<16)
	for i := range keys {
		keys[i] = 10<<24 | rng.Uint32()%20000
	}
	return keys
}
