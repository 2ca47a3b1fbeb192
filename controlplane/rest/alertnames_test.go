package rest

import (
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// mdnsAnnounce is an mDNS response naming its sender: one PTR answer
// "<instance>._ipp._tcp.local".
func mdnsAnnounce(instance string) []byte {
	msg := []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	for _, l := range []string{"_ipp", "_tcp", "local"} {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 12, 0, 1, 0, 0, 0, 120)
	rdata := append([]byte{byte(len(instance))}, instance...)
	rdata = append(rdata, 0xc0, 12)
	msg = append(msg, 0, byte(len(rdata)))
	return append(msg, rdata...)
}

// TestAlertAndHostListNames: alert records name hosts as ntopng's do (the
// mDNS name without its non-ASCII apostrophe, "localhost" for the loopback
// addresses, an alias given after the alert), host lists keep the name
// whole.
func TestAlertAndHostListNames(t *testing.T) {
	s := newTestServer(t, 0, true)
	tb := s.cfg.Interfaces[0].Table
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	mac := netip.MustParseAddr("192.168.1.93")
	far := netip.MustParseAddr("10.0.0.1")
	pkts := []*decode.Packet{
		{Timestamp: ts, WireLen: 200, IPVersion: 4, Src: mac, Dst: netip.MustParseAddr("224.0.0.251"), Proto: 17, SrcPort: 5353, DstPort: 5353, Payload: mdnsAnnounce("Luca’s iMac")},
		// Unanswered flows: each raises Unidirectional Traffic.
		{Timestamp: ts + 1, WireLen: 60, IPVersion: 4, Src: mac, Dst: far, Proto: 6, SrcPort: 50000, DstPort: 443, TCPFlags: decode.TCPSyn},
		{Timestamp: ts + 2, WireLen: 60, IPVersion: 4, Src: netip.MustParseAddr("127.0.0.1"), Dst: mac, Proto: 6, SrcPort: 50001, DstPort: 8080, TCPFlags: decode.TCPSyn},
		{Timestamp: ts + 3, WireLen: 80, IPVersion: 6, Src: netip.IPv6Loopback(), Dst: netip.MustParseAddr("2001:db8::1"), Proto: 6, SrcPort: 50002, DstPort: 8080, TCPFlags: decode.TCPSyn},
	}
	for _, p := range pkts {
		tb.HandlePacket(p, decode.ErrNone)
	}
	eng, err := checks.New(checks.Options{Store: s.cfg.Store})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Checks = eng
	eng.Run(checks.Iface{ID: 0, Table: tb}, 0, true)

	type peer struct {
		Value, Label string
		LabelLong    string `json:"label_long"`
	}
	type rec struct {
		Flow struct {
			Cli peer `json:"cli_ip"`
			Srv peer `json:"srv_ip"`
		} `json:"flow"`
	}
	labels := func(version string) map[string]string {
		t.Helper()
		ctx := do(s, "/lua/rest/"+version+"/get/flow/alert/list.lua?ifid=0", nil)
		e := decodeEnv[struct{ Records []rec }](t, ctx.Response.Body())
		out := map[string]string{}
		for _, r := range e.Rsp.Records {
			for _, p := range []peer{r.Flow.Cli, r.Flow.Srv} {
				if p.Label != p.LabelLong && len([]rune(p.LabelLong)) <= 24 {
					t.Errorf("%s: %s label %q, long %q", version, p.Value, p.Label, p.LabelLong)
				}
				out[p.Value] = p.Label
			}
		}
		if len(e.Rsp.Records) != 3 {
			t.Errorf("%s: %d flow alerts, want 3: %s", version, len(e.Rsp.Records), ctx.Response.Body())
		}
		return out
	}
	hostNames := func() map[string]string {
		t.Helper()
		ctx := do(s, "/lua/rest/v1/get/host/active.lua?ifid=0&perPage=100", nil)
		e := decodeEnv[struct {
			Data []struct{ IP, Name string }
		}](t, ctx.Response.Body())
		out := map[string]string{}
		for _, h := range e.Rsp.Data {
			out[h.IP] = h.Name
		}
		return out
	}
	for _, version := range []string{"v1", "v2"} {
		got := labels(version)
		for ip, want := range map[string]string{"192.168.1.93": "lucas imac", "127.0.0.1": "localhost", "::1": "localhost", "10.0.0.1": "10.0.0.1"} {
			if got[ip] != want {
				t.Errorf("%s alert label of %s = %q, want %q", version, ip, got[ip], want)
			}
		}
	}
	hosts := hostNames()
	for ip, want := range map[string]string{"192.168.1.93": "luca’s imac", "127.0.0.1": "localhost", "::1": "localhost"} {
		if hosts[ip] != want {
			t.Errorf("host list name of %s = %q, want %q", ip, hosts[ip], want)
		}
	}

	// An alias given after the alert names the host in it, kept whole as
	// ntopng's Lua labels keep it.
	ctx := postForm(s, "/lua/rest/v1/set/host/alias.lua", url.Values{"host": {"10.0.0.1"}, "custom_name": {"Café box"}})
	if e := decodeEnv[any](t, ctx.Response.Body()); e.RC != 0 {
		t.Fatalf("set alias: %s", ctx.Response.Body())
	}
	for _, version := range []string{"v1", "v2"} {
		if got := labels(version)["10.0.0.1"]; got != "Café box" {
			t.Errorf("%s alert label after the alias = %q, want %q", version, got, "Café box")
		}
	}
	if got := hostNames()["10.0.0.1"]; got != "Café box" {
		t.Errorf("host list name after the alias = %q", got)
	}
}
