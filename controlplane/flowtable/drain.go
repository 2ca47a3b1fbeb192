package flowtable

import (
	"github.com/probe-appliance/probe/controlplane/store"
)

// A flow's counters leave the table on two paths, each with its own marks
// of what it already got:
//   - the store (OnRecords) gets what changed since the flow's last store
//     flush: at every FlushDeltas (a live table's flush interval, so a
//     crash loses at most one interval), at block close, expiry and Flush;
//   - flow export (OnExport) gets what changed since the last block close,
//     expiry or Flush: collectors keep the cadence they always had instead
//     of a record per flow per flush interval.
// Without OnExport both share the store's records.

// outbox collects one emission's records for both paths. noExport: the
// export path has no one to send to (Config.Exporting), its deltas are
// only marked as taken.
type outbox struct {
	store, export []store.FlowRecord
	noExport      bool
}

// newOutbox is an outbox for an emission of about n store records (and as
// many export ones when export is true and someone collects them).
func (t *Table) newOutbox(n int, export bool) outbox {
	o := outbox{store: make([]store.FlowRecord, 0, n)}
	if export && t.cfg.OnExport != nil {
		if t.cfg.Exporting != nil && !t.cfg.Exporting() {
			o.noExport = true
		} else {
			o.export = make([]store.FlowRecord, 0, n)
		}
	}
	return o
}

// takeLocked adds f's unflushed deltas to o: the store's always, the
// export's only when export is true (a block cadence emission).
func (t *Table) takeLocked(f *Flow, o *outbox, export bool) {
	if r, ok := t.deltaLocked(f, &f.flushed); ok {
		o.store = append(o.store, r)
	}
	switch {
	case !export || t.cfg.OnExport == nil:
	case o.noExport:
		f.exported = handedAll(f)
	default:
		if r, ok := t.deltaLocked(f, &f.exported); ok {
			o.export = append(o.export, r)
		}
	}
}

func (t *Table) sendLocked(o *outbox) {
	if len(o.store) > 0 && t.cfg.OnRecords != nil {
		t.cfg.OnRecords(o.store)
	}
	if len(o.export) > 0 {
		t.cfg.OnExport(o.export)
	}
}

// emitLocked hands every flow's unflushed deltas to both paths (block
// close, Flush).
func (t *Table) emitLocked() {
	if t.cfg.OnRecords == nil && t.cfg.OnExport == nil {
		return
	}
	o := t.takeMovedLocked(&t.emittedGen, true, -1)
	// The store got everything too: the next interval flush need not look
	// at the flows this one took.
	t.flushedGen = t.emittedGen
	t.sendLocked(&o)
}

// takeMovedLocked syncs, then takes the deltas of the flows synced since
// generation *gen (and moves *gen to now) for the store and, when export
// is true, for export. Only those flows can hold deltas: after the sync,
// every packet counted so far is in a flow of the change log at a later
// generation (changed.go), and a flow that left took its deltas with it
// (expiry), so an emission costs what moved, not the table's size. The
// outbox is sized for every flow that moved at once (the log's entries
// since, an upper bound), or for hint if smaller and not negative:
// growing into them by appends was 4 % of a churn capture's CPU.
func (t *Table) takeMovedLocked(gen *uint64, export bool, hint int) outbox {
	t.syncLocked()
	since := *gen
	*gen = t.syncs
	log := t.changedFlows
	n := min(len(log)-firstAt(len(log), since, func(i int) uint64 { return log[i].gen }), len(t.flows))
	if hint >= 0 {
		n = min(n, hint)
	}
	o := t.newOutbox(n, export)
	View{t}.ChangedFlows(since, func(f *Flow) bool {
		t.takeLocked(f, &o, export)
		return true
	})
	return o
}

// advanceBlockLocked moves the table into block blk (> t.block): the
// closing block's deltas go out (the store files them by LastSeen, which
// is still in the closing block), and a live table's writer learns that
// the block is complete.
func (t *Table) advanceBlockLocked(blk int64) {
	closed := t.block
	t.block = blk
	if closed == 0 {
		return // the first packet or tick: nothing before it
	}
	t.emitLocked()
	if !t.cfg.Offline && t.cfg.OnBlockClosed != nil {
		t.cfg.OnBlockClosed(t.storeID(), closed)
	}
}

