package checks

import (
	"encoding/json"
	"fmt"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// Behaviour anomaly host alerts (ntopng's host_alert_score_anomaly and
// host_alert_flow_anomaly): an alert is engaged while the latest value fed
// to one of a local host's behaviour series is outside its band, and
// released when a later value is back inside. The values come once a
// period (behaviourPass), so in the passes between two values the alerts
// stay as the last value left them.

// anomalyCheck is one series an anomaly check watches, in one role.
type anomalyCheck struct {
	key    string
	id     int
	client bool // the host's role in the series: client, else server
	what   string
	series func(b *hostBehaviour) *behaviourSeries
}

var anomalyChecks = [...]anomalyCheck{
	{"score_anomaly", alert.HostScoreAnomaly, true, "score", func(b *hostBehaviour) *behaviourSeries { return &b.scoreCli }},
	{"score_anomaly", alert.HostScoreAnomaly, false, "score", func(b *hostBehaviour) *behaviourSeries { return &b.scoreSrv }},
	{"flow_anomaly", alert.HostFlowAnomaly, true, "active flows", func(b *hostBehaviour) *behaviourSeries { return &b.flowsCli }},
	{"flow_anomaly", alert.HostFlowAnomaly, false, "active flows", func(b *hostBehaviour) *behaviourSeries { return &b.flowsSrv }},
}

// anomalyKey is the engaged alert of check c on a host. The role only
// says on which side (client: attacker slot, server: victim slot) the
// alert's score weighs, as ntopng gives a client anomaly's score to the
// host as client and a server one to it as server; the alert does not
// call the host an attacker or a victim.
func anomalyKey(c *anomalyCheck, host string) engagedKey {
	role := roleVictim
	if c.client {
		role = roleAttacker
	}
	return engagedKey{alert.TypeID{Family: alert.FamilyHost, ID: c.id}, host, uint8(role)}
}

// anomalyAlerts engages or releases a local host's anomaly alerts after
// its series took a value.
func (e *Engine) anomalyAlerts(st *ifState, snap *snapshot, ifc Iface, h *flowtable.Host, hs *hostState, now int64, out []emitItem) []emitItem {
	name := h.Key.String()
	hs.beh.alerting = false
	for i := range anomalyChecks {
		c := &anomalyChecks[i]
		k := anomalyKey(c, name)
		b := c.series(hs.beh).last
		if !snap.on(c.key) || !b.Anomaly || snap.excl.hostExcluded(h.Key.Addr, k.t.ID) {
			if a := st.engaged[k]; a != nil {
				out = append(out, emitItem{a: release(a, now/1e9)})
				delete(st.engaged, k)
			}
			continue
		}
		hs.beh.alerting = true
		if st.engaged[k] == nil {
			hs.totalAlerts++
		}
		role := "server"
		if c.client {
			role = "client"
		}
		// The bound the value crossed.
		crossed := b.UpperBound
		if b.Value <= b.UpperBound {
			crossed = b.LowerBound
		}
		out = e.engage(st, k, ifc.ID, now, func(a *alert.Alert) {
			a.Entity, a.EntityVal = alert.EntityHost, name
			a.Host = &alert.HostAlert{IP: h.Key.Addr.String(), VLAN: h.Key.VLAN, Name: hostAlertName(a, h), Local: h.Local,
				Value: float64(b.Value), Threshold: float64(crossed)}
			a.Info = fmt.Sprintf("%s as %s %d outside the expected range [%d, %d]", c.what, role, b.Value, b.LowerBound, b.UpperBound)
			a.Detail, _ = json.Marshal(map[string]any{"value": b.Value, "lower_bound": b.LowerBound,
				"upper_bound": b.UpperBound, "is_client_alert": c.client})
		}, out)
	}
	return out
}

// keepAnomalies marks a host's engaged anomaly alerts as still active in
// a host pass: they are confirmed or released once a period, when the
// host's series take a value, not by the host pass. An alert whose check
// was turned off is left out, so the host pass releases it (as it does
// with the alerts of hosts that left).
func keepAnomalies(st *ifState, snap *snapshot, hs *hostState, host flowtable.HostKey, active map[engagedKey]bool) {
	if hs.beh == nil || !hs.beh.alerting {
		return
	}
	name := host.String()
	alerting := false
	for i := range anomalyChecks {
		c := &anomalyChecks[i]
		k := anomalyKey(c, name)
		if st.engaged[k] != nil && snap.on(c.key) && !snap.excl.hostExcluded(host.Addr, k.t.ID) {
			active[k] = true
			alerting = true
		}
	}
	hs.beh.alerting = alerting
}
