package alert

import (
	"fmt"
	"html"
	"strings"
)

// Meta is how the probe raises a definition: its title, the check that
// raises it, the score it adds, and for nDPI flow risks the risk number.
type Meta struct {
	Title string
	Check string // ntopng's script_key
	Score int
	Risk  int // nDPI risk number, 0 if the alert is not a flow risk
	// Attacker/victim marking of the flow's peers (ntopng's cli_role /
	// srv_role).
	CliAttacker, SrvVictim bool
	// Lead replaces Title at the start of the description when ntopng words
	// it differently; %s is the info.
	Lead string
}

func flowMeta(id int) TypeID  { return TypeID{FamilyFlow, id} }
func hostMeta(id int) TypeID  { return TypeID{FamilyHost, id} }
func otherMeta(id int) TypeID { return TypeID{FamilyOther, id} }

// Flow alert keys the probe raises.
const (
	FlowBlacklisted        = 1
	FlowDNSExfiltration    = 6
	FlowElephant           = 8
	FlowLongLived          = 11
	FlowLowGoodput         = 12
	FlowRemoteToRemote     = 16
	FlowTCPIssues          = 19
	FlowConnRefused        = 20
	FlowTLSCertExpired     = 22
	FlowTLSCertMismatch    = 23
	FlowTLSOldVersion      = 24
	FlowUnidirectional     = 26
	FlowWebMining          = 27
	FlowTLSSelfSigned      = 28
	FlowBinaryTransfer     = 29
	FlowKnownProtoNonStd   = 30
	FlowURLPossibleXSS     = 39
	FlowURLPossibleSQLi    = 40
	FlowUnexpectedDHCP     = 32
	FlowUnexpectedDNS      = 33
	FlowUnexpectedSMTP     = 34
	FlowUnexpectedNTP      = 35
	FlowZeroWindow         = 36
	FlowNumericIPHost      = 43
	FlowTLSNotHTTPS        = 46
	FlowHTTPSuspiciousUA   = 42
	FlowHTTPSuspiciousURL  = 44
	FlowHTTPSuspHeader     = 45
	FlowClearTextCreds     = 62
	FlowDGADomain          = 47
	FlowUnsafeProtocol     = 52
	FlowHTTPSuspContent    = 63
	FlowPossibleExploit    = 68
	FlowDNSSuspicious      = 53
	FlowTLSMissingSNI      = 54
	FlowTLSValidityTooLong = 60
	FlowDNSLargePacket     = 64
	FlowTLSCertAboutExpire = 69
	FlowErrorCode          = 71
	FlowTCPReset           = 100
)

// Host alert keys the probe raises.
const (
	HostSMTPContacts = 1
	HostDNSContacts  = 2
	HostNTPContacts  = 3
	HostFlowFlood    = 4
	HostSYNScan      = 5
	HostSYNFlood     = 6
	HostFlowAnomaly  = 10
	HostScoreAnomaly = 11
	HostScoreThresh  = 17
	HostICMPFlood    = 18
	HostPktThreshold = 19
)

// Other alert keys the probe raises.
const (
	OtherMACIPAssocChange = 4096 + 16
	// OtherMACManyIPs is the probe's own "one MAC, many IPs" (ntopng has
	// no such check): the last key of ntopng's "other" space (4096+127),
	// which ntopng leaves unused (its highest is 4096+96).
	OtherMACManyIPs         = 4096 + 127
	OtherAMThresholdCross   = 4096 + 23
	OtherPortErrors         = 4096 + 25
	OtherPortStatusChange   = 4096 + 28
	OtherSNMPDeviceReset    = 4096 + 34
	OtherSNMPTrap           = 4096 + 36
	OtherTooManyDrops       = 4096 + 41
	OtherUnresponsiveDevice = 4096 + 42
	OtherNoIfActivity       = 4096 + 50
)

