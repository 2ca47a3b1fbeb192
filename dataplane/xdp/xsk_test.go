package xdp

import (
	"net"
	"testing"
	"time"

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
