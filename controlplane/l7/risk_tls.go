package l7

import (
	"strconv"
	"strings"
	"time"
)

const (
	// certExpireWarning is nDPI's default tls_certificate_expire_in_x_days.
	certExpireWarning = 30 * 24 * time.Hour
	// maxCertValidity is the CA/Browser Forum's limit for certificates
	// issued from cabLimitFrom on; earlier ones could last 825 days, so
	// nDPI (TLS_LIMIT_DATE) judges only those.
	maxCertValidity = 398 * 24 * time.Hour
	cabLimitFrom    = 1598918400 // 2020-09-01 00:00 UTC
	// certTimeLayout is nDPI's strftime("%d/%b/%Y %H:%M:%S") in UTC.
	certTimeLayout = "02/Jan/2006 15:04:05"
)

// ClientRisks raises what the ClientHello alone shows, for a connection to
// serverPort: an obsolete highest version, a missing SNI, no ALPN on the
// HTTPS port (nDPI's "TLS not carrying HTTPS"), a literal IP as SNI.
func (t *TLSInfo) ClientRisks(serverPort uint16, ri *RiskInfo) {
	if v := t.ClientVersion; v != 0 && v < VersionTLS12 {
		ri.Set(RiskTLSObsoleteVersion, TLSVersionName(v))
	}
	if t.HelloComplete && t.ServerName == "" {
		ri.Set(RiskTLSMissingSNI, "")
	}
	if t.HelloComplete && !t.ALPNOffered && serverPort == 443 {
		ri.Set(RiskTLSNotCarryingHTTPS, "No ALPN")
	}
	NumericHostRisk(t.ServerName, ri)
}

// ServerRisks raises what the server's flight shows, judged at now (the
// time of the packet that completed it, so a capture replays with the
// verdicts it had when recorded): an obsolete negotiated version, a fatal
// alert, and the leaf certificate's validity, names and issuer.
func (t *TLSInfo) ServerRisks(now time.Time, ri *RiskInfo) {
	if v := t.ServerVersion; v != 0 && v < VersionTLS12 {
		ri.Set(RiskTLSObsoleteVersion, TLSVersionName(v))
	}
	if t.FatalAlert {
		ri.Set(RiskTLSFatalAlert, "")
	}
	c := t.Cert
	if c == nil {
		return
	}
	// nDPI compares whole seconds.
	sec, nb, na := now.Unix(), c.NotBefore.Unix(), c.NotAfter.Unix()
	switch {
	case sec < nb || sec > na:
		ri.Set(RiskTLSCertificateExpired, c.validity())
	case sec > na-int64(certExpireWarning/time.Second):
		ri.Set(RiskTLSCertificateAboutToExpire, c.validity())
	}
	if d := c.NotAfter.Sub(c.NotBefore); nb >= cabLimitFrom && d > maxCertValidity {
		ri.Set(RiskTLSCertValidityTooLong, "TLS Cert lasts "+strconv.FormatInt(int64(d/(24*time.Hour)), 10)+" days")
	}
	if c.SelfSigned {
		ri.Set(RiskTLSSelfSignedCertificate, c.Issuer)
	}
	// Like nDPI, only a certificate that lists DNS names is held to them.
	if t.ServerName != "" && len(c.DNSNames) > 0 && !c.MatchesName(t.ServerName) {
		ri.Set(RiskTLSCertificateMismatch, mismatchInfo(t.ServerName, c.DNSNames))
	}
}

// validity is nDPI's "notBefore - notAfter" text.
func (c *TLSCert) validity() string {
	if c.validityText != "" {
		return c.validityText // written once at parse: every flow to the server shares it
	}
	return formatValidity(c.NotBefore, c.NotAfter)
}

func formatValidity(notBefore, notAfter time.Time) string {
	return notBefore.UTC().Format(certTimeLayout) + " - " + notAfter.UTC().Format(certTimeLayout)
}

// mismatchInfo is "<sni> vs <name>,<name>,…", built only as far as
// RiskInfo keeps it.
func mismatchInfo(sni string, names []string) string {
	var b strings.Builder
	b.WriteString(sni)
	b.WriteString(" vs ")
	for i, n := range names {
		if b.Len() > maxRiskInfoLen {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
	}
	return b.String()
}

// NumericHostRisk raises NUMERIC_IP_HOST as nDPI's HTTP dissector does
// (ndpi_check_numeric_ip) on a Host value as sent: one starting with a
// digit and shorter than 21 characters whose part before any ':' is an
// IPv4 dotted quad written canonically. nDPI does not detect IPv6 literals
// (checked against ndpiReader).
func NumericHostRisk(host string, ri *RiskInfo) {
	if host == "" || host[0] < '0' || host[0] > '9' || len(host) >= 21 {
		return
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if isCanonicalIPv4(host) {
		ri.Set(RiskNumericIPHost, host)
	}
}
