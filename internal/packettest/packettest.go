// Package packettest holds the decoded packets tests feed to flow tables
// and the recorders above them: a capture file's, copied out of the
// reader's buffers, and a small synthetic set.
package packettest

import (
	"bytes"
	"context"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/fixture"
)

// List keeps copies of the packets it is handed, with their decode
// errors: capture.Run reuses its own.
type List struct {
	Pkts  []decode.Packet
	Kinds []decode.ErrKind
}

func (l *List) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	q := *p
	q.Payload = bytes.Clone(p.Payload)
	l.Pkts = append(l.Pkts, q)
	l.Kinds = append(l.Kinds, kind)
}

// File is the packets of a capture under ../shared (fixture.Shared).
func File(t testing.TB, rel string) *List {
	t.Helper()
	src, err := capture.OpenFile(fixture.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	l := new(List)
	if err := capture.Run(context.Background(), src, l); err != nil {
		t.Fatalf("reading %s: %v", rel, err)
	}
	return l
}

// L4Groups is a packet of each group the interface's L4 counters keep
// apart (TCP both ways, UDP, ICMP, ICMPv6 counted with ICMP, GRE as other
// IP), a second apart from 1 s. Bytes sent per group: TCP 300, UDP 70,
// ICMP 154, other 300.
func L4Groups() *List {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.1")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	l := new(List)
	for i, p := range []decode.Packet{
		{WireLen: 100, IPVersion: 4, Src: a, Dst: b, Proto: decode.ProtoTCP, SrcPort: 1000, DstPort: 80},
		{WireLen: 200, IPVersion: 4, Src: b, Dst: a, Proto: decode.ProtoTCP, SrcPort: 80, DstPort: 1000},
		{WireLen: 70, IPVersion: 4, Src: a, Dst: b, Proto: decode.ProtoUDP, SrcPort: 1000, DstPort: 53},
		{WireLen: 64, IPVersion: 4, Src: a, Dst: b, Proto: decode.ProtoICMP},
		{WireLen: 90, IPVersion: 6, Src: a6, Dst: b6, Proto: decode.ProtoICMPv6},
		{WireLen: 300, IPVersion: 4, Src: b, Dst: a, Proto: 47},
	} {
		p.Timestamp = int64(1+i) * 1e9
		l.HandlePacket(&p, decode.ErrNone)
	}
	return l
}
