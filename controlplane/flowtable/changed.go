package flowtable

// The hosts that changed, for readers that look again only at those (the
// checks' host pass): every host is on one list in the order of the sync
// generation of its last change, moved to the end when it changes, so a
// reader that keeps the generation of its last look walks back from the
// end only over what changed since. Hosts that left the table are logged
// with the generation they left at, so such a reader forgets them too.
// Any number of readers may keep their own generation.

// goneHost is a host that left the table at a sync generation.
type goneHost struct {
	key HostKey
	gen uint64
}

// maxGone bounds the log of hosts that left; a reader older than its
// oldest entry looks at every host (GoneHosts says so).
const maxGone = 1 << 14

// hostChangedLocked moves h to the end of the changed list, stamped with
// the current generation. A change made after a View's sync carries that
// View's generation, so a reader that asks for changes since the
// generation of its last View (inclusive) misses none.
func (t *Table) hostChangedLocked(h *Host) {
	if h.changed == t.syncs && h.chListed {
		return
	}
	h.changed = t.syncs
	if h.chListed {
		if t.chTail == h {
			return
		}
		t.unlinkChangedLocked(h)
	}
	h.chListed = true
	h.chPrev, h.chNext = t.chTail, nil
	if t.chTail != nil {
		t.chTail.chNext = h
	} else {
		t.chHead = h
	}
	t.chTail = h
}

func (t *Table) unlinkChangedLocked(h *Host) {
	if !h.chListed {
		return
	}
	if h.chPrev != nil {
		h.chPrev.chNext = h.chNext
	} else {
		t.chHead = h.chNext
	}
	if h.chNext != nil {
		h.chNext.chPrev = h.chPrev
	} else {
		t.chTail = h.chPrev
	}
	h.chPrev, h.chNext, h.chListed = nil, nil, false
}

// hostGoneLocked takes a host that leaves the table off the changed list
// and logs its leaving.
func (t *Table) hostGoneLocked(h *Host) {
	t.unlinkChangedLocked(h)
	if len(t.gone) >= maxGone {
		// Drop the older half: readers that had not seen it look at every
		// host once.
		n := len(t.gone) / 2
		t.goneFloor, t.goneTrimmed = t.gone[n-1].gen, true
		t.gone = append(t.gone[:0], t.gone[n:]...)
	}
	t.gone = append(t.gone, goneHost{h.Key, t.syncs})
}

// ChangedHosts calls fn, newest change first, for every host whose
// counters, flows or names changed at or after sync generation since (see
// Generation), new hosts included, until fn returns false.
func (v View) ChangedHosts(since uint64, fn func(h *Host) bool) {
	for h := v.t.chTail; h != nil && h.changed >= since; h = h.chPrev {
		if !fn(h) {
			return
		}
	}
}

// GoneHosts calls fn with the key of every host that left the table at or
// after generation since (a key may come back: the host may be in the
// table again). It returns false, calling fn for none, when the log no
// longer goes back that far: the reader must look at every host.
func (v View) GoneHosts(since uint64, fn func(k HostKey)) bool {
	if v.t.goneTrimmed && since <= v.t.goneFloor {
		return false
	}
	g := v.t.gone
	// The log is in generation order: start at the first entry not older
	// than since.
	lo, hi := 0, len(g)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if g[m].gen < since {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for _, x := range g[lo:] {
		fn(x.key)
	}
	return true
}

// Less orders host keys as AscendHosts walks them.
func (k HostKey) Less(o HostKey) bool { return k.id().less(o.id()) }