var metas = map[TypeID]Meta{
	flowMeta(FlowBlacklisted):        {Title: "Blacklisted Flow", Check: "blacklisted", Score: 100, CliAttacker: true},
	flowMeta(FlowElephant):           {Title: "Elephant Flow", Check: "elephant_flow", Score: 50},
	flowMeta(FlowLongLived):          {Title: "Long-lived Flow", Check: "long_lived", Score: 10},
	flowMeta(FlowDNSExfiltration):    {Title: "DNS Data Exfiltration", Check: "dns_data_exfiltration", Score: 100, CliAttacker: true},
	flowMeta(FlowLowGoodput):         {Title: "Low Goodput Ratio", Check: "low_goodput", Score: 10},
	flowMeta(FlowRemoteToRemote):     {Title: "Remote to Remote", Check: "remote_to_remote", Score: 10},
	flowMeta(FlowTCPIssues):          {Title: "TCP Connection Issues", Check: "tcp_issues_generic", Score: 10},
	flowMeta(FlowConnRefused):        {Title: "TCP Connection Refused", Check: "tcp_connection_refused", Score: 10},
	flowMeta(FlowTLSCertExpired):     {Title: "TLS Cert. Expired", Check: "tls_certificate_expired", Score: 100, Risk: 9},
	flowMeta(FlowTLSCertMismatch):    {Title: "TLS Cert. Mismatch", Check: "tls_certificate_mismatch", Score: 100, Risk: 10, Lead: "TLS Certificate Mismatch "},
	flowMeta(FlowTLSOldVersion):      {Title: "Obsolete TLS Version", Check: "tls_old_protocol_version", Score: 100, Risk: 7, Lead: "Obsolete TLS Version [Version: %s]"},
	flowMeta(FlowUnidirectional):     {Title: "Unidirectional Traffic", Check: "ndpi_unidirectional_traffic", Score: 10, Risk: 46},
	flowMeta(FlowTLSSelfSigned):      {Title: "Self-signed Certificate", Check: "tls_certificate_selfsigned", Score: 100, Risk: 6},
	flowMeta(FlowKnownProtoNonStd):   {Title: "Known Proto on Non Std Port", Check: "known_proto_on_non_std_port", Score: 50, Risk: 5},
	flowMeta(FlowUnexpectedDHCP):     {Title: "Unexpected DHCP server found", Check: "unexpected_dhcp", Score: 100, CliAttacker: true},
	flowMeta(FlowUnexpectedDNS):      {Title: "Unexpected DNS server found", Check: "unexpected_dns", Score: 100, CliAttacker: true},
	flowMeta(FlowUnexpectedSMTP):     {Title: "Unexpected SMTP server found", Check: "unexpected_smtp", Score: 100, CliAttacker: true},
	flowMeta(FlowUnexpectedNTP):      {Title: "Unexpected NTP server found", Check: "unexpected_ntp", Score: 100, CliAttacker: true},
	flowMeta(FlowZeroWindow):         {Title: "TCP Zero Window", Check: "zero_tcp_window", Score: 10},
	flowMeta(FlowURLPossibleXSS):     {Title: "Possible XSS", Check: "ndpi_url_possible_xss", Score: 250, Risk: 1, CliAttacker: true, SrvVictim: true},
	flowMeta(FlowURLPossibleSQLi):    {Title: "Possible SQL Injection", Check: "ndpi_url_possible_sql_injection", Score: 250, Risk: 2, CliAttacker: true, SrvVictim: true},
	flowMeta(FlowNumericIPHost):      {Title: "HTTP Numeric IP Host", Check: "ndpi_http_numeric_ip_host", Score: 10, Risk: 12},
	flowMeta(FlowTLSNotHTTPS):        {Title: "TLS not carrying HTTPS", Check: "ndpi_tls_not_carrying_https", Score: 10, Risk: 15},
	flowMeta(FlowHTTPSuspiciousUA):   {Title: "HTTP Suspicious User-Agent", Check: "ndpi_http_suspicious_user_agent", Score: 100, Risk: 11},
	flowMeta(FlowHTTPSuspiciousURL):  {Title: "HTTP Suspicious URL", Check: "ndpi_http_suspicious_url", Score: 100, Risk: 13},
	flowMeta(FlowBinaryTransfer):     {Title: "Binary Application Transfer", Check: "ndpi_binary_application_transfer", Score: 250, Risk: 4},
	flowMeta(FlowHTTPSuspHeader):     {Title: "HTTP Suspicious Header", Check: "ndpi_http_suspicious_header", Score: 100, Risk: 14},
	flowMeta(FlowClearTextCreds):     {Title: "Clear-Text Credentials", Check: "ndpi_clear_text_credentials", Score: 100, Risk: 36},
	flowMeta(FlowHTTPSuspContent):    {Title: "HTTP Suspicious Content", Check: "ndpi_http_suspicious_content", Score: 100, Risk: 25},
	flowMeta(FlowPossibleExploit):    {Title: "Possible Exploit", Check: "ndpi_possible_exploit", Score: 250, Risk: 40},
	flowMeta(FlowWebMining):          {Title: "Web Mining", Check: "web_mining", Score: 50},
	flowMeta(FlowDGADomain):          {Title: "Suspicious DGA Domain", Check: "ndpi_suspicious_dga_domain", Score: 100, Risk: 16},
	flowMeta(FlowUnsafeProtocol):     {Title: "Unsafe Protocol", Check: "ndpi_unsafe_protocol", Score: 10, Risk: 22},
	flowMeta(FlowDNSSuspicious):      {Title: "Suspicious DNS Traffic", Check: "ndpi_dns_suspicious_traffic", Score: 100, Risk: 23, CliAttacker: true, SrvVictim: true},
	flowMeta(FlowTLSMissingSNI):      {Title: "TLS Missing SNI", Check: "ndpi_tls_missing_sni", Score: 50, Risk: 24},
	flowMeta(FlowTLSValidityTooLong): {Title: "TLS Cert Validity Too Long", Check: "ndpi_tls_cert_validity_too_long", Score: 50, Risk: 32},
	flowMeta(FlowDNSLargePacket):     {Title: "Large DNS Packet (512+ bytes)", Check: "ndpi_dns_large_packet", Score: 10, Risk: 37},
	flowMeta(FlowTLSCertAboutExpire): {Title: "TLS Cert About To Expire", Check: "ndpi_tls_certificate_about_to_expire", Score: 50, Risk: 41},
	flowMeta(FlowErrorCode):          {Title: "Error Code", Check: "ndpi_error_code_detected", Score: 10, Risk: 43},
	flowMeta(FlowTCPReset):           {Title: "TCP Flow Reset", Check: "tcp_flow_reset", Score: 10},

	hostMeta(HostSMTPContacts): {Title: "SMTP Server Contacts", Check: "smtp_contacts", Score: 50},
	hostMeta(HostDNSContacts):  {Title: "DNS Server Contacts", Check: "dns_contacts", Score: 50},
	hostMeta(HostNTPContacts):  {Title: "NTP Server Contacts", Check: "ntp_contacts", Score: 50},
	hostMeta(HostFlowFlood):    {Title: "Flow Flood", Check: "flow_flood", Score: 100},
	hostMeta(HostSYNScan):      {Title: "TCP SYN Scan", Check: "syn_scan", Score: 100},
	hostMeta(HostSYNFlood):     {Title: "TCP SYN Flood", Check: "syn_flood", Score: 100},
	hostMeta(HostScoreThresh):  {Title: "Score Threshold Exceeded", Check: "score_threshold", Score: 100},
	hostMeta(HostICMPFlood):    {Title: "ICMP Flood", Check: "icmp_flood", Score: 100},
	hostMeta(HostPktThreshold): {Title: "Traffic Volume Threshold", Check: "traffic_volume", Score: 50},
	// The anomaly alerts' scores are not known for sure: 100 as the
	// other host behaviour alerts (floods, scans).
	hostMeta(HostFlowAnomaly):  {Title: "Flow Anomaly", Check: "flow_anomaly", Score: 100},
	hostMeta(HostScoreAnomaly): {Title: "Score Anomaly", Check: "score_anomaly", Score: 100},

	otherMeta(OtherTooManyDrops):       {Title: "Too Many Drops", Check: "too_many_drops", Score: 100},
	otherMeta(OtherAMThresholdCross):   {Title: "Active Monitoring", Check: "active_monitoring", Score: 100},
	otherMeta(OtherPortErrors):         {Title: "SNMP Interface Errors", Check: "snmp_port_errors", Score: 50},
	otherMeta(OtherPortStatusChange):   {Title: "SNMP Interface Status Change", Check: "snmp_port_status_change", Score: 50},
	otherMeta(OtherSNMPDeviceReset):    {Title: "SNMP Device Reset", Check: "snmp_device_reset", Score: 50},
	otherMeta(OtherSNMPTrap):           {Title: "SNMP Trap", Check: "snmp_trap", Score: 50},
	otherMeta(OtherUnresponsiveDevice): {Title: "Unresponsive Device", Check: "unresponsive_device", Score: 100},
	otherMeta(OtherNoIfActivity):       {Title: "No Interface Activity", Check: "no_if_activity", Score: 100},
	otherMeta(OtherMACIPAssocChange):   {Title: "MAC/IP Association Change", Check: "mac_ip_association_change", Score: 50},
	// The same score as the association change: both say ARP is lying.
	otherMeta(OtherMACManyIPs): {Title: "One MAC, Many IPs", Check: "mac_many_ips", Score: 50},
}

