package checks

import (
	"encoding/json"
	"fmt"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// fullHostPass is the host pass as it was before passes looked only at
// the hosts that changed: every host, every pass, and the hosts that left
// forgotten at its end.
func (e *Engine) fullHostPass(st *ifState, snap *snapshot, ifc Iface, v flowtable.View, now int64, final bool, out []emitItem) []emitItem {
	st.touched = st.touched[:0] // the incremental pass's list, not used here
	for hs := range st.hosts.all() {
		hs.cli, hs.srv = activeWeight{}, activeWeight{}
	}
	active := map[engagedKey]bool{}
	v.AscendHosts(func(h *flowtable.Host) bool {
		hs := st.host(h.Key)
		st.listLocal(h, hs)
		if hs.at == 0 {
			// Rates start at the host's first packet: a flood that began
			// with the host counts from its start.
			hs.at = h.FirstSeen
		}
		hs.gen = st.gen
		keepAnomalies(st, snap, hs, h.Key, active)
		span := now - hs.at
		if span < minWindow && (!final || hs.evaluated) {
			keepEngaged(st, h.Key, active)
			return true
		}
		span = max(span, minWindow)
		cur := countersOf(h)
		d := diff(cur, hs.c)
		perSec := func(n uint64) float64 { return float64(n) * 1e9 / float64(span) }
		name := "" // made when an alert needs it: most hosts raise none
		check := func(hc, id int, role int, value float64, unit string) {
			th := snap.hostTh[hc]
			if th <= 0 || value <= th || snap.excl.hostExcluded(h.Key.Addr, id) {
				return
			}
			if name == "" {
				name = h.Key.String()
			}
			k := engagedKey{alert.TypeID{Family: alert.FamilyHost, ID: id}, name, uint8(role)}
			active[k] = true
			if st.engaged[k] == nil {
				hs.totalAlerts++
			}
			out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
				a.Entity, a.EntityVal = alert.EntityHost, name
				a.Host = &alert.HostAlert{IP: h.Key.Addr.String(), VLAN: h.Key.VLAN, Name: hostAlertName(a, h), Local: h.Local,
					IsAttacker: role == roleAttacker, IsVictim: role == roleVictim, Value: value, Threshold: th}
				a.Info = fmt.Sprintf("%.0f %s > %.0f", value, unit, th)
				a.Detail, _ = json.Marshal(map[string]any{"value": value, "threshold": th, "unit": unit,
					"is_attacker": role == roleAttacker, "is_victim": role == roleVictim})
			}, out)
		}
		check(hcSYNFlood, alert.HostSYNFlood, roleAttacker, perSec(d.synSent), "SYN/s sent")
		check(hcSYNFlood, alert.HostSYNFlood, roleVictim, perSec(d.synRcvd), "SYN/s received")
		check(hcSYNScan, alert.HostSYNScan, roleAttacker, perSec(sub(d.synSent, d.synAckRcvd)), "unanswered SYN/s sent")
		check(hcSYNScan, alert.HostSYNScan, roleVictim, perSec(sub(d.synRcvd, d.synAckSent)), "unanswered SYN/s received")
		check(hcFlowFlood, alert.HostFlowFlood, roleAttacker, perSec(d.flowsCli), "flows/s as client")
		check(hcFlowFlood, alert.HostFlowFlood, roleVictim, perSec(d.flowsSrv), "flows/s as server")
		check(hcICMPFlood, alert.HostICMPFlood, roleAttacker, perSec(d.icmpSent), "ICMP packets/s sent")
		check(hcICMPFlood, alert.HostICMPFlood, roleVictim, perSec(d.icmpRcvd), "ICMP packets/s received")
		check(hcTrafficVolume, alert.HostPktThreshold, roleNone, perSec(d.bytes)*60, "bytes/minute")
		if snap.contacts {
			dns, ntp, smtp, _ := h.ServerContacts()
			check(hcDNSContacts, alert.HostDNSContacts, roleAttacker, float64(dns), "DNS servers")
			check(hcNTPContacts, alert.HostNTPContacts, roleAttacker, float64(ntp), "NTP servers")
			check(hcSMTPContacts, alert.HostSMTPContacts, roleAttacker, float64(smtp), "SMTP servers")
		}
		hs.c, hs.at, hs.evaluated = cur, now, true
		return true
	})
	// Scores come from the alerted flows the hosts take part in.
	for _, fs := range st.flows {
		if fs.alert() == nil { // st.flows holds the flows still in the table (flowPass)
			continue
		}
		bl := fs.has(alert.FlowBlacklisted)
		add := func(w *activeWeight, score [NumScoreCats]int32) {
			addScores(&w.score, score)
			w.alerted++
			if bl {
				w.blacklisted++
			}
		}
		if hs := stateOf(st, fs.cliHS); hs != nil {
			add(&hs.cli, fs.cliScore)
		}
		if hs := stateOf(st, fs.srvHS); hs != nil {
			add(&hs.srv, fs.srvScore)
		}
	}
	if th := snap.threshold("score_threshold"); snap.on("score_threshold") && th > 0 {
		v.AscendHosts(func(h *flowtable.Host) bool {
			hs := st.hosts.get(h.Key)
			score := float64(hs.score())
			if score > th && !snap.excl.hostExcluded(h.Key.Addr, alert.HostScoreThresh) {
				name := h.Key.String()
				k := engagedKey{alert.TypeID{Family: alert.FamilyHost, ID: alert.HostScoreThresh}, name, roleNone}
				active[k] = true
				if st.engaged[k] == nil {
					hs.totalAlerts++
				}
				out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
					a.Entity, a.EntityVal = alert.EntityHost, name
					a.Host = &alert.HostAlert{IP: h.Key.Addr.String(), VLAN: h.Key.VLAN, Name: hostAlertName(a, h), Local: h.Local, Value: score, Threshold: th}
					a.Info = fmt.Sprintf("score %.0f > %.0f", score, th)
				}, out)
			}
			return true
		})
	}
	// Host alerts whose condition ended (or whose host left) are released.
	for k, a := range st.engaged {
		if k.t.Family == alert.FamilyHost && !active[k] {
			out = append(out, emitItem{a: release(a, now/1e9)})
			delete(st.engaged, k)
		}
	}
	for hs := range st.hosts.all() {
		if hs.gen != st.gen {
			st.dropHost(hs.key)
		}
	}
	return out
}

// stateOf is the host state the index holds under hs's key, nil for none.
func stateOf(st *ifState, hs *hostState) *hostState {
	if hs == nil {
		return nil
	}
	return st.hosts.get(hs.key)
}

// addScores adds a flow's score shares to a host's.
func addScores(dst *[NumScoreCats]int, src [NumScoreCats]int32) {
	for i := range dst {
		dst[i] += int(src[i])
	}
}
