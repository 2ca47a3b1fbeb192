package l7

import (
	"math/bits"
	"strconv"
)

// Risk is a flow risk, numbered as nDPI's ndpi_risk_enum so the ids (and
// bit positions) read the same as in nDPI and ntopng.
type Risk uint8

// Flow risks, by nDPI id.
const (
	RiskNone                           Risk = 0
	RiskURLPossibleXSS                 Risk = 1
	RiskURLPossibleSQLInjection        Risk = 2
	RiskURLPossibleRCEInjection        Risk = 3
	RiskBinaryApplicationTransfer      Risk = 4
	RiskKnownProtocolOnNonStandardPort Risk = 5
	RiskTLSSelfSignedCertificate       Risk = 6
	RiskTLSObsoleteVersion             Risk = 7
	RiskTLSWeakCipher                  Risk = 8
	RiskTLSCertificateExpired          Risk = 9
	RiskTLSCertificateMismatch         Risk = 10
	RiskHTTPSuspiciousUserAgent        Risk = 11
	RiskNumericIPHost                  Risk = 12
	RiskHTTPSuspiciousURL              Risk = 13
	RiskHTTPSuspiciousHeader           Risk = 14
	RiskTLSNotCarryingHTTPS            Risk = 15
	RiskSuspiciousDGADomain            Risk = 16
	RiskMalformedPacket                Risk = 17
	RiskSSHObsoleteClient              Risk = 18
	RiskSSHObsoleteServer              Risk = 19
	RiskSMBInsecureVersion             Risk = 20
	RiskTLSSuspiciousESNIUsage         Risk = 21
	RiskUnsafeProtocol                 Risk = 22
	RiskDNSSuspiciousTraffic           Risk = 23
	RiskTLSMissingSNI                  Risk = 24
	RiskHTTPSuspiciousContent          Risk = 25
	RiskRiskyASN                       Risk = 26
	RiskRiskyDomain                    Risk = 27
	RiskMaliciousJA3                   Risk = 28
	RiskMaliciousSHA1Certificate       Risk = 29
	RiskDesktopOrFileSharingSession    Risk = 30
	RiskTLSUncommonALPN                Risk = 31
	RiskTLSCertValidityTooLong         Risk = 32
	RiskTLSSuspiciousExtension         Risk = 33
	RiskTLSFatalAlert                  Risk = 34
	RiskSuspiciousEntropy              Risk = 35
	RiskClearTextCredentials           Risk = 36
	RiskDNSLargePacket                 Risk = 37
	RiskDNSFragmented                  Risk = 38
	RiskInvalidCharacters              Risk = 39
	RiskPossibleExploit                Risk = 40
	RiskTLSCertificateAboutToExpire    Risk = 41
	RiskPunycodeIDN                    Risk = 42
	RiskErrorCodeDetected              Risk = 43
	RiskHTTPCrawlerBot                 Risk = 44
	RiskAnonymousSubscriber            Risk = 45
	RiskUnidirectionalTraffic          Risk = 46
	RiskHTTPObsoleteServer             Risk = 47

	// NumRisks is one past the highest risk id known here.
	NumRisks = 48
)

// riskNames are nDPI's enum names without the NDPI_ prefix.
var riskNames = [NumRisks]string{
	"NO_RISK", "URL_POSSIBLE_XSS", "URL_POSSIBLE_SQL_INJECTION", "URL_POSSIBLE_RCE_INJECTION",
	"BINARY_APPLICATION_TRANSFER", "KNOWN_PROTOCOL_ON_NON_STANDARD_PORT", "TLS_SELFSIGNED_CERTIFICATE",
	"TLS_OBSOLETE_VERSION", "TLS_WEAK_CIPHER", "TLS_CERTIFICATE_EXPIRED", "TLS_CERTIFICATE_MISMATCH",
	"HTTP_SUSPICIOUS_USER_AGENT", "NUMERIC_IP_HOST", "HTTP_SUSPICIOUS_URL", "HTTP_SUSPICIOUS_HEADER",
	"TLS_NOT_CARRYING_HTTPS", "SUSPICIOUS_DGA_DOMAIN", "MALFORMED_PACKET", "SSH_OBSOLETE_CLIENT",
	"SSH_OBSOLETE_SERVER", "SMB_INSECURE_VERSION", "TLS_SUSPICIOUS_ESNI_USAGE", "UNSAFE_PROTOCOL",
	"DNS_SUSPICIOUS_TRAFFIC", "TLS_MISSING_SNI", "HTTP_SUSPICIOUS_CONTENT", "RISKY_ASN", "RISKY_DOMAIN",
	"MALICIOUS_JA3", "MALICIOUS_SHA1_CERTIFICATE", "DESKTOP_OR_FILE_SHARING_SESSION", "TLS_UNCOMMON_ALPN",
	"TLS_CERT_VALIDITY_TOO_LONG", "TLS_SUSPICIOUS_EXTENSION", "TLS_FATAL_ALERT", "SUSPICIOUS_ENTROPY",
	"CLEAR_TEXT_CREDENTIALS", "DNS_LARGE_PACKET", "DNS_FRAGMENTED", "INVALID_CHARACTERS", "POSSIBLE_EXPLOIT",
	"TLS_CERTIFICATE_ABOUT_TO_EXPIRE", "PUNYCODE_IDN", "ERROR_CODE_DETECTED", "HTTP_CRAWLER_BOT",
	"ANONYMOUS_SUBSCRIBER", "UNIDIRECTIONAL_TRAFFIC", "HTTP_OBSOLETE_SERVER",
}

