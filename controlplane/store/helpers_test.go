package store

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func openTest(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// realisticFlows makes records shaped like a busy LAN uplink's: mostly IPv4,
// TCP to 443/80 from ephemeral ports, some UDP/DNS, a few IPv6 and VLAN
// tagged flows, heavy-tailed counters, and flows alive for minutes to hours.
func realisticFlows(rng *rand.Rand, n int, ifid uint16, lastSeenBase int64) []FlowRecord {
	recs := make([]FlowRecord, n)
	for i := range recs {
		r := &recs[i]
		r.IfID = ifid
		if rng.IntN(10) == 0 {
			var c, s [16]byte
			c[0], c[1] = 0x2a, 0x01
			s[0], s[1] = 0x26, 0x06
			for j := 2; j < 16; j++ {
				c[j], s[j] = byte(rng.Uint32()), byte(rng.Uint32())
			}
			r.Client, r.Server = netip.AddrFrom16(c), netip.AddrFrom16(s)
		} else {
			r.Client = netip.AddrFrom4([4]byte{192, 168, byte(rng.IntN(4)), byte(rng.IntN(254) + 1)})
			r.Server = netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		}
		r.ClientPort = uint16(32768 + rng.IntN(28000))
		switch k := rng.IntN(10); {
		case k < 7:
			r.Proto = 6
			r.ServerPort = []uint16{443, 443, 443, 80, 22, 8080}[rng.IntN(6)]
			r.TCPFlagsC2S, r.TCPFlagsS2C = 0x18|0x02, 0x18|0x12
		case k < 9:
			r.Proto = 17
			r.ServerPort = []uint16{53, 443, 123}[rng.IntN(3)]
		default:
			r.Proto = 1
			r.ClientPort, r.ServerPort = 0, 0
		}
		if rng.IntN(5) == 0 {
			r.VLAN = uint16(rng.IntN(100) + 1)
		}
		if rng.IntN(4) != 0 {
			r.L7 = uint16(rng.IntN(400) + 1)
		}
		pk := uint64(rng.ExpFloat64()*30) + 1
		r.PktsC2S = pk
		r.PktsS2C = pk + uint64(rng.IntN(int(pk)+1))
		r.BytesC2S = r.PktsC2S * uint64(60+rng.IntN(200))
		r.BytesS2C = r.PktsS2C * uint64(60+rng.IntN(1400))
		r.LastSeen = lastSeenBase + int64(rng.IntN(BlockSeconds))
		r.FirstSeen = r.LastSeen - int64(rng.ExpFloat64()*600)
	}
	return recs
}
