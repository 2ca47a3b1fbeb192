package l7

import (
	"strings"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestRiskNumbering(t *testing.T) {
	// Spot checks against nDPI's ndpi_risk_enum.
	for r, name := range map[Risk]string{
		1: "URL_POSSIBLE_XSS", 5: "KNOWN_PROTOCOL_ON_NON_STANDARD_PORT", 9: "TLS_CERTIFICATE_EXPIRED",
		10: "TLS_CERTIFICATE_MISMATCH", 15: "TLS_NOT_CARRYING_HTTPS", 23: "DNS_SUSPICIOUS_TRAFFIC",
		34: "TLS_FATAL_ALERT", 41: "TLS_CERTIFICATE_ABOUT_TO_EXPIRE", 43: "ERROR_CODE_DETECTED",
		47: "HTTP_OBSOLETE_SERVER", 60: "RISK_60",
	} {
		if r.String() != name {
			t.Errorf("risk %d is %s, nDPI calls it %s", r, r, name)
		}
	}
	if RiskTLSCertificateExpired != 9 || RiskTLSCertificateAboutToExpire != 41 || RiskHTTPObsoleteServer != 47 {
		t.Error("constants renumbered")
	}
}

func TestRisksSet(t *testing.T) {
	var s Risks
	s.Set(RiskTLSCertificateMismatch)
	s.Set(RiskURLPossibleXSS)
	s.Set(RiskHTTPObsoleteServer)
	s.Set(70) // beyond the mask: ignored
	if uint64(s) != 1<<1|1<<10|1<<47 || !s.Has(10) || s.Has(9) || s.Has(70) {
		t.Fatalf("mask %#x", uint64(s))
	}
	var got []Risk
	s.Each(func(r Risk) { got = append(got, r) })
	if len(got) != 3 || got[0] != 1 || got[1] != 10 || got[2] != 47 {
		t.Errorf("Each gave %v", got)
	}
}

func TestRiskInfo(t *testing.T) {
	var ri RiskInfo
	if ri.notes != nil || ri.Info(RiskTLSMissingSNI) != "" {
		t.Fatal("zero value not empty")
	}
	ri.Set(RiskTLSMissingSNI, "")
	if !ri.Has(RiskTLSMissingSNI) || ri.notes != nil {
		t.Error("a risk without text allocated")
	}
	ri.Set(RiskTLSObsoleteVersion, "TLSv1")
	ri.Set(RiskTLSObsoleteVersion, "SSLv3") // the first text stays, as in nDPI
	if ri.Info(RiskTLSObsoleteVersion) != "TLSv1" {
		t.Errorf("info %q", ri.Info(RiskTLSObsoleteVersion))
	}
	snapshot := ri
	ri.Set(RiskTLSCertificateMismatch, strings.Repeat("x", 300))
	if got := ri.Info(RiskTLSCertificateMismatch); len(got) != maxRiskInfoLen {
		t.Errorf("info kept %d bytes", len(got))
	}
	if snapshot.Has(RiskTLSCertificateMismatch) || snapshot.Info(RiskTLSCertificateMismatch) != "" {
		t.Error("a copy saw a later risk")
	}
	// Texts are bounded, risks are not.
	for r := Risk(1); r < NumRisks; r++ {
		ri.Set(r, r.String())
	}
	if ri.n != maxRiskInfos {
		t.Errorf("%d texts kept", ri.n)
	}
	count := 0
	last := Risk(0)
	ri.Each(func(r Risk, _ string) {
		if r <= last {
			t.Errorf("Each out of order: %v after %v", r, last)
		}
		last = r
		count++
	})
	if count != NumRisks-1 {
		t.Errorf("Each gave %d risks", count)
	}
}

func TestDNSRisks(t *testing.T) {
	q := question("beacon.krxd.net.", dnsmessage.TypeA)
	zero := rr("beacon.krxd.net.", cnameBody("beacon-eu.krxd.net."))
	zero.Header.TTL = 0
	withZero := dnsmessage.Message{Header: respHeader(1), Questions: []dnsmessage.Question{q},
		Answers: []dnsmessage.Resource{rr("beacon.krxd.net.", cnameBody("x.krxd.net.")), zero, rr("beacon-eu.krxd.net.", aBody("1.2.3.4"))}}
	fine := dnsmessage.Message{Header: respHeader(2), Questions: []dnsmessage.Question{q},
		Answers: []dnsmessage.Resource{rr("beacon.krxd.net.", aBody("1.2.3.4"))}}
	nx := dnsmessage.Message{Header: respHeader(3), Questions: []dnsmessage.Question{q}}
	nx.Header.RCode = dnsmessage.RCodeNameError
	refused := nx
	refused.Header.RCode = dnsmessage.RCodeRefused
	var big dnsmessage.Message
	big.Header = respHeader(4)
	big.Questions = []dnsmessage.Question{question("txt.example.", dnsmessage.TypeTXT)}
	big.Answers = []dnsmessage.Resource{rr("txt.example.", &dnsmessage.TXTResource{TXT: []string{strings.Repeat("a", 250), strings.Repeat("b", 250)}})}
	query := dnsmessage.Message{Header: dnsmessage.Header{ID: 5}, Questions: []dnsmessage.Question{q}}

	cases := []struct {
		name  string
		msg   []byte
		udp   bool
		risks map[Risk]string
	}{
		{"zero TTL in the chain", mustPack(t, withZero), true, map[Risk]string{RiskDNSSuspiciousTraffic: "DNS Record with zero TTL"}},
		{"ordinary answer", mustPack(t, fine), true, nil},
		{"NXDOMAIN", mustPack(t, nx), true, map[Risk]string{RiskErrorCodeDetected: "DNS Error Code NXDOMAIN"}},
		{"REFUSED", mustPack(t, refused), true, map[Risk]string{RiskErrorCodeDetected: "DNS Error Code REFUSED"}},
		{"large over UDP", mustPack(t, big), true, map[Risk]string{RiskDNSLargePacket: "543 Bytes DNS Packet"}},
		{"large over TCP is fine", mustPack(t, big), false, nil},
		{"query", mustPack(t, query), true, nil},
		{"answer count past the end", func() []byte {
			b := mustPack(t, fine)
			b[7] = 9
			return b
		}(), true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, ok := ParseDNS(c.msg)
			if !ok {
				t.Fatal("not DNS")
			}
			if c.name == "large over UDP" && len(c.msg) != 543 {
				t.Fatalf("test message is %d bytes", len(c.msg))
			}
			var ri RiskInfo
			DNSRisks(c.msg, info, c.udp, &ri)
			checkRisks(t, ri, c.risks)
		})
	}
}

