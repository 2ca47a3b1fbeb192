package export

import (
	"encoding/binary"
	"net/netip"

	"github.com/probe-appliance/probe/controlplane/ifindex"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Information element ids (IANA IPFIX registry; NetFlow v9 uses the same
// numbers for the elements both have).
const (
	ieOctetDeltaCount          = 1
	iePacketDeltaCount         = 2
	ieProtocolIdentifier       = 4
	ieTCPControlBits           = 6
	ieSourceTransportPort      = 7
	ieSourceIPv4Address        = 8
	ieIngressInterface         = 10
	ieDestinationTransportPort = 11
	ieDestinationIPv4Address   = 12
	ieLastSwitched             = 21 // NetFlow v9 LAST_SWITCHED: sysUptime ms
	ieFirstSwitched            = 22 // NetFlow v9 FIRST_SWITCHED: sysUptime ms
	ieSourceIPv6Address        = 27
	ieDestinationIPv6Address   = 28
	ieVlanID                   = 58
	ieApplicationID            = 95
	ieFlowStartMilliseconds    = 152
	ieFlowEndMilliseconds      = 153
)

// applicationId (RFC 6759) is a classification engine id followed by a
// selector. nDPI's protocol ids are no IANA registry, so they go out under
// engine 20, PANA-L7-PEN, whose selector is prefixed by the Private
// Enterprise Number of the registry's owner: ntop's, 35632 (the PEN
// nProbe exports nDPI ids under).
const (
	enginePANAL7PEN = 20
	penNtop         = 35632
	applicationLen  = 1 + 4 + 2 // engine, PEN, 16-bit nDPI id
)

// Left out, on purpose:
//   - ipClassOfService (5): a FlowRecord has no TOS/DSCP. Exporting 0 would
//     tell collectors that all traffic is best effort.
//   - flowDirection (61): it is the direction relative to the observation
//     interface; a passive probe sees both directions as ingress, so it
//     would say nothing that ingressInterface does not.
//   - egressInterface (14): a probe forwards nothing, so no packet of a
//     flow leaves through an interface of its; collectors show the
//     missing field as 0, "unknown", which is the truth. ingressInterface
//     is the capture interface's SNMP ifIndex (controlplane/ifindex).

// kind selects a template: whether the addresses are IPv6 and whether the
// record carries an applicationId (only when nDPI classified the flow, so
// unclassified flows do not spend 7 bytes on "unknown").
type kind uint8

const (
	kindIPv6 kind = 1 << iota
	kindApp
	numKinds = 4
)

// templateIDBase is the first id a template may have (RFC 7011 3.4.1;
// NetFlow v9 reserves 0-255 likewise).
const templateIDBase = 256

type field struct{ id, length uint16 }

type template struct {
	id     uint16
	fields []field
	recLen int
}

// buildTemplates lays out the four kinds. Counters come first, so that
// the wide fields sit on 8-byte boundaries of the record.
func buildTemplates(netflow9 bool) [numKinds]template {
	var ts [numKinds]template
	for k := range kind(numKinds) {
		fs := []field{{ieOctetDeltaCount, 8}, {iePacketDeltaCount, 8}}
		if netflow9 {
			fs = append(fs, field{ieFirstSwitched, 4}, field{ieLastSwitched, 4})
		} else {
			fs = append(fs, field{ieFlowStartMilliseconds, 8}, field{ieFlowEndMilliseconds, 8})
		}
		if k&kindIPv6 != 0 {
			fs = append(fs, field{ieSourceIPv6Address, 16}, field{ieDestinationIPv6Address, 16})
		} else {
			fs = append(fs, field{ieSourceIPv4Address, 4}, field{ieDestinationIPv4Address, 4})
		}
		fs = append(fs,
			field{ieIngressInterface, 4},
			field{ieSourceTransportPort, 2},
			field{ieDestinationTransportPort, 2},
			field{ieVlanID, 2},
			field{ieProtocolIdentifier, 1},
			// tcpControlBits is unsigned16 since RFC 7125; reduced-size
			// encoding keeps the 8 flags a FlowRecord has in one byte,
			// which is also NetFlow v9's TCP_FLAGS size.
			field{ieTCPControlBits, 1},
		)
		if k&kindApp != 0 {
			fs = append(fs, field{ieApplicationID, applicationLen})
		}
		t := template{id: templateIDBase + uint16(k), fields: fs}
		for _, f := range fs {
			t.recLen += int(f.length)
		}
		ts[k] = t
	}
	return ts
}

// appendTemplateRecord appends t as a template record (RFC 7011 3.4.1,
// RFC 3954 5.2: the two share the layout).
func appendTemplateRecord(b []byte, t *template) []byte {
	b = binary.BigEndian.AppendUint16(b, t.id)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.fields)))
	for _, f := range t.fields {
		b = binary.BigEndian.AppendUint16(b, f.id)
		b = binary.BigEndian.AppendUint16(b, f.length)
	}
	return b
}

