package checks

import (
	"encoding/binary"
	"iter"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// hostIndex holds the host states of an interface by host key. A pass
// looks up the state of every host that changed (every new host under
// churn), so IPv4 hosts are kept apart, keyed by a 64-bit word: the
// runtime's fast path for such keys, in slots of half the size, takes
// about half the time of a lookup by the full key. Other hosts are kept
// by their key.
type hostIndex struct {
	v4    map[uint64]*hostState
	other map[flowtable.HostKey]*hostState
}

// v4Key is the word an IPv4 host is kept by: its address and VLAN.
func v4Key(k flowtable.HostKey) (uint64, bool) {
	if !k.Addr.Is4() {
		return 0, false
	}
	a := k.Addr.As4()
	return uint64(binary.BigEndian.Uint32(a[:]))<<16 | uint64(k.VLAN), true
}

func (x *hostIndex) get(k flowtable.HostKey) *hostState {
	if w, ok := v4Key(k); ok {
		return x.v4[w]
	}
	return x.other[k]
}

func (x *hostIndex) put(k flowtable.HostKey, hs *hostState) {
	if w, ok := v4Key(k); ok {
		if x.v4 == nil {
			x.v4 = map[uint64]*hostState{}
		}
		x.v4[w] = hs
		return
	}
	if x.other == nil {
		x.other = map[flowtable.HostKey]*hostState{}
	}
	x.other[k] = hs
}

func (x *hostIndex) del(k flowtable.HostKey) {
	if w, ok := v4Key(k); ok {
		delete(x.v4, w)
		return
	}
	delete(x.other, k)
}

// all yields every state (its key is hostState.key), in no particular
// order; the loop may drop states as it goes.
func (x *hostIndex) all() iter.Seq[*hostState] {
	return func(yield func(*hostState) bool) {
		for _, hs := range x.v4 {
			if !yield(hs) {
				return
			}
		}
		for _, hs := range x.other {
			if !yield(hs) {
				return
			}
		}
	}
}
