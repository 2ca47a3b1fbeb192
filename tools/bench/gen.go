package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The peers' captures are written whole: every frame's captured length is
// its wire length and its IP total length covers exactly what follows the
// Ethernet header. Strict decoders (suricata, ndpiReader) drop a packet
// whose IP length runs past the captured bytes, so a truncated synthetic
// frame would be counted by some tools and not others.
const (
	peerSnapLen  = 256 // the file header's snaplen; no frame is longer
	minFrame     = 60  // Ethernet minimum without FCS
	churnWindow  = 1000
	churnPerFlow = 10
)

// shape says how a synthetic capture spreads packets over flows.
type shape int

const (
	// steady: a fixed set of long flows (nFlows), picked at random.
	steady shape = iota
	// churn: flows of churnPerFlow packets each, churnWindow of them open
	// at a time (fewer in a small capture), so the flow count grows with
	// the packet count.
	churn
	// scan: a SYN scan of one source over hosts and ports, every other
	// probe answered by a RST: two-packet flows, one new flow per two packets.
	scan
)

// flowKey is one synthetic flow's endpoints.
type flowKey struct {
	v6, udp    bool
	cli, srv   netip.Addr
	sport, dpt uint16
}

// synthFlow is flow i of a steady or churn capture: 90 % IPv4, 80 % TCP.
func synthFlow(i int) flowKey {
	k := flowKey{v6: i%10 == 9, udp: i%5 == 4, sport: uint16(20000 + i%40000), dpt: 443}
	if k.udp {
		k.dpt = 53
	}
	if k.v6 {
		k.cli = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		k.srv = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 14: byte(i % 97), 15: 1})
	} else {
		k.cli = netip.AddrFrom4([4]byte{172, 16 + byte(i>>16)&15, byte(i >> 8), byte(i)})
		k.srv = netip.AddrFrom4([4]byte{10, byte(i % 251), byte(i % 13), 1})
	}
	return k
}

// headerLen is the Ethernet, IP and TCP/UDP header bytes of k's frames.
func headerLen(k flowKey) int {
	n := 14 + 20 + 20
	if k.v6 {
		n += 20
	}
	if k.udp {
		n -= 12
	}
	return n
}

// frame builds one whole Ethernet frame of k carrying payload.
func frame(k flowKey, c2s bool, payload []byte, tcp layers.TCP) ([]byte, error) {
	src, dst, sp, dp := k.cli, k.srv, k.sport, k.dpt
	if !c2s {
		src, dst, sp, dp = dst, src, dp, sp
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}}
	proto := layers.IPProtocolTCP
	if k.udp {
		proto = layers.IPProtocolUDP
	}
	var l3 gopacket.SerializableLayer
	var nl gopacket.NetworkLayer
	if k.v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		l3, nl = ip, ip
	} else {
		eth.EthernetType = layers.EthernetTypeIPv4
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
		l3, nl = ip, ip
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if k.udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		_ = u.SetNetworkLayerForChecksum(nl)
		err = gopacket.SerializeLayers(buf, opts, eth, l3, u, gopacket.Payload(payload))
	} else {
		tcp.SrcPort, tcp.DstPort = layers.TCPPort(sp), layers.TCPPort(dp)
		_ = tcp.SetNetworkLayerForChecksum(nl)
		err = gopacket.SerializeLayers(buf, opts, eth, l3, &tcp, gopacket.Payload(payload))
	}
	return buf.Bytes(), err
}

// tlsRecord is a TLS 1.2 application-data record of n bytes in all (at
// least 6): what port 443 carries, so dissectors read it as such.
func tlsRecord(n int, fill byte) []byte {
	n = max(n, 6)
	b := make([]byte, n)
	b[0], b[1], b[2] = 0x17, 0x03, 0x03
	binary.BigEndian.PutUint16(b[3:], uint16(n-5))
	for i := 5; i < n; i++ {
		b[i] = fill + byte(i)
	}
	return b
}

// dnsMessage is a DNS query (or its answerless response) for an A record
// whose name makes the message n bytes long (at least 19).
func dnsMessage(id uint16, response bool, n int) []byte {
	n = max(n, 19)
	b := make([]byte, 12, n)
	binary.BigEndian.PutUint16(b, id)
	if response {
		binary.BigEndian.PutUint16(b[2:], 0x8180)
	} else {
		binary.BigEndian.PutUint16(b[2:], 0x0100)
	}
	binary.BigEndian.PutUint16(b[4:], 1) // one question
	rem := n - 12 - 4 - 1                // label bytes before the root's 0, at least 2
	for rem > 0 {
		l := min(rem-1, 63)
		if rem-(l+1) == 1 { // never leave a single byte: no label is that short
			l--
		}
		b = append(b, byte(l))
		for i := 0; i < l; i++ {
			b = append(b, 'a'+byte((i+int(id))%26))
		}
		rem -= l + 1
	}
	b = append(b, 0)
	return append(b, 0, 1, 0, 1) // type A, class IN
}

