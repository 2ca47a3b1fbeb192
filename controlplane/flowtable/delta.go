package flowtable

import (
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

// DataplaneCounts are interface-wide figures a kernel dataplane counts
// itself (everything it saw, including what no flow holds).
type DataplaneCounts struct {
	Packets, Bytes uint64                     // bytes as on the wire
	Errors         [decode.NumErrKinds]uint64 // frames it could not parse, by kind
}

// ApplyDeltas accounts flow deltas drained from a kernel dataplane. It is
// the batch twin of HandlePacket: the deltas go to their flows' pending
// counters and reach the hosts at the next sync. Per-packet details the
// kernel does not keep (packet sizes, per-packet TCP flag counts, payload
// for names) are not available for these flows.
func (t *Table) ApplyDeltas(ds []flow.Delta, counts DataplaneCounts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.stats
	s.Packets += counts.Packets
	s.WireBytes += counts.Bytes
	s.Bytes += counts.Bytes + EthOverhead*counts.Packets
	for k, n := range counts.Errors {
		s.Errors[k] += n
	}
	for i := range ds {
		d := &ds[i]
		if d.Pkts[flow.AtoB]+d.Pkts[flow.BtoA] == 0 {
			continue
		}
		if d.LastNs > t.clock {
			t.clock = d.LastNs
		}
		if s.FirstPacket == 0 || (firstOf(d) > 0 && firstOf(d) < s.FirstPacket) {
			s.FirstPacket = firstOf(d)
		}
		if d.LastNs > s.LastPacket {
			s.LastPacket = d.LastNs
		}
		s.IPPackets += d.Pkts[0] + d.Pkts[1]
		key := makeFlowKey(d.A, d.B, d.APort, d.BPort, d.VLAN, d.Proto, d.Priv)
		f := t.flows[key]
		if f == nil {
			if len(t.flows) >= t.cfg.MaxFlows {
				s.DroppedNewFlows++
				continue
			}
			if f = t.newFlowFromDeltaLocked(key, d); f == nil {
				continue
			}
		}
		t.applyDeltaLocked(f, d)
		if f.rd().bcast != nil || (f.Server.Is4() && f.Server.As4()[3]&1 == 1) {
			t.bcastDeltaLocked(f, d) // arp.go
		}
	}
}

func firstOf(d *flow.Delta) int64 {
	a, b := d.FirstNs[flow.AtoB], d.FirstNs[flow.BtoA]
	switch {
	case a == 0:
		return b
	case b == 0 || a <= b:
		return a
	}
	return b
}

// clientSide decides which endpoint of a new flow is the client, with the
// packet path's rules: for TCP, a side that opened with a SYN is the
// client and one that opened with a SYN-ACK the server; otherwise the side
// that spoke first; on a tie, the one on the higher port.
func clientSide(d *flow.Delta) int {
	if d.Proto == decode.ProtoTCP {
		for side := flow.AtoB; side <= flow.BtoA; side++ {
			if d.Pkts[side] == 0 {
				continue
			}
			switch d.FirstFlags[side] & 0x12 {
			case 0x02:
				return side
			case 0x12:
				return 1 - side
			}
		}
	}
	fa, fb := d.FirstNs[flow.AtoB], d.FirstNs[flow.BtoA]
	switch {
	case fa != 0 && (fb == 0 || fa < fb):
		return flow.AtoB
	case fb != 0 && (fa == 0 || fb < fa):
		return flow.BtoA
	}
	if d.APort < d.BPort {
		return flow.BtoA
	}
	return flow.AtoB
}

func (t *Table) newFlowFromDeltaLocked(key flowKey, d *flow.Delta) *Flow {
	roles := &flowRoles{Client: d.A, ClientPort: d.APort, Server: d.B, ServerPort: d.BPort}
	if clientSide(d) == flow.BtoA {
		roles = &flowRoles{Client: d.B, ClientPort: d.BPort, Server: d.A, ServerPort: d.APort}
	}
	// newFlowLocked wants a packet for its VLAN, protocol and timestamp.
	first := &decode.Packet{}
	first.Timestamp = firstOf(d)
	first.VLAN, first.Proto = d.VLAN, d.Proto
	first.Src, first.Dst = roles.Client, roles.Server
	first.SrcPort, first.DstPort = roles.ClientPort, roles.ServerPort
	return t.newFlowLocked(key, first, d.Priv, roles)
}

// applyDeltaLocked adds a delta to a flow, mapping the delta's A/B
// directions onto the flow's client/server ones.
func (t *Table) applyDeltaLocked(f *Flow, d *flow.Delta) {
	for side := flow.AtoB; side <= flow.BtoA; side++ {
		pk := d.Pkts[side]
		if pk == 0 {
			continue
		}
		sender := d.A
		if side == flow.BtoA {
			sender = d.B
		}
		dir := dirC2S
		if sender != f.Client || (f.Client == f.Server && side == flow.BtoA) {
			dir = dirS2C
		}
		by := d.Bytes[side]
		t.pendLocked(f, dir, d.DSCP[side])
		prev := f.FlagsC2S
		if dir == dirS2C {
			prev = f.FlagsS2C
		}
		if d.Proto == decode.ProtoTCP {
			// The kernel keeps flags, not per-packet counts: a SYN, SYN-ACK
			// or RST first seen in a direction counts once, which is what a
			// connection normally carries (retransmissions aside). Host
			// checks (SYN flood, scans) need these on the XDP path too.
			if fresh := d.Flags[side] &^ prev; fresh&(decode.TCPSyn|decode.TCPRst) != 0 {
				if fresh&decode.TCPSyn != 0 {
					if cl := tcpFlagClass(d.FirstFlags[side]); cl == 0 || cl == 1 {
						f.pendFlags[dir][cl]++
					} else if dir == dirC2S {
						f.pendFlags[dir][0]++
					} else {
						f.pendFlags[dir][1]++
					}
				}
				if fresh&decode.TCPRst != 0 {
					f.pendFlags[dir][3]++
				}
			}
		}
		if dir == dirC2S {
			f.PktsC2S += pk
			f.BytesC2S += by
			f.FlagsC2S |= d.Flags[side]
			f.DSCPC2S = d.DSCP[side]
		} else {
			f.PktsS2C += pk
			f.BytesS2C += by
			f.FlagsS2C |= d.Flags[side]
			f.DSCPS2C = d.DSCP[side]
		}
		f.pendPkts[dir] += pk
		f.pendBytes[dir] += by
		f.markActive(max(firstOf(d), 1), t.cfg.L7)
		f.markActive(d.LastNs, t.cfg.L7)
		if d.HasMAC[side] {
			f.mac[dir], f.hasMAC[dir] = d.MAC[side], true
		}
	}
	if d.LastNs > f.LastSeen {
		f.LastSeen = d.LastNs
	}
	if fs := firstOf(d); fs > 0 && fs < f.FirstSeen {
		f.FirstSeen = fs
	}
	t.markDirtyLocked(f)
}
