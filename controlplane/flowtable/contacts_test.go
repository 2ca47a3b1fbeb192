package flowtable

import (
	"net/netip"
	"testing"
)

// A contact set counts distinct values, repeats included or not, across
// its move from the array to a map, and saturates at maxContacts.
func TestContactSetCountsDistinct(t *testing.T) {
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }
	for _, tc := range []struct {
		name     string
		distinct int
		repeats  int // every value added this many times
		want     int
	}{
		{"empty", 0, 1, 0},
		{"one", 1, 3, 1},
		{"two", 2, 2, 2},
		{"all in the array", fewContacts, 2, fewContacts},
		{"one past the array", fewContacts + 1, 2, fewContacts + 1},
		{"many", 1000, 3, 1000},
		{"saturated", maxContacts + 500, 1, maxContacts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s contactSet[netip.Addr]
			for r := 0; r < tc.repeats; r++ {
				for i := 0; i < tc.distinct; i++ {
					s.add(addr(i))
				}
			}
			if got := s.len(); got != tc.want {
				t.Fatalf("len = %d, want %d", got, tc.want)
			}
		})
	}
}