func TestNumericHostRisk(t *testing.T) {
	// Host values as sent; the address is the info. IPv6 literals, long
	// values and non-canonical quads are not numeric to nDPI 4.2.
	for host, addr := range map[string]string{
		"10.0.0.1": "10.0.0.1", "10.0.0.1:8080": "10.0.0.1", "2001:db8::1": "", "[2001:db8::1]": "",
		"::1": "", "example.com": "", "1.example.com": "", "": "", "999.1.1.1": "", "010.0.0.1": "",
		"10.0.0.1:8080123456789": "",
	} {
		var ri RiskInfo
		NumericHostRisk(host, &ri)
		if ri.Has(RiskNumericIPHost) != (addr != "") || ri.Info(RiskNumericIPHost) != addr {
			t.Errorf("%q: %v %q", host, ri.Has(RiskNumericIPHost), ri.Info(RiskNumericIPHost))
		}
	}
}

// FuzzDNSRisks walks arbitrary messages ParseDNS accepts.
func FuzzDNSRisks(f *testing.F) {
	q := question("a.example.", dnsmessage.TypeA)
	zero := rr("a.example.", aBody("192.0.2.1"))
	zero.Header.TTL = 0
	f.Add(mustPack(f, dnsmessage.Message{Header: respHeader(1), Questions: []dnsmessage.Question{q}, Answers: []dnsmessage.Resource{zero}}))
	f.Add(mustPack(f, dnsmessage.Message{Header: respHeader(2), Questions: []dnsmessage.Question{q}, Answers: []dnsmessage.Resource{rr("a.example.", aBody("192.0.2.1"))}}))
	f.Fuzz(func(t *testing.T, msg []byte) {
		info, ok := ParseDNS(msg)
		if !ok {
			return
		}
		var ri RiskInfo
		DNSRisks(msg, info, true, &ri)
		if ri.Has(RiskDNSSuspiciousTraffic) && (!info.Response || info.RCode != 0) {
			t.Fatalf("zero TTL judged on %+v", info)
		}
	})
}
