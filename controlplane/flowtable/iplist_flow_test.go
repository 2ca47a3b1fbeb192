package flowtable

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/decode"
)

const testProtos = `ip:198.51.100.0/24@LabApp
ip:203.0.113.9:8443@PortApp
tcp:9999@NinesApp
tcp:8080@SSH
`

// TestAddressListLabelsFlows: a flow to a listed address is labelled with
// the list's application unless a server name names another one, as nDPI
// does (TLS.<ip app> for an unknown SNI; the SNI's app when it matches).
func TestAddressListLabelsFlows(t *testing.T) {
	cat, err := l7.ParseProtos("protos.txt", []byte(testProtos))
	if err != nil {
		t.Fatal(err)
	}
	labApp := cat.Info(l7.FirstCustom)
	if labApp.Name != "LabApp" {
		t.Fatalf("first custom protocol is %q", labApp.Name)
	}
	listed := netip.MustParseAddr("198.51.100.20")
	portOnly := netip.MustParseAddr("203.0.113.9")
	google := netip.MustParseAddr("8.8.4.4") // built-in list
	dnsQ := dnsMsg(0x4242, false, "nothing-known.example", netip.Addr{})

	type flowCase struct {
		name    string
		pkts    []*decode.Packet
		want    string // Result.Name through the catalog's names
		appName string
	}
	hello := func(srv netip.Addr, sport, dport uint16, sni string) []*decode.Packet {
		return []*decode.Packet{
			tcp(t0, local, srv, sport, dport, decode.TCPSyn, 60, nil),
			tcp(t0+1, srv, local, dport, sport, decode.TCPSyn|decode.TCPAck, 60, nil),
			tcp(t0+2, local, srv, sport, dport, decode.TCPAck|decode.TCPPsh, 300, clientHelloNoALPN(sni)),
		}
	}
	cases := []flowCase{
		{"unknown SNI to a listed address", hello(listed, 40001, 443, "unknown.example"), "TLS.LabApp", "LabApp"},
		{"SNI naming an app keeps it", hello(listed, 40002, 443, "www.youtube.com"), "TLS.YouTube", "YouTube"},
		{"built-in list", hello(google, 40003, 443, "unknown.example"), "TLS.Google", "Google"},
		{"no list", hello(remote, 40004, 443, "unknown.example"), "TLS", "TLS"},
		{"port rule holds", hello(portOnly, 40005, 8443, "unknown.example"), "TLS.PortApp", "PortApp"},
		{"port rule does not hold", hello(portOnly, 40006, 443, "unknown.example"), "TLS", "TLS"},
		{"no payload: port guess and list", []*decode.Packet{tcp(t0, local, listed, 40007, 443, decode.TCPSyn, 60, nil)}, "TLS.LabApp", "LabApp"},
		{"client side listed", []*decode.Packet{udp(t0, listed, local, 5555, 40008, []byte("x"))}, "LabApp", "LabApp"},
		{"DNS to a listed server, unknown name", []*decode.Packet{udp(t0, local, google, 40009, 53, dnsQ)}, "DNS.Google", "Google"},
		{"file port rule guesses a new protocol", []*decode.Packet{tcp(t0, local, remote, 40010, 9999, decode.TCPSyn, 60, nil)}, "NinesApp", "NinesApp"},
		{"payload beats a port rule", []*decode.Packet{
			tcp(t0, local, remote, 40011, 8080, decode.TCPSyn, 60, nil),
			tcp(t0+2, local, remote, 40011, 8080, decode.TCPAck|decode.TCPPsh, 200, []byte("GET / HTTP/1.1\r\nHost: x.example\r\n\r\n")),
		}, "HTTP", "HTTP"},
	}
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, L7: cat})
	for _, c := range cases {
		for _, p := range c.pkts {
			tb.HandlePacket(p, decode.ErrNone)
		}
	}
	got := map[uint16]l7.Result{}
	tb.View(func(v View) {
		for _, f := range v.Flows() {
			got[f.ClientPort] = f.Protocol()
			if f.ClientPort == 5555 {
				got[f.ServerPort] = f.Protocol()
			}
		}
	})
	name := cat.Name
	for i, c := range cases {
		r, ok := got[uint16(40001+i)]
		if !ok {
			t.Errorf("%s: no flow", c.name)
			continue
		}
		if n := name(r); n != c.want || cat.Info(r.AppID()).Name != c.appName {
			t.Errorf("%s: %s (counted as %s), want %s (%s)", c.name, n, cat.Info(r.AppID()).Name, c.want, c.appName)
		}
	}

	// Without the address lists the same TLS flow is plain TLS.
	off := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, L7: new(l7.Catalog)})
	for _, p := range hello(google, 40003, 443, "unknown.example") {
		off.HandlePacket(p, decode.ErrNone)
	}
	off.View(func(v View) {
		if r := v.Flows()[0].Protocol(); r.Name() != "TLS" {
			t.Errorf("lists off: %s", r.Name())
		}
	})
}

// TestFlowCategoryFromHostMatch: a flow whose server name matched a host
// pattern counts under that pattern's category (nDPI 4.2 puts Google's ad
// server in Advertisement, id 101, while Google is Web), in the hosts' and
// the interface's category totals; a name that matched nothing leaves the
// application's category.
func TestFlowCategoryFromHostMatch(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	hello := func(sport uint16, sni string) {
		for _, p := range []*decode.Packet{
			tcp(t0, local, remote, sport, 443, decode.TCPSyn, 60, nil),
			tcp(t0+1, remote, local, 443, sport, decode.TCPSyn|decode.TCPAck, 60, nil),
			tcp(t0+2, local, remote, sport, 443, decode.TCPAck|decode.TCPPsh, 300, clientHelloNoALPN(sni)),
		} {
			tb.HandlePacket(p, decode.ErrNone)
		}
	}
	hello(41001, "www.googleadservices.com")
	hello(41002, "www.google.com")
	hello(41003, "unknown.example")
	var cat *l7.Catalog
	tb.View(func(v View) {
		byPort := map[uint16]*Flow{}
		for _, f := range v.Flows() {
			byPort[f.ClientPort] = f
		}
		for port, want := range map[uint16]uint8{41001: 101, 41002: 5, 41003: cat.Info(l7.TLS).Category} {
			if got := cat.Category(byPort[port].Protocol()); got != want {
				t.Errorf("flow from port %d: category %d, want %d", port, got, want)
			}
		}
		h := v.Host(HostKey{Addr: local})
		ad := h.Categories.Get(101)
		if ad == nil || ad.BytesSent+ad.BytesRcvd != byPort[41001].Bytes() {
			t.Errorf("host's Advertisement bytes %+v, want the ad flow's %d", ad, byPort[41001].Bytes())
		}
		web := h.Categories.Get(5)
		if web == nil || web.BytesSent+web.BytesRcvd != byPort[41002].Bytes()+byPort[41003].Bytes() {
			t.Errorf("host's Web bytes %+v, want the two other flows' %d", web, byPort[41002].Bytes()+byPort[41003].Bytes())
		}
		var ifAd uint64
		v.CategoryBytes(func(c uint8, b uint64) {
			if c == 101 {
				ifAd = b
			}
		})
		if ifAd != byPort[41001].Bytes() {
			t.Errorf("interface Advertisement bytes %d, want %d", ifAd, byPort[41001].Bytes())
		}
	})
}
