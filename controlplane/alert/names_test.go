package alert

import "testing"

func TestPeerName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"www.repubblica.it", "www.repubblica.it"},
		// ntopng's recorded alert list (test_01.pcap): the mDNS name
		// "luca’s imac" is "lucas imac" in cli_ip.label.
		{"luca’s imac", "lucas imac"},
		{"café.example", "caf.example"},
		{"tab\there\x7f", "tabhere\x7f"}, // control bytes go, DEL (127) stays
		{`a"b\c/d`, `a"b\c/d`},           // escaped in the JSON, kept in the name
		{"日本", ""},
		{"", ""},
	}
	for _, c := range cases {
		if got := PeerName(c.in); got != c.want {
			t.Errorf("PeerName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPeerNameKeepsASCIIWithoutCopy(t *testing.T) {
	name := "cdn.krxd.net"
	if n := testing.AllocsPerRun(100, func() { _ = PeerName(name) }); n != 0 {
		t.Errorf("%v allocations for an ASCII name, want 0", n)
	}
}
