package flowtable

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// benchDNSMessage is tools/bench's synthetic DNS message: a query (or its
// answerless response) for an A record whose name, letters from id on,
// makes the message n bytes long.
func benchDNSMessage(id uint16, response bool, n int) []byte {
	n = max(n, 19)
	b := make([]byte, 12, n)
	binary.BigEndian.PutUint16(b, id)
	binary.BigEndian.PutUint16(b[2:], 0x0100)
	if response {
		binary.BigEndian.PutUint16(b[2:], 0x8180)
	}
	binary.BigEndian.PutUint16(b[4:], 1)
	for rem := n - 12 - 4 - 1; rem > 0; {
		l := min(rem-1, 63)
		if rem-(l+1) == 1 {
			l--
		}
		b = append(b, byte(l))
		for i := 0; i < l; i++ {
			b = append(b, 'a'+byte((i+int(id))%26))
		}
		rem -= l + 1
	}
	return append(b, 0, 0, 1, 0, 1)
}

// BenchmarkDNSPath is the packet path of the DNS flows of tools/bench's
// steady and churn captures (queries and answerless responses of 18 to
// 214 bytes, the name's length varying with the size), with payload
// inspection on and off: steady is 400 long flows picked at random, churn
// flows of 10 packets with 1,000 open at a time.
func BenchmarkDNSPath(b *testing.B) {
	for _, shape := range []string{"steady", "churn"} {
		for _, dpi := range []bool{true, false} {
			name := shape + "/dpi"
			if !dpi {
				name = shape + "/no-dpi"
			}
			b.Run(name, func(b *testing.B) {
				tb := New(Config{LocalNets: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12")}, Offline: true, NoDPI: !dpi, MaxFlows: 1 << 22, MaxHosts: 1 << 22})
				// The messages, made beforehand: the name depends on the id
				// modulo 26 and the size only; the header's id is set per packet.
				var msgs [26 * 197][2][]byte
				for i := range msgs {
					for r := range msgs[i] {
						msgs[i][r] = benchDNSMessage(uint16(i/197), r == 1, i%197+18)
					}
				}
				buf := make([]byte, 256)
				rnd := uint32(1)
				var p decode.Packet
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rnd = rnd*1664525 + 1013904223
					id := 5*int(rnd>>8%400) + 4
					if shape == "churn" {
						const window, perFlow = 1000, 10
						id = i/(window*perFlow)*window + i%window
					}
					c2s := rnd&(1<<16) == 0
					cli, srv, sport, dport := churnPeers(id, 53, c2s)
					r := 0
					if !c2s {
						r = 1
					}
					payload := buf[:copy(buf, msgs[id%26*197+int(rnd>>24%197)][r])]
					binary.BigEndian.PutUint16(payload, uint16(id))
					p = decode.Packet{Timestamp: t0 + int64(i)*10_000, WireLen: uint32(len(payload) + 42), IPVersion: 4, Src: cli, Dst: srv,
						Proto: decode.ProtoUDP, SrcPort: sport, DstPort: dport, Payload: payload}
					tb.HandlePacket(&p, decode.ErrNone)
					if i&4095 == 4095 {
						tb.View(func(View) {})
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/pkt")
			})
		}
	}
}
