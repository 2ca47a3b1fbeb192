//go:build linux

package capture

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/testnet"
)

type arpSeen struct {
	mu     sync.Mutex
	nonARP int
	ours   []uint16 // VLANs of the injected requests seen
}

func (a *arpSeen) HandlePacket(p *decode.Packet, _ decode.ErrKind) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p.EtherType != decode.EtherTypeARP {
		a.nonARP++
		return
	}
	if s := p.ARP.SenderIP; p.ARP.Op == decode.ARPRequest && s == [4]byte{192, 0, 2, 77} {
		a.ours = append(a.ours, p.VLAN)
	}
}

// TestLiveARPOnly: the ARP-only capture reads the injected ARP requests,
// tagged or not, and none of the UDP frames around them.
func TestLiveARPOnly(t *testing.T) {
	pair := testnet.VethPair(t)
	src, err := OpenLiveARP(pair.Capture)
	if err != nil {
		t.Fatalf("OpenLiveARP: %v", err)
	}
	defer src.Close()
	seen := &arpSeen{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, src, seen) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()

	arp := func(vlan uint16) []byte {
		ls := []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: testSrcMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP}}
		if vlan != 0 {
			ls[0].(*layers.Ethernet).EthernetType = layers.EthernetTypeDot1Q
			ls = append(ls, &layers.Dot1Q{VLANIdentifier: vlan, Type: layers.EthernetTypeARP})
		}
		ls = append(ls, &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: layers.ARPRequest, SourceHwAddress: testSrcMAC, SourceProtAddress: net.IP{192, 0, 2, 77},
			DstHwAddress: make([]byte, 6), DstProtAddress: net.IP{192, 0, 2, 1}})
		return serialize(t, ls...)
	}
	in := pair.Injector(t)
	for _, f := range [][]byte{udpFrame(t, 1, 0, 20), arp(0), udpFrame(t, 2, 77, 20), arp(77), udpFrame(t, 3, 0, 20)} {
		in.Send(t, f)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen.mu.Lock()
		n := len(seen.ours)
		seen.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Let any UDP frame the filter failed to drop arrive too.
	time.Sleep(200 * time.Millisecond)
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if len(seen.ours) != 2 || seen.ours[0] != 0 || seen.ours[1] != 77 || seen.nonARP != 0 {
		t.Errorf("ARP requests seen in VLANs %v (want [0 77]), %d frames that are not ARP (want 0)", seen.ours, seen.nonARP)
	}
}
