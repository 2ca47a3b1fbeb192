package rest

import (
	"strings"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
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

// TestHTTPRelated: an HTTP flow's part of an alert's flow details, as in
// ntopng's recorded answer for test_01.pcap's OCSP flows.
func TestHTTPRelated(t *testing.T) {
	const url = "ocsp.int-x3.letsencrypt.org/MFgwVqADAgEAME8wTTBLMAkGBSsOAwIaBQAEFH7maudymrP8%2BKIgZGwWoS1gcQhdBBSoSmpjBH3duubRObemRWXv86jsoQISAz5JqGV%2B4ao1EMKq6MZy01gX"
	cases := []struct {
		name    string
		related map[string]string
		want    string
	}{
		{"recorded", map[string]string{checks.RelHTTPStatus: "200", checks.RelHTTPUserAgent: "trustd (unknown version) CFNetwork/902.6 Darwin/17.7.0 (x86_64)", checks.RelHTTPURL: url},
			` [ Response Status Code: <span class="badge bg-success">OK</span> ] [ User Agent: trustd (unknown version) CFNetwork/902.6 Darwin/17.7.0 (x86_64) ] [ URL: <span><button data-to-copy='http://` + url + `' class='copy-http-url btn btn-light btn-sm border ms-1' style='cursor: pointer;'><i class='fas fa-copy'></i></button>  <a class='ntopng-external-link' href='http://` + url + `' target='_blank'><i class='fas fa-external-link-alt'></i> ` + url + `</a></span> ]`},
		{"no response yet", map[string]string{checks.RelHTTPUserAgent: "curl/8.0"}, " [ User Agent: curl/8.0 ]"},
		{"not HTTP", map[string]string{}, ""},
	}
	for _, c := range cases {
		var b strings.Builder
		httpRelated(&b, c.related)
		if b.String() != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, b.String(), c.want)
		}
	}
}
