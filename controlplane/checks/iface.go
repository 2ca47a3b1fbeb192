package checks

import (
	"fmt"
	"strconv"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// ifaceState is the interface's counters at the last evaluation.
type ifaceState struct {
	at                     int64
	packets, drops, losses uint64
	lastPacketAt           int64
}

// ifacePass evaluates the interface checks: packet drops (the capture's
// and flows a full table or kernel map could not hold) and silence.
func (e *Engine) ifacePass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, out []emitItem) []emitItem {
	s := v.Stats()
	var drops, mapFull uint64
	if ifc.Drops != nil {
		drops = ifc.Drops()
	}
	if ifc.MapFull != nil {
		mapFull = ifc.MapFull()
	}
	losses := s.DroppedNewFlows + mapFull
	name := strconv.Itoa(ifc.ID)
	is := &st.iface
	active := map[engagedKey]bool{}
	if is.at != 0 && now-is.at >= minWindow {
		dp, dd, dl := sub(s.Packets, is.packets), sub(drops, is.drops), sub(losses, is.losses)
		th := snap.threshold("too_many_drops")
		if snap.on("too_many_drops") && th > 0 && dp+dd > 0 {
			pct := float64(dd) * 100 / float64(dp+dd)
			if pct > th || dl > 0 {
				k := engagedKey{alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherTooManyDrops}, name, roleNone}
				active[k] = true
				out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
					a.Entity, a.EntityVal = alert.EntityInterface, name
					a.Info = fmt.Sprintf("%.1f%% of packets dropped, %d flows not tracked (table or map full)", pct, dl)
				}, out)
			}
		}
	}
	if s.Packets != is.packets || is.lastPacketAt == 0 {
		is.lastPacketAt = now
	}
	if th := snap.threshold("no_if_activity"); ifc.Live && snap.on("no_if_activity") && th > 0 {
		idle := float64(now-is.lastPacketAt) / 1e9
		if idle > th {
			k := engagedKey{alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherNoIfActivity}, name, roleNone}
			active[k] = true
			out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
				a.Entity, a.EntityVal = alert.EntityInterface, name
				a.Info = fmt.Sprintf("no packets for %.0f s", idle)
			}, out)
		}
	}
	if is.at == 0 || now-is.at >= minWindow {
		is.at, is.packets, is.drops, is.losses = now, s.Packets, drops, losses
		for k, a := range st.engaged {
			if k.t.Family == alert.FamilyOther && !active[k] {
				out = append(out, emitItem{a: release(a, now/1e9)})
				delete(st.engaged, k)
			}
		}
	}
	return out
}
