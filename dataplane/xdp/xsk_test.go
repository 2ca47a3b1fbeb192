package xdp

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
	"github.com/probe-appliance/probe/internal/testnet"
)

// TestSlowPath attaches the program to a veth with an AF_XDP socket on its
// queue: the first SLOW_PKTS packets of a flow and every DNS packet must
// reach the socket, the rest the kernel maps, and none both or neither.
func TestSlowPath(t *testing.T) {
	d := load(t, 1024)
	pair := testnet.VethPair(t)
	capIf := pair.Capture
	if _, err := d.Attach(capIf); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(capIf, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.CloseXSK(x)

	const tcpPkts = 10
	inj := pair.Injector(t)
	for i := 0; i < tcpPkts; i++ {
		inj.Send(t, tcp4(t, "10.3.0.1", "10.3.0.2", 40000, 443, i == 0, i > 0, 0, 50))
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP("10.3.0.1"), DstIP: net.ParseIP("10.3.0.53")}
	udp := &layers.UDP{SrcPort: 5555, DstPort: 53}
	_ = udp.SetNetworkLayerForChecksum(ip)
	dnsFrame := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, udp,
		&layers.DNS{ID: 7, RD: true, QDCount: 1, Questions: []layers.DNSQuestion{{Name: []byte("example.org"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}})
	inj.Send(t, dnsFrame)

	var slowTCP, slowDNS int
	deadline := time.Now().Add(5 * time.Second)
	var p decode.Packet
	for slowTCP+slowDNS < 7 && time.Now().Before(deadline) {
		if _, err := x.Receive(100, func(data []byte) {
			if decode.Decode(decode.LinkEthernet, data, &p) != decode.ErrNone {
				return
			}
			switch {
			case p.Proto == 6 && p.DstPort == 443:
				slowTCP++
			case p.Proto == 17 && p.DstPort == 53:
				slowDNS++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	var kernelTCP uint64
	if _, err := d.Drain(func(f *flow.Delta) {
		if f.Proto == 6 {
			kernelTCP += f.Pkts[0] + f.Pkts[1]
		}
	}); err != nil {
		t.Fatal(err)
	}
	if slowTCP != 6 || slowDNS != 1 || kernelTCP != tcpPkts-6 {
		t.Errorf("slow path got %d TCP and %d DNS packets, kernel maps %d TCP; want 6, 1, %d", slowTCP, slowDNS, kernelTCP, tcpPkts-6)
	}
	c, _ := d.Counters()
	if c[CntSlowPath] != 7 || x.Dropped() != 0 {
		t.Errorf("slow-path counter %d, socket drops %d", c[CntSlowPath], x.Dropped())
	}
}

// TestSlowPathARP: with an AF_XDP socket open, ARP frames reach userspace
// whole (the table learns broadcast domains and bindings from them), and
// the kernel still counts them as non-IP.
func TestSlowPathARP(t *testing.T) {
	d, pair, x := slowPathRig(t, 1024, "sa")

	const n = 3
	inj := pair.Injector(t)
	for i := 0; i < n; i++ {
		inj.Send(t, serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
			&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
				Operation: layers.ARPRequest, SourceHwAddress: macA, SourceProtAddress: []byte{10, 3, 9, byte(1 + i)},
				DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 3, 9, 200}}))
	}
	// Only the injected requests carry 10.3.9.x senders: anything else the
	// kernel may send on the veth is not counted.
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	var p decode.Packet
	for got < n && time.Now().Before(deadline) {
		if _, err := x.Receive(100, func(data []byte) {
			decode.Decode(decode.LinkEthernet, data, &p)
			if s := p.ARP.SenderIP; p.ARP.Op == decode.ARPRequest && s[0] == 10 && s[1] == 3 && s[2] == 9 {
				got++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := d.Counters()
	if got != n || c[CntSlowPath] < n || c[CntNonIP] < n {
		t.Errorf("slow path got %d ARP requests (want %d); slow-path counter %d, non-IP %d", got, n, c[CntSlowPath], c[CntNonIP])
	}
}

// udpFlow is a one-packet UDP flow 10.4.0.1:sport -> 10.4.0.2:9.
func udpFlow(t testing.TB, sport uint16) []byte {
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP("10.4.0.1"), DstIP: net.ParseIP("10.4.0.2")}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 9}
	_ = udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload(make([]byte, 18)))
}

// waitCounter waits until the program's counter i reaches want.
func waitCounter(t *testing.T, d *Dataplane, i int, want uint64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := d.Counters()
		if err != nil {
			t.Fatal(err)
		}
		if c[i] >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counter %s reached %d, want %d", CounterNames[i], c[i], want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiveN takes packets from x until it has n UDP packets from 10.4.0.1
// (or 5 s pass) and returns their source ports.
func receiveN(t *testing.T, x *XSK, n int) map[uint16]int {
	t.Helper()
	got := map[uint16]int{}
	total := 0
	var p decode.Packet
	deadline := time.Now().Add(5 * time.Second)
	for total < n && time.Now().Before(deadline) {
		if _, err := x.Receive(100, func(data []byte) {
			if decode.Decode(decode.LinkEthernet, data, &p) == decode.ErrNone && p.Proto == 17 && p.DstPort == 9 {
				got[p.SrcPort]++
				total++
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// kernelUDP drains d and returns the packets the kernel maps counted per
// source port of udpFlow's flows.
func kernelUDP(t *testing.T, d *Dataplane) (map[uint16]uint64, int) {
	t.Helper()
	kernel := map[uint16]uint64{}
	n, err := d.Drain(func(f *flow.Delta) {
		if f.Proto == 17 && f.BPort == 9 {
			kernel[f.APort] += f.Pkts[0] + f.Pkts[1]
		} else if f.Proto == 17 && f.APort == 9 {
			kernel[f.BPort] += f.Pkts[0] + f.Pkts[1]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return kernel, n
}

// TestSlowPathCreditsToKernel: a queue whose reader is behind runs out of
// credits; the new flows that arrive meanwhile are accounted in the kernel
// maps (none lost, none on the socket) and counted as such; once the reader
// has taken its packets their credits are back and new flows reach the
// socket again.
func TestSlowPathCreditsToKernel(t *testing.T) {
	d, pair, x := slowPathRig(t, 1024, "dq")
	const credits, over = 8, 5
	atomic.StoreInt64(x.credit, credits)
	inj := pair.Injector(t)
	for i := 0; i < credits+over; i++ {
		inj.Send(t, udpFlow(t, uint16(20000+i)))
	}
	waitCounter(t, d, CntSlowNoCredit, over)
	c, _ := d.Counters()
	if c[CntSlowPath] != credits || c[CntSlowNoCredit] != over {
		t.Fatalf("with %d credits: %d packets to the slow path, %d without credit; want %d, %d",
			credits, c[CntSlowPath], c[CntSlowNoCredit], credits, over)
	}
	got := receiveN(t, x, credits)
	kernel, _ := kernelUDP(t, d)
	for i := 0; i < credits+over; i++ {
		port := uint16(20000 + i)
		if i < credits && (got[port] != 1 || kernel[port] != 0) {
			t.Errorf("flow from port %d: %d on the socket, %d in the kernel; want 1, 0", port, got[port], kernel[port])
		}
		if i >= credits && (got[port] != 0 || kernel[port] != 1) {
			t.Errorf("flow from port %d without credit: %d on the socket, %d in the kernel; want 0, 1", port, got[port], kernel[port])
		}
	}
	if v := atomic.LoadInt64(x.credit); v != credits {
		t.Errorf("credits after the reader took %d packets: %d, want %d", credits, v, credits)
	}
	inj.Send(t, udpFlow(t, 40000))
	if got := receiveN(t, x, 1); got[40000] != 1 {
		t.Errorf("with credits back the slow path took %v, want port 40000 once", got)
	}
	if x.Dropped() != 0 {
		t.Errorf("socket drops %d, want 0", x.Dropped())
	}
}

// TestSlowPathOneshotFlowsTakeNoSlot: a flow whose packets all went to
// the slow path leaves nothing to drain (no slot of a generation), and its
// next packet after the budget is counted in the kernel.
func TestSlowPathOneshotFlowsTakeNoSlot(t *testing.T) {
	d, pair, x := slowPathRig(t, 1024, "dq")
	inj := pair.Injector(t)
	const n = 50
	for i := 0; i < n; i++ {
		inj.Send(t, udpFlow(t, uint16(20000+i)))
	}
	waitCounter(t, d, CntSlowPath, n)
	if got := receiveN(t, x, n); len(got) != n {
		t.Fatalf("slow path took %d of %d flows", len(got), n)
	}
	if _, drained := kernelUDP(t, d); drained != 0 {
		t.Errorf("%d one-packet flows of the slow path: %d flows drained, want 0", n, drained)
	}
	// Flow 20000's budget: 5 more to the slow path, then the kernel.
	for i := 0; i < 6; i++ {
		inj.Send(t, udpFlow(t, 20000))
	}
	waitCounter(t, d, CntPackets, n+6)
	if got := receiveN(t, x, 5); got[20000] != 5 {
		t.Errorf("slow path took %v of flow 20000's next packets, want 5", got)
	}
	if kernel, drained := kernelUDP(t, d); kernel[20000] != 1 || drained != 1 {
		t.Errorf("after its budget flow 20000 has %d packets in the kernel (%d flows drained), want 1 (1)", kernel[20000], drained)
	}
}

// TestSlowPathRingHoldsUMEM: a reader that does not
// read leaves the whole backlog queued up to the UMEM's size: 3000 new
// flows wait on the ring and none is dropped (a 2048-entry ring dropped
// 952 of them).
func TestSlowPathRingHoldsUMEM(t *testing.T) {
	d, pair, x := slowPathRig(t, 4096, "sp")
	inj := pair.Injector(t)
	const n = 3000
	for i := 0; i < n; i++ {
		inj.Send(t, udpFlow(t, uint16(20000+i)))
	}
	waitCounter(t, d, CntSlowPath, n)
	if got := receiveN(t, x, n); len(got) != n {
		t.Errorf("slow path took %d of %d flows", len(got), n)
	}
	if x.Dropped() != 0 {
		t.Errorf("socket dropped %d", x.Dropped())
	}
}

// TestSlowPathCreditsMidBatch: a reader decoding a long batch gives
// credits back every xskRelease packets, not only at its end: packets
// arriving during the batch find the credits of the frames already handed
// back, and no more.
func TestSlowPathCreditsMidBatch(t *testing.T) {
	d, pair, x := slowPathRig(t, 4096, "dq")
	const first, more = xskRelease + 24, 300
	atomic.StoreInt64(x.credit, first)
	inj := pair.Injector(t)
	for i := 0; i < first; i++ {
		inj.Send(t, udpFlow(t, uint16(20000+i)))
	}
	waitCounter(t, d, CntSlowPath, first)
	got := 0
	if _, err := x.Receive(0, func([]byte) {
		got++
		// The first xskRelease frames are back with their credits.
		if got == xskRelease+1 {
			for i := 0; i < more; i++ {
				inj.Send(t, udpFlow(t, uint16(30000+i)))
			}
			waitCounter(t, d, CntPackets, first+more)
		}
	}); err != nil {
		t.Fatal(err)
	}
	c, _ := d.Counters()
	if got != first || c[CntSlowPath] != first+xskRelease || c[CntSlowNoCredit] != more-xskRelease {
		t.Errorf("batch of %d (want %d); slow path %d, no credit %d; want %d, %d",
			got, first, c[CntSlowPath], c[CntSlowNoCredit], first+xskRelease, more-xskRelease)
	}
	if v := atomic.LoadInt64(x.credit); v != first-xskRelease {
		t.Errorf("credits after the batch: %d, want %d (the %d packets waiting hold the rest)", v, first-xskRelease, xskRelease)
	}
}

// slowPathRig loads the program for maxFlows flows, attaches it to a new
// veth pair named after short and opens the slow-path socket of queue 0,
// closed when the test ends.
func slowPathRig(t testing.TB, maxFlows int, short string) (*Dataplane, testnet.Pair, *XSK) {
	t.Helper()
	d := load(t, maxFlows)
	pair := testnet.VethPairNamed(t, short)
	if _, err := d.Attach(pair.Capture); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.CloseXSK(x) })
	return d, pair, x
}
