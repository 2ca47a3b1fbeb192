package checks

import "github.com/probe-appliance/probe/controlplane/alert"

// Score categories: ntopng splits every score it gives a host into a
// network part and a security part (ScoreCategory, shown by get/host/data's
// score_pct with these numbers as keys).
const (
	ScoreNetwork  = 0
	ScoreSecurity = 1
	NumScoreCats  = 2
)

// riskClientPct is the share (percent) of an nDPI risk's score that goes
// to the flow's client, nDPI's default_client_risk_pctg in its risk table
// (ndpi_known_risks) as ntopng used it in 2022: the server takes the rest.
// nDPI 4.2 agrees except for an expired certificate, which it still split
// evenly before blaming the server for it.
var riskClientPct = map[int]int{
	1:  90, // URL possible XSS
	2:  90, // URL possible SQL injection
	4:  50, // binary application transfer
	5:  50, // known protocol on non-standard port
	6:  90, // TLS self-signed certificate
	7:  90, // obsolete TLS version
	9:  10, // TLS certificate expired
	10: 50, // TLS certificate mismatch
	12: 50, // HTTP numeric IP host
	11: 90, // HTTP suspicious user agent
	13: 90, // HTTP suspicious URL
	14: 90, // HTTP suspicious header
	15: 50, // TLS not carrying HTTPS
	16: 90, // suspicious DGA domain
	22: 50, // unsafe protocol
	23: 90, // suspicious DNS traffic
	24: 50, // TLS missing SNI
	25: 90, // HTTP suspicious content
	32: 50, // TLS certificate validity too long
	36: 90, // clear-text credentials
	37: 50, // DNS large packet
	40: 90, // possible exploit
	41: 10, // TLS certificate about to expire
	43: 50, // error code
	46: 50, // unidirectional traffic
}

// checkClientPct is the client's share of ntopng's own checks that give
// it neither half nor all of the score (CLIENT_HIGH_RISK_PERCENTAGE).
var checkClientPct = map[int]int{
	alert.FlowWebMining: 90,
}

// networkAlerts are the flow alerts ntopng files under the network score
// category (alert_category_network); the others are security issues.
var networkAlerts = map[int]bool{
	alert.FlowElephant: true, alert.FlowLongLived: true, alert.FlowLowGoodput: true,
	alert.FlowTCPIssues: true, alert.FlowConnRefused: true, alert.FlowZeroWindow: true,
	alert.FlowTCPReset: true, alert.FlowUnidirectional: true, alert.FlowDNSLargePacket: true,
	alert.FlowErrorCode: true, alert.FlowRemoteToRemote: true,
}

// flowScoreSplit is how one flow alert's score divides between the flow's
// client and server, and under which category both count. ntopng's own
// checks that mark the client as the attacker give it the whole score
// (CLIENT_FULL_RISK_PERCENTAGE); the other checks split it evenly.
func flowScoreSplit(id int) (cli, srv, cat int) {
	m := alert.MetaOf(alert.TypeID{Family: alert.FamilyFlow, ID: id})
	pct := 50
	if p, ok := riskClientPct[m.Risk]; ok && m.Risk != 0 {
		pct = p
	} else if p, ok := checkClientPct[id]; ok && m.Risk == 0 {
		pct = p
	} else if m.Risk == 0 && m.CliAttacker {
		pct = 100
	}
	cli = m.Score * pct / 100
	cat = ScoreSecurity
	if networkAlerts[id] {
		cat = ScoreNetwork
	}
	return cli, m.Score - cli, cat
}

// hostAlertScoreCat is the category of a host alert's score: floods and
// scans are security issues, too much traffic or too many servers a
// network one.
func hostAlertScoreCat(id int) int {
	switch id {
	case alert.HostPktThreshold, alert.HostDNSContacts, alert.HostNTPContacts, alert.HostSMTPContacts:
		return ScoreNetwork
	}
	return ScoreSecurity
}
