package decode

import (
	"encoding/binary"
	"net/netip"
)

const (
	ipv4MinLen = 20
	ipv6Len    = 40
)

// IPv6 extension headers the chain walker steps over, and the two next-header
// values that end the chain without a transport header.
const (
	ip6HopByHop    = 0
	ip6Routing     = 43
	ip6Fragment    = 44
	ip6ESP         = 50
	ip6AH          = 51
	ip6NoNext      = 59
	ip6DestOptions = 60
	ip6Mobility    = 135
)

// decodeIPv4 decodes an IPv4 header at the start of b and whatever follows.
//
// A header cut by the capture is ErrTruncatedIP, but a total length beyond
// the capture is the normal result of a snaplen and only clips Payload.
// Bytes past the total length (Ethernet padding, trailers) are ignored.
func decodeIPv4(b []byte, p *Packet) ErrKind {
	if len(b) == 0 {
		return ErrTruncatedIP
	}
	if b[0]>>4 != 4 {
		return ErrBadIPVersion
	}
	if len(b) < ipv4MinLen {
		return ErrTruncatedIP
	}
	ihl := int(b[0]&0x0F) * 4
	if ihl < ipv4MinLen {
		return ErrBadIPHeader
	}
	if len(b) < ihl {
		return ErrTruncatedIP
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case total == 0:
		// A packet captured before TSO/BIG TCP segmentation carries no
		// length of its own; the capture is all there is to go by.
		total = len(b)
	case total < ihl:
		return ErrBadIPHeader
	}

	p.EtherType = etherTypeIPv4
	p.IPVersion = 4
	p.DSCP = b[1] >> 2
	p.IPLen = binary.BigEndian.Uint16(b[2:4])
	p.TTL = b[8]
	p.Proto = b[9]
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))

	l4 := b[ihl:min(total, len(b))]
	if binary.BigEndian.Uint16(b[6:8])&0x1FFF != 0 {
		// Only the first fragment has the transport header.
		p.Fragment = true
		p.Payload = l4
		return ErrNone
	}
	return decodeL4(p.Proto, l4, total-ihl, p)
}

// decodeIPv6 decodes an IPv6 header at the start of b, walks the extension
// header chain and decodes the transport header it ends in.
//
// An extension header that runs past the payload length is a malformed chain
// (ErrBadIPHeader); one that runs past the capture only is ErrTruncatedIP.
func decodeIPv6(b []byte, p *Packet) ErrKind {
	if len(b) == 0 {
		return ErrTruncatedIP
	}
	if b[0]>>4 != 6 {
		return ErrBadIPVersion
	}
	if len(b) < ipv6Len {
		return ErrTruncatedIP
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))

	p.EtherType = etherTypeIPv6
	p.IPVersion = 6
	p.DSCP = uint8(binary.BigEndian.Uint16(b[0:2])>>6) & 0x3F
	p.TTL = b[7]
	p.IPLen = uint16(min(ipv6Len+plen, 0xFFFF)) // saturates: a full-size payload does not fit 16 bits with the header
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))

	declared := ipv6Len + plen
	if plen == 0 && b[6] != ip6NoNext {
		// Jumbogram or a BIG TCP packet captured before segmentation: the
		// real length is not in this header, so trust the capture. Only an
		// empty No-Next-Header packet is legitimately this short, and for
		// it the rest of the frame is padding.
		declared = len(b)
	}
	end := min(declared, len(b))

	nh, off := b[6], ipv6Len
	for {
		switch nh {
		case ip6HopByHop, ip6Routing, ip6DestOptions, ip6Mobility, ip6AH, ip6Fragment:
		default:
			p.Proto = nh
			// ESP and No-Next-Header fall through to "other protocol":
			// the rest is opaque payload.
			return decodeL4(nh, b[off:end], declared-off, p)
		}

		// Every extension header starts with next-header and a length byte
		// and is at least 8 bytes long.
		if off+8 > declared {
			return ErrBadIPHeader
		}
		if off+8 > end {
			return ErrTruncatedIP
		}
		var hlen int
		switch nh {
		case ip6Fragment:
			hlen = 8
		case ip6AH:
			hlen = (int(b[off+1]) + 2) * 4 // AH counts 4-byte units, minus 2
		default:
			hlen = (int(b[off+1]) + 1) * 8 // the rest count 8-byte units, minus 1
		}
		if off+hlen > declared {
			return ErrBadIPHeader
		}
		if off+hlen > end {
			return ErrTruncatedIP
		}

		next := b[off]
		if nh == ip6Fragment && binary.BigEndian.Uint16(b[off+2:off+4])>>3 != 0 {
			p.Fragment = true
			p.Proto = next
			p.Payload = b[off+hlen : end]
			return ErrNone
		}
		nh, off = next, off+hlen
	}
}
