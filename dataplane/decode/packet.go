// Package decode turns raw frames into the flat metadata the flow tables need.
//
// It is the userspace reference decoder: the XDP program parses the same
// headers in the kernel, and this package is what the pcap, AF_PACKET and
// AF_XDP paths use. Decode never allocates and never panics on bad input;
// every frame it cannot account is reported with an ErrKind so the caller can
// count it.
package decode

import "net/netip"

// LinkType is a pcap LINKTYPE_* value.
type LinkType uint16

// Link types the decoder understands.
const (
	LinkNull      LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet  LinkType = 1   // IEEE 802.3
	LinkRaw       LinkType = 101 // raw IPv4/IPv6, version from the first nibble
	LinkLoop      LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkIPv4      LinkType = 228 // raw IPv4
	LinkIPv6      LinkType = 229 // raw IPv6
	LinkLinuxSLL2 LinkType = 276 // Linux cooked capture v2
)

// ErrKind classifies why a frame could not be (fully) accounted.
type ErrKind uint8

// Error kinds. ErrNone means the frame was decoded completely (which may
// still be a non-IP frame: check Packet.IPVersion).
const (
	ErrNone ErrKind = iota
	ErrUnsupportedLinkType
	ErrTruncatedLink // frame shorter than its link-layer header (incl. VLAN tags)
	ErrTruncatedIP   // IP header (incl. IPv6 extension headers) cut short; a total length beyond the capture (snaplen) is not an error
	ErrBadIPVersion  // version nibble does not match the link/ethertype
	ErrBadIPHeader   // IHL < 5, total length < header length, bad extension chain
	ErrTruncatedL4   // TCP/UDP/ICMP header cut short
	ErrBadL4Header   // e.g. TCP data offset < 5, or beyond the IP length
	NumErrKinds
)

var errNames = [NumErrKinds]string{
	ErrNone:                "none",
	ErrUnsupportedLinkType: "unsupported_link_type",
	ErrTruncatedLink:       "truncated_link",
	ErrTruncatedIP:         "truncated_ip",
	ErrBadIPVersion:        "bad_ip_version",
	ErrBadIPHeader:         "bad_ip_header",
	ErrTruncatedL4:         "truncated_l4",
	ErrBadL4Header:         "bad_l4_header",
}

func (k ErrKind) String() string {
	if k < NumErrKinds {
		return errNames[k]
	}
	return "unknown"
}

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
	TCPUrg = 0x20
	TCPEce = 0x40
	TCPCwr = 0x80
)

// Packet is the decoded view of one frame. Slices point into the frame
// passed to Decode; copy what must outlive it.
type Packet struct {
	Timestamp int64  // capture time, Unix nanoseconds (set by the source)
	WireLen   uint32 // original length on the wire (set by the source)

	// Layer 2. HasMAC is false for raw-IP and loopback link types.
	HasMAC    bool
	SrcMAC    [6]byte
	DstMAC    [6]byte
	EtherType uint16 // innermost ethertype (after VLAN tags); 0x0800/0x86DD for IP on raw and loopback links; 0 when unknown
	VLAN      uint16 // outermost 802.1Q VLAN id, 0 when untagged
	InnerVLAN uint16 // second tag of a QinQ frame, 0 when absent

	// ARP holds an Ethernet/IPv4 ARP request or reply (ARP.Op != 0).
	ARP ARP

	// Layer 3. IPVersion is 0 for non-IP frames (ARP, LLDP, ...).
	IPVersion uint8
	Src, Dst  netip.Addr
	DSCP      uint8  // 6-bit DSCP from TOS / traffic class
	TTL       uint8  // TTL / hop limit
	IPLen     uint16 // IP total length (IPv4) or 40+payload length (IPv6, saturating at 65535)
	Fragment  bool   // a non-first fragment: no L4 header, ports are 0

	// Layer 4. Proto is the final IP protocol number after IPv6 extension
	// headers (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, anything else counted by number).
	Proto            uint8
	SrcPort, DstPort uint16
	TCPFlags         uint8
	TCPSeq, TCPAck   uint32
	TCPWindow        uint16
	ICMPType         uint8
	ICMPCode         uint8

	// Payload is the L4 payload (after TCP/UDP/ICMP headers), clipped to
	// both the capture and the IP length (Ethernet padding is not payload).
	Payload []byte
}
