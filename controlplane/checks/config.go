// Package checks is the probe's alerting engine: ntopng's flow, host and
// interface checks evaluated over the live tables at every housekeeping
// pass, raising and releasing alerts into the archive and notifications.
package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Subdir is the kind of entity a check looks at (ntopng's check_subdir).
type Subdir string

const (
	SubdirFlow      Subdir = "flow"
	SubdirHost      Subdir = "host"
	SubdirInterface Subdir = "interface"
)

// Check describes one check and its defaults.
type Check struct {
	Key    string // script_key
	Subdir Subdir
	Types  []alert.TypeID
	// Threshold is the default threshold and Unit what it counts; checks
	// without a threshold have Unit "".
	Threshold float64
	Unit      string
	// Items is what the check's list means ("allowed servers"), "" if it
	// has none.
	Items   string
	Enabled bool // on by default
	Descr   string
}

// Setting is the operator's configuration of one check.
type Setting struct {
	Enabled   bool     `json:"enabled"`
	Threshold float64  `json:"threshold,omitempty"`
	Items     []string `json:"items,omitempty"`
}

func flowT(id int) []alert.TypeID  { return []alert.TypeID{{Family: alert.FamilyFlow, ID: id}} }
func hostT(id int) []alert.TypeID  { return []alert.TypeID{{Family: alert.FamilyHost, ID: id}} }
func otherT(id int) []alert.TypeID { return []alert.TypeID{{Family: alert.FamilyOther, ID: id}} }

// catalogue lists every check the probe runs. Defaults follow ntopng's
// where the checks exist there; the unexpected-server checks are off until
// the operator lists the servers that are expected.
var catalogue = []Check{
	{Key: "blacklisted", Subdir: SubdirFlow, Types: flowT(alert.FlowBlacklisted), Items: "blacklisted addresses or networks (CIDR)", Enabled: true, Descr: "Flows from or to a blacklisted address"},
	{Key: "elephant_flow", Subdir: SubdirFlow, Types: flowT(alert.FlowElephant), Threshold: 1 << 30, Unit: "bytes", Enabled: true, Descr: "Flows that moved more than the threshold in one direction"},
	{Key: "long_lived", Subdir: SubdirFlow, Types: flowT(alert.FlowLongLived), Threshold: 86400, Unit: "seconds", Enabled: true, Descr: "Flows active for longer than the threshold"},
	{Key: "dns_data_exfiltration", Subdir: SubdirFlow, Types: flowT(alert.FlowDNSExfiltration), Threshold: 40, Unit: "characters in one label", Enabled: true, Descr: "DNS queries carrying data: a name with a label longer than the threshold"},
	{Key: "low_goodput", Subdir: SubdirFlow, Types: flowT(alert.FlowLowGoodput), Threshold: 25, Unit: "% payload of bytes", Descr: "TCP flows of 20 packets or more whose payload is under the threshold share of their bytes"},
	{Key: "remote_to_remote", Subdir: SubdirFlow, Types: flowT(alert.FlowRemoteToRemote), Descr: "Flows between two hosts outside the local networks"},
	{Key: "tcp_issues_generic", Subdir: SubdirFlow, Types: flowT(alert.FlowTCPIssues), Threshold: 10, Unit: "% of packets retransmitted, out of order or lost", Enabled: true, Descr: "TCP flows of 10 packets or more with more troubled segments than the threshold"},
	{Key: "tcp_connection_refused", Subdir: SubdirFlow, Types: flowT(alert.FlowConnRefused), Enabled: true, Descr: "TCP connections the server refused with a reset"},
	// Newer ntopng's (key 100); the ntopng whose v1 we answer had no such
	// check (its alert list never shows it), so it is off until enabled.
	{Key: "tcp_flow_reset", Subdir: SubdirFlow, Types: flowT(alert.FlowTCPReset), Descr: "Established TCP connections ended by a reset"},
	{Key: "zero_tcp_window", Subdir: SubdirFlow, Types: flowT(alert.FlowZeroWindow), Enabled: true, Descr: "TCP peers advertising a zero receive window"},
	{Key: "known_proto_on_non_std_port", Subdir: SubdirFlow, Types: flowT(alert.FlowKnownProtoNonStd), Enabled: true, Descr: "Well-known protocols on a port that is not theirs"},
	{Key: "unexpected_dhcp", Subdir: SubdirFlow, Types: flowT(alert.FlowUnexpectedDHCP), Items: "allowed DHCP servers", Descr: "DHCP answers from servers not in the list"},
	{Key: "unexpected_dns", Subdir: SubdirFlow, Types: flowT(alert.FlowUnexpectedDNS), Items: "allowed DNS servers", Descr: "DNS queries to servers not in the list"},
	{Key: "unexpected_smtp", Subdir: SubdirFlow, Types: flowT(alert.FlowUnexpectedSMTP), Items: "allowed SMTP servers", Descr: "SMTP to servers not in the list"},
	{Key: "unexpected_ntp", Subdir: SubdirFlow, Types: flowT(alert.FlowUnexpectedNTP), Items: "allowed NTP servers", Descr: "NTP to servers not in the list"},
	{Key: "ndpi_unidirectional_traffic", Subdir: SubdirFlow, Types: flowT(alert.FlowUnidirectional), Enabled: true, Descr: "Flows the server never answered"},
	{Key: "tls_certificate_expired", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSCertExpired), Enabled: true, Descr: "TLS servers presenting an expired certificate"},
	{Key: "tls_certificate_mismatch", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSCertMismatch), Enabled: true, Descr: "TLS certificates not valid for the requested name"},
	{Key: "tls_old_protocol_version", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSOldVersion), Enabled: true, Descr: "TLS below version 1.2"},
	{Key: "tls_certificate_selfsigned", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSSelfSigned), Enabled: true, Descr: "Self-signed TLS certificates"},
	{Key: "ndpi_tls_certificate_about_to_expire", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSCertAboutExpire), Enabled: true, Descr: "TLS certificates expiring within 30 days"},
	{Key: "ndpi_tls_not_carrying_https", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSNotHTTPS), Enabled: true, Descr: "TLS on port 443 without ALPN"},
	{Key: "ndpi_tls_missing_sni", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSMissingSNI), Enabled: true, Descr: "TLS handshakes without a server name"},
	{Key: "ndpi_tls_cert_validity_too_long", Subdir: SubdirFlow, Types: flowT(alert.FlowTLSValidityTooLong), Enabled: true, Descr: "TLS certificates valid for more than 398 days"},
	{Key: "ndpi_dns_suspicious_traffic", Subdir: SubdirFlow, Types: flowT(alert.FlowDNSSuspicious), Enabled: true, Descr: "DNS answers with zero TTL"},
	{Key: "ndpi_dns_large_packet", Subdir: SubdirFlow, Types: flowT(alert.FlowDNSLargePacket), Enabled: true, Descr: "DNS messages over 512 bytes on UDP"},
	{Key: "ndpi_error_code_detected", Subdir: SubdirFlow, Types: flowT(alert.FlowErrorCode), Enabled: true, Descr: "DNS answers with an error code"},
	{Key: "ndpi_http_numeric_ip_host", Subdir: SubdirFlow, Types: flowT(alert.FlowNumericIPHost), Enabled: true, Descr: "HTTP or TLS naming the server by address"},
	{Key: "ndpi_http_suspicious_user_agent", Subdir: SubdirFlow, Types: flowT(alert.FlowHTTPSuspiciousUA), Enabled: true, Descr: "HTTP requests with an odd User-Agent (test tools, braces, odd lengths)"},
	{Key: "ndpi_url_possible_xss", Subdir: SubdirFlow, Types: flowT(alert.FlowURLPossibleXSS), Enabled: true, Descr: "HTTP query values libinjection calls cross-site scripting"},
	{Key: "ndpi_url_possible_sql_injection", Subdir: SubdirFlow, Types: flowT(alert.FlowURLPossibleSQLi), Enabled: true, Descr: "HTTP query values libinjection calls SQL injection"},
	{Key: "ndpi_http_suspicious_url", Subdir: SubdirFlow, Types: flowT(alert.FlowHTTPSuspiciousURL), Enabled: true, Descr: "HTTP URLs climbing directories (..)"},
	{Key: "ndpi_http_suspicious_header", Subdir: SubdirFlow, Types: flowT(alert.FlowHTTPSuspHeader), Enabled: true, Descr: "HTTP requests with headers malware sends (Arch, Cores, Uuid, X-Hire-Me...)"},
	{Key: "ndpi_clear_text_credentials", Subdir: SubdirFlow, Types: flowT(alert.FlowClearTextCreds), Enabled: true, Descr: "HTTP requests carrying an Authorization header in clear"},
	{Key: "ndpi_binary_application_transfer", Subdir: SubdirFlow, Types: flowT(alert.FlowBinaryTransfer), Enabled: true, Descr: "Executables (Windows, ELF, Mach-O, scripts, Android) downloaded over HTTP"},
	{Key: "ndpi_http_suspicious_content", Subdir: SubdirFlow, Types: flowT(alert.FlowHTTPSuspContent), Enabled: true, Descr: "HTTP text or JSON responses whose body is binary"},
	{Key: "ndpi_possible_exploit", Subdir: SubdirFlow, Types: flowT(alert.FlowPossibleExploit), Enabled: true, Descr: "HTTP User-Agents carrying code or lookups (Log4Shell ${jndi:...}, PHP)"},
	{Key: "web_mining", Subdir: SubdirFlow, Types: flowT(alert.FlowWebMining), Enabled: true, Descr: "Crypto mining: the Mining protocol (Stratum, Bitcoin, Ethereum) or a browser miner's host"},
	{Key: "ndpi_unsafe_protocol", Subdir: SubdirFlow, Types: flowT(alert.FlowUnsafeProtocol), Enabled: true, Descr: "Protocols nDPI calls unsafe or dangerous (Tor, mining, clear-text logins...)"},
	{Key: "ndpi_suspicious_dga_domain", Subdir: SubdirFlow, Types: flowT(alert.FlowDGADomain), Enabled: true, Descr: "DNS, HTTP and TLS names nDPI's heuristic calls algorithmically generated"},

	{Key: "syn_flood", Subdir: SubdirHost, Types: hostT(alert.HostSYNFlood), Threshold: 50, Unit: "SYN/s", Enabled: true, Descr: "Hosts sending (attacker) or receiving (victim) TCP SYNs faster than the threshold"},
	{Key: "syn_scan", Subdir: SubdirHost, Types: hostT(alert.HostSYNScan), Threshold: 50, Unit: "unanswered SYN/s", Enabled: true, Descr: "Hosts sending (attacker) or receiving (victim) SYNs left without a SYN-ACK faster than the threshold"},
	{Key: "flow_flood", Subdir: SubdirHost, Types: hostT(alert.HostFlowFlood), Threshold: 50, Unit: "flows/s", Enabled: true, Descr: "Hosts opening (attacker) or receiving (victim) flows faster than the threshold"},
	{Key: "icmp_flood", Subdir: SubdirHost, Types: hostT(alert.HostICMPFlood), Threshold: 50, Unit: "ICMP packets/s", Enabled: true, Descr: "Hosts sending (attacker) or receiving (victim) ICMP faster than the threshold"},
	{Key: "dns_contacts", Subdir: SubdirHost, Types: hostT(alert.HostDNSContacts), Threshold: 5, Unit: "servers", Enabled: true, Descr: "Hosts that used more DNS servers than the threshold"},
	{Key: "ntp_contacts", Subdir: SubdirHost, Types: hostT(alert.HostNTPContacts), Threshold: 5, Unit: "servers", Enabled: true, Descr: "Hosts that used more NTP servers than the threshold"},
	{Key: "smtp_contacts", Subdir: SubdirHost, Types: hostT(alert.HostSMTPContacts), Threshold: 5, Unit: "servers", Enabled: true, Descr: "Hosts that used more SMTP servers than the threshold"},
	{Key: "score_threshold", Subdir: SubdirHost, Types: hostT(alert.HostScoreThresh), Threshold: 5000, Unit: "score", Enabled: true, Descr: "Hosts whose flows' score exceeds the threshold"},
	// Whether ntopng enables the behaviour anomaly checks by default could
	// not be checked: off until the operator turns them on.
	{Key: "score_anomaly", Subdir: SubdirHost, Types: hostT(alert.HostScoreAnomaly), Descr: "Local hosts whose score as client or server falls outside the band its recent values forecast"},
	{Key: "flow_anomaly", Subdir: SubdirHost, Types: hostT(alert.HostFlowAnomaly), Descr: "Local hosts whose active flows as client or server fall outside the band their recent values forecast"},
	{Key: "traffic_volume", Subdir: SubdirHost, Types: hostT(alert.HostPktThreshold), Threshold: 1 << 30, Unit: "bytes/minute", Descr: "Hosts moving more than the threshold per minute"},

	{Key: "too_many_drops", Subdir: SubdirInterface, Types: otherT(alert.OtherTooManyDrops), Threshold: 5, Unit: "% of packets", Enabled: true, Descr: "Packets lost by the capture or flows lost to a full flow table"},
	{Key: "mac_ip_association_change", Subdir: SubdirInterface, Types: otherT(alert.OtherMACIPAssocChange), Enabled: true, Descr: "ARP replies giving an IP another MAC than its last reply did (ARP spoofing)"},
	{Key: "mac_many_ips", Subdir: SubdirInterface, Types: otherT(alert.OtherMACManyIPs), Threshold: 8, Unit: "IPs one MAC answers ARP for", Enabled: true, Descr: "A MAC whose ARP replies claim more IPs than the threshold (proxy ARP, or a spoofer poisoning the segment)"},
	{Key: "no_if_activity", Subdir: SubdirInterface, Types: otherT(alert.OtherNoIfActivity), Threshold: 60, Unit: "seconds", Enabled: true, Descr: "A live interface that saw no packet for longer than the threshold"},
}