// String is nDPI's enum name without the NDPI_ prefix, e.g.
// "TLS_CERTIFICATE_EXPIRED"; ids unknown here read "RISK_<id>".
func (r Risk) String() string {
	if int(r) < len(riskNames) {
		return riskNames[r]
	}
	return "RISK_" + strconv.Itoa(int(r))
}

// Risks is a set of risks as nDPI's ndpi_risk bitmask: bit n is risk n.
type Risks uint64

// Has reports whether r is in the set.
func (s Risks) Has(r Risk) bool { return r < 64 && s&(1<<r) != 0 }

// Set adds r; ids beyond the mask are ignored.
func (s *Risks) Set(r Risk) {
	if r < 64 {
		*s |= 1 << r
	}
}

// Each calls fn for every risk in the set, in id order.
func (s Risks) Each(fn func(Risk)) {
	for m := uint64(s); m != 0; m &= m - 1 {
		fn(Risk(bits.TrailingZeros64(m)))
	}
}

// Bounds of what a flow keeps besides the bitmask: nDPI's
// MAX_NUM_RISK_INFOS, and the 128-byte buffers its messages are printed
// into (127 characters and the NUL), so long texts are cut where ntopng's
// are.
const (
	maxRiskInfos   = 8
	maxRiskInfoLen = 127
)

// RiskInfo is a flow's risks with nDPI's short "risk info" text for each,
// kept for the first maxRiskInfos risks that came with one.
//
// A copy is a snapshot: entries are only ever appended past the copy's
// count, so it stays consistent while the original grows. The zero value
// is an empty set and allocates nothing until a risk brings a text.
type RiskInfo struct {
	Risks Risks
	n     uint8
	notes *[maxRiskInfos]riskNote
}

type riskNote struct {
	risk Risk
	info string
}

// Set raises r with its info text. As in nDPI the first raise wins: a risk
// already set keeps its text, and an empty text stores nothing.
func (ri *RiskInfo) Set(r Risk, info string) {
	if r >= 64 || ri.Risks.Has(r) {
		return
	}
	ri.Risks.Set(r)
	if info == "" || ri.n >= maxRiskInfos {
		return
	}
	if len(info) > maxRiskInfoLen {
		info = info[:maxRiskInfoLen]
	}
	if ri.notes == nil {
		ri.notes = new([maxRiskInfos]riskNote)
	}
	ri.notes[ri.n] = riskNote{r, info}
	ri.n++
}

// Has reports whether r is raised.
func (ri RiskInfo) Has(r Risk) bool { return ri.Risks.Has(r) }

// Info is r's text, "" if r is not raised or came without one.
func (ri RiskInfo) Info(r Risk) string {
	for i := range ri.n {
		if ri.notes[i].risk == r {
			return ri.notes[i].info
		}
	}
	return ""
}

// Each calls fn for every raised risk with its text, in id order.
func (ri RiskInfo) Each(fn func(r Risk, info string)) {
	ri.Risks.Each(func(r Risk) { fn(r, ri.Info(r)) })
}

// UnsafeBreed reports a protocol nDPI raises UNSAFE_PROTOCOL for: its breed
// is Unsafe, Potentially Dangerous or Dangerous (ndpi_reconcile_protocols).
func UnsafeBreed(p Protocol) bool {
	switch InfoOf(p).Breed {
	case "Unsafe", "Potentially Dangerous", "Dangerous":
		return true
	}
	return false
}
