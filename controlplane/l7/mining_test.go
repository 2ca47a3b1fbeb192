package l7

import (
	"bytes"
	"testing"
)

// TestMiningTCP: nDPI 4.2's rules (ndpi-detection.md §3), each with a
// payload that meets it and one just outside it.
func TestMiningTCP(t *testing.T) {
	eth := func(n int) []byte { p := bytes.Repeat([]byte{0x11}, n); p[2] = 0x04; return p }
	for _, c := range []struct {
		name         string
		sport, dport uint16
		p            []byte
		want         bool
	}{
		{"bitcoin from 8333", 8333, 50000, append([]byte{0xf9, 0xbe, 0xb4, 0xd9}, "version\x00\x00\x00\x00"...), true},
		{"bitcoin testnet from 8333", 8333, 50000, append([]byte{0xfa, 0xbf, 0xb5, 0xda}, "version\x00\x00\x00\x00"...), true},
		{"bitcoin to 8333", 50000, 8333, append([]byte{0xf9, 0xbe, 0xb4, 0xd9}, "version\x00\x00\x00\x00"...), false},
		{"devp2p to 30303", 50000, 30303, eth(301), true},
		{"devp2p 300 bytes", 50000, 30303, eth(300), false},
		{"devp2p 600 bytes", 50000, 30303, eth(600), false},
		{"devp2p other port", 50000, 30306, eth(400), false},
		{"stratum subscribe", 50000, 3333, []byte(`{"id":1,"method":"mining.subscribe","params":[]}`), true},
		{"xmrig job blob", 3333, 50000, []byte(`{"jsonrpc":"2.0","params":{"blob":"0707"}}`), true},
		{"eth getwork", 50000, 8008, []byte(`{"worker": "rig1", "id": 1}`), true},
		{"eth1.0", 50000, 8008, []byte(`{"x": "eth1.0"}`), true},
		{"method without a brace", 50000, 3333, []byte(`"method": "mining.subscribe"`), false},
		{"plain JSON", 50000, 7000, []byte(`{"id":7,"result":{"ok":true}}`), false},
		{"10 bytes", 50000, 3333, []byte(`{"blob":1}`), false},
		{"11 bytes", 50000, 3333, []byte(`{"blob":12}`), true},
	} {
		if got := MiningTCP(c.sport, c.dport, c.p); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMiningHost(t *testing.T) {
	for name, want := range map[string]bool{
		"coinhive.com": true, "www.coinhive.com": true, "authedmine.com": true,
		"notcoinhive.com": false, "coinhive.com.example.org": false, "example.com": false, "": false,
	} {
		if got := MiningHost(name); got != want {
			t.Errorf("%q: %v, want %v", name, got, want)
		}
	}
}

// TestMiningUDP: the size and type edges ndpiReader 4.2 showed (mining.pcap
// in flowtable's differential test).
func TestMiningUDP(t *testing.T) {
	dgram := func(n int, typ byte) []byte { p := make([]byte, n); p[97] = typ; return p }
	for _, c := range []struct {
		sport, dport uint16
		p            []byte
		want         bool
	}{
		{50000, 30303, dgram(98, 1), false}, {50000, 30303, dgram(99, 1), true},
		{30303, 50000, dgram(1279, 4), true}, {50000, 30303, dgram(1280, 1), false},
		{50000, 30303, dgram(200, 5), false}, {50000, 30303, dgram(200, 0), true},
		{50000, 30304, dgram(200, 1), false},
	} {
		if got := MiningUDP(c.sport, c.dport, c.p); got != c.want {
			t.Errorf("%d→%d %d bytes type %d: %v, want %v", c.sport, c.dport, len(c.p), c.p[97], got, c.want)
		}
	}
}
