package checks

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// A flow alert's entity and peer addresses are made as one string: they
// must read as the addresses' own forms would.
func TestFlowEntityVal(t *testing.T) {
	cases := []struct {
		cli, srv         netip.Addr
		cport, sport     uint16
		entity, cip, sip string
	}{
		{netip.MustParseAddr("172.16.0.1"), netip.MustParseAddr("10.1.1.1"), 20000, 53, "172.16.0.1:20000-10.1.1.1:53", "172.16.0.1", "10.1.1.1"},
		{netip.MustParseAddr("2001:db8:1::9"), netip.MustParseAddr("2001:db8:2::901"), 65535, 0, "2001:db8:1::9:65535-2001:db8:2::901:0", "2001:db8:1::9", "2001:db8:2::901"},
		{netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("fe80::1%eth0"), 1, 2, "::ffff:10.0.0.1:1-fe80::1%eth0:2", "::ffff:10.0.0.1", "fe80::1%eth0"},
		{netip.Addr{}, netip.MustParseAddr("10.0.0.1"), 1, 2, "invalid IP:1-10.0.0.1:2", "invalid IP", "10.0.0.1"},
	}
	for _, c := range cases {
		f := &flowtable.Flow{Client: c.cli, Server: c.srv, ClientPort: c.cport, ServerPort: c.sport}
		entity, cip, sip := flowEntityVal(f)
		if entity != c.entity || cip != c.cip || sip != c.sip {
			t.Errorf("%v:%d-%v:%d: %q %q %q, want %q %q %q", c.cli, c.cport, c.srv, c.sport, entity, cip, sip, c.entity, c.cip, c.sip)
		}
		if cip != c.cli.String() || sip != c.srv.String() {
			t.Errorf("peers %q %q, want the addresses' String %q %q", cip, sip, c.cli, c.srv)
		}
	}
}
