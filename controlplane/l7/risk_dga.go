package l7

import (
	"strings"
	"sync"
)

// ndpiHostNameMax is what nDPI keeps of a flow's host name
// (host_server_name is 80 bytes): the last 79 characters, whichever
// dissector set it (checked against ndpiReader for DNS, TLS and HTTP).
const ndpiHostNameMax = 79

// dgaExceptions are the host patterns nDPI 4.2 masks the DGA risk for
// (ndpi_add_domain_risk_exceptions), matched by its host automaton's rules.
var dgaExceptions = sync.OnceValue(func() *hostMatcher {
	var in []matchInput
	for _, p := range []string{".local", ".msftconnecttest.com", "amupdatedl.microsoft.com",
		"update.microsoft.com.akadns.net", ".windowsupdate.com", ".ras.microsoft.com", "e5.sk", "sophosxl.net"} {
		in = append(in, matchInput{pattern: p})
	}
	return mustMatcher(in)
})

// DGARisk raises SUSPICIOUS_DGA_DOMAIN for a TLS/QUIC SNI or an HTTP Host
// value (with its port, as nDPI scores it) that nDPI's heuristic calls
// generated, unless nDPI's exception list covers the name. It returns the
// heuristic's verdict, which the exception list does not change.
func (c *Catalog) DGARisk(name string, ri *RiskInfo) bool {
	if len(name) > ndpiHostNameMax {
		name = name[len(name)-ndpiHostNameMax:]
	}
	return c.dgaRisk(name, ri)
}

// TorSNI is nDPI 4.2's Tor heuristic on a TLS or QUIC SNI that DGARisk
// judged (dga): Tor's random "www.<generated>.com" or ".net" names.
func TorSNI(sni string, dga bool) bool {
	return dga && strings.HasPrefix(sni, "www.") && (strings.HasSuffix(sni, ".com") || strings.HasSuffix(sni, ".net"))
}

// DNSDGARisk is DGARisk for a DNS, mDNS or LLMNR query name (DNSInfo.QName):
// nDPI keeps its last 79 characters and writes a printable character
// that has no place in a host name as '_' (so the name is never DGA), an
// unprintable one as '?'.
func (c *Catalog) DNSDGARisk(qname string, ri *RiskInfo) {
	if len(qname) > ndpiHostNameMax {
		qname = qname[len(qname)-ndpiHostNameMax:]
	}
	clean := true
	for i := 0; i < len(qname); i++ {
		switch b := qname[i]; {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9', b == '.', b == '-':
		case b > ' ' && b < 0x7f:
			return
		default:
			clean = false
		}
	}
	if !clean {
		buf := []byte(qname)
		for i, b := range buf {
			if b <= ' ' || b >= 0x7f {
				buf[i] = '?'
			}
		}
		qname = string(buf)
	}
	c.dgaRisk(qname, ri)
}

func (c *Catalog) dgaRisk(name string, ri *RiskInfo) bool {
	if !c.IsDGAName(name) {
		return false
	}
	if !ri.Has(RiskSuspiciousDGADomain) && dgaExceptions().search(name) < 0 {
		ri.Set(RiskSuspiciousDGADomain, name)
	}
	return true
}
