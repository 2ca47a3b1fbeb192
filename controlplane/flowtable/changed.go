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

// maxGone bounds the log of hosts that left; a reader older than its
// oldest entry looks at every host (GoneHosts says so).
const maxGone = 1 << 14

// goneLog is a bounded log of what left the table (hosts, flows), each
// stamped with the sync generation it left at, in that order. Past max
// entries the older half is dropped: a reader that had not seen it is told
// to look at everything once.
type goneLog[T any] struct {
	entries []goneEntry[T]
	floor   uint64 // generation up to which the log was trimmed
	trimmed bool
}

type goneEntry[T any] struct {
	v   T
	gen uint64
}

func (l *goneLog[T]) add(v T, gen uint64, max int) {
	if len(l.entries) >= max {
		n := len(l.entries) / 2
		l.floor, l.trimmed = l.entries[n-1].gen, true
		l.entries = append(l.entries[:0], l.entries[n:]...)
	}
	l.entries = append(l.entries, goneEntry[T]{v, gen})
}

// since calls fn for every entry logged after the View of generation
// since looked. It returns false, calling fn for none, when the log no
// longer goes back that far.
func (l *goneLog[T]) since(since uint64, fn func(v T)) bool {
	if l.trimmed && since < l.floor {
		return false
	}
	g := l.entries
	for _, x := range g[firstAt(len(g), since, func(i int) uint64 { return g[i].gen }):] {
		fn(x.v)
	}
	return true
}

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
		t.changed = compactLog(t.changed, func(c changedHost) bool { return !c.h.gone && c.h.changed == c.gen })
	}
	t.changed = append(t.changed, changedHost{h, g})
}

// compactLog keeps, in order and in the same array, the entries of a log
// of changes that are still current (an item's latest entry, of an item
// still in the table): the hosts' and the flows' logs drop the rest when
// they outgrow twice their table.
func compactLog[E any](log []E, current func(E) bool) []E {
	keep := log[:0]
	for _, c := range log {
		if current(c) {
			keep = append(keep, c)
		}
	}
	clear(log[len(keep):])
	return keep
}

// hostGoneLocked logs a host's leaving the table.
func (t *Table) hostGoneLocked(h *Host) { t.gone.add(h.Key, t.stampLocked(), maxGone) }

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
func (v View) GoneHosts(since uint64, fn func(k HostKey)) bool { return v.t.gone.since(since, fn) }

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
	changedFlows []changedFlow
	goneFlows    goneLog[GoneFlow]
}

// changedFlow is a flow synced at a generation.
type changedFlow struct {
	f   *Flow
	gen uint64
}

// GoneFlow is a flow that left the table (or was retired by a role swap),
// by its identity.
type GoneFlow struct {
	HashID    uint32
	FirstSeen int64
}

// flowChangedLocked logs f as synced at the current generation (once per
// generation: syncLocked sees a flow once).
func (t *Table) flowChangedLocked(f *Flow) {
	if len(t.changedFlows) >= 2*len(t.flows)+1024 {
		t.changedFlows = compactLog(t.changedFlows, func(c changedFlow) bool { return !c.f.gone && c.f.synced == c.gen })
	}
	t.changedFlows = append(t.changedFlows, changedFlow{f, f.synced})
}

// flowGoneLocked logs a flow's leaving the table (or its retirement).
func (t *Table) flowGoneLocked(f *Flow) {
	t.goneFlows.add(GoneFlow{f.HashID, f.FirstSeen}, t.stampLocked(), maxGoneFlows)
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
	return v.t.goneFlows.since(since, fn)
}

// Gone tells a flow that left the table (expired), for readers that kept
// it from an earlier View.
func (f *Flow) Gone() bool { return f.gone }
