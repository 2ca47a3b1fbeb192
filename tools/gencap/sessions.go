package main

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// mss bounds TCP payloads so frames stay within a 1500-byte MTU.
const mss = 1400

// turn is what one side says before the other answers.
type turn struct {
	fromClient bool
	data       []byte
}

type tcpFlags uint8

const (
	flagSYN tcpFlags = 1 << iota
	flagACK
	flagPSH
	flagFIN
)

// tcpSession writes a complete connection: 3-way handshake, the turns (each
// segment acknowledged by the receiver) and a FIN teardown, with consistent
// sequence numbers so reassembly and retransmission logic stay quiet.
func (g *generator) tcpSession(f *flow, turns []turn) error {
	// next[0] is the client's next sequence number, next[1] the server's.
	next := [2]uint32{g.rng.Uint32(), g.rng.Uint32()}
	seg := func(fromClient bool, flags tcpFlags, payload []byte) error {
		me, peer := 1, 0
		src, dst := f.srv, f.cli
		if fromClient {
			me, peer = 0, 1
			src, dst = f.cli, f.srv
		}
		t := &layers.TCP{
			SrcPort: layers.TCPPort(src.port), DstPort: layers.TCPPort(dst.port),
			Seq: next[me], Window: 64240,
			SYN: flags&flagSYN != 0, ACK: flags&flagACK != 0, PSH: flags&flagPSH != 0, FIN: flags&flagFIN != 0,
		}
		if t.ACK {
			t.Ack = next[peer]
		}
		if t.SYN {
			t.Options = []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{mss >> 8, mss & 0xff}}}
		}
		stack := []gopacket.SerializableLayer{t}
		if len(payload) > 0 {
			stack = append(stack, gopacket.Payload(payload))
		}
		if err := g.send(f, fromClient, stack...); err != nil {
			return err
		}
		next[me] += uint32(len(payload))
		if t.SYN || t.FIN {
			next[me]++
		}
		return nil
	}

	steps := []func() error{
		func() error { return seg(true, flagSYN, nil) },
		func() error { g.rtt(f); return seg(false, flagSYN|flagACK, nil) },
		func() error { return seg(true, flagACK, nil) },
	}
	for _, tr := range turns {
		chunks := split(tr.data, mss)
		for i, c := range chunks {
			flags := flagACK
			if i == len(chunks)-1 {
				flags |= flagPSH
			}
			steps = append(steps,
				func() error { return seg(tr.fromClient, flags, c) },
				func() error { return seg(!tr.fromClient, flagACK, nil) })
		}
		steps = append(steps, func() error { g.rtt(f); return nil })
	}
	steps = append(steps,
		func() error { return seg(true, flagFIN|flagACK, nil) },
		func() error { return seg(false, flagFIN|flagACK, nil) },
		func() error { return seg(true, flagACK, nil) })
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("tcp %s:%d: %w", f.srv.addr, f.srv.port, err)
		}
	}
	return nil
}

// rtt waits one network round trip, longer for servers far away.
func (g *generator) rtt(f *flow) {
	if f.srv.ttl < 64 {
		g.pause(15*time.Millisecond, 60*time.Millisecond)
	} else {
		g.pause(200*time.Microsecond, 2*time.Millisecond)
	}
}

func split(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	if len(b) > 0 {
		out = append(out, b)
	}
	return out
}

