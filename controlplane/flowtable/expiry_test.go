package flowtable

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

// len is the number of entries listed, stale ones included.
func (d *dueList[T]) len() (n int) {
	for _, xs := range d.at {
		n += len(xs)
	}
	return n
}

// TestFlowKeyOf: expiry finds a flow by the key its fields give, so that
// key must be the one it was stored under, whatever made it: a packet
// either way, a SYN-ACK first, a role swap (the retired flow), a DNS
// transaction id, a VLAN, IPv6, a kernel delta.
func TestFlowKeyOf(t *testing.T) {
	tb := New(Config{LocalNets: []netip.Prefix{lan}})
	a, b := netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("203.0.113.5")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	ts := t0
	send := func(p decode.Packet) {
		ts += 1e6
		p.Timestamp, p.WireLen = ts, 100
		if p.IPVersion == 0 {
			p.IPVersion = 4
		}
		tb.HandlePacket(&p, decode.ErrNone)
	}
	send(decode.Packet{Src: a, Dst: b, Proto: decode.ProtoTCP, SrcPort: 40000, DstPort: 443, TCPFlags: decode.TCPSyn})
	send(decode.Packet{Src: b, Dst: a, Proto: decode.ProtoTCP, SrcPort: 443, DstPort: 40001, TCPFlags: decode.TCPSyn | decode.TCPAck})
	// Mid-stream from the server's side, then the client: a swap.
	send(decode.Packet{Src: b, Dst: a, Proto: decode.ProtoTCP, SrcPort: 80, DstPort: 40002, TCPFlags: decode.TCPAck})
	send(decode.Packet{Src: a, Dst: b, Proto: decode.ProtoTCP, SrcPort: 40002, DstPort: 80, TCPFlags: decode.TCPAck})
	dns := make([]byte, 40)
	dns[0], dns[1], dns[5] = 0x12, 0x34, 1
	send(decode.Packet{Src: a, Dst: b, Proto: decode.ProtoUDP, SrcPort: 5353, DstPort: 53, Payload: dns})
	send(decode.Packet{Src: a, Dst: b, Proto: decode.ProtoUDP, SrcPort: 7000, DstPort: 7001, VLAN: 42})
	send(decode.Packet{IPVersion: 6, Src: b6, Dst: a6, Proto: decode.ProtoUDP, SrcPort: 9, DstPort: 8})
	tb.ApplyDeltas([]flow.Delta{{A: b, B: a, APort: 53000, BPort: 22, Proto: decode.ProtoTCP,
		Pkts: [2]uint64{1, 1}, Bytes: [2]uint64{60, 60}, FirstNs: [2]int64{ts, ts + 1}, LastNs: ts + 1}}, DataplaneCounts{})

	retired := 0
	for k, f := range tb.flows {
		if got := flowKeyOf(f); got != k {
			t.Errorf("flow %v:%d-%v:%d: key from its fields %+v, stored under %+v", f.Client, f.ClientPort, f.Server, f.ServerPort, got, k)
		}
		if f.retired {
			retired++
		}
	}
	if len(tb.flows) != 8 || retired != 1 {
		t.Errorf("%d flows (%d retired), want 8 (1 retired): the test no longer makes every kind", len(tb.flows), retired)
	}
}