// record is f as a stored record with the given counters.
func (t *Table) record(f *Flow, pc, ps, bc, bs uint64) store.FlowRecord {
	return store.FlowRecord{
		IfID: t.storeID(), VLAN: f.VLAN, Proto: f.Proto,
		Client: f.Client, Server: f.Server, ClientPort: f.ClientPort, ServerPort: f.ServerPort,
		PktsC2S: pc, PktsS2C: ps, BytesC2S: bc, BytesS2C: bs,
		FirstSeen: f.FirstSeen / 1e9, LastSeen: f.LastSeen / 1e9,
		FirstMilli: uint16(f.FirstSeen / 1e6 % 1000), LastMilli: uint16(f.LastSeen / 1e6 % 1000),
		TCPFlagsC2S: f.FlagsC2S, TCPFlagsS2C: f.FlagsS2C,
		L7: uint16(f.Protocol().AppID()),
	}
}

// handed is what of a flow's counters one path (store, export) already
// got.
type handed struct{ pktsC2S, pktsS2C, bytesC2S, bytesS2C uint64 }

// handedAll is all of f's counters, as a path that got them marks them.
func handedAll(f *Flow) handed { return handed{f.PktsC2S, f.PktsS2C, f.BytesC2S, f.BytesS2C} }

// deltaLocked is the record of what of f the path whose marks are h did
// not get yet, now marked as got; false when it has it all.
func (t *Table) deltaLocked(f *Flow, h *handed) (store.FlowRecord, bool) {
	if f.PktsC2S == h.pktsC2S && f.PktsS2C == h.pktsS2C {
		return store.FlowRecord{}, false
	}
	r := t.record(f, f.PktsC2S-h.pktsC2S, f.PktsS2C-h.pktsS2C, f.BytesC2S-h.bytesC2S, f.BytesS2C-h.bytesS2C)
	*h = handedAll(f)
	return r, true
}

func (t *Table) idleLocked(f *Flow) bool {
	return t.expires() && t.clock-f.LastSeen > int64(t.cfg.FlowIdle)
}

// Flush hands every unflushed delta to OnRecords and OnExport (end of a
// capture file, shutdown). Flows stay in the table.
func (t *Table) Flush() {
	t.mu.Lock()
	t.emitLocked()
	t.mu.Unlock()
}

// FlushDeltas hands the store (OnRecords) what each flow counted since its
// last store flush, as records of the current block; export is left for
// the block boundary. A live table is flushed every flush interval so
// that a crash loses at most that interval: the records are exact deltas,
// so a block's partial records sum to its counts (the store merges them
// once the block is closed) and nothing is counted twice. Flows stay.
func (t *Table) FlushDeltas() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.OnRecords == nil {
		return
	}
	// A flow flushed meanwhile (block close, expiry) has no delta left and
	// is passed over. A live link keeps most of its flows busy from one
	// interval to the next, each synced at several generations: the last
	// flush's size is the better guess.
	o := t.takeMovedLocked(&t.flushedGen, false, t.lastFlushed)
	t.lastFlushed = len(o.store)
	t.sendLocked(&o)
}

// Tick advances a live table's clock to now (unix ns) when no packet does:
// it closes a finished 5-minute block and expires idle flows and hosts.
// Offline tables only take the block boundary into account.
func (t *Table) Tick(now int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now > t.clock {
		t.clock = now
	}
	t.syncLocked()
	if blk := store.BlockStart(t.clock / 1e9); t.block != 0 && blk > t.block {
		t.advanceBlockLocked(blk)
	}
	if t.cfg.Offline {
		return
	}
	t.expireLocked()
}

// dropGone keeps the rate lists from holding expired flows and hosts for
// long in a table whose owner never calls UpdateRates.
func (t *Table) dropGoneLocked() {
	if len(t.rateFlows) > 2*len(t.flows)+1024 {
		t.rateFlows = dropGone(t.rateFlows, func(f *Flow) bool { return f.gone })
	}
	if len(t.rateHosts) > 2*len(t.hosts)+1024 {
		t.rateHosts = dropGone(t.rateHosts, func(h *Host) bool { return h.gone })
	}
}

func dropGone[T any](list []*T, gone func(*T) bool) []*T {
	keep := list[:0]
	for _, x := range list {
		if !gone(x) {
			keep = append(keep, x)
		}
	}
	clear(list[len(keep):])
	return keep
}

func (t *Table) expireLocked() {
	defer t.dropGoneLocked()
	t.expireARPLocked() // arp.go
	o := t.newOutbox(0, true)
	t.expireFlowsLocked(&o) // expiry.go
	t.sendLocked(&o)
	t.expireHostsLocked()
}

func (t *Table) storeID() uint16 {
	if t.cfg.StoreID != nil {
		return *t.cfg.StoreID
	}
	return uint16(t.cfg.IfID)
}