// writeSynthetic writes n packets of the given shape (nFlows is steady's
// flow count), deterministic for given arguments. It returns the number
// of flows (5-tuples, both directions together) the capture holds.
func writeSynthetic(path string, sh shape, n, nFlows int) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(peerSnapLen, layers.LinkTypeEthernet); err != nil {
		f.Close()
		return 0, err
	}
	rng := rand.New(rand.NewPCG(1, uint64(sh)))
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	flows := 0
	window := max(1, min(churnWindow, n/churnPerFlow))
	// Sequence numbers per flow and direction, so a TCP flow's segments
	// follow one another as a decoder expects.
	seq := map[[2]int]uint32{}
	for i := 0; i < n; i++ {
		var k flowKey
		var payload []byte
		var tcp layers.TCP
		c2s := rng.IntN(2) == 0
		size := minFrame + rng.IntN(peerSnapLen-minFrame+1)
		id := 0
		switch sh {
		case steady:
			id = rng.IntN(nFlows)
			flows = nFlows
		case churn:
			// Blocks of window flows, each taking churnPerFlow packets in
			// turn: flow j's packets are its block's rounds.
			block := i / (window * churnPerFlow)
			id = block*window + i%window
			flows = max(flows, id+1)
		}
		if sh != scan {
			k = synthFlow(id)
			if k.udp {
				payload = dnsMessage(uint16(id), !c2s, size-headerLen(k))
			} else {
				payload = tlsRecord(size-headerLen(k), byte(i))
				d := 0
				if !c2s {
					d = 1
				}
				s := seq[[2]int{id, d}]
				a := seq[[2]int{id, 1 - d}]
				tcp = layers.TCP{ACK: true, PSH: true, Window: 1024, Seq: 1 + s, Ack: 1 + a}
				seq[[2]int{id, d}] = s + uint32(len(payload))
			}
		}
		switch sh {
		case scan:
			id := i / 2
			b := uint32(id)
			k = flowKey{cli: netip.AddrFrom4([4]byte{198, 51, 100, 7}),
				srv:   netip.AddrFrom4([4]byte{10, 64 + byte(b>>24)&63, byte(b >> 16), byte(b >> 8)}),
				sport: 40000 + uint16(id%1000), dpt: uint16(1 + b%1024)}
			c2s = i%2 == 0
			if c2s {
				tcp = layers.TCP{SYN: true, Window: 1024, Seq: b}
			} else {
				tcp = layers.TCP{RST: true, ACK: true, Ack: b + 1}
			}
			flows = id + 1
		}
		fr, err := frame(k, c2s, payload, tcp)
		if err != nil {
			f.Close()
			return 0, err
		}
		ts = ts.Add(time.Duration(1+rng.IntN(20)) * time.Microsecond)
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(fr), Length: len(fr)}
		if err := w.WritePacket(ci, fr); err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return flows, f.Close()
}

// writeMix writes copies of a real capture one after the other, each copy
// on its own addresses and later in time, so the flows of copy c are new
// flows, not more packets of copy 0's. The rewrite keeps every checksum
// valid without recomputing it: an address's last two 16-bit words get +c
// and −c (ones' complement), which leaves the IPv4 header and the TCP/UDP
// pseudo-header sums unchanged, and maps each address the same way in
// both directions.
func writeMix(dst, src string, copies int) (int, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", src, err)
	}
	type pkt struct {
		ci   gopacket.CaptureInfo
		data []byte
	}
	var pkts []pkt
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("%s: %w", src, err)
		}
		pkts = append(pkts, pkt{ci, data})
	}
	if len(pkts) == 0 {
		return 0, fmt.Errorf("%s: no packets", src)
	}
	span := pkts[len(pkts)-1].ci.Timestamp.Sub(pkts[0].ci.Timestamp) + time.Second
	f, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		f.Close()
		return 0, err
	}
	n := 0
	buf := make([]byte, 0, 65536)
	for c := 0; c < copies; c++ {
		for _, p := range pkts {
			buf = append(buf[:0], p.data...)
			if r.LinkType() == layers.LinkTypeEthernet {
				rewriteAddrs(buf, uint16(c))
			}
			ci := p.ci
			ci.Timestamp = ci.Timestamp.Add(time.Duration(c) * span)
			if err := w.WritePacket(ci, buf); err != nil {
				f.Close()
				return 0, err
			}
			n++
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return n, f.Close()
}

// rewriteAddrs shifts the IP addresses of an Ethernet frame (VLAN tags
// skipped) by c, checksum-neutrally (see writeMix).
func rewriteAddrs(b []byte, c uint16) {
	if c == 0 {
		return
	}
	off := 12
	for off+2 <= len(b) {
		et := binary.BigEndian.Uint16(b[off:])
		off += 2
		switch et {
		case 0x8100, 0x88a8:
			off += 2
			continue
		case 0x0800:
			if off+20 <= len(b) {
				shiftAddr(b[off+12:off+16], c)
				shiftAddr(b[off+16:off+20], c)
			}
		case 0x86dd:
			if off+40 <= len(b) {
				shiftAddr(b[off+8:off+24], c)
				shiftAddr(b[off+24:off+40], c)
			}
		}
		return
	}
}

// shiftAddr adds c to the address's second-to-last 16-bit word and
// subtracts it from the last, in ones' complement arithmetic.
func shiftAddr(a []byte, c uint16) {
	n := len(a)
	hi := binary.BigEndian.Uint16(a[n-4:])
	lo := binary.BigEndian.Uint16(a[n-2:])
	binary.BigEndian.PutUint16(a[n-4:], onesAdd(hi, c))
	binary.BigEndian.PutUint16(a[n-2:], onesAdd(lo, ^c))
}

// onesAdd is 16-bit ones' complement addition (end-around carry).
func onesAdd(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s&0xffff + s>>16)
}
