package flowtable_test

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/internal/pcaptest"
)

// capWriter writes Ethernet/IPv4 packets into a capture for the
// differential tests, one millisecond apart.
type capWriter struct {
	t    *testing.T
	w    *pcapgo.Writer
	ts   time.Time
	Path string
}

func newCapWriter(t *testing.T, file string) *capWriter {
	t.Helper()
	path := filepath.Join(t.TempDir(), file)
	return &capWriter{t: t, w: pcaptest.Create(t, path), ts: time.Date(2022, 3, 1, 10, 0, 0, 0, time.UTC), Path: path}
}

func (c *capWriter) packet(src, dst net.IP, l4 gopacket.SerializableLayer, payload []byte) {
	c.t.Helper()
	c.ts = c.ts.Add(time.Millisecond)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, SrcIP: src, DstIP: dst}
	switch l := l4.(type) {
	case *layers.TCP:
		ip.Protocol = layers.IPProtocolTCP
		_ = l.SetNetworkLayerForChecksum(ip)
	case *layers.UDP:
		ip.Protocol = layers.IPProtocolUDP
		_ = l.SetNetworkLayerForChecksum(ip)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
		c.t.Fatal(err)
	}
}

// udp writes one datagram.
func (c *capWriter) udp(src, dst net.IP, sport, dport uint16, payload []byte) {
	c.packet(src, dst, &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, payload)
}

// tcpConn writes a TCP connection: the handshake, then each payload in
// turn (client's at even, server's at odd indexes; nil skips a turn), each
// acknowledged by the other side.
func (c *capWriter) tcpConn(cli, srv net.IP, sport, dport uint16, payloads ...[]byte) {
	cs, ss := uint32(1000), uint32(5000)
	c.packet(cli, srv, &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: cs, SYN: true, Window: 65535}, nil)
	c.packet(srv, cli, &layers.TCP{SrcPort: layers.TCPPort(dport), DstPort: layers.TCPPort(sport), Seq: ss, Ack: cs + 1, SYN: true, ACK: true, Window: 65535}, nil)
	cs, ss = cs+1, ss+1
	c.packet(cli, srv, &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: cs, Ack: ss, ACK: true, Window: 65535}, nil)
	for i, p := range payloads {
		if p == nil {
			continue
		}
		n := uint32(len(p))
		if i%2 == 0 {
			c.packet(cli, srv, &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: cs, Ack: ss, ACK: true, PSH: true, Window: 65535}, p)
			c.packet(srv, cli, &layers.TCP{SrcPort: layers.TCPPort(dport), DstPort: layers.TCPPort(sport), Seq: ss, Ack: cs + n, ACK: true, Window: 65535}, nil)
			cs += n
		} else {
			c.packet(srv, cli, &layers.TCP{SrcPort: layers.TCPPort(dport), DstPort: layers.TCPPort(sport), Seq: ss, Ack: cs, ACK: true, PSH: true, Window: 65535}, p)
			c.packet(cli, srv, &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: cs, Ack: ss + n, ACK: true, Window: 65535}, nil)
			ss += n
		}
	}
}
