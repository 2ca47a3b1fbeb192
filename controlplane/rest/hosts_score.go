package rest

import (
	"strconv"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// addHostAlerts sets get/host/data's score and alert fields from what the
// checks engine knows of the host (zero values without an engine).
func addHostAlerts(m map[string]any, a checks.HostAlerts) {
	cli, srv := a.Score()
	m["score"] = cli + srv
	m["score.as_client"], m["score.as_server"] = cli, srv
	m["score_pct"] = map[string]any{
		"score_breakdown_client": scoreBreakdown(a.ScoreAsClient),
		"score_breakdown_server": scoreBreakdown(a.ScoreAsServer),
	}
	if b := a.Behaviour; b.Fed > 0 {
		m["score_behaviour"] = map[string]any{
			"as_client": behaviourOf(b.ScoreAsClient), "as_server": behaviourOf(b.ScoreAsServer),
			"tot_num_anomalies": b.ScoreAnomalies,
		}
		m["active_flows_behaviour"] = map[string]any{
			"as_client": behaviourOf(b.ActiveFlowsAsClient), "as_server": behaviourOf(b.ActiveFlowsAsServer),
			"tot_num_anomalies": b.ActiveFlowsAnomalies,
		}
		m["contacted_hosts_behaviour"] = behaviourOf(b.ContactedHosts)
	} else {
		m["score_behaviour"] = map[string]any{
			"as_client": behaviour(uint64(cli)), "as_server": behaviour(uint64(srv)), "tot_num_anomalies": 0,
		}
	}
	// alerted_flows.* count every alerted flow since the host appeared;
	// active_alerted_flows those still in the table, both roles.
	m["alerted_flows.as_client"] = a.TotAlertedAsClient
	m["alerted_flows.as_server"] = a.TotAlertedAsServer
	m["active_alerted_flows"] = a.AlertedAsClient + a.AlertedAsServer
	m["num_alerts"] = a.Engaged
	m["total_alerts"] = a.TotalAlerts
	// Flow alerts are never engaged on a host (ntopng 5 keeps none).
	m["num_flow_alerts"] = 0
	m["num_blacklisted_flows"] = map[string]any{
		"as_client": a.BlacklistedAsClient, "as_server": a.BlacklistedAsServer,
		"tot_as_client": a.TotBlacklistedAsClient, "tot_as_server": a.TotBlacklistedAsServer,
	}
}

// scoreBreakdown is ntopng's Score::lua_breakdown: each category's share
// of the score in percent, computed in C floats (hence 1.5277777910233
// rather than 1.5277777777778), keyed by category number.
func scoreBreakdown(byCat [checks.NumScoreCats]int) map[string]any {
	total := 0
	for _, v := range byCat {
		total += v
	}
	out := make(map[string]any, len(byCat))
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
func behaviourOf(b checks.Behaviour) map[string]any {
	return map[string]any{"value": b.Value, "lower_bound": b.LowerBound, "upper_bound": b.UpperBound, "anomaly": b.Anomaly}
}

// behaviour is a behaviour entry before the host's series has any value
// (remote hosts, which ntopng does not analyse, and local hosts seen for
// less than a period): the current value, no band yet (0, 0, as ntopng's
// counters read before their first forecast), no anomaly.
func behaviour(value uint64) map[string]any {
	return behaviourOf(checks.Behaviour{Value: value})
}

// addBehaviours adds the behaviour entries that come from the flow table,
// replaced by the checks engine's once the host's series has values.
func addBehaviours(m map[string]any, h *flowtable.Host) {
	m["active_flows_behaviour"] = map[string]any{
		"as_client": behaviour(uint64(h.ActiveAsClient)), "as_server": behaviour(uint64(h.ActiveAsServer)),
		"tot_num_anomalies": 0,
	}
	m["contacted_hosts_behaviour"] = behaviour(uint64(h.ContactsAsClient()))
}
