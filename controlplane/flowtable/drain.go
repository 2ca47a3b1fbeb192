package flowtable

import (
	"github.com/probe-appliance/probe/controlplane/store"
)

// emitLocked hands the flows' unflushed deltas to OnRecords.
func (t *Table) emitLocked() {
	if t.cfg.OnRecords == nil {
		return
	}
	var recs []store.FlowRecord
	for _, f := range t.flows {
		if r, ok := t.deltaLocked(f); ok {
			recs = append(recs, r)
		}
	}
	if len(recs) > 0 {
		t.cfg.OnRecords(recs)
	}
}

func (t *Table) deltaLocked(f *Flow) (store.FlowRecord, bool) {
	r := store.FlowRecord{
		IfID: t.storeID(), VLAN: f.VLAN, Proto: f.Proto,
		Client: f.Client, Server: f.Server, ClientPort: f.ClientPort, ServerPort: f.ServerPort,
		PktsC2S:   f.PktsC2S - f.flushedPktsC2S,
		PktsS2C:   f.PktsS2C - f.flushedPktsS2C,
		BytesC2S:  f.BytesC2S - f.flushedBytesC2S,
		BytesS2C:  f.BytesS2C - f.flushedBytesS2C,
		FirstSeen: f.FirstSeen / 1e9, LastSeen: f.LastSeen / 1e9,
		TCPFlagsC2S: f.FlagsC2S, TCPFlagsS2C: f.FlagsS2C,
		L7: uint16(f.Protocol().AppID()),
	}
	if r.PktsC2S == 0 && r.PktsS2C == 0 {
		return r, false
	}
	f.flushedPktsC2S, f.flushedPktsS2C = f.PktsC2S, f.PktsS2C
	f.flushedBytesC2S, f.flushedBytesS2C = f.BytesC2S, f.BytesS2C
	return r, true
}

func (t *Table) idleLocked(f *Flow) bool {
	return !t.cfg.Offline && t.clock-f.LastSeen > int64(t.cfg.FlowIdle)
}

// Flush hands every unflushed delta to OnRecords (end of a capture file,
// shutdown). Flows stay in the table.
func (t *Table) Flush() {
	t.mu.Lock()
	t.syncLocked()
	t.emitLocked()
	t.mu.Unlock()
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
		t.emitLocked()
		t.block = blk
	}
	if t.cfg.Offline {
		return
	}
	t.expireLocked()
}

func (t *Table) expireLocked() {
	var recs []store.FlowRecord
	for k, f := range t.flows {
		if !t.idleLocked(f) {
			continue
		}
		if r, ok := t.deltaLocked(f); ok {
			recs = append(recs, r)
		}
		f.cli.ActiveAsClient--
		f.srv.ActiveAsServer--
		delete(t.flows, k)
		delete(t.quic, f) // a hello still pending dies with its flow
	}
	if len(recs) > 0 && t.cfg.OnRecords != nil {
		t.cfg.OnRecords(recs)
	}
	for k, h := range t.hosts {
		if h.ActiveAsClient > 0 || h.ActiveAsServer > 0 {
			continue
		}
		idle := t.cfg.RemoteHostIdle
		if h.Local {
			idle = t.cfg.LocalHostIdle
		}
		if t.clock-h.LastSeen > int64(idle) {
			delete(t.hosts, k)
			t.byIP.Delete(hostItem{id: k})
			if h.Local {
				t.numLocal--
			}
		}
	}
}

func (t *Table) storeID() uint16 {
	if t.cfg.StoreID != nil {
		return *t.cfg.StoreID
	}
	return uint16(t.cfg.IfID)
}
