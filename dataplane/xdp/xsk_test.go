package xdp

import (
	"net"
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
	d := load(t, 1024)
	pair := testnet.VethPair(t)
	if _, err := d.Attach(pair.Capture); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.CloseXSK(x)

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

// TestSlowPathShedsToKernel: a reader that finds the shed backlog waiting
// takes the socket out of the program's map; the new flows that arrive
// meanwhile are accounted in the kernel maps (none lost, none on the
// socket); once the ring is empty and the hold has passed, the socket is
// back and new flows reach it again.
func TestSlowPathShedsToKernel(t *testing.T) {
	d := load(t, 1024)
	pair := testnet.VethPairNamed(t, "sp")
	if _, err := d.Attach(pair.Capture); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.CloseXSK(x)
	x.shedAt = 8
	inj := pair.Injector(t)

	const before, during = 12, 5
	for i := 0; i < before; i++ {
		inj.Send(t, udpFlow(t, uint16(20000+i)))
	}
	waitCounter(t, d, CntSlowPath, before)
	if got := receiveN(t, x, before); len(got) != before {
		t.Fatalf("slow path took %d of the %d first flows", len(got), before)
	}
	if x.Sheds() != 1 || !x.shedding {
		t.Fatalf("a backlog of %d over a shed mark of 8: sheds %d, shedding %v", before, x.Sheds(), x.shedding)
	}

	c0, _ := d.Counters()
	for i := 0; i < during; i++ {
		inj.Send(t, udpFlow(t, uint16(30000+i)))
	}
	waitCounter(t, d, CntPackets, c0[CntPackets]+during)
	kernel := map[uint16]uint64{}
	if _, err := d.Drain(func(f *flow.Delta) {
		if f.Proto == 17 && f.BPort == 9 {
			kernel[f.APort] += f.Pkts[0] + f.Pkts[1]
		} else if f.Proto == 17 && f.APort == 9 {
			kernel[f.BPort] += f.Pkts[0] + f.Pkts[1]
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < during; i++ {
		if kernel[uint16(30000+i)] != 1 {
			t.Errorf("flow from port %d while shed: %d packets in the kernel maps, want 1", 30000+i, kernel[uint16(30000+i)])
		}
	}
	if c, _ := d.Counters(); c[CntSlowPath] != before {
		t.Errorf("slow-path counter %d while shed, want %d", c[CntSlowPath], before)
	}

	// The ring is empty: after the hold, the next Receive brings it back.
	time.Sleep(2 * xskShedHold)
	if _, err := x.Receive(0, func([]byte) { t.Error("a packet on the socket while shed") }); err != nil {
		t.Fatal(err)
	}
	if x.shedding {
		t.Fatal("still shedding with an empty ring after the hold")
	}
	inj.Send(t, udpFlow(t, 40000))
	if got := receiveN(t, x, 1); got[40000] != 1 {
		t.Errorf("after the hold the slow path took %v, want port 40000 once", got)
	}
	if x.Dropped() != 0 || x.Sheds() != 1 {
		t.Errorf("socket drops %d, sheds %d; want 0, 1", x.Dropped(), x.Sheds())
	}
}

// TestSlowPathRingHoldsUMEM: with shedding off, a reader that does not
// read leaves the whole backlog queued up to the UMEM's size: 3000 new
// flows wait on the ring and none is dropped (a 2048-entry ring dropped
// 952 of them).
func TestSlowPathRingHoldsUMEM(t *testing.T) {
	d := load(t, 4096)
	pair := testnet.VethPairNamed(t, "sp")
	if _, err := d.Attach(pair.Capture); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.CloseXSK(x)
	x.shedAt = 0
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

// TestSlowPathShedsMidBatch: a reader decoding a long batch looks at the
// ring again every xskRelease packets: packets arriving meanwhile that push
// the backlog over the mark shed the socket before the batch ends.
func TestSlowPathShedsMidBatch(t *testing.T) {
	d := load(t, 4096)
	pair := testnet.VethPairNamed(t, "sp")
	if _, err := d.Attach(pair.Capture); err != nil {
		t.Fatal(err)
	}
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.CloseXSK(x)
	const first, more = xskRelease + 24, 300
	x.shedAt = xskRelease + 40 // above the first backlog, below the one after more
	inj := pair.Injector(t)
	for i := 0; i < first; i++ {
		inj.Send(t, udpFlow(t, uint16(20000+i)))
	}
	waitCounter(t, d, CntSlowPath, first)
	got, injected := 0, false
	if _, err := x.Receive(0, func([]byte) {
		got++
		if !injected {
			injected = true
			for i := 0; i < more; i++ {
				inj.Send(t, udpFlow(t, uint16(30000+i)))
			}
			waitCounter(t, d, CntSlowPath, first+more)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if got != first || x.Sheds() != 1 {
		t.Errorf("batch of %d (want %d), sheds %d (want 1: %d more arrived during it)", got, first, x.Sheds(), more)
	}
}
