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

// The flows that changed, for readers that look again only at those (the
// checks' flow pass), kept as the hosts are: a log of flows stamped with
// the sync generation that applied their packets, a flow logged once per
// generation (its synced stamp tells its latest entry), older entries and
// those of flows that left dropped when the log grows past twice the
// table. Flows that left the table, expired or retired by a role swap
// (whose conversation goes on in another flow), are logged apart.
type flowLog struct {
	changedFlows    []changedFlow
	goneFlows       []GoneFlow
	goneFlowFloor   uint64 // generation up to which goneFlows was trimmed
	goneFlowTrimmed bool
}

// changedFlow is a flow synced at a generation.
type changedFlow struct {
	f   *Flow
	gen uint64
}

// GoneFlow is a flow that left the table (or was retired by a role swap)
// at a sync generation, by its identity.
type GoneFlow struct {
	HashID    uint32
	FirstSeen int64
	gen       uint64
}

// flowChangedLocked logs f as synced at the current generation (once per
// generation: syncLocked sees a flow once).
func (t *Table) flowChangedLocked(f *Flow) {
	if len(t.changedFlows) >= 2*len(t.flows)+1024 {
		keep := t.changedFlows[:0]
		for _, c := range t.changedFlows {
			if !c.f.gone && c.f.synced == c.gen {
				keep = append(keep, c)
			}
		}
		clear(t.changedFlows[len(keep):])
		t.changedFlows = keep
	}
	t.changedFlows = append(t.changedFlows, changedFlow{f, f.synced})
}

// flowGoneLocked logs a flow's leaving the table (or its retirement).
func (t *Table) flowGoneLocked(f *Flow) {
	if len(t.goneFlows) >= maxGoneFlows {
		// Drop the older half: readers that had not seen it look at every
		// flow once.
		n := len(t.goneFlows) / 2
		t.goneFlowFloor, t.goneFlowTrimmed = t.goneFlows[n-1].gen, true
		t.goneFlows = append(t.goneFlows[:0], t.goneFlows[n:]...)
	}
	t.goneFlows = append(t.goneFlows, GoneFlow{f.HashID, f.FirstSeen, t.stampLocked()})
}

// maxGoneFlows bounds the log of flows that left: a scan expires flows by
// the hundred thousand between two passes.
var maxGoneFlows = 1 << 18 // a var: the test trims a small log

// ChangedFlows calls fn, in the order of their last sync, for every flow
// whose packets were applied after the View of generation since looked
// (new flows included; retired ones too: the reader tells them by
// Retired), until fn returns false. A flow that took packets while this
// View was being taken is told at the next one (Changed says so now).
func (v View) ChangedFlows(since uint64, fn func(f *Flow) bool) {
	log := v.t.changedFlows
	for _, c := range log[firstAt(len(log), since, func(i int) uint64 { return log[i].gen }):] {
		if c.f.gone || c.f.synced != c.gen {
			continue
		}
		if !fn(c.f) {
			return
		}
	}
}

// GoneFlows calls fn for every flow that left the table, or was retired,
// after the View of generation since looked. It returns false, calling fn
// for none, when the log no longer goes back that far: the reader must
// look at every flow.
func (v View) GoneFlows(since uint64, fn func(g GoneFlow)) bool {
	if v.t.goneFlowTrimmed && since < v.t.goneFlowFloor {
		return false
	}
	g := v.t.goneFlows
	for _, x := range g[firstAt(len(g), since, func(i int) uint64 { return g[i].gen }):] {
		fn(x)
	}
	return true
}

// Gone tells a flow that left the table (expired), for readers that kept
// it from an earlier View.
func (f *Flow) Gone() bool { return f.gone }
