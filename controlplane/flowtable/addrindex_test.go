package flowtable

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestAddrIndexMatchesSortedHosts drives the address index with random
// creations and departures (as hostLocked and expiry do), walking it at
// random moments both ways, and compares every walk with the live hosts
// sorted from scratch.
func TestAddrIndexMatchesSortedHosts(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 25))
		var x addrIndex
		live := map[hostID]*Host{}
		for step := 0; step < 6000; step++ {
			switch r := rng.IntN(100); {
			case r < 60:
				var a netip.Addr
				if rng.IntN(4) == 0 {
					a = netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(rng.IntN(64))})
				} else {
					a = netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(8)), byte(rng.IntN(256))})
				}
				k := HostKey{a, uint16(rng.IntN(2))}
				if live[k.id()] != nil {
					continue
				}
				h := &Host{Key: k}
				live[k.id()] = h
				x.ReplaceOrInsert(hostItem{k.id(), h})
			case r < 85:
				for id, h := range live {
					delete(live, id)
					h.gone = true
					x.Delete(hostItem{id: id})
					break
				}
			default:
				want := make([]hostID, 0, len(live))
				for id := range live {
					want = append(want, id)
				}
				slices.SortFunc(want, func(a, b hostID) int { return cmpItems(hostItem{id: a}, hostItem{id: b}) })
				var got []hostID
				x.Ascend(func(it hostItem) bool { got = append(got, it.id); return true })
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: ascend %d hosts, want %d", seed, step, len(got), len(want))
				}
				got = got[:0]
				x.Descend(func(it hostItem) bool { got = append(got, it.id); return true })
				slices.Reverse(got)
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: descend differs", seed, step)
				}
				if n := len(want); n > 2 {
					// Stopping early stops.
					seen := 0
					x.Ascend(func(hostItem) bool { seen++; return seen < 2 })
					if seen != 2 {
						t.Fatalf("seed %d: ascend went on after false (%d calls)", seed, seen)
					}
				}
			}
		}
	}
}

// TestCmpItemsMatchesLess: the index's sort order is hostID.less's.
func TestCmpItemsMatchesLess(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 25))
	id := func() hostID {
		var a [16]byte
		for i := range a {
			a[i] = byte(rng.IntN(3)) // few values: many equal prefixes
		}
		return hostID{v6: rng.IntN(2) == 0, addr: a, vlan: uint16(rng.IntN(3))}
	}
	for i := 0; i < 50000; i++ {
		a, b := id(), id()
		want := 0
		switch {
		case a.less(b):
			want = -1
		case b.less(a):
			want = 1
		}
		if got := cmpItems(hostItem{id: a}, hostItem{id: b}); got != want {
			t.Fatalf("cmpItems(%v, %v) = %d, less says %d", a, b, got, want)
		}
	}
}