// Catalogue returns the checks, by subdir then key.
func Catalogue() []Check {
	out := append([]Check(nil), catalogue...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Subdir != out[j].Subdir {
			return out[i].Subdir < out[j].Subdir
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// Lookup finds a check by subdir and key.
func Lookup(subdir Subdir, key string) (Check, bool) {
	for _, c := range catalogue {
		if c.Key == key && (subdir == "" || c.Subdir == subdir) {
			return c, true
		}
	}
	return Check{}, false
}

// Defaults is the configuration of a fresh probe.
func Defaults() map[string]Setting {
	m := make(map[string]Setting, len(catalogue))
	for _, c := range catalogue {
		m[c.Key] = Setting{Enabled: c.Enabled, Threshold: c.Threshold}
	}
	return m
}

// Validate checks a setting for check c.
func (s Setting) Validate(c Check) error {
	if s.Threshold < 0 || s.Threshold != s.Threshold || s.Threshold > 1e15 {
		return badinput.Errorf("check %s: threshold %v out of range", c.Key, s.Threshold)
	}
	if c.Unit == "" && s.Threshold != 0 {
		return badinput.Errorf("check %s takes no threshold", c.Key)
	}
	if c.Items == "" && len(s.Items) > 0 {
		return badinput.Errorf("check %s takes no list", c.Key)
	}
	if len(s.Items) > 4096 {
		return badinput.Errorf("check %s: at most 4096 list items", c.Key)
	}
	for _, it := range s.Items {
		if _, err := parseItem(it); err != nil {
			return badinput.Errorf("check %s: %v", c.Key, err)
		}
	}
	return nil
}

// parseItem reads an address or a network.
func parseItem(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
