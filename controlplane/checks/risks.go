package checks

import (
	"crypto/tls"
	"slices"
	"strconv"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
)

// flowRisks calls fn for each nDPI risk the flow's payloads showed.
func flowRisks(f *flowtable.Flow, fn func(risk int, info string)) {
	ri := f.Risks()
	if ri.Risks == 0 {
		return
	}
	ri.Each(func(r l7.Risk, info string) { fn(int(r), info) })
}

// Keys of the protocol details kept with a flow alert (alert.FlowAlert's
// Related); the REST layer words them.
const (
	RelTLSNotBefore   = "tls_not_before" // unix s
	RelTLSNotAfter    = "tls_not_after"  // unix s
	RelTLSCipherState = "tls_cipher_state"
	RelTLSServerName  = "tls_server_name"
	RelIssuerDN       = "issuerdn"
	RelDNSQueryType   = "dns_query_type"
	RelDNSReturnCode  = "dns_return_code"
	RelDNSQuery       = "dns_query"
	RelHTTPStatus     = "http_status" // the first response's status code
	RelHTTPUserAgent  = "http_user_agent"
	RelHTTPURL        = "http_url" // server name and target, no scheme
)

// dnsTypes names the common query types.
var dnsTypes = map[uint16]string{1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
	28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS", 46: "RRSIG", 48: "DNSKEY", 64: "SVCB", 65: "HTTPS", 255: "ANY"}

// flowRelated lists the protocol details shown with a flow's alert.
func flowRelated(f *flowtable.Flow, out []alert.KV) []alert.KV {
	if qtype, rcode, answered := f.DNS(); qtype != 0 {
		out = slices.Grow(out, 3) // one allocation for a new alert's
		name := dnsTypes[qtype]
		if name == "" {
			name = strconv.Itoa(int(qtype))
		}
		out = append(out, alert.KV{K: RelDNSQueryType, V: name})
		if answered {
			out = append(out, alert.KV{K: RelDNSReturnCode, V: l7.DNSRCodeName(rcode)})
		}
		if f.ServerName != "" {
			out = append(out, alert.KV{K: RelDNSQuery, V: f.ServerName})
		}
		return out
	}
	if url, ua, status := f.HTTP(); url != "" || ua != "" || status != 0 {
		if status != 0 {
			out = append(out, alert.KV{K: RelHTTPStatus, V: strconv.Itoa(status)})
		}
		if ua != "" {
			out = append(out, alert.KV{K: RelHTTPUserAgent, V: ua})
		}
		if url != "" {
			out = append(out, alert.KV{K: RelHTTPURL, V: url})
		}
	}
	t := f.TLS()
	if t == nil {
		return out
	}
	if c := t.Cert; c != nil {
		out = append(out,
			alert.KV{K: RelTLSNotBefore, V: strconv.FormatInt(c.NotBefore.Unix(), 10)},
			alert.KV{K: RelTLSNotAfter, V: strconv.FormatInt(c.NotAfter.Unix(), 10)})
	}
	if st := cipherState(t.CipherSuite); st != "" {
		out = append(out, alert.KV{K: RelTLSCipherState, V: st})
	}
	if t.ServerName != "" {
		out = append(out, alert.KV{K: RelTLSServerName, V: t.ServerName})
	}
	if c := t.Cert; c != nil && c.Issuer != "" {
		out = append(out, alert.KV{K: RelIssuerDN, V: c.Issuer})
	}
	return out
}

// cipherState judges a negotiated cipher suite the way Go's TLS stack
// does: "weak" for the suites it calls insecure (RC4, 3DES, CBC with
// SHA-256...), "safe" for the others it knows, "" when it knows none (not
// negotiated, or a suite Go never implemented).
func cipherState(id uint16) string {
	if id == 0 {
		return ""
	}
	for _, c := range tls.InsecureCipherSuites() {
		if c.ID == id {
			return "weak"
		}
	}
	for _, c := range tls.CipherSuites() {
		if c.ID == id {
			return "safe"
		}
	}
	return ""
}