// dirRec is one direction of a FlowRecord: what a data record carries.
type dirRec struct {
	src, dst       netip.Addr
	srcPort        uint16
	dstPort        uint16
	ifID, vlan, l7 uint16 // ifID: the store's interface id
	proto, flags   uint8
	octets, pkts   uint64
	firstMs        int64 // unix ms
	lastMs         int64
}

func (r *dirRec) kind() kind {
	var k kind
	if !r.src.Is4() || !r.dst.Is4() {
		k |= kindIPv6
	}
	if r.l7 != 0 {
		k |= kindApp
	}
	return k
}

// appendDirs appends the directions of recs that carry packets, client to
// server first, grouped by interface (one message holds one observation
// domain) and otherwise in input order.
func appendDirs(dst []dirRec, recs []store.FlowRecord) []dirRec {
	// Most batches come from one interface's table: no grouping needed.
	single := true
	for i := range recs {
		if recs[i].IfID != recs[0].IfID {
			single = false
			break
		}
	}
	if single {
		for i := range recs {
			dst = appendFlow(dst, &recs[i])
		}
		return dst
	}
	// One pass per interface: a flow table emits one interface's flows,
	// so mixed batches (a caller merging tables) have few of them.
	var order []uint16
	seen := make(map[uint16]bool)
	for i := range recs {
		if !seen[recs[i].IfID] {
			seen[recs[i].IfID] = true
			order = append(order, recs[i].IfID)
		}
	}
	for _, id := range order {
		for i := range recs {
			if recs[i].IfID == id {
				dst = appendFlow(dst, &recs[i])
			}
		}
	}
	return dst
}

func appendFlow(dst []dirRec, f *store.FlowRecord) []dirRec {
	client, server := unmap(f.Client), unmap(f.Server)
	// A FlowRecord keeps its times per flow, not per direction: both
	// directions get the flow's, to the millisecond.
	first, last := f.FirstSeen*1000+int64(f.FirstMilli%1000), f.LastSeen*1000+int64(f.LastMilli%1000)
	if f.PktsC2S != 0 {
		dst = append(dst, dirRec{
			src: client, dst: server, srcPort: f.ClientPort, dstPort: f.ServerPort,
			ifID: f.IfID, vlan: f.VLAN, l7: f.L7, proto: f.Proto, flags: f.TCPFlagsC2S,
			octets: f.BytesC2S, pkts: f.PktsC2S, firstMs: first, lastMs: last,
		})
	}
	if f.PktsS2C != 0 {
		dst = append(dst, dirRec{
			src: server, dst: client, srcPort: f.ServerPort, dstPort: f.ClientPort,
			ifID: f.IfID, vlan: f.VLAN, l7: f.L7, proto: f.Proto, flags: f.TCPFlagsS2C,
			octets: f.BytesS2C, pkts: f.PktsS2C, firstMs: first, lastMs: last,
		})
	}
	return dst
}

// unmap turns IPv4-mapped IPv6 addresses into IPv4 ones, so that an IPv4
// flow goes out with the IPv4 template whatever its origin; a missing
// address is sent as the unspecified one.
func unmap(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.IPv4Unspecified()
	}
	return a.Unmap()
}

// appendData appends r as a data record of template t, with the times
// NetFlow v9 states relative to clk.
func appendData(b []byte, t *template, r *dirRec, clk *msgClock) []byte {
	be := binary.BigEndian
	for _, f := range t.fields {
		switch f.id {
		case ieOctetDeltaCount:
			b = be.AppendUint64(b, r.octets)
		case iePacketDeltaCount:
			b = be.AppendUint64(b, r.pkts)
		case ieFlowStartMilliseconds:
			b = be.AppendUint64(b, uint64(r.firstMs))
		case ieFlowEndMilliseconds:
			b = be.AppendUint64(b, uint64(r.lastMs))
		case ieFirstSwitched:
			b = be.AppendUint32(b, clk.since(r.firstMs))
		case ieLastSwitched:
			b = be.AppendUint32(b, clk.since(r.lastMs))
		case ieSourceIPv4Address:
			a := r.src.As4()
			b = append(b, a[:]...)
		case ieDestinationIPv4Address:
			a := r.dst.As4()
			b = append(b, a[:]...)
		case ieSourceIPv6Address:
			a := r.src.As16()
			b = append(b, a[:]...)
		case ieDestinationIPv6Address:
			a := r.dst.As16()
			b = append(b, a[:]...)
		case ieIngressInterface:
			// The ifIndex the probe's SNMP agent gives the interface.
			b = be.AppendUint32(b, ifindex.Of(r.ifID))
		case ieSourceTransportPort:
			b = be.AppendUint16(b, r.srcPort)
		case ieDestinationTransportPort:
			b = be.AppendUint16(b, r.dstPort)
		case ieVlanID:
			b = be.AppendUint16(b, r.vlan)
		case ieProtocolIdentifier:
			b = append(b, r.proto)
		case ieTCPControlBits:
			b = append(b, r.flags)
		case ieApplicationID:
			b = append(b, enginePANAL7PEN)
			b = be.AppendUint32(b, penNtop)
			b = be.AppendUint16(b, r.l7)
		default:
			panic("export: template field without encoder") // buildTemplates and this switch disagree
		}
	}
	return b
}