// MetaOf returns how the probe raises a definition; definitions it never
// raises get a title made from their name.
func MetaOf(t TypeID) Meta {
	if m, ok := metas[t]; ok {
		return m
	}
	d, ok := Lookup(t)
	if !ok {
		return Meta{Title: fmt.Sprintf("Alert %d", t.ID)}
	}
	name := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(d.Name, "host_alert_"), "alert_"), "ndpi_")
	words := strings.Split(name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return Meta{Title: strings.Join(words, " "), Check: name}
}

// Raised lists the definitions the probe raises.
func Raised() []TypeID {
	out := make([]TypeID, 0, len(metas))
	for _, d := range append(Defs(), unlisted...) {
		if _, ok := metas[TypeID{d.Family, d.ID}]; ok {
			out = append(out, TypeID{d.Family, d.ID})
		}
	}
	return out
}

// riskLink is the help link ntopng appends to nDPI risk titles.
func riskLink(risk int) string {
	return fmt.Sprintf(`<a href="https://www.ntop.org/guides/nDPI/flow_risks.html#risk-%03d" target="_blank"><i class="fas fa-lg fa-question-circle"></i></a>`, risk)
}

// Describe is the alert's description as ntopng words it (with its HTML
// for nDPI risks); it is "" when the title says everything.
//
// An nDPI risk's info is text from the wire (a URL carrying an attack, a
// User-Agent), so it is HTML-escaped: the description is HTML that
// consoles render.
func Describe(t TypeID, info string) string {
	m := MetaOf(t)
	if m.Risk != 0 {
		info = html.EscapeString(info)
		lead := m.Title
		if m.Lead != "" {
			lead = m.Lead
			if strings.Contains(lead, "%s") {
				lead = fmt.Sprintf(lead, info)
			}
		}
		s := lead + " " + riskLink(m.Risk)
		if info != "" {
			s += " [" + info + "]"
		}
		return s
	}
	switch {
	case t.Family == FamilyFlow && t.ID >= FlowUnexpectedDHCP && t.ID <= FlowUnexpectedNTP:
		return m.Title + ": " + info
	case info != "":
		return m.Title + " [" + info + "]"
	}
	return ""
}

// ShortTitle is the title as listed among a flow's other alerts: nDPI
// risks keep their help link.
func ShortTitle(t TypeID) string {
	m := MetaOf(t)
	if m.Risk != 0 {
		return m.Title + " " + riskLink(m.Risk)
	}
	return m.Title
}
