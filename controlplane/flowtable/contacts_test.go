package flowtable

import (
	"net/netip"
	"testing"
)

// A host's set of contacts counts distinct addresses and ports, repeats
// included or not, across its table's growth, and saturates at
// maxContacts.
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
		{"the first table", minHashSlots / 2, 2, minHashSlots / 2},
		{"one past the first table", minHashSlots/2 + 2, 2, minHashSlots/2 + 2},
		{"many", 1000, 3, 1000},
		{"saturated", maxContacts + 500, 1, maxContacts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var addrs, ports hashSet
			for r := 0; r < tc.repeats; r++ {
				for i := 0; i < tc.distinct; i++ {
					addrs.add(addrHash(addr(i)))
					ports.add(portValue(uint16(i)))
				}
			}
			if got := addrs.len(); got != tc.want {
				t.Fatalf("addresses: len = %d, want %d", got, tc.want)
			}
			if got := ports.len(); got != tc.want {
				t.Fatalf("ports: len = %d, want %d", got, tc.want)
			}
		})
	}
}

// Every port is its own value: a set of ports counts exactly.
func TestPortValuesDistinct(t *testing.T) {
	seen := make(map[uint64]uint16, 1<<16)
	for p := range 1 << 16 {
		v := portValue(uint16(p))
		if q, ok := seen[v]; ok {
			t.Fatalf("ports %d and %d: one value", q, p)
		}
		seen[v] = uint16(p)
	}
}
