package flowtable

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// quoteV4 is what an ICMP error quotes of a UDP packet: its IPv4 header and
// UDP header (RFC 792), built here byte by byte.
func quoteV4(src, dst netip.Addr, sport, dport uint16, udpPayload int) []byte {
	b := make([]byte, 28)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(28+udpPayload))
	b[8], b[9] = 64, 17
	s, d := src.As4(), dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	binary.BigEndian.PutUint16(b[20:], sport)
	binary.BigEndian.PutUint16(b[22:], dport)
	binary.BigEndian.PutUint16(b[24:], uint16(8+udpPayload))
	return b
}

func icmpErr(ts int64, from, to netip.Addr, typ, code uint8, quote []byte) *decode.Packet {
	return &decode.Packet{Timestamp: ts, WireLen: uint32(42 + len(quote)), IPVersion: 4, Src: from, Dst: to, Proto: 1,
		ICMPType: typ, ICMPCode: code, Payload: quote}
}

func TestUnreachableFlows(t *testing.T) {
	cli, srv, router := netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("192.168.1.9"), netip.MustParseAddr("192.168.1.1")
	const ts = int64(1_700_000_000e9)
	for _, tc := range []struct {
		name      string
		from      netip.Addr
		typ, code uint8
		quote     []byte
		want      Unreachable // of cli; srv has the mirror image
	}{
		{"port unreachable", srv, 3, 3, quoteV4(cli, srv, 40000, 9999, 4), Unreachable{PortAsClient: 1}},
		{"host unreachable from a router", router, 3, 1, quoteV4(cli, srv, 40000, 9999, 4), Unreachable{HostAsClient: 1}},
		{"network unreachable is neither", router, 3, 0, quoteV4(cli, srv, 40000, 9999, 4), Unreachable{}},
		{"echo reply is no error", srv, 0, 0, quoteV4(cli, srv, 40000, 9999, 4), Unreachable{}},
		{"quote of another flow", srv, 3, 3, quoteV4(cli, srv, 40001, 9999, 4), Unreachable{}},
		{"truncated quote", srv, 3, 3, quoteV4(cli, srv, 40000, 9999, 4)[:24], Unreachable{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := New(Config{})
			tb.HandlePacket(&decode.Packet{Timestamp: ts, WireLen: 60, IPVersion: 4, Src: cli, Dst: srv, Proto: 17,
				SrcPort: 40000, DstPort: 9999, Payload: []byte("ping")}, decode.ErrNone)
			// Twice: a flow is counted once however many errors it gets.
			for i := int64(1); i <= 2; i++ {
				tb.HandlePacket(icmpErr(ts+i*1e6, tc.from, cli, tc.typ, tc.code, tc.quote), decode.ErrNone)
			}
			tb.View(func(v View) {
				if got := v.Host(HostKey{Addr: cli}).Unreachable(); got != tc.want {
					t.Errorf("client: %+v, want %+v", got, tc.want)
				}
				mirror := Unreachable{PortAsServer: tc.want.PortAsClient, HostAsServer: tc.want.HostAsClient}
				if got := v.Host(HostKey{Addr: srv}).Unreachable(); got != mirror {
					t.Errorf("server: %+v, want %+v", got, mirror)
				}
			})
		})
	}
}

// TestUnreachableDNSTransaction: DNS flows are one per transaction id, and
// the quoted id picks the right one.
func TestUnreachableDNSTransaction(t *testing.T) {
	cli, srv := netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("192.168.1.53")
	const ts = int64(1_700_000_000e9)
	tb := New(Config{})
	for _, id := range []uint16{0x1111, 0x2222} {
		tb.HandlePacket(udp(ts, cli, srv, 5353, 53, dnsMsg(id, false, "example.org", netip.Addr{})), decode.ErrNone)
	}
	msg := dnsMsg(0x2222, false, "example.org", netip.Addr{})
	quote := append(quoteV4(cli, srv, 5353, 53, len(msg)), msg[:2]...)
	tb.HandlePacket(icmpErr(ts+1e6, srv, cli, 3, 3, quote), decode.ErrNone)
	tb.View(func(v View) {
		if got := v.Host(HostKey{Addr: cli}).Unreachable().PortAsClient; got != 1 {
			t.Errorf("unreachable DNS flows = %d, want 1", got)
		}
	})
}

func TestFlowFloodPeak(t *testing.T) {
	cli, srv := netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("198.51.100.1")
	const sec = int64(1e9)
	start := int64(1_700_000_000) * sec
	perSecond := []int{3, 7, 2} // flows started in three consecutive seconds
	port := uint16(20000)
	table := New(Config{})
	for s, n := range perSecond {
		for i := 0; i < n; i++ {
			ts := start + int64(s)*sec + int64(i)*(sec/int64(n+1))
			table.HandlePacket(tcp(ts, cli, srv, port, 443, decode.TCPSyn, 60, nil), decode.ErrNone)
			port++
		}
	}
	table.View(func(v View) {
		if got := v.Host(HostKey{Addr: cli}).FlowFloodPeak; got != 7 {
			t.Errorf("flow flood peak = %d, want 7", got)
		}
		if got := v.Host(HostKey{Addr: srv}).FlowFloodPeak; got != 0 {
			t.Errorf("server's flow flood peak = %d, want 0 (it started none)", got)
		}
	})
}

func FuzzQuotedFlowKey(f *testing.F) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	f.Add(quoteV4(a, b, 1, 53, 30))
	f.Add(quoteV4(a, b, 1, 53, 30)[:27])
	f.Add([]byte{0x4f})
	f.Add(append([]byte{0x60}, make([]byte, 47)...))
	f.Fuzz(func(t *testing.T, q []byte) {
		quotedFlowKey(q, 0) // must not panic on any quote
	})
}

// BenchmarkICMPUnreachable is an ICMP port unreachable (quote parsed, flow
// looked up) against the baseline of an echo reply between the same hosts.
func BenchmarkICMPUnreachable(b *testing.B) {
	cli, srv := netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("192.168.1.9")
	const ts = int64(1_700_000_000e9)
	quote := quoteV4(cli, srv, 40000, 9999, 4)
	for _, bc := range []struct {
		name      string
		typ, code uint8
	}{{"baseline-echo-reply", 0, 0}, {"port-unreachable", 3, 3}} {
		b.Run(bc.name, func(b *testing.B) {
			tb := New(Config{})
			tb.HandlePacket(&decode.Packet{Timestamp: ts, WireLen: 60, IPVersion: 4, Src: cli, Dst: srv, Proto: 17,
				SrcPort: 40000, DstPort: 9999, Payload: []byte("ping")}, decode.ErrNone)
			p := icmpErr(ts, srv, cli, bc.typ, bc.code, quote)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				tb.HandlePacket(p, decode.ErrNone)
			}
		})
	}
}
