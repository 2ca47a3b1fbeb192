package flowtable

import (
	"math"

	"github.com/probe-appliance/probe/controlplane/l7"
)

// syncLocked applies every dirty flow's pending packets to its hosts and
// to the interface's local/remote split. It runs before anything reads
// hosts (View), on every tick, and before flows leave the table.
func (t *Table) syncLocked() {
	t.syncs++
	t.inSync = true
	for _, f := range t.dirty {
		t.syncFlowLocked(f)
		f.dirty = false
		f.synced = t.syncs
		t.flowChangedLocked(f)
	}
	t.inSync = false
	clear(t.dirty)
	t.dirty = t.dirty[:0]
}

// markDirtyLocked puts f on the dirty list: its hosts take its pending
// packets at the next sync, and readers see it changed (Flow.Changed).
func (t *Table) markDirtyLocked(f *Flow) {
	if !f.dirty {
		f.dirty = true
		t.dirty = append(t.dirty, f)
	}
}

// syncFlowLocked applies one flow's pending packets (it stays on the dirty
// list if it is there).
func (t *Table) syncFlowLocked(f *Flow) {
	t.hostChangedLocked(f.cli)
	t.hostChangedLocked(f.srv)
	// What the traffic is booked under does not change during a sync: the
	// hosts' counters of it are looked up once, not per direction and use.
	bc := bookedFor(f, t.cfg.L7)
	for dir := dirC2S; dir <= dirS2C; dir++ {
		pk, by := f.pendPkts[dir], f.pendBytes[dir]
		if pk == 0 {
			continue
		}
		sender, receiver := f.endsOf(dir)
		sender.Traffic.sent(pk, by)
		receiver.Traffic.rcvd(pk, by)
		// The hosts' counters of the L4 protocol, and the interface's
		// (IfaceStats.L4Bytes: TCP, UDP, ICMP, other), grouped alike.
		var sc, rc *DirCounters
		var l4 int
		switch f.Proto {
		case 6:
			sc, rc, l4 = &sender.TCP, &receiver.TCP, 0
		case 17:
			sc, rc, l4 = &sender.UDP, &receiver.UDP, 1
			if receiver.Multicast || receiver.Broadcast {
				sender.UDPSentNonU += by
			} else {
				sender.UDPSentUnicast += by
			}
		case 1, 58:
			sc, rc, l4 = &sender.rareOf().icmp, &receiver.rareOf().icmp, 2
		default:
			sc, rc, l4 = &sender.rareOf().otherIP, &receiver.rareOf().otherIP, 3
		}
		sc.sent(pk, by)
		rc.rcvd(pk, by)
		t.stats.L4Bytes[l4] += by
		cls := f.dscpClass[dir]
		t.dscp[cls] += pk
		sender.dscp.of(cls).sent(pk, by)
		receiver.dscp.of(cls).rcvd(pk, by)
		t.l7Bytes[bc.app] += by
		t.catBytes[bc.cat] += by
		sl7, scat := bc.of(sender, dir)
		rl7, rcat := bc.of(receiver, 1-dir)
		sl7.sent(pk, by)
		rl7.rcvd(pk, by)
		scat.sent(pk, by)
		rcat.rcvd(pk, by)
		sender.PktSent.addPending(&f.pendSize[dir], &f.pendFlags[dir])
		receiver.PktRcvd.addPending(&f.pendSize[dir], &f.pendFlags[dir])

		s := &t.stats
		switch {
		case sender.Local && receiver.Local:
			s.Local2Local += by
		case sender.Local:
			s.Local2Remote += by
		case receiver.Local:
			s.Remote2Local += by
		default:
			s.Remote2Remote += by
		}
		if f.ServerName != "" && f.L7.Master == l7.HTTP { // named by its Host header
			if v := f.srv.vhost(f.ServerName); v != nil {
				if sender == f.srv {
					v.BytesSent += by
				} else {
					v.BytesRcvd += by
				}
			}
		}
		if f.hasMAC[dir] {
			sender.MAC, sender.HasMAC = f.mac[dir], true
			if name := t.addMACLocked(f.mac[dir]); name != "" && name != sender.DHCPName() {
				sender.rareOf().dhcpName = name
			}
		}
		for _, h := range [2]*Host{sender, receiver} {
			if f.LastSeen > h.LastSeen {
				h.LastSeen = f.LastSeen
			}
		}
		f.pendPkts[dir], f.pendBytes[dir] = 0, 0
		f.pendSize[dir] = [NumSizeBuckets]uint16{}
		f.pendFlags[dir] = [4]uint16{}
	}
	f.flushActivity(&bc)
	t.rateListLocked(f)
}