// dnsLookup writes a query from client to server and an answer that maps
// name to addr (A or AAAA record, by address family).
func (g *generator) dnsLookup(client, server endpoint, name string, addr netip.Addr) error {
	client.port = g.ephemeralPort()
	server.port = 53
	f := g.newFlow(layers.IPProtocolUDP, 0, client, server, "DNS", name)
	qtype := layers.DNSTypeA
	if addr.Is6() {
		qtype = layers.DNSTypeAAAA
	}
	q := layers.DNSQuestion{Name: []byte(name), Type: qtype, Class: layers.DNSClassIN}
	id := uint16(g.rng.Uint32())
	query := &layers.DNS{ID: id, RD: true, Questions: []layers.DNSQuestion{q}}
	if err := g.send(f, true, udp(client.port, server.port), query); err != nil {
		return fmt.Errorf("dns query %s: %w", name, err)
	}
	g.rtt(f)
	answer := &layers.DNS{
		ID: id, QR: true, RD: true, RA: true, ResponseCode: layers.DNSResponseCodeNoErr,
		Questions: []layers.DNSQuestion{q},
		Answers: []layers.DNSResourceRecord{{
			Name: []byte(name), Type: qtype, Class: layers.DNSClassIN, TTL: 300, IP: net.IP(addr.AsSlice()),
		}},
	}
	if err := g.send(f, false, udp(server.port, client.port), answer); err != nil {
		return fmt.Errorf("dns answer %s: %w", name, err)
	}
	g.tally.dnsAnswer(name, addr)
	return nil
}

func udp(src, dst uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(src), DstPort: layers.UDPPort(dst)}
}

// ntpExchange writes one client request (mode 3) and its server reply (mode 4).
func (g *generator) ntpExchange(client, server endpoint) error {
	client.port = g.ephemeralPort()
	server.port = 123
	f := g.newFlow(layers.IPProtocolUDP, 0, client, server, "NTP", "")
	sent := ntpTime(g.now)
	req := &layers.NTP{Version: 4, Mode: 3, Poll: 6, Precision: -23, TransmitTimestamp: sent}
	if err := g.send(f, true, udp(client.port, server.port), req); err != nil {
		return fmt.Errorf("ntp request: %w", err)
	}
	g.rtt(f)
	now := ntpTime(g.now)
	resp := &layers.NTP{
		Version: 4, Mode: 4, Stratum: 2, Poll: 6, Precision: -25,
		ReferenceID: 0xc0000201, ReferenceTimestamp: now - 64<<32, // synced a minute ago
		OriginTimestamp: sent, ReceiveTimestamp: now, TransmitTimestamp: now,
	}
	if err := g.send(f, false, udp(server.port, client.port), resp); err != nil {
		return fmt.Errorf("ntp reply: %w", err)
	}
	return nil
}

// ntpTime converts to the 64-bit NTP format (seconds since 1900, 32.32).
func ntpTime(t time.Time) layers.NTPTimestamp {
	const unixToNTP = 2208988800
	secs := uint64(t.Unix() + unixToNTP)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return layers.NTPTimestamp(secs<<32 | frac)
}

// ping writes one ICMP echo request and its reply.
func (g *generator) ping(client, server endpoint) error {
	client.port, server.port = 0, 0
	f := g.newFlow(layers.IPProtocolICMPv4, 0, client, server, "ICMP", "")
	id, payload := uint16(g.rng.Uint32()), []byte("abcdefghijklmnopqrstuvwabcdefghi")
	req := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: 1}
	if err := g.send(f, true, req, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("echo request: %w", err)
	}
	g.rtt(f)
	rep := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoReply, 0), Id: id, Seq: 1}
	if err := g.send(f, false, rep, gopacket.Payload(payload)); err != nil {
		return fmt.Errorf("echo reply: %w", err)
	}
	return nil
}

// arpRequest writes a broadcast who-has; it belongs to no IP flow or host.
func (g *generator) arpRequest(asker endpoint, target netip.Addr) error {
	broadcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	_, err := g.write(
		&layers.Ethernet{SrcMAC: asker.mac, DstMAC: broadcast, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{
			AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
			HwAddressSize: 6, ProtAddressSize: 4, Operation: layers.ARPRequest,
			SourceHwAddress: asker.mac, SourceProtAddress: asker.addr.AsSlice(),
			DstHwAddress: make([]byte, 6), DstProtAddress: target.AsSlice(),
		})
	if err != nil {
		return fmt.Errorf("arp request: %w", err)
	}
	g.tally.arp()
	return nil
}
