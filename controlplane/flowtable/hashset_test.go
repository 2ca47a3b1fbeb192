package flowtable

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// A name hashes the same from a buffer as from a string: a host's
// domain names counted from either are one set.
func TestNameHashBytes(t *testing.T) {
	for _, name := range []string{"", "a", "www.example.com", "x\\.y.local", string(make([]byte, 300))} {
		if got, want := nameHashBytes([]byte(name)), nameHash(name); got != want {
			t.Errorf("%q: %x from bytes, %x from the string", name, got, want)
		}
	}
	if nameHashBytes([]byte("a.com")) == nameHashBytes([]byte("b.com")) {
		t.Error("two names, one hash")
	}
}

// Contacts that differ in family, address or port are different values;
// the same contact is the same value.
func TestContactHashes(t *testing.T) {
	v4 := netip.MustParseAddr("10.0.0.1")
	mapped := netip.AddrFrom16(v4.As16()) // ::ffff:10.0.0.1
	other := netip.MustParseAddr("10.0.0.2")
	addrs := map[uint64]string{}
	for _, a := range []netip.Addr{v4, mapped, other, netip.MustParseAddr("2001:db8::1")} {
		h := addrHash(a)
		if prev, ok := addrs[h]; ok {
			t.Errorf("%s and %s: one hash", prev, a)
		}
		addrs[h] = a.String()
		if addrHash(a) != h {
			t.Errorf("%s: two hashes", a)
		}
	}
	if serviceHash(v4, 443) == serviceHash(v4, 80) || serviceHash(v4, 443) == serviceHash(mapped, 443) ||
		serviceHash(v4, 443) != serviceHash(netip.MustParseAddr("10.0.0.1"), 443) {
		t.Error("services: hashes do not tell them apart, or one service hashes two ways")
	}
}

// hashSet counts what a map of the values counts (up to maxContacts),
// after every value, for values that repeat, collide in the table's low
// bits, include 0 (its empty slot and the inline value's "none") and run
// past maxContacts.
func TestHashSetCountsDistinct(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seq := func(n int, next func(i int) uint64) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = next(i)
		}
		return out
	}
	cases := []struct {
		name   string
		values []uint64
	}{
		{"none", nil},
		{"one", []uint64{7}},
		{"zero first", []uint64{0, 0, 5, 0, 5}},
		{"zero later", []uint64{5, 0, 0, 6}},
		{"zero alone", []uint64{0, 0}},
		{"zero then one more", []uint64{0, 9, 9, 0}},
		{"repeats", seq(1000, func(int) uint64 { return rng.Uint64N(50) + 1 })},
		{"same low bits", seq(300, func(i int) uint64 { return uint64(i%40) << 32 })},
		{"random, past the bound", seq(3*maxContacts, func(int) uint64 { return rng.Uint64() })},
		{"zero past the bound", append(seq(maxContacts+10, func(i int) uint64 { return uint64(i + 1) }), 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got hashSet
			var want refSet
			for i, v := range c.values {
				got.add(v)
				want.add(v)
				if got.len() != want.len() {
					t.Fatalf("after %d values (last %x): %d, want %d", i+1, v, got.len(), want.len())
				}
			}
			if got.len() != want.len() {
				t.Errorf("%d, want %d", got.len(), want.len())
			}
		})
	}
}

// BenchmarkHashSet: 400 hosts asking for 200 names each at random, as
// tools/bench's steady capture does, once the sets are full.
func BenchmarkHashSet(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := make([]uint64, 400*200)
	for i := range names {
		names[i] = rng.Uint64()
	}
	picks := make([]uint32, 1<<16)
	for i := range picks {
		picks[i] = rng.Uint32N(uint32(len(names)))
	}
	sets := make([]hashSet, 400)
	for i, h := range names {
		sets[i/200].add(h)
	}
	for i := 0; b.Loop(); i++ {
		p := picks[i&(1<<16-1)]
		sets[p/200].add(names[p])
	}
}

// refSet is what hashSet must count: the distinct values, saturating at
// maxContacts.
type refSet map[uint64]struct{}

func (r *refSet) add(v uint64) {
	if *r == nil {
		*r = refSet{}
	}
	if len(*r) < maxContacts {
		(*r)[v] = struct{}{}
	}
}

func (r refSet) len() int { return len(r) }
