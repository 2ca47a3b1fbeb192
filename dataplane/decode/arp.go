package decode

import (
	"encoding/binary"
	"net/netip"
)

// EtherTypeARP is the ethertype of ARP (RFC 826).
const EtherTypeARP = 0x0806

// ARP opcodes (RFC 826); other values (RARP 3/4, InARP 8/9) leave ARP.Op 0.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// arpIPv4Len is the size of an Ethernet/IPv4 ARP body: 8 bytes of header,
// then sender MAC, sender IP, target MAC, target IP.
const arpIPv4Len = 8 + 6 + 4 + 6 + 4

// ARP is an Ethernet/IPv4 ARP request or reply. Op is 0 when the frame is
// not one (another hardware or protocol type, another opcode, or cut
// short): such a frame stays a plain non-IP frame, as it was before ARP
// was decoded, since ntopng learns only from Ethernet/IPv4 requests and
// replies too.
//
// The addresses are kept as bytes, not netip.Addr: every Decode clears the
// Packet, and two netip.Addr would triple what ARP adds to that clear.
type ARP struct {
	Op                   uint16
	SenderMAC, TargetMAC [6]byte
	SenderIP, TargetIP   [4]byte
}

// Sender is the sender protocol address.
func (a *ARP) Sender() netip.Addr { return netip.AddrFrom4(a.SenderIP) }

// Target is the target protocol address.
func (a *ARP) Target() netip.Addr { return netip.AddrFrom4(a.TargetIP) }

// decodeARP fills p.ARP from the ARP body at the start of b. Bytes past
// the body (Ethernet padding) are ignored.
func decodeARP(b []byte, p *Packet) {
	if len(b) < arpIPv4Len {
		return
	}
	if binary.BigEndian.Uint16(b[0:2]) != 1 || // hardware: Ethernet
		binary.BigEndian.Uint16(b[2:4]) != etherTypeIPv4 ||
		b[4] != 6 || b[5] != 4 {
		return
	}
	op := binary.BigEndian.Uint16(b[6:8])
	if op != ARPRequest && op != ARPReply {
		return
	}
	a := &p.ARP
	a.Op = op
	copy(a.SenderMAC[:], b[8:14])
	a.SenderIP = [4]byte(b[14:18])
	copy(a.TargetMAC[:], b[18:24])
	a.TargetIP = [4]byte(b[24:28])
}
