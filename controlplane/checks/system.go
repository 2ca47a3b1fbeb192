package checks

import (
	"fmt"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// SystemIfID is the interface id system alerts are kept under (ntopng's
// system interface, ifid -1 over REST).
const SystemIfID = 0xffff

// Loss is a counter of things the probe lost outside any interface: flow
// records a collector could not take, notifications an endpoint dropped.
type Loss struct {
	Key   string // stable name ("flow_export:3")
	Descr string // what is lost, for the alert ("flow records for collector 10.0.0.9:4739")
	Count uint64 // since start
}

// RunSystem raises a system "too many drops" alert while a loss counter
// grows, and releases it at the first pass it does not.
func (e *Engine) RunSystem(now int64, losses []Loss) {
	st := e.state(SystemIfID)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.losses == nil {
		st.losses = map[string]uint64{}
	}
	snap := e.snapshot()
	var out []emitItem
	active := map[engagedKey]bool{}
	for _, l := range losses {
		prev := st.losses[l.Key] // counters start with the process: 0 before the first pass
		st.losses[l.Key] = l.Count
		if l.Count <= prev || !snap.on("too_many_drops") {
			continue
		}
		k := engagedKey{alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherTooManyDrops}, l.Key, roleNone}
		active[k] = true
		n := l.Count - prev
		out = e.engage(st, k, SystemIfID, now, func(a *alert.Alert) {
			a.Entity, a.EntityVal = alert.EntitySystem, l.Key
			a.Info = fmt.Sprintf("%d %s dropped", n, l.Descr)
		}, out)
	}
	for k, a := range st.engaged {
		// Only the loss alerts: SetEngaged owns the others.
		if k.t.ID == alert.OtherTooManyDrops && !active[k] {
			out = append(out, emitItem{a: release(a, now/1e9)})
			delete(st.engaged, k)
		}
	}
	e.emit(out)
}

// Raise stores and notifies a one-off alert from outside the checks (an
// SNMP event, a trap), under the system interface. The alert's type must
// be known; its severity follows the type's score unless set.
func (e *Engine) Raise(a alert.Alert) {
	st := e.state(SystemIfID)
	st.mu.Lock()
	defer st.mu.Unlock()
	m := alert.MetaOf(a.Type())
	a.IfID, a.Count, a.Engaged = SystemIfID, 1, false
	if a.Score == 0 {
		a.Score = m.Score
	}
	if a.Severity == 0 {
		a.Severity = alert.SeverityForScore(a.Score)
	}
	if a.TstampEnd < a.Tstamp {
		a.TstampEnd = a.Tstamp
	}
	e.emit([]emitItem{{a: &a, notify: true}})
}

// SetEngaged engages (on) or releases (off) an alert from outside the
// checks, such as an SNMP device that stopped answering, keyed by its type
// and entity value. at is unix seconds.
func (e *Engine) SetEngaged(t alert.TypeID, entity alert.Entity, entityVal, info string, on bool, at int64) {
	st := e.state(SystemIfID)
	st.mu.Lock()
	defer st.mu.Unlock()
	k := engagedKey{t, entityVal, roleNone}
	var out []emitItem
	if on {
		out = e.engage(st, k, SystemIfID, at*1e9, func(a *alert.Alert) {
			a.Entity, a.EntityVal, a.Info = entity, entityVal, info
		}, out)
	} else if a := st.engaged[k]; a != nil {
		out = append(out, emitItem{a: release(a, at)})
		delete(st.engaged, k)
	}
	e.emit(out)
}
