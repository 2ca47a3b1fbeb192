package checks

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestFlowScoreSplit checks the split against nDPI's risk table (client
// share in percent of the risk's score) and ntopng's own checks.
func TestFlowScoreSplit(t *testing.T) {
	for _, tc := range []struct {
		name          string
		id            int
		cli, srv, cat int
	}{
		// nDPI: HIGH (100), CLIENT_LOW_RISK_PERCENTAGE (10).
		{"tls cert expired", 22, 10, 90, ScoreSecurity},
		// nDPI: HIGH, CLIENT_FAIR_RISK_PERCENTAGE (50).
		{"tls cert mismatch", 23, 50, 50, ScoreSecurity},
		// nDPI: HIGH, CLIENT_HIGH_RISK_PERCENTAGE (90).
		{"suspicious dns", 53, 90, 10, ScoreSecurity},
		// nDPI: MEDIUM (50), CLIENT_LOW_RISK_PERCENTAGE.
		{"cert about to expire", 69, 5, 45, ScoreSecurity},
		// nDPI: LOW (10), fair; ntopng files it under network.
		{"unidirectional", 26, 5, 5, ScoreNetwork},
		// ntopng's UnexpectedServer: CLIENT_FULL_RISK_PERCENTAGE.
		{"unexpected dns", 33, 100, 0, ScoreSecurity},
		{"tcp reset", 100, 5, 5, ScoreNetwork},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli, srv, cat := flowScoreSplit(tc.id)
			if cli != tc.cli || srv != tc.srv || cat != tc.cat {
				t.Errorf("split(%d) = %d/%d cat %d, want %d/%d cat %d", tc.id, cli, srv, cat, tc.cli, tc.srv, tc.cat)
			}
		})
	}
}

// TestHostScoreByCategory builds traffic whose alerts are known: two DNS
// queries to an unexpected server (answered) and one UDP flow nobody
// answers. The client carries the DNS alerts whole, as a security score,
// and half of the unidirectional one, as a network score.
func TestHostScoreByCategory(t *testing.T) {
	st := openStore(t, t.TempDir())
	var s sink
	e := newEngine(t, st, &s)
	if err := e.Set(map[string]Setting{}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"unexpected_dns", "ndpi_unidirectional_traffic"} {
		if err := e.Enable(SubdirFlow, key, true); err != nil {
			t.Fatal(err)
		}
	}
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	cli := netip.MustParseAddr("192.168.1.30")
	dns := netip.MustParseAddr("198.51.100.53")
	quiet := netip.MustParseAddr("198.51.100.99")
	ts := t0
	for i := 0; i < 2; i++ {
		tb.HandlePacket(udp(ts, cli, dns, uint16(40000+i), 53), decode.ErrNone)
		tb.HandlePacket(udp(ts+1e6, dns, cli, 53, uint16(40000+i)), decode.ErrNone)
		ts += 1e9
	}
	tb.HandlePacket(udp(ts, cli, quiet, 41000, 7777), decode.ErrNone)
	ifc := Iface{ID: 0, Table: tb}
	e.Run(ifc, 0, true)
	e.Run(ifc, 0, true) // a second pass counts nothing twice

	a := e.Host(0, flowtable.HostKey{Addr: cli})
	if a.ScoreAsClient[ScoreSecurity] != 200 || a.ScoreAsClient[ScoreNetwork] != 5 {
		t.Errorf("client score by category = %v, want [5 200]", a.ScoreAsClient)
	}
	if c, s := a.Score(); c != 205 || s != 0 {
		t.Errorf("client score = %d/%d, want 205/0", c, s)
	}
	if a.AlertedAsClient != 3 || a.TotAlertedAsClient != 3 || a.TotalAlerts != 3 {
		t.Errorf("alerted flows active %d total %d, total alerts %d; want 3, 3, 3", a.AlertedAsClient, a.TotAlertedAsClient, a.TotalAlerts)
	}
	srv := e.Host(0, flowtable.HostKey{Addr: quiet})
	if srv.ScoreAsServer[ScoreNetwork] != 5 || srv.TotAlertedAsServer != 1 || srv.AlertedAsClient != 0 {
		t.Errorf("server of the unanswered flow: %+v, want network score 5 as server, 1 alerted flow", srv)
	}
	d := e.Host(0, flowtable.HostKey{Addr: dns})
	if c, s := d.Score(); c != 0 || s != 0 || d.TotAlertedAsServer != 2 {
		t.Errorf("unexpected DNS server: score %d/%d, alerted %d; want 0/0 (the client takes it all), 2", c, s, d.TotAlertedAsServer)
	}
}

// TestBlacklistedFlowCounts counts flows with a blacklisted peer, active
// and in total, on each side.
func TestBlacklistedFlowCounts(t *testing.T) {
	st := openStore(t, t.TempDir())
	var s sink
	e := newEngine(t, st, &s)
	bad := netip.MustParseAddr("203.0.113.66")
	if err := e.Set(map[string]Setting{"blacklisted": {Enabled: true, Items: []string{"203.0.113.0/24"}}}); err != nil {
		t.Fatal(err)
	}
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	cli := netip.MustParseAddr("192.168.1.31")
	tb.HandlePacket(tcp(t0, cli, bad, 50000, 443, decode.TCPSyn), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1e6, cli, bad, 50001, 443, decode.TCPSyn), decode.ErrNone)
	tb.HandlePacket(tcp(t0+2e6, cli, netip.MustParseAddr("198.51.100.1"), 50002, 443, decode.TCPSyn), decode.ErrNone)
	e.Run(Iface{ID: 0, Table: tb}, 0, true)
	a := e.Host(0, flowtable.HostKey{Addr: cli})
	if a.BlacklistedAsClient != 2 || a.TotBlacklistedAsClient != 2 || a.BlacklistedAsServer != 0 {
		t.Errorf("client: %+v, want 2 blacklisted flows as client", a)
	}
	b := e.Host(0, flowtable.HostKey{Addr: bad})
	if b.BlacklistedAsServer != 2 || b.TotBlacklistedAsServer != 2 {
		t.Errorf("blacklisted server: %+v, want 2 as server", b)
	}
}
