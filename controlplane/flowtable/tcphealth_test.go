package flowtable

import (
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
)

func seg(seq uint32, flags uint8, payload int) *decode.Packet {
	return &decode.Packet{Proto: 6, TCPSeq: seq, TCPFlags: flags, Payload: make([]byte, payload)}
}

func TestTrackTCP(t *testing.T) {
	const A = decode.TCPAck
	cases := []struct {
		name string
		segs []*decode.Packet
		want TCPHealth
	}{
		{"in order", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(101, A, 10), seg(111, A, 5), seg(116, A, 0)}, TCPHealth{}},
		{"data resent", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(101, A, 10), seg(101, A, 10)}, TCPHealth{Retransmissions: 1}},
		{"syn resent", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(100, decode.TCPSyn, 0)}, TCPHealth{Retransmissions: 1}},
		{"fin resent is not judged", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(101, A|decode.TCPFin, 0), seg(101, A|decode.TCPFin, 0)}, TCPHealth{}},
		{"keep-alive", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(101, A, 10), seg(110, A, 1)}, TCPHealth{KeepAlive: 1}},
		{"gap", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(101, A, 10), seg(141, A, 10)}, TCPHealth{Lost: 1}},
		{"overlap", []*decode.Packet{seg(100, decode.TCPSyn, 0), seg(101, A, 10), seg(105, A, 20)}, TCPHealth{OutOfOrder: 1}},
		{"wraps around 2^32", []*decode.Packet{seg(0xfffffff0, A, 0x10), seg(0, A, 4), seg(0, A, 4)}, TCPHealth{Retransmissions: 1}},
	}
	for _, c := range cases {
		var s tcpSeq
		var got TCPHealth
		for _, p := range c.segs {
			got.add(trackTCP(&s, p))
		}
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
