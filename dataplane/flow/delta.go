// Package flow is what the kernel dataplane hands to the control plane:
// per-flow packet and byte deltas since the previous drain, both
// directions of a conversation in one record.
package flow

import "net/netip"

// Directions of a Delta: AtoB counts packets sent by A.
const (
	AtoB = 0
	BtoA = 1
)

// Delta is one flow's traffic since the previous drain. A and B are the two
// endpoints in a fixed order (lower address, then lower port, is A); which
// one is the client is for the control plane to decide (FirstNs, Flags).
type Delta struct {
	A, B         netip.Addr
	APort, BPort uint16
	VLAN         uint16
	Proto        uint8
	Priv         uint16 // DNS transaction id, else 0

	Pkts, Bytes [2]uint64
	FirstNs     [2]int64 // unix ns of the first packet each way in this delta, 0 if none
	LastNs      int64    // unix ns of the last packet
	Flags       [2]uint8 // TCP flags seen each way
	FirstFlags  [2]uint8 // TCP flags of the first packet each way (who opened)
	DSCP        [2]uint8 // DSCP of the last packet each way
	MAC         [2][6]byte
	HasMAC      [2]bool // MAC holds the source MAC of the first packet each way
}
