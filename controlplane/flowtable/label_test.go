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
		{"alias before everything", lan, Host{Alias: "desk", DHCPName: "luca", MDNSName: "luca’s imac", ServerName: "a.example", Name: "b.example"}, "desk"},
		{"DHCP before mDNS", lan, Host{DHCPName: "luca", MDNSName: "luca’s imac", ServerName: "a.example", Name: "b.example"}, "luca"},
		{"mDNS before SNI", lan, Host{MDNSName: "luca’s imac", ServerName: "a.example", Name: "b.example"}, "luca’s imac"},
		{"SNI before DNS", lan, Host{ServerName: "www.repstatic.it", Name: "video.repubblica.it"}, "www.repstatic.it"},
		{"DNS alone", lan, Host{Name: "b.example"}, "b.example"},
		{"numeric HTTP Host passed over", lan, Host{ServerName: "10.0.0.1", Name: "b.example"}, "b.example"},
		{"IPv6 literal passed over", lan, Host{ServerName: "2001:db8::1"}, "192.168.1.93"},
		{"hex-looking name kept", lan, Host{ServerName: "cafe.be"}, "cafe.be"},
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
	h := Host{Key: HostKey{Addr: netip.MustParseAddr("192.168.1.93")}, Alias: "desk", MDNSName: "luca’s imac"}
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
		{"answered in the announcement's second", Host{MDNSName: "luca’s imac", mdnsAt: announced}, sameSec, "192.168.1.93"},
		{"answered in the next second", Host{MDNSName: "luca’s imac", mdnsAt: announced}, nextSec, "luca’s imac"},
		{"announced after the answer", Host{MDNSName: "luca’s imac", mdnsAt: nextSec}, sameSec, "192.168.1.93"},
		{"now (no alert time known)", Host{MDNSName: "luca’s imac", mdnsAt: announced}, 0, "luca’s imac"},
		{"the next name in rank meanwhile", Host{MDNSName: "luca’s imac", mdnsAt: announced, Name: "b.example"}, sameSec, "b.example"},
		{"a DHCP name does not wait", Host{DHCPName: "luca", MDNSName: "luca’s imac", mdnsAt: announced}, sameSec, "luca"},
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
		if h.ServerName != c.want || h.ServerNameHTTP != c.wantHTTP {
			t.Errorf("%s: ServerName %q (HTTP %v), want %q (HTTP %v)", c.name, h.ServerName, h.ServerNameHTTP, c.want, c.wantHTTP)
		}
	}
}
