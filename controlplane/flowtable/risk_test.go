package flowtable_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/internal/fixture"
)

// replay runs a capture of ntopng's end-to-end tests through a fresh table.
func replay(t testing.TB, name string) *flowtable.Table {
	t.Helper()
	return replayFile(t, fixture.Shared(t, ntopngE2E+"/pcap/"+name))
}

// replayFile runs the capture at path through a fresh table.
func replayFile(t testing.TB, path string) *flowtable.Table {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	tb := flowtable.New(flowtable.Config{Offline: true})
	if err := capture.Run(context.Background(), src, tb); err != nil {
		t.Fatal(err)
	}
	return tb
}

type riskFlow struct {
	cli, srv         string
	cliPort, srvPort uint16
	sni              string
	risks            l7.RiskInfo
}

func (f riskFlow) String() string {
	return fmt.Sprintf("%s:%d → %s:%d (%s)", f.cli, f.cliPort, f.srv, f.srvPort, f.sni)
}

// TestRisksMatchNtopng checks the flow risks of ntopng's test captures
// against what ntopng itself alerted on (result/v1/get_alert_data_01,
// recorded on test_01.pcap; test_02.pcap repeats it with one packet more).
func TestRisksMatchNtopng(t *testing.T) {
	for _, name := range []string{"test_01.pcap", "test_02.pcap"} {
		t.Run(name, func(t *testing.T) { checkNtopngRisks(t, name) })
	}
}

func checkNtopngRisks(t *testing.T, file string) {
	tb := replay(t, file)
	var flows []riskFlow
	tb.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			flows = append(flows, riskFlow{f.Client.String(), f.Server.String(), f.ClientPort, f.ServerPort, f.ServerName, f.Risks()})
		})
	})

	var counts [l7.NumRisks]int
	expiredAndMismatch, mismatchOnly := 0, 0
	for _, f := range flows {
		f.risks.Risks.Each(func(r l7.Risk) {
			if r < l7.NumRisks {
				counts[r]++
			}
		})
		switch exp, mis := f.risks.Has(l7.RiskTLSCertificateExpired), f.risks.Has(l7.RiskTLSCertificateMismatch); {
		case exp && mis:
			expiredAndMismatch++
		case mis:
			mismatchOnly++
		}
	}
	for r, n := range counts {
		if n > 0 {
			t.Logf("%-32s %3d flows", l7.Risk(r), n)
		}
	}
	// ntopng's counts of the flows it alerted on, by risk.
	ntopng := []struct {
		name string
		got  int
		want int
	}{
		{"expired cert", counts[l7.RiskTLSCertificateExpired], 34},
		{"expired cert and mismatch", expiredAndMismatch, 34},
		{"mismatch only", mismatchOnly, 1},
		{"DNS zero TTL", counts[l7.RiskDNSSuspiciousTraffic], 14},
		{"cert about to expire", counts[l7.RiskTLSCertificateAboutToExpire], 2},
		{"obsolete TLS", counts[l7.RiskTLSObsoleteVersion], 2},
		{"not carrying HTTPS", counts[l7.RiskTLSNotCarryingHTTPS], 1},
	}
	for _, c := range ntopng {
		t.Logf("%-26s ours %3d, ntopng %3d", c.name, c.got, c.want)
		if c.got != c.want {
			t.Errorf("%s: %d flows, ntopng alerted on %d", c.name, c.got, c.want)
		}
	}

	find := func(cli string, cliPort uint16, srv string, srvPort uint16) (riskFlow, bool) {
		for _, f := range flows {
			if f.cli == cli && f.srv == srv && f.srvPort == srvPort && (cliPort == 0 || f.cliPort == cliPort) {
				return f, true
			}
		}
		t.Errorf("no flow %s:%d → %s:%d", cli, cliPort, srv, srvPort)
		return riskFlow{}, false
	}
	want := func(f riskFlow, r l7.Risk, info string) {
		t.Helper()
		if !f.risks.Has(r) {
			t.Errorf("%v: no %v", f, r)
		} else if got := f.risks.Info(r); got != info {
			t.Errorf("%v: %v info %q, want %q", f, r, got, info)
		}
	}

	const expired = "24/Aug/2019 18:04:13 - 22/Nov/2019 18:04:13"
	krxd := 0
	for _, f := range flows {
		if f.cli == "192.168.1.93" && f.srv == "192.168.1.176" && f.srvPort == 443 && f.sni == "beacon.krxd.net" {
			krxd++
			want(f, l7.RiskTLSCertificateExpired, expired)
			want(f, l7.RiskTLSCertificateMismatch, "beacon.krxd.net vs hello.ntop.org")
		}
	}
	if krxd == 0 {
		t.Error("no flow to 192.168.1.176:443 with SNI beacon.krxd.net")
	}
	if f, ok := find("192.168.1.93", 61685, "185.54.150.85", 443); ok {
		want(f, l7.RiskTLSNotCarryingHTTPS, "No ALPN")
	}
	for _, port := range []uint16{61660, 61663} {
		if f, ok := find("192.168.1.93", port, "192.168.1.176", 443); ok {
			want(f, l7.RiskTLSObsoleteVersion, "TLSv1")
		}
	}
	if f, ok := find("192.168.1.93", 61598, "13.224.102.129", 443); ok {
		want(f, l7.RiskTLSCertificateAboutToExpire, "17/Mar/2020 14:14:10 - 15/Jun/2020 14:14:10")
	}
	gigya := 0
	for _, f := range flows {
		if f.sni == "cdn.gigya.com" && f.risks.Has(l7.RiskTLSCertificateMismatch) {
			gigya++
			want(f, l7.RiskTLSCertificateMismatch, "cdn.gigya.com vs a248.e.akamai.net,*.akamaized-staging.net,*.akamaized.net,*.akamaihd-staging.net,*.akamaihd.net")
		}
	}
	if gigya == 0 {
		t.Error("no cdn.gigya.com flow with a certificate mismatch")
	}
	if f, ok := find("192.168.1.93", 62064, "192.168.1.1", 53); ok {
		want(f, l7.RiskDNSSuspiciousTraffic, "DNS Record with zero TTL")
	}
}

// TestTLSInfoFromCapture checks the handshake details a flow exposes.
func TestTLSInfoFromCapture(t *testing.T) {
	tb := replay(t, "test_02.pcap")
	tb.View(func(v flowtable.View) {
		seen := false
		v.EachFlow(func(f *flowtable.Flow) {
			if f.ClientPort != 61563 || f.Server != netip.MustParseAddr("192.168.1.176") {
				return
			}
			seen = true
			ti := f.TLS()
			if ti == nil || ti.Cert == nil {
				t.Fatalf("flow %d → 443: TLS %+v without certificate", f.ClientPort, ti)
			}
			if ti.ServerName != "beacon.krxd.net" || ti.ServerVersion != l7.VersionTLS12 || ti.CipherSuite != 0xc030 || !ti.ALPNOffered || ti.ALPN != "" {
				t.Errorf("handshake %+v", ti)
			}
			c := ti.Cert
			if c.Issuer != "C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3" || c.SubjectCN != "hello.ntop.org" || len(c.DNSNames) != 1 || c.SelfSigned {
				t.Errorf("certificate %+v", c)
			}
		})
		if !seen {
			t.Error("flow 192.168.1.93:61563 → 192.168.1.176:443 not seen")
		}
	})
}
