package decode

import (
	"encoding/binary"
	"math/bits"
)

// Ethertypes the link layers hand to the IP decoders, and the VLAN tag
// protocol identifiers that are skipped on the way.
const (
	etherTypeIPv4  = 0x0800
	etherTypeIPv6  = 0x86DD
	etherTypeDot1Q = 0x8100
	etherTypeQinQ  = 0x88A8
	etherType9100  = 0x9100 // pre-802.1ad vendor QinQ TPID, still seen on trunks
)

// Header sizes of the link layers.
const (
	ethernetLen = 14
	sllLen      = 16
	sll2Len     = 20
	nullLen     = 4
	vlanTagLen  = 4
)

// Decode parses frame, captured on a link of type lt, into p.
//
// Every field except Timestamp and WireLen (which belong to the source) is
// overwritten, so a Packet can be reused across frames without carrying stale
// values. Slices in p alias frame. Decode does not allocate and does not
// panic on any input; when it returns something other than ErrNone, p holds
// whatever could be decoded before the problem (L3 fields and Proto survive a
// truncated L4 header so the packet still counts for its hosts).
func Decode(lt LinkType, frame []byte, p *Packet) ErrKind {
	*p = Packet{Timestamp: p.Timestamp, WireLen: p.WireLen}

	switch lt {
	case LinkEthernet:
		if len(frame) < ethernetLen {
			return ErrTruncatedLink
		}
		p.HasMAC = true
		copy(p.DstMAC[:], frame[0:6])
		copy(p.SrcMAC[:], frame[6:12])
		return decodeEtherType(binary.BigEndian.Uint16(frame[12:14]), frame, ethernetLen, p)

	case LinkLinuxSLL:
		// The SLL address field carries only the sender's link address, so
		// HasMAC stays false: a half-known MAC pair would mislead the tables.
		if len(frame) < sllLen {
			return ErrTruncatedLink
		}
		return decodeEtherType(binary.BigEndian.Uint16(frame[14:16]), frame, sllLen, p)

	case LinkLinuxSLL2:
		if len(frame) < sll2Len {
			return ErrTruncatedLink
		}
		return decodeEtherType(binary.BigEndian.Uint16(frame[0:2]), frame, sll2Len, p)

	case LinkRaw:
		if len(frame) == 0 {
			return ErrTruncatedIP
		}
		switch frame[0] >> 4 {
		case 4:
			return decodeIPv4(frame, p)
		case 6:
			return decodeIPv6(frame, p)
		}
		return ErrBadIPVersion

	case LinkIPv4:
		return decodeIPv4(frame, p)

	case LinkIPv6:
		return decodeIPv6(frame, p)

	case LinkNull, LinkLoop:
		if len(frame) < nullLen {
			return ErrTruncatedLink
		}
		fam := binary.BigEndian.Uint32(frame[0:4])
		if lt == LinkNull && fam > 0xFFFF {
			// NULL is written in the capturing host's byte order, which the
			// file does not record; real family numbers are tiny, so a value
			// with only high bits set came from a little-endian host.
			fam = bits.ReverseBytes32(fam)
		}
		return decodeFamily(fam, frame[nullLen:], p)
	}
	return ErrUnsupportedLinkType
}

// decodeEtherType skips any VLAN tags that follow the ethertype field and
// hands the network layer to the IP decoders. off is where the bytes after
// the (first) ethertype field start; for cooked captures that is past the
// rest of the header, so the same loop serves Ethernet, SLL and SLL2.
func decodeEtherType(et uint16, frame []byte, off int, p *Packet) ErrKind {
	tags := 0
	for et == etherTypeDot1Q || et == etherTypeQinQ || et == etherType9100 {
		if len(frame)-off < vlanTagLen {
			return ErrTruncatedLink
		}
		vid := binary.BigEndian.Uint16(frame[off:]) & 0x0FFF
		switch tags {
		case 0:
			p.VLAN = vid
		case 1:
			p.InnerVLAN = vid
		}
		tags++
		et = binary.BigEndian.Uint16(frame[off+2:])
		off += vlanTagLen
	}
	p.EtherType = et

	switch et {
	case etherTypeIPv4:
		return decodeIPv4(frame[off:], p)
	case etherTypeIPv6:
		return decodeIPv6(frame[off:], p)
	case EtherTypeARP:
		decodeARP(frame[off:], p)
		return ErrNone
	}
	// ARP, LLDP, MPLS, 802.3 length fields...: a valid frame that simply
	// carries no IP, which the caller sees as IPVersion == 0.
	return ErrNone
}

// decodeFamily maps a BSD address family from a NULL/LOOP header to an IP
// decoder. The IPv6 family number differs between the BSDs (and Linux), so
// every known value is accepted.
func decodeFamily(fam uint32, b []byte, p *Packet) ErrKind {
	switch fam {
	case 2: // AF_INET everywhere
		return decodeIPv4(b, p)
	case 10, 24, 28, 30: // AF_INET6: Linux, OpenBSD/NetBSD, FreeBSD, Darwin
		return decodeIPv6(b, p)
	}
	return ErrNone
}