// pendLocked readies direction dir of f for one more packet (or kernel
// delta) of DSCP value dscp. Its pending counts are synced first when they
// belong to another DSCP class, and when one more could overflow them:
// they are 16-bit, and a packet or delta adds at most one to a size
// bucket and one to a flag class, never more than it adds packets. A flow
// is synced every second anyway; the second case costs a sync only to one
// that carries 65,535 packets a way in between.
func (t *Table) pendLocked(f *Flow, dir int, dscp uint8) {
	cls := dscpClassOf[dscp&63]
	if (cls != f.dscpClass[dir] && f.pendPkts[dir] > 0) || f.pendPkts[dir] >= math.MaxUint16 {
		t.syncFlowLocked(f)
	}
	f.dscpClass[dir] = cls
}

// bookedCounters are a flow's two hosts' counters of the application and
// category its traffic is booked under, by end (0 client, 1 server, as
// dirC2S's sender and receiver), made on first use.
type bookedCounters struct {
	booked   l7.Result
	app      l7.Protocol
	cat      uint8
	l7, cats [2]*L7Counters
}

func bookedFor(f *Flow, cats *l7.Catalog) bookedCounters {
	booked := f.booked()
	return bookedCounters{booked: booked, app: booked.AppID(), cat: cats.Category(booked)}
}

func (b *bookedCounters) of(h *Host, end int) (app, cat *L7Counters) {
	if b.l7[end] == nil {
		b.l7[end], b.cats[end] = h.l7Of(b.app), h.categoryOf(b.cat)
	}
	return b.l7[end], b.cats[end]
}

// rateListLocked puts a flow that changed, and its hosts, on the lists
// UpdateRates looks at.
func (t *Table) rateListLocked(f *Flow) {
	if !f.rateListed {
		f.rateListed = true
		t.rateFlows = append(t.rateFlows, f)
	}
	for _, h := range [2]*Host{f.cli, f.srv} {
		if h != nil && !h.rateListed {
			h.rateListed = true
			t.rateHosts = append(t.rateHosts, h)
		}
	}
}

// markActive records a packet time for the hosts' activity periods. A
// pending span is flushed when the flow was idle for a whole period, so a
// flow that pauses between two syncs does not count the pause as activity.
func (f *Flow) markActive(ts int64, cat *l7.Catalog) {
	if f.pendFirst != 0 && ts/5e9 > f.pendLast/5e9+1 {
		bc := bookedFor(f, cat)
		f.flushActivity(&bc)
	}
	if f.pendFirst == 0 {
		f.pendFirst = ts
	}
	f.pendLast = max(f.pendLast, ts)
}

// flushActivity applies the pending activity span to both hosts, overall
// and for the application and category the flow's bytes are booked under
// (bc).
func (f *Flow) flushActivity(bc *bookedCounters) {
	if f.pendFirst == 0 {
		return
	}
	for end, h := range [2]*Host{f.cli, f.srv} {
		l7c, catc := bc.of(h, end)
		h.active.touch(f.pendFirst, f.pendLast)
		l7c.touch(f.pendFirst, f.pendLast)
		catc.touch(f.pendFirst, f.pendLast)
	}
	f.pendFirst, f.pendLast = 0, 0
}

// l7Of and categoryOf return the host's counters of an application or a
// category, created on first use (both key spaces are small and fixed).
func (h *Host) l7Of(app l7.Protocol) *L7Counters { return h.L7.of(app) }
func (h *Host) categoryOf(cat uint8) *L7Counters { return h.Categories.of(cat) }

// addMACLocked notes a MAC seen as a sender and returns the name its DHCP
// client gave, if any.
func (t *Table) addMACLocked(mac [6]byte) (dhcpName string) {
	name, ok := t.macs[mac]
	if !ok && len(t.macs) < t.cfg.MaxHosts {
		t.macs[mac] = ""
	}
	return name
}
