package checks

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestExclusionsStopFlowAlerts: the flow alerts a flow raises without
// exclusions (written down from TestFlowChecks' cases) lose exactly the
// excluded keys, whichever peer the exclusion names; a domain exclusion
// silences every alert of flows naming the domain or a subdomain.
func TestExclusionsStopFlowAlerts(t *testing.T) {
	gw := netip.MustParseAddr("192.168.1.1")
	far1 := netip.MustParseAddr("198.51.100.1")
	at := time.Unix(0, t0)
	expiredTLS := recordTLS12(t, "expired.example", at.AddDate(0, 0, -100), at.AddDate(0, 0, -10), netip.MustParseAddr("198.51.100.7"))
	flowX := func(addr netip.Addr, id int) Exclusion {
		return Exclusion{Type: ExclHost, Subdir: SubdirFlow, Addr: addr.String(), Key: id}
	}
	cases := []struct {
		name string
		excl []Exclusion
		pkts []*decode.Packet
		want []int // the flow's alert keys, lead first; nil: no alert
	}{
		{"no exclusion", nil, stratum(far1), []int{alert.FlowKnownProtoNonStd, alert.FlowUnsafeProtocol, alert.FlowWebMining}},
		{"server excludes the lead", []Exclusion{flowX(far1, alert.FlowKnownProtoNonStd)}, stratum(far1),
			[]int{alert.FlowWebMining, alert.FlowUnsafeProtocol}},
		{"client excludes one", []Exclusion{flowX(victim, alert.FlowUnsafeProtocol)}, stratum(far1),
			[]int{alert.FlowKnownProtoNonStd, alert.FlowWebMining}},
		{"every key excluded", []Exclusion{flowX(victim, alert.FlowUnsafeProtocol), flowX(far1, alert.FlowKnownProtoNonStd), flowX(victim, alert.FlowWebMining)},
			stratum(far1), nil},
		{"another host's exclusion", []Exclusion{flowX(gw, alert.FlowWebMining)}, stratum(far1),
			[]int{alert.FlowKnownProtoNonStd, alert.FlowUnsafeProtocol, alert.FlowWebMining}},
		{"a host alert exclusion leaves flow alerts",
			[]Exclusion{{Type: ExclHost, Subdir: SubdirHost, Addr: victim.String(), Key: alert.HostSYNFlood}},
			dnsExchange(victim, gw, "www.q4cyamnc6mtokjurvdclt.com"), []int{alert.FlowDGADomain}},
		{"domain", []Exclusion{{Type: ExclDomain, Domain: "coinhive.com"}}, dnsExchange(victim, gw, "coinhive.com"), nil},
		{"subdomain", []Exclusion{{Type: ExclDomain, Domain: "COINHIVE.com."}}, dnsExchange(victim, gw, "ws.coinhive.com"), nil},
		{"other domain", []Exclusion{{Type: ExclDomain, Domain: "hive.com"}}, dnsExchange(victim, gw, "coinhive.com"), []int{alert.FlowWebMining}},
		// recordTLS12's self-signed certificate: its issuer is its subject,
		// CN=expired.example (as nDPI prints DNs).
		{"certificate issuer, any case", []Exclusion{{Type: ExclCertificate, Certificate: " cn=EXPIRED.example "}}, expiredTLS, nil},
		{"another issuer", []Exclusion{{Type: ExclCertificate, Certificate: "CN=other.example"}}, expiredTLS,
			[]int{alert.FlowTLSCertExpired, alert.FlowTLSSelfSigned}},
		{"certificate exclusion, flow without one", []Exclusion{{Type: ExclCertificate, Certificate: "CN=expired.example"}}, stratum(far1),
			[]int{alert.FlowKnownProtoNonStd, alert.FlowUnsafeProtocol, alert.FlowWebMining}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := memStore(t)
			var s sink
			e := newEngine(t, st, &s)
			for _, x := range c.excl {
				if err := e.AddExclusion(x); err != nil {
					t.Fatal(err)
				}
			}
			got := judgeCapture(e, c.pkts)
			if c.want == nil {
				if len(got) != 0 || len(s.got) != 0 {
					t.Fatalf("alerts %+v, notified %d, want none", got, len(s.got))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("alerts %+v, want one flow alert", got)
			}
			keys := append([]int{got[0].TypeID}, got[0].Flow.Others...)
			if fmt.Sprint(keys) != fmt.Sprint(c.want) {
				t.Errorf("alert keys %v (lead first), want %v", keys, c.want)
			}
		})
	}
}

