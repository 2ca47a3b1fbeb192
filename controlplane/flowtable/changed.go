package flowtable

// The hosts that changed, for readers that look again only at those (the
// checks' host pass): a log of hosts in the order of the sync generation
// of their change, a host logged once per generation (its own stamp says
// whether it is logged at the current one), so a reader that keeps the
// generation of its last look reads only the log's tail. A host's older
// entries, and those of hosts that left, are dropped when the log grows
// past twice the table. Hosts that left the table are logged apart with
// the generation they left at, so such a reader forgets them too. Any
// number of readers may keep their own generation.
//
// A log rather than a list hosts move along: moving a host touches its
// neighbours, a cache miss each for every host of every synced flow.

// changedHost is a host that changed at a sync generation.
type changedHost struct {
	h   *Host
	gen uint64
}

// goneHost is a host that left the table at a sync generation.
type goneHost struct {
	key HostKey
	gen uint64
}

// maxGone bounds the log of hosts that left; a reader older than its
// oldest entry looks at every host (GoneHosts says so).
const maxGone = 1 << 14

// hostChangedLocked logs h as changed at the current generation. A change
// made after a View's sync carries that View's generation, so a reader
// that asks for changes since the generation of its last View (inclusive)
// misses none.
func (t *Table) hostChangedLocked(h *Host) {
	if h.changed == t.syncs+1 {
		return // logged at this generation
	}
	h.changed = t.syncs + 1
	if len(t.changed) >= 2*len(t.hosts)+1024 {
		keep := t.changed[:0]
		for _, c := range t.changed {
			if !c.h.gone && c.h.changed == c.gen+1 {
				keep = append(keep, c)
			}
		}
		clear(t.changed[len(keep):])
		t.changed = keep
	}
	t.changed = append(t.changed, changedHost{h, t.syncs})
}

// hostGoneLocked logs a host's leaving the table.
func (t *Table) hostGoneLocked(h *Host) {
	if len(t.gone) >= maxGone {
		// Drop the older half: readers that had not seen it look at every
		// host once.
		n := len(t.gone) / 2
		t.goneFloor, t.goneTrimmed = t.gone[n-1].gen, true
		t.gone = append(t.gone[:0], t.gone[n:]...)
	}
	t.gone = append(t.gone, goneHost{h.Key, t.syncs})
}

// ChangedHosts calls fn, in the order of their last change, for every host whose
// counters, flows or names changed at or after sync generation since (see
// Generation), new hosts included, until fn returns false.
func (v View) ChangedHosts(since uint64, fn func(h *Host) bool) {
	log := v.t.changed
	i := firstAt(len(log), since, func(i int) uint64 { return log[i].gen })
	for _, c := range log[i:] {
		// A host's latest entry only, and only hosts still in the table.
		if c.h.gone || c.h.changed != c.gen+1 {
			continue
		}
		if !fn(c.h) {
			return
		}
	}
}

// firstAt is the first of n entries in generation order whose generation
// is since or later.
func firstAt(n int, since uint64, gen func(i int) uint64) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if gen(m) < since {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
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
	for _, x := range g[firstAt(len(g), since, func(i int) uint64 { return g[i].gen }):] {
		fn(x.key)
	}
	return true
}

// Less orders host keys as AscendHosts walks them.
func (k HostKey) Less(o HostKey) bool { return k.id().less(o.id()) }
