package flowtable

// Idle expiry looks only at what may have gone idle. Every flow and host
// waits in a dueList under the second (unix, on the table's clock) from
// which it would be idle if nothing happened to it; a tick takes the
// seconds that came, expires what is idle and puts back, under its new
// second, what had traffic meanwhile. A busy flow is looked at about once
// per idle timeout instead of at every tick, so expiry costs what expires,
// not the table's size: a full walk of a million flows every second was
// the periodic cost that grew with the table.
//
// A host waits only while it has no flow: made with its first flow, or
// left by its last one, it is put in; found with flows again when its
// second comes, it is taken out until its last flow leaves.

// dueList holds entries by the second they are due. A flow is listed once
// at a time (made, or put back when its second came); a host listed again
// under an earlier second leaves its old place stale, and its own due
// field (Host.dueAt) tells which place is current, so nothing is searched.
type dueList[T any] struct {
	at map[int64][]T
}

func (d *dueList[T]) add(sec int64, x T) {
	if d.at == nil {
		d.at = make(map[int64][]T)
	}
	d.at[sec] = append(d.at[sec], x)
}

// take calls fn for every entry listed under a second up to now, in no
// particular order, each list once; what fn adds goes under later seconds.
func (d *dueList[T]) take(now int64, fn func(sec int64, x T)) {
	for sec, xs := range d.at {
		if sec > now {
			continue
		}
		delete(d.at, sec)
		for _, x := range xs {
			fn(sec, x)
		}
	}
}

// dueSec is the first second at which something last seen at last (unix
// ns) has been idle longer than idle: expiry asks clock-last > idle.
func dueSec(last int64, idle int64) int64 { return (last+idle)/1e9 + 1 }

// expires tells whether the table expires idle flows and hosts at all:
// a capture file keeps them unless asked (Config.ExpireOffline).
func (t *Table) expires() bool { return !t.cfg.Offline || t.cfg.ExpireOffline }

// flowDueLocked lists f under the second it would go idle.
func (t *Table) flowDueLocked(f *Flow) {
	if !t.expires() {
		return
	}
	t.flowDue.add(dueSec(max(f.LastSeen, f.FirstSeen), int64(t.cfg.FlowIdle)), f)
}

func (t *Table) hostIdle(h *Host) int64 {
	if h.Local {
		return int64(t.cfg.LocalHostIdle)
	}
	return int64(t.cfg.RemoteHostIdle)
}

// hostDueLocked lists h, which has no flow, under the second it would go
// idle, unless it waits under an earlier one already (that place then
// puts it back where it belongs).
func (t *Table) hostDueLocked(h *Host) {
	if !t.expires() {
		return
	}
	sec := dueSec(h.LastSeen, t.hostIdle(h))
	if h.dueAt != 0 && h.dueAt <= sec {
		return
	}
	h.dueAt = sec
	t.hostDue.add(sec, h)
}

// flowKeyOf is the key f is stored under in the table's map.
func flowKeyOf(f *Flow) flowKey {
	k := makeFlowKey(f.Client, f.Server, f.ClientPort, f.ServerPort, f.VLAN, f.Proto, f.PrivateID)
	if f.retired {
		k.retired = f.HashID + 1
	}
	return k
}

// expireFlowsLocked removes the flows idle at the table's clock, their
// last deltas into o, and lists the hosts they leave without flows.
func (t *Table) expireFlowsLocked(o *outbox) {
	t.flowDue.take(t.clock/1e9, func(_ int64, f *Flow) {
		if !t.idleLocked(f) {
			t.flowDueLocked(f)
			return
		}
		t.takeLocked(f, o, true)
		f.cli.ActiveAsClient--
		f.srv.ActiveAsServer--
		t.deleteFlowLocked(f)
		for _, h := range [2]*Host{f.cli, f.srv} {
			if h.ActiveAsClient == 0 && h.ActiveAsServer == 0 {
				t.hostDueLocked(h)
			}
		}
	})
}

// deleteFlowLocked takes f out of the table.
func (t *Table) deleteFlowLocked(f *Flow) {
	k := flowKeyOf(f)
	if t.flows[k] != f {
		// Not where its fields say: a creation path that keys flows
		// otherwise (TestFlowKeyOf keeps them all in step). Found the slow
		// way rather than left in the table.
		for k2, f2 := range t.flows {
			if f2 == f {
				k = k2
				break
			}
		}
	}
	delete(t.flows, k)
	t.cache.drop(&k)
	delete(t.quic, f) // a hello still pending dies with its flow
	f.gone = true
	t.flowGoneLocked(f)
}

// expireHostsLocked removes the hosts without flows idle at the table's
// clock.
func (t *Table) expireHostsLocked() {
	t.hostDue.take(t.clock/1e9, func(sec int64, h *Host) {
		if h.gone || h.dueAt != sec {
			return
		}
		h.dueAt = 0
		if h.ActiveAsClient > 0 || h.ActiveAsServer > 0 {
			return // listed again when its last flow leaves
		}
		if t.clock-h.LastSeen <= t.hostIdle(h) {
			t.hostDueLocked(h)
			return
		}
		id := h.Key.id()
		delete(t.hosts, id)
		h.gone = true
		t.hostGoneLocked(h)
		t.byIP.Delete(hostItem{id: id})
		if h.Local {
			t.numLocal--
		}
	})
}
