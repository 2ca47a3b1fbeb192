package rest

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// TestAdditionalAlertsOrder: a flow alert's other alerts are listed by
// score, the higher first, then by message, whatever order the checks
// raised them in. Expected texts are ntopng's recorded answers
// (../shared/conformance get_alert_data_01) and, for the tie, its flow
// alert store's ascending order of messages.
func TestAdditionalAlertsOrder(t *testing.T) {
	const mismatch = `TLS Cert. Mismatch <a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-010" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a>`
	cases := []struct {
		name string
		ids  []int
		want string
	}{
		{"none", nil, ""},
		{"recorded: one", []int{alert.FlowRemoteToRemote}, "Remote to Remote"},
		{"recorded: raised low score first", []int{alert.FlowRemoteToRemote, alert.FlowUnexpectedDNS}, "Unexpected DNS server found<br>Remote to Remote"},
		{"recorded: raised high score first", []int{alert.FlowUnexpectedDNS, alert.FlowRemoteToRemote}, "Unexpected DNS server found<br>Remote to Remote"},
		{"recorded: a risk with its link", []int{alert.FlowRemoteToRemote, alert.FlowTLSCertMismatch}, mismatch + "<br>Remote to Remote"},
		{"equal scores by message", []int{alert.FlowUnidirectional, alert.FlowRemoteToRemote}, "Remote to Remote<br>" + alert.ShortTitle(alert.TypeID{Family: alert.FamilyFlow, ID: alert.FlowUnidirectional})},
	}
	for _, c := range cases {
		if got := additionalAlerts(c.ids); got != c.want {
			t.Errorf("%s: additionalAlerts(%v) = %q, want %q", c.name, c.ids, got, c.want)
		}
	}
}
