package flowtable

// The hosts that changed, for readers that look again only at those (the
// checks' host pass): a log of hosts stamped with the generation of the
// first View that sees their change, in that order, a host logged once
// per generation (its own stamp says whether it is logged at the current
// one), so a reader that keeps the generation of its last look reads only
// the log's tail. A host's older
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

// stampLocked is the generation of the first View that sees a change made
// now: the one of the sync under way, else the next one.
func (t *Table) stampLocked() uint64 {
	if t.inSync {
		return t.syncs
	}
	return t.syncs + 1
}

// hostChangedLocked logs h as changed, once per generation.
func (t *Table) hostChangedLocked(h *Host) {
	g := t.stampLocked()
	if h.changed == g {
		return // logged at this generation
	}
	h.changed = g
	if len(t.changed) >= 2*len(t.hosts)+1024 {
		keep := t.changed[:0]
		for _, c := range t.changed {
			if !c.h.gone && c.h.changed == c.gen {
				keep = append(keep, c)
			}
		}
		clear(t.changed[len(keep):])
		t.changed = keep
	}
	t.changed = append(t.changed, changedHost{h, g})
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
	t.gone = append(t.gone, goneHost{h.Key, t.stampLocked()})
}

// ChangedHosts calls fn, in the order of their last change, for every host
// whose counters, flows or contacts changed after the View of generation
// since (see Generation) looked, new hosts included, until fn returns
// false. A change made while that View was being taken may be told again.
func (v View) ChangedHosts(since uint64, fn func(h *Host) bool) {
	log := v.t.changed
	i := firstAt(len(log), since, func(i int) uint64 { return log[i].gen })
	for _, c := range log[i:] {
		// A host's latest entry only, and only hosts still in the table.
		if c.h.gone || c.h.changed != c.gen {
			continue
		}
		if !fn(c.h) {
			return
		}
	}
}

// firstAt is the first of n entries in generation order whose generation
// is later than since.
func firstAt(n int, since uint64, gen func(i int) uint64) int {
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if gen(m) <= since {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// GoneHosts calls fn with the key of every host that left the table after
// the View of generation since looked (a key may come back: the host may be in the
// table again). It returns false, calling fn for none, when the log no
// longer goes back that far: the reader must look at every host.
func (v View) GoneHosts(since uint64, fn func(k HostKey)) bool {
	if v.t.goneTrimmed && since < v.t.goneFloor {
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
