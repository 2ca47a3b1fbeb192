package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// baseUnix (2024-01-15T10:00:00Z) is the first packet's timestamp: fixed so
// equal flags give byte-identical files.
const baseUnix = 1705312800

// endpoint is where a frame comes from or goes to on the wire. For remote
// addresses mac is the router's, as on a real LAN, and ttl is lower since
// their packets crossed a few hops.
type endpoint struct {
	addr netip.Addr
	mac  net.HardwareAddr
	port uint16
	ttl  uint8
}

// flow is one conversation being generated and its ground-truth counters.
type flow struct {
	proto layers.IPProtocol
	vlan  uint16
	cli   endpoint
	srv   endpoint
	stats *flowSummary
}

// generator writes frames and keeps the books on them.
type generator struct {
	rng   *rand.Rand
	w     *pcapgo.Writer
	buf   gopacket.SerializeBuffer
	now   time.Time
	ipID  uint16
	port  uint16 // last ephemeral port handed out
	tally *tally
}

func newGenerator(out io.Writer, seed uint64, localNets []netip.Prefix) (*generator, error) {
	w := pcapgo.NewWriter(out)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	return &generator{
		rng:   rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		w:     w,
		buf:   gopacket.NewSerializeBuffer(),
		now:   time.Unix(baseUnix, 0).UTC(),
		tally: newTally(localNets),
	}, nil
}

// pause advances the clock by a random gap in [min, max).
func (g *generator) pause(min, max time.Duration) {
	g.now = g.now.Add(min + time.Duration(g.rng.Int64N(int64(max-min))))
}

// ephemeralPort hands out client ports in rising order from a random start,
// so no two flows of a run share a 5-tuple (until the range wraps).
func (g *generator) ephemeralPort() uint16 {
	const low, high = 49152, 65535
	if g.port == 0 {
		g.port = low + uint16(g.rng.IntN(4096))
	}
	step := 1 + uint16(g.rng.IntN(7))
	if int(g.port)+int(step) > high {
		g.port = low
	}
	g.port += step
	return g.port
}

// newFlow opens a conversation and lists it in the summary.
func (g *generator) newFlow(proto layers.IPProtocol, vlan uint16, cli, srv endpoint, app, name string) *flow {
	ipv := 4
	if cli.addr.Is6() {
		ipv = 6
	}
	f := &flow{proto: proto, vlan: vlan, cli: cli, srv: srv, stats: &flowSummary{
		Proto: proto.String(), L4: int(proto), IPVersion: ipv, VLAN: vlan,
		Client: cli.addr.String(), ClientPort: cli.port,
		Server: srv.addr.String(), ServerPort: srv.port,
		App: app, Name: name,
	}}
	g.tally.newFlow(f.stats)
	return f
}

// send writes one IP packet of f in the given direction. l4 is the transport
// layer and its payload, outermost first.
func (g *generator) send(f *flow, fromClient bool, l4 ...gopacket.SerializableLayer) error {
	src, dst := f.cli, f.srv
	if !fromClient {
		src, dst = dst, src
	}
	var nl interface {
		gopacket.NetworkLayer
		gopacket.SerializableLayer
	}
	var ethType layers.EthernetType
	if src.addr.Is4() {
		g.ipID++
		nl = &layers.IPv4{
			Version: 4, IHL: 5, TTL: src.ttl, Id: g.ipID, Flags: layers.IPv4DontFragment,
			Protocol: f.proto, SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice(),
		}
		ethType = layers.EthernetTypeIPv4
	} else {
		nl = &layers.IPv6{
			Version: 6, HopLimit: src.ttl, NextHeader: f.proto,
			SrcIP: src.addr.AsSlice(), DstIP: dst.addr.AsSlice(),
		}
		ethType = layers.EthernetTypeIPv6
	}
	for _, l := range l4 {
		if c, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok {
			if err := c.SetNetworkLayerForChecksum(nl); err != nil {
				return fmt.Errorf("checksum setup: %w", err)
			}
		}
	}
	stack := append(ethernet(src.mac, dst.mac, ethType, f.vlan), nl)
	size, err := g.write(append(stack, l4...)...)
	if err != nil {
		return err
	}
	g.tally.ipPacket(f, fromClient, size)
	return nil
}

// ethernet returns the link layers, with an 802.1Q tag when vlan is set.
func ethernet(src, dst net.HardwareAddr, next layers.EthernetType, vlan uint16) []gopacket.SerializableLayer {
	if vlan == 0 {
		return []gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: next}}
	}
	return []gopacket.SerializableLayer{
		&layers.Ethernet{SrcMAC: src, DstMAC: dst, EthernetType: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: vlan, Type: next},
	}
}

// write serialises and writes one frame, advancing the clock a little so no
// two packets share a timestamp. It returns the frame length.
func (g *generator) write(stack ...gopacket.SerializableLayer) (int, error) {
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(g.buf, opts, stack...); err != nil {
		return 0, fmt.Errorf("serialise packet: %w", err)
	}
	data := g.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: g.now, CaptureLength: len(data), Length: len(data)}
	if err := g.w.WritePacket(ci, data); err != nil {
		return 0, fmt.Errorf("write packet: %w", err)
	}
	g.tally.frame(len(data), g.now.Unix())
	g.pause(100*time.Microsecond, 3*time.Millisecond)
	return len(data), nil
}