// TestExpiryMatchesFullWalk drives a live table with random traffic over
// flows and hosts that come and go, ticking every second, and checks after
// every tick what a full walk of the table would have done: nothing idle
// stays (a flow quiet longer than its timeout; a host without flows quiet
// longer than its own) and nothing else left.
func TestExpiryMatchesFullWalk(t *testing.T) {
	for _, idle := range []struct{ flow, local, remote time.Duration }{
		{5 * time.Second, 7 * time.Second, 3 * time.Second}, // remote hosts time out before their flows
		{3 * time.Second, 3 * time.Second, 9 * time.Second},
	} {
		cfg := Config{LocalNets: []netip.Prefix{lan}, FlowIdle: idle.flow, LocalHostIdle: idle.local, RemoteHostIdle: idle.remote}
		tb := New(cfg)
		rnd := rand.New(rand.NewPCG(7, uint64(idle.flow)))
		type present struct {
			flows map[*Flow]bool
			hosts map[*Host]bool
		}
		snapshot := func() present {
			p := present{map[*Flow]bool{}, map[*Host]bool{}}
			for _, f := range tb.flows {
				p.flows[f] = true
			}
			for _, h := range tb.hosts {
				p.hosts[h] = true
			}
			return p
		}
		now := t0
		expired := 0
		for sec := 0; sec < 120; sec++ {
			// Busy phases and quiet ones, so that whole groups go idle.
			n := 0
			if sec%30 < 18 {
				n = rnd.IntN(60)
			}
			for range n {
				now += int64(time.Second) / 64
				c := rnd.IntN(24)
				cli := netip.AddrFrom4([4]byte{192, 168, 1, byte(10 + c)})
				srv := netip.AddrFrom4([4]byte{198, 51, 100, byte(rnd.IntN(6))})
				p := decode.Packet{Timestamp: now, WireLen: 90, IPVersion: 4, Src: cli, Dst: srv, Proto: decode.ProtoUDP,
					SrcPort: uint16(30000 + rnd.IntN(4)), DstPort: 4000}
				if rnd.IntN(2) == 0 {
					p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
				}
				tb.HandlePacket(&p, decode.ErrNone)
			}
			now = t0 + int64(sec+1)*int64(time.Second)
			tb.View(func(View) {}) // hosts' last-seen times from their flows, as Tick does first
			before := snapshot()
			tb.Tick(now)
			after := snapshot()
			for f := range before.flows {
				idleNow := now-f.LastSeen > int64(idle.flow)
				switch {
				case idleNow && after.flows[f]:
					t.Fatalf("second %d: flow idle for %v stayed", sec, time.Duration(now-f.LastSeen))
				case !idleNow && !after.flows[f]:
					t.Fatalf("second %d: flow quiet for only %v left", sec, time.Duration(now-f.LastSeen))
				case idleNow:
					expired++
				}
			}
			for h := range before.hosts {
				hostIdle := idle.remote
				if h.Local {
					hostIdle = idle.local
				}
				gone := !after.hosts[h]
				shouldGo := h.ActiveAsClient == 0 && h.ActiveAsServer == 0 && now-h.LastSeen > int64(hostIdle)
				if gone != shouldGo {
					t.Fatalf("second %d: host %v (flows %d/%d, quiet %v) gone=%v, want %v", sec, h.Key, h.ActiveAsClient, h.ActiveAsServer,
						time.Duration(now-h.LastSeen), gone, shouldGo)
				}
			}
			if got := tb.flowDue.len(); got > 4*len(tb.flows)+64 {
				t.Fatalf("second %d: %d flows listed for expiry, %d in the table", sec, got, len(tb.flows))
			}
		}
		if expired == 0 {
			t.Errorf("idle %+v: no flow ever expired: the test exercised nothing", idle)
		}
	}
}

// BenchmarkExpireTick is the once-a-second tick of a live table of 100,000
// flows of which 1 % take a packet each second and none goes idle: what
// idle expiry costs a busy probe per second.
func BenchmarkExpireTick(b *testing.B) {
	const flows = 100_000
	tb := New(Config{LocalNets: []netip.Prefix{lan}, MaxFlows: 1 << 20, MaxHosts: 1 << 20})
	pkt := func(i int, ts int64) {
		p := decode.Packet{Timestamp: ts, WireLen: 100, IPVersion: 4, Proto: decode.ProtoUDP,
			Src: netip.AddrFrom4([4]byte{192, 168, 1, byte(i % 200)}), Dst: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			SrcPort: 5000, DstPort: 6000}
		tb.HandlePacket(&p, decode.ErrNone)
	}
	now := t0
	for i := range flows {
		pkt(i, now)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now += int64(time.Second)
		b.StopTimer()
		// Everything is refreshed within the idle timeout (a 60th of the
		// flows each second), a hundredth in each second's packets too.
		for j := range flows / 60 {
			pkt((i*(flows/60)+j)%flows, now)
		}
		b.StartTimer()
		tb.Tick(now)
	}
}
