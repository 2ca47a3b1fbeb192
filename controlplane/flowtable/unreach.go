package flowtable

import (
	"encoding/binary"
	"net/netip"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// Bits of Flow.unreach: which ICMP errors already counted the flow.
const (
	unreachPort = 1 << iota
	unreachHost
)

// Unreachable flows of a host (ntopng's unreachable_flows.* and
// host_unreachable_flows.*): flows answered by an ICMP port or host
// unreachable, each counted once, on the side the host had in it.
type Unreachable struct {
	PortAsClient, PortAsServer uint32
	HostAsClient, HostAsServer uint32
}

// unreachableLocked finds the flow an ICMP destination-unreachable quotes
// and counts it for its hosts. Only the quoted headers are read: O(1).
func (t *Table) unreachableLocked(p *decode.Packet) {
	var bit uint8
	switch {
	case p.Proto == decode.ProtoICMP && p.ICMPType == 3 && p.ICMPCode == 3, p.Proto == decode.ProtoICMPv6 && p.ICMPType == 1 && p.ICMPCode == 4:
		bit = unreachPort
	case p.Proto == decode.ProtoICMP && p.ICMPType == 3 && p.ICMPCode == 1, p.Proto == decode.ProtoICMPv6 && p.ICMPType == 1 && p.ICMPCode == 3:
		bit = unreachHost
	default:
		return
	}
	key, ok := quotedFlowKey(p.Payload, p.VLAN)
	if !ok {
		return
	}
	f := t.flows[key]
	if f == nil || f.unreach&bit != 0 {
		return
	}
	f.unreach |= bit
	t.markDirtyLocked(f) // what readers know of it changed
	cli, srv := f.cli, f.srv
	if bit == unreachPort {
		cli.rareOf().unreachable.PortAsClient++
		srv.rareOf().unreachable.PortAsServer++
	} else {
		cli.rareOf().unreachable.HostAsClient++
		srv.rareOf().unreachable.HostAsServer++
	}
}

// quotedFlowKey is the key of the flow whose packet an ICMP error quotes
// (its IP header and at least the first 8 bytes after it, RFC 792/4443).
func quotedFlowKey(b []byte, vlan uint16) (flowKey, bool) {
	if len(b) < 1 {
		return flowKey{}, false
	}
	var src, dst netip.Addr
	var proto uint8
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl+8 {
			return flowKey{}, false
		}
		proto = b[9]
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		l4 = b[ihl:]
	case 6:
		// Extension headers are not followed: errors about such packets
		// are not counted.
		if len(b) < 40+8 {
			return flowKey{}, false
		}
		proto = b[6]
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		l4 = b[40:]
	default:
		return flowKey{}, false
	}
	if proto != 6 && proto != 17 {
		return flowKey{}, false
	}
	sport, dport := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	var priv uint16
	// DNS flows are one per transaction (see handleLocked): the quoted
	// UDP length tells whether the original carried the id.
	if proto == decode.ProtoUDP && (sport == 53 || dport == 53) && int(binary.BigEndian.Uint16(l4[4:6]))-8 > 20 && len(l4) >= 10 {
		priv = uint16(l4[8])<<8 | uint16(l4[9])
	}
	return makeFlowKey(src, dst, sport, dport, vlan, proto, priv), true
}
