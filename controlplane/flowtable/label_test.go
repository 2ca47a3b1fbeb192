package flowtable

import (
	"net/netip"
	"testing"
)

// TestHostLabelRanking: the names a host learnt are shown in ntopng's
// order, addresses posing as names are passed over, and the loopback
// addresses are "localhost".
func TestHostLabelRanking(t *testing.T) {
	lan := netip.MustParseAddr("192.168.1.93")
	cases := []struct {
		name string
		addr netip.Addr
		h    Host
		want string
	}{
		{"nothing learnt", lan, Host{}, "192.168.1.93"},
		{"alias before everything", lan, Host{Name: "b.example", rare: &hostRare{alias: "desk", dhcpName: "luca", mdnsName: "luca’s imac", serverName: "a.example"}}, "desk"},
		{"DHCP before mDNS", lan, Host{Name: "b.example", rare: &hostRare{dhcpName: "luca", mdnsName: "luca’s imac", serverName: "a.example"}}, "luca"},
		{"mDNS before SNI", lan, Host{Name: "b.example", rare: &hostRare{mdnsName: "luca’s imac", serverName: "a.example"}}, "luca’s imac"},
		{"SNI before DNS", lan, Host{Name: "video.repubblica.it", rare: &hostRare{serverName: "www.repstatic.it"}}, "www.repstatic.it"},
		{"DNS alone", lan, Host{Name: "b.example"}, "b.example"},
		{"numeric HTTP Host passed over", lan, Host{Name: "b.example", rare: &hostRare{serverName: "10.0.0.1"}}, "b.example"},
		{"IPv6 literal passed over", lan, Host{rare: &hostRare{serverName: "2001:db8::1"}}, "192.168.1.93"},
		{"hex-looking name kept", lan, Host{rare: &hostRare{serverName: "cafe.be"}}, "cafe.be"},
		{"IPv4 loopback", netip.MustParseAddr("127.0.0.1"), Host{}, "localhost"},
		{"IPv6 loopback", netip.IPv6Loopback(), Host{}, "localhost"},
		{"other 127/8 address", netip.MustParseAddr("127.0.0.2"), Host{}, "127.0.0.2"},
		{"loopback with a learnt name", netip.MustParseAddr("127.0.0.1"), Host{Name: "probe.lan"}, "probe.lan"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			h.Key = HostKey{Addr: c.addr}
			if got := h.Label(); got != c.want {
				t.Errorf("Label() = %q, want %q", got, c.want)
			}
		})
	}
}

// TestLearntNameLeavesTheAliasOut: alerts are stored with the learnt name,
// the alias is added when they are listed.
func TestLearntNameLeavesTheAliasOut(t *testing.T) {
	h := Host{Key: HostKey{Addr: netip.MustParseAddr("192.168.1.93")}, rare: &hostRare{alias: "desk", mdnsName: "luca’s imac"}}
	if got := h.LearntName(); got != "luca’s imac" {
		t.Errorf("LearntName() = %q, want the mDNS name", got)
	}
	if got := h.Label(); got != "desk" {
		t.Errorf("Label() = %q, want the alias", got)
	}
}

// TestHostNameAt: an mDNS name shows from ntopng's next once-a-second
// pass on the packet clock. Times are from ntopng's recorded alert list
// for test_01.pcap: 192.168.1.93 announced itself at 1589741864.641847;
// the DNS flows answered at 1589741864.978920 and .986191 were stored
// with its address, the one answered at 1589741865.007110 with its name.
func TestHostNameAt(t *testing.T) {
	const (
		announced = 1589741864_641847000
		sameSec   = 1589741864_986191000
		nextSec   = 1589741865_007110000
	)
	lan := netip.MustParseAddr("192.168.1.93")
	cases := []struct {
		name string
		h    Host
		at   int64
		want string
	}{
		{"answered in the announcement's second", Host{rare: &hostRare{mdnsAt: announced, mdnsName: "luca’s imac"}}, sameSec, "192.168.1.93"},
		{"answered in the next second", Host{rare: &hostRare{mdnsAt: announced, mdnsName: "luca’s imac"}}, nextSec, "luca’s imac"},
		{"announced after the answer", Host{rare: &hostRare{mdnsAt: nextSec, mdnsName: "luca’s imac"}}, sameSec, "192.168.1.93"},
		{"now (no alert time known)", Host{rare: &hostRare{mdnsAt: announced, mdnsName: "luca’s imac"}}, 0, "luca’s imac"},
		{"the next name in rank meanwhile", Host{Name: "b.example", rare: &hostRare{mdnsAt: announced, mdnsName: "luca’s imac"}}, sameSec, "b.example"},
		{"a DHCP name does not wait", Host{rare: &hostRare{mdnsAt: announced, dhcpName: "luca", mdnsName: "luca’s imac"}}, sameSec, "luca"},
	}
	for _, c := range cases {
		c.h.Key.Addr = lan
		if got := c.h.NameAt(c.at); got != c.want {
			t.Errorf("%s: NameAt = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestServerNameFirstStays: the first name clients reach a server by stays
// (ntopng's recorded alerts for test_01.pcap: 31.13.86.4 is
// connect.facebook.net though a later flow's SNI was scontent.xx.fbcdn.net).
func TestServerNameFirstStays(t *testing.T) {
	cases := []struct {
		name     string
		sni      []string
		http     []bool
		want     string
		wantHTTP bool
	}{
		{"recorded: first SNI stays", []string{"connect.facebook.net", "staticxx.facebook.com", "scontent.xx.fbcdn.net"}, []bool{false, false, false}, "connect.facebook.net", false},
		{"recorded: gigya", []string{"socialize.us1.gigya.com", "comments.us1.gigya.com"}, []bool{false, false}, "socialize.us1.gigya.com", false},
		{"an HTTP Host first stays with its kind", []string{"a.example", "b.example"}, []bool{true, false}, "a.example", true},
	}
	for _, c := range cases {
		var h Host
		for i, n := range c.sni {
			h.nameServer(n, c.http[i])
		}
		if name, http := h.ServerName(); name != c.want || http != c.wantHTTP {
			t.Errorf("%s: ServerName %q (HTTP %v), want %q (HTTP %v)", c.name, name, http, c.want, c.wantHTTP)
		}
	}
}