// TestExclusionStopsHostAlertAndPersists: a SYN flood raises the
// attacker's and the victim's alert; excluding the attacker's key (stored,
// then read back by a new engine on the same store) leaves the victim's.
func TestExclusionStopsHostAlertAndPersists(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	e := newEngine(t, st, &sink{})
	if err := e.AddExclusion(Exclusion{Type: ExclHost, Subdir: SubdirHost, Addr: "::ffff:" + attacker.String(), Key: alert.HostSYNFlood}); err != nil {
		t.Fatal(err)
	}
	// Added twice: one exclusion (ntopng sets a bit).
	if err := e.AddExclusion(Exclusion{Type: ExclHost, Subdir: SubdirHost, Addr: attacker.String(), Key: alert.HostSYNFlood}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = openStore(t, dir)
	defer st.Close()
	var s sink
	e = newEngine(t, st, &s)
	xs, err := e.Exclusions()
	if err != nil || len(xs) != 1 || xs[0] != (Exclusion{Type: ExclHost, Subdir: SubdirHost, Addr: attacker.String(), Key: alert.HostSYNFlood}) {
		t.Fatalf("exclusions after restart %+v %v, want the one for %s", xs, err, attacker)
	}
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	synFlood(tb, t0, 200, 3)
	e.Run(Iface{Table: tb}, 0, true)
	var who []string
	for _, a := range e.Engaged(0) {
		if a.Family == alert.FamilyHost && a.TypeID == alert.HostSYNFlood {
			who = append(who, a.Host.IP)
		}
	}
	if fmt.Sprint(who) != fmt.Sprint([]string{victim.String()}) {
		t.Errorf("SYN flood alerts engaged for %v, want only the victim %s", who, victim)
	}
	for _, a := range s.got {
		if a.Family == alert.FamilyHost && a.TypeID == alert.HostSYNFlood && a.Host.IP == attacker.String() {
			t.Errorf("the excluded attacker was notified: %+v", a)
		}
	}
}

func TestExclusionNormalForms(t *testing.T) {
	cases := []struct{ in, want Exclusion }{
		{Exclusion{Type: ExclMAC, Addr: " 02-00-00-00-0a-66 ", Key: alert.OtherMACManyIPs, Domain: "x"},
			Exclusion{Type: ExclMAC, Subdir: SubdirMAC, Addr: "02:00:00:00:0A:66", Key: alert.OtherMACManyIPs}},
		{Exclusion{Type: ExclCertificate, Certificate: " C=US, O=Let's Encrypt, CN=R3 ", Key: 7, Addr: "10.0.0.1"},
			Exclusion{Type: ExclCertificate, Subdir: SubdirFlow, Certificate: "C=US, O=Let's Encrypt, CN=R3"}},
	}
	for _, c := range cases {
		got, err := c.in.Normalize()
		if err != nil || got != c.want {
			t.Errorf("%+v: %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
}

func TestExclusionValidation(t *testing.T) {
	bad := []Exclusion{
		{Type: "certificate"},
		{Type: ExclHost, Subdir: SubdirHost, Addr: "not-an-ip", Key: alert.HostSYNFlood},
		{Type: ExclHost, Subdir: "interface", Addr: "10.0.0.1", Key: alert.HostSYNFlood},
		{Type: ExclHost, Subdir: SubdirHost, Addr: "10.0.0.1", Key: 9999},
		{Type: ExclHost, Subdir: SubdirFlow, Addr: "10.0.0.1", Key: -1},
		{Type: ExclDomain, Domain: ""},
		{Type: ExclDomain, Domain: "a b.com"},
		{Type: ExclDomain, Domain: "x.."},
		{Type: ExclDomain, Domain: ".com"},
		{Type: ExclHost, Subdir: SubdirHost, Addr: "fe80::1%eth0", Key: alert.HostSYNFlood},
		{Type: ExclMAC, Addr: "10.0.0.1", Key: alert.OtherMACIPAssocChange},
		{Type: ExclMAC, Addr: "02:00:00:00:00:01:02:03", Key: alert.OtherMACIPAssocChange}, // EUI-64
		{Type: ExclMAC, Addr: "02:00:00:00:00:01", Key: alert.FlowUnidirectional},          // not a MAC alert
		{Type: ExclMAC, Addr: "02:00:00:00:00:01"},
		{Type: ExclCertificate, Certificate: "  "},
		{Type: ExclCertificate, Certificate: "CN=a\nCN=b"},
		{Type: ExclCertificate, Certificate: strings.Repeat("O=x, ", 300)},
	}
	for _, x := range bad {
		if _, err := x.Normalize(); err == nil {
			t.Errorf("%+v accepted", x)
		}
	}
}
