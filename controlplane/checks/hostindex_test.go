package checks

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// The index keeps IPv4 hosts apart by a word of address and VLAN: no two
// keys may share a state, whatever their family or VLAN.
func TestHostIndexKeepsKeysApart(t *testing.T) {
	keys := []flowtable.HostKey{
		{Addr: netip.MustParseAddr("10.0.0.1")},
		{Addr: netip.MustParseAddr("10.0.0.1"), VLAN: 1},
		{Addr: netip.MustParseAddr("10.0.0.1"), VLAN: 65535},
		{Addr: netip.MustParseAddr("0.0.0.0")},
		{Addr: netip.MustParseAddr("255.255.255.255"), VLAN: 65535},
		{Addr: netip.MustParseAddr("0.1.0.0")},
		{Addr: netip.MustParseAddr("0.0.0.1"), VLAN: 1},
		{Addr: netip.MustParseAddr("::ffff:10.0.0.1")}, // the same IPv4 address as IPv6: another host
		{Addr: netip.MustParseAddr("2001:db8::1")},
		{Addr: netip.MustParseAddr("2001:db8::1"), VLAN: 1},
	}
	var x hostIndex
	for _, k := range keys {
		if x.get(k) != nil {
			t.Fatalf("%v@%d found before it was put", k.Addr, k.VLAN)
		}
		x.put(k, &hostState{key: k})
	}
	n := 0
	for hs := range x.all() {
		if got := x.get(hs.key); got != hs {
			t.Errorf("%v@%d: another state", hs.key.Addr, hs.key.VLAN)
		}
		n++
	}
	if n != len(keys) {
		t.Fatalf("%d states, want %d", n, len(keys))
	}
	for i, k := range keys {
		x.del(k)
		if x.get(k) != nil {
			t.Errorf("%v@%d still there after del", k.Addr, k.VLAN)
		}
		for _, o := range keys[i+1:] {
			if hs := x.get(o); hs == nil || hs.key != o {
				t.Fatalf("deleting %v@%d lost %v@%d", k.Addr, k.VLAN, o.Addr, o.VLAN)
			}
		}
	}
}
