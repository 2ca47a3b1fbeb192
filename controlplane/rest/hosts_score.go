package rest

import (
	"strconv"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// setAlerts sets get/host/data's score and alert fields from what the
// checks engine knows of the host (zero values without an engine). Once
// the host's series have values, the behaviour entries are the engine's.
func (d *hostDataAnswer) setAlerts(a checks.HostAlerts) {
	cli, srv := a.Score()
	d.Score, d.ScoreAsClient, d.ScoreAsServer = cli+srv, cli, srv
	d.ScorePct = scorePct{Client: scoreBreakdown(a.ScoreAsClient), Server: scoreBreakdown(a.ScoreAsServer)}
	if b := a.Behaviour; b.Fed > 0 {
		d.ScoreBehaviour = roleBehaviour{AsClient: behaviourOf(b.ScoreAsClient), AsServer: behaviourOf(b.ScoreAsServer),
			TotNumAnomalies: b.ScoreAnomalies}
		d.ActiveFlowsBehaviour = roleBehaviour{AsClient: behaviourOf(b.ActiveFlowsAsClient), AsServer: behaviourOf(b.ActiveFlowsAsServer),
			TotNumAnomalies: b.ActiveFlowsAnomalies}
		d.ContactedHostsBehaviour = behaviourOf(b.ContactedHosts)
	} else {
		d.ScoreBehaviour = roleBehaviour{AsClient: behaviour(uint64(cli)), AsServer: behaviour(uint64(srv))}
	}
	// alerted_flows.* count every alerted flow since the host appeared;
	// active_alerted_flows those still in the table, both roles.
	d.AlertedFlowsAsClient = a.TotAlertedAsClient
	d.AlertedFlowsAsServer = a.TotAlertedAsServer
	d.ActiveAlertedFlows = a.AlertedAsClient + a.AlertedAsServer
	d.NumAlerts = a.Engaged
	d.TotalAlerts = a.TotalAlerts
	d.NumBlacklistedFlows = blacklistedFlows{
		AsClient: a.BlacklistedAsClient, AsServer: a.BlacklistedAsServer,
		TotAsClient: a.TotBlacklistedAsClient, TotAsServer: a.TotBlacklistedAsServer,
	}
}

// scoreBreakdown is ntopng's Score::lua_breakdown: each category's share
// of the score in percent, computed in C floats (hence 1.5277777910233
// rather than 1.5277777777778), keyed by category number.
func scoreBreakdown(byCat [checks.NumScoreCats]int) map[string]Num {
	total := 0
	for _, v := range byCat {
		total += v
	}
	out := make(map[string]Num, len(byCat))
	for i, v := range byCat {
		var pct float32
		if total > 0 {
			pct = float32(v*100) / float32(total)
		}
		out[strconv.Itoa(i)] = Num(pct)
	}
	return out
}

// behaviourOf is one of ntopng's behaviour entries: the last value fed to
// the host's double exponential smoothing (checks.HostBehaviour), the
// band its forecast allowed and whether the value fell outside.
func behaviourOf(b checks.Behaviour) behaviourEntry {
	return behaviourEntry{Value: b.Value, LowerBound: b.LowerBound, UpperBound: b.UpperBound, Anomaly: b.Anomaly}
}

// behaviour is a behaviour entry before the host's series has any value
// (remote hosts, which ntopng does not analyse, and local hosts seen for
// less than a period): the current value, no band yet (0, 0, as ntopng's
// counters read before their first forecast), no anomaly.
func behaviour(value uint64) behaviourEntry {
	return behaviourOf(checks.Behaviour{Value: value})
}

// setBehaviours sets the behaviour entries that come from the flow
// table, replaced by the checks engine's once the host's series has
// values (setAlerts).
func (d *hostDataAnswer) setBehaviours(h *flowtable.Host) {
	d.ActiveFlowsBehaviour = roleBehaviour{AsClient: behaviour(uint64(h.ActiveAsClient)), AsServer: behaviour(uint64(h.ActiveAsServer))}
	d.ContactedHostsBehaviour = behaviour(uint64(h.ContactsAsClient()))
}
