package decode

import "encoding/binary"

// IP protocol numbers (IANA) the decoder parses; every package compares
// Packet.Proto and flow protocols against these, never bare numbers.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

const (
	tcpMinLen  = 20
	udpLen     = 8
	icmpHdrLen = 8 // type, code, checksum and the 4-byte rest-of-header
)

// decodeL4 decodes the transport header in b, the transport bytes that were
// captured (already clipped to the IP length). declared is the transport
// length the IP header announces, which exceeds len(b) when the snaplen cut
// the packet: that distinguishes a capture artefact (fine) from a transport
// header that claims more than its own packet holds (malformed).
//
// Ports are filled as soon as their 4 bytes are there, even when the rest of
// the header is missing, so snaplen-cut captures still attribute the flow.
func decodeL4(proto uint8, b []byte, declared int, p *Packet) ErrKind {
	switch proto {
	case ProtoTCP:
		if len(b) >= 4 {
			p.SrcPort = binary.BigEndian.Uint16(b[0:2])
			p.DstPort = binary.BigEndian.Uint16(b[2:4])
		}
		if len(b) < tcpMinLen {
			return ErrTruncatedL4
		}
		p.TCPSeq = binary.BigEndian.Uint32(b[4:8])
		p.TCPAck = binary.BigEndian.Uint32(b[8:12])
		p.TCPFlags = b[13]
		p.TCPWindow = binary.BigEndian.Uint16(b[14:16])
		doff := int(b[12]>>4) * 4
		if doff < tcpMinLen || doff > declared {
			return ErrBadL4Header
		}
		// Options cut by the snaplen leave an empty payload, not an error:
		// everything the flow tables need was in the fixed header.
		p.Payload = b[min(doff, len(b)):]
		return ErrNone

	case ProtoUDP:
		if len(b) >= 4 {
			p.SrcPort = binary.BigEndian.Uint16(b[0:2])
			p.DstPort = binary.BigEndian.Uint16(b[2:4])
		}
		if len(b) < udpLen {
			return ErrTruncatedL4
		}
		p.Payload = b[udpLen:]
		return ErrNone

	case ProtoICMP, ProtoICMPv6:
		if len(b) >= 2 {
			p.ICMPType = b[0]
			p.ICMPCode = b[1]
		}
		if len(b) < icmpHdrLen {
			return ErrTruncatedL4
		}
		p.Payload = b[icmpHdrLen:]
		return ErrNone
	}
	p.Payload = b
	return ErrNone
}
