package flowtable

import (
	"cmp"
	"slices"
	"sync"

	"github.com/probe-appliance/probe/internal/merge"
)

// addrIndex is the table's hosts in address order, for the pages that list
// hosts sorted (and the time-series sampler). Creating a host, what churn
// does thousands of times a second, only appends it to a pending list: no
// tree node to find, split or allocate on the packet path. A host that
// leaves is marked gone (Host.gone) and skipped. Readers fold the pending
// hosts in, and drop the gone ones, when they walk the index: a sort of
// what was added since the last walk and one merge.
//
// The writer (the capture, holding the table's write lock) only appends;
// readers hold the table's read lock, several at a time, so the fold is
// serialised by mu and builds a new slice, never changing one another
// reader may be walking.
type addrIndex struct {
	mu      sync.Mutex
	sorted  []hostItem // in address order (hosts gone since are skipped)
	pending []hostItem // created since the last fold, in creation order
	gone    int        // hosts gone since the last fold
}

// hostItem is an entry of the address index; the key is kept inline so
// ordering never dereferences a host.
type hostItem struct {
	id hostID
	h  *Host
}

// cmpItems orders entries as hostID.less does (IPv4 first, then the
// address bytes, then the VLAN) with word compares: a fold sorts every
// host created since the last one.
func cmpItems(a, b hostItem) int {
	if a.id.v6 != b.id.v6 {
		if a.id.v6 {
			return 1
		}
		return -1
	}
	if c := cmp16(&a.id.addr, &b.id.addr); c != 0 {
		return c
	}
	return cmp.Compare(a.id.vlan, b.id.vlan)
}

// The methods are named as the btree's the index replaced, so its callers
// read the same.

// ReplaceOrInsert notes a host new to the table (write lock held).
func (x *addrIndex) ReplaceOrInsert(it hostItem) {
	x.pending = append(x.pending, it)
	x.foldIfBehind()
}

// Delete notes that a host left the table, already marked gone (write
// lock held).
func (x *addrIndex) Delete(hostItem) {
	x.gone++
	x.foldIfBehind()
}

// foldIfBehind folds once what changed outgrows the sorted list, so a
// table nobody lists keeps neither a growing pending list nor the hosts
// that left.
func (x *addrIndex) foldIfBehind() {
	if len(x.pending)+x.gone > len(x.sorted)+1024 {
		x.snapshot()
	}
}

// snapshot folds what changed into the sorted list and returns it. The
// slice returned is never written again.
func (x *addrIndex) snapshot() []hostItem {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.pending) == 0 && x.gone == 0 {
		return x.sorted
	}
	add := slices.Clone(x.pending)
	slices.SortFunc(add, cmpItems)
	var present func(hostItem) bool // nil: no host looked at when none left
	if x.gone > 0 {
		present = func(it hostItem) bool { return !it.h.gone }
	}
	out := merge.Sorted(make([]hostItem, 0, max(0, len(x.sorted)+len(add)-x.gone)), x.sorted, add, cmpItems, present)
	clear(x.pending)
	x.sorted, x.pending, x.gone = out, x.pending[:0], 0
	return out
}

// Ascend and Descend call fn for the hosts in address order (reverse
// order) until fn returns false (read lock held: no host leaves meanwhile,
// and the snapshot holds none that left).
func (x *addrIndex) Ascend(fn func(hostItem) bool) {
	for _, it := range x.snapshot() {
		if !fn(it) {
			return
		}
	}
}

func (x *addrIndex) Descend(fn func(hostItem) bool) {
	s := x.snapshot()
	for i := len(s) - 1; i >= 0; i-- {
		if !fn(s[i]) {
			return
		}
	}
}
