package pools

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHostPoolLookup(t *testing.T) {
	ix := buildHostIndex([]Pool{
		{ID: 0, Name: DefaultName},
		{ID: 2, Name: "wide", Members: []string{"10.0.0.0/8@0", "2001:db8::/32@0", "0.0.0.0/0@7"}},
		{ID: 3, Name: "narrow", Members: []string{"10.1.0.0/16@0", "2001:db8:1::/48@0"}},
		{ID: 4, Name: "host", Members: []string{"10.1.2.3/32@0", "10.1.2.3/32@5"}},
		{ID: 5, Name: "mac", Members: []string{"AA:BB:CC:DD:EE:FF"}},
	})
	p := &Pools{}
	p.index.Store(ix)
	mac := [6]byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	cases := []struct {
		addr   string
		vlan   uint16
		hasMAC bool
		want   int
	}{
		{"10.1.2.3", 0, false, 4},
		{"10.1.2.4", 0, false, 3},
		{"10.2.0.1", 0, false, 2},
		{"11.0.0.1", 0, false, 0},
		{"10.1.2.3", 5, false, 4},
		{"10.1.2.4", 5, false, 0}, // other VLAN: only its own members
		{"99.1.1.1", 7, false, 2}, // a /0 member
		{"::ffff:10.1.2.3", 0, false, 4},
		{"2001:db8:1::9", 0, false, 3},
		{"2001:db8:2::9", 0, false, 2},
		{"2001:db9::1", 0, false, 0},
		{"10.1.2.3", 0, true, 5}, // MAC wins
		{"11.0.0.1", 9, true, 5},
	}
	for _, c := range cases {
		id, name := p.HostPool(netip.MustParseAddr(c.addr), c.vlan, mac, c.hasMAC)
		if id != c.want {
			t.Errorf("%s@%d mac=%v: pool %d %q, want %d", c.addr, c.vlan, c.hasMAC, id, name, c.want)
		}
	}
	if id, name := (&Pools{}).HostPool(netip.Addr{}, 0, mac, true); id != 0 || name != DefaultName {
		t.Errorf("no index: %d %q", id, name)
	}
}

// BenchmarkHostPool: 1000 pools × 10 members (mixed /32, /24, /16 and a
// MAC per pool), lookups of hits and misses.
func BenchmarkHostPool(b *testing.B) {
	var pools []Pool
	for i := range 1000 {
		p := Pool{ID: i + 2, Name: fmt.Sprint("pool", i)}
		for j := range 7 {
			p.Members = append(p.Members, fmt.Sprintf("10.%d.%d.%d/32@0", i/250, i%250, j))
		}
		p.Members = append(p.Members,
			fmt.Sprintf("172.%d.%d.0/24@0", 16+i/250, i%250),
			fmt.Sprintf("2001:db8:%x::/48@0", i),
			fmt.Sprintf("02:00:00:00:%02X:%02X", i/256, i%256))
		pools = append(pools, p)
	}
	p := &Pools{}
	p.index.Store(buildHostIndex(pools))
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.17.3"),     // /32
		netip.MustParseAddr("172.17.9.200"),  // /24
		netip.MustParseAddr("8.8.8.8"),       // miss
		netip.MustParseAddr("2001:db8:7::1"), // /48
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p.HostPool(addrs[i%len(addrs)], 0, [6]byte{}, false)
	}
}
