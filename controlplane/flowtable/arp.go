package flowtable

import (
	"net/netip"
	"time"

	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

// What the table learns from ARP, as ntopng's NetworkInterface does when it
// dissects an ARP frame:
//
//   - Broadcast domains: from every request and reply whose sender and
//     target protocol addresses differ, the sender is not 0.0.0.0 (an RFC
//     5227 probe) and the lower address is not link-local (169.254/16),
//     the domain is the shorter of the two addresses' common network:
//     prefix length 32 − bit length of (high − low), network = (sender AND
//     target) masked to it. A domain counts one hit per such frame.
//   - IP↔MAC bindings (the ARP table): the sender pair of every request
//     and reply and the target pair of every reply, when the MAC is
//     neither 00:00:00:00:00:00 nor ff:ff:ff:ff:ff:ff and the IP not
//     0.0.0.0; a binding keeps the MAC seen last.
//   - ntopng's MAC–IP association (checkMacIPAssociation), which only
//     replies feed (sender and target pairs, same exclusions): when a reply
//     gives an IP a MAC other than the one its last reply gave, an ARPEvent
//     records the change; that is what the checks engine raises as
//     alert_mac_ip_association_change, the ARP spoofing alert.
//   - Per MAC: ARP requests and replies sent (Ethernet source) and received
//     (Ethernet destination, broadcast included, as ntopng counts them).
//   - Per MAC, the IPs it answers for: the bindings whose last reply gave
//     them that MAC (ARPClaims). The checks engine raises "one MAC, many
//     IPs" from it (proxy ARP, or a spoofer poisoning a whole segment).
//
// Bindings expire by age as hosts do: one that no ARP frame refreshed for
// the table's LocalHostIdle (300 s by default) goes, with the claim it
// held, when a live table (or an ExpireOffline one) expires idle flows,
// at most every arpExpiryEvery of its clock. A capture file's table keeps
// them all, as it keeps its hosts.
//
// Broadcast domains are also learnt from IPv4 broadcast traffic. ntopng's
// notes here (../shared/research) describe the answer, not where ntopng
// learns domains from besides ARP, so the rule is the probe's. A packet
// counts when its Ethernet destination is ff:ff:ff:ff:ff:ff (a frame the
// whole segment gets: on a /23, x.y.z.255 sent to one MAC is an ordinary
// host), its source is neither 0.0.0.0 (a DHCP client that has no
// address yet) nor link-local, and it hits the first of:
//
//  1. to 255.255.255.255: the largest network known to hold the source,
//     a domain already learnt (same VLAN) or a configured local network;
//     nothing else is known of the source's netmask, so nothing else.
//  2. to the directed broadcast (last address) of a network known to hold
//     the source, learnt or configured: the largest such.
//  3. to an address ending in .255 with the source in its /24: that /24,
//     the commonest LAN mask (a longer or shorter one would have been
//     learnt from ARP or configured, and caught by 2).
//
// "Largest" because ARP's rule only gives a lower bound of a domain's size
// (two neighbours are at least that close), so the shortest prefix seen is
// the nearest to the real one. Like ARP, each packet is one hit. Without
// an Ethernet header (raw IP, loopback) nothing is learnt: there is no
// link broadcast to tell a subnet broadcast from a host. A kernel
// dataplane's deltas count in the domain the flow's first packets (seen
// on the slow path with their Ethernet header) hit. A flow the kernel
// alone saw (no slow path) has no destination MAC to go by: its deltas
// count by rules 1 and 2 only, whose destinations are broadcasts whatever
// the MAC (255.255.255.255, or the last address of a network known to
// hold the source); the .255 guess of rule 3 needs the Ethernet broadcast.
//
// Everything is per VLAN (the frame's outer tag) and bounded: past a cap
// new entries are not learnt (existing ones keep counting) and the misses
// are counted in ARPStats.
const (
	maxBcastDomains = 1024  // subnets: a real segment has a handful
	maxARPBindings  = 65536 // also bounded by the table's MaxHosts
	maxARPMACs      = 65536 // also bounded by the table's MaxHosts
	maxARPEvents    = 1024  // association changes kept for the checks engine

	arpExpiryEvery = int64(10 * time.Second) // how often bindings are checked for age
)

// BcastDomain is a broadcast domain learnt from ARP.
type BcastDomain struct {
	VLAN   uint16
	Prefix netip.Prefix
	Hits   uint64
}

// ARPBinding is an IP↔MAC pair seen in ARP.
type ARPBinding struct {
	VLAN      uint16
	IP        netip.Addr
	MAC       [6]byte // the MAC seen last with IP
	FirstSeen int64   // unix ns
	LastSeen  int64
	// replyMAC is the MAC the last reply gave IP (ntopng's association);
	// hasReply is false until a reply named IP.
	replyMAC [6]byte
	hasReply bool
}

// ARPCounters are one MAC's ARP frames.
type ARPCounters struct {
	RequestsSent, RequestsRcvd uint64
	RepliesSent, RepliesRcvd   uint64
}

// ARPEvent is an IP whose MAC changed in an ARP reply.
type ARPEvent struct {
	Seq    uint64 // 1, 2, ...: the checks engine resumes after the last it saw
	At     int64  // unix ns (packet time)
	VLAN   uint16
	IP     netip.Addr
	OldMAC [6]byte
	NewMAC [6]byte
}

// ARPStats are the interface's ARP totals and what the caps turned away.
type ARPStats struct {
	Requests, Replies uint64
	// Not learnt because a cap was reached.
	DomainsMissed, BindingsMissed, MACsMissed uint64
}

type bcastKey struct {
	vlan   uint16
	prefix netip.Prefix
}

type arpKey struct {
	vlan uint16
	ip   netip.Addr
}

type arpState struct {
	domains  map[bcastKey]*BcastDomain
	bindings map[arpKey]*ARPBinding
	macs     map[[6]byte]*ARPCounters
	events   []ARPEvent // ring, oldest first once full
	next     int        // where the next event goes when full
	seq      uint64     // Seq of the newest event
	stats    ARPStats
	// claims counts, per MAC, the bindings whose last reply gave them that
	// MAC (hasReply and replyMAC); no entry for a MAC that holds none.
	claims    map[[6]byte]int
	expiredAt int64 // table clock of the last age check of bindings
}

var (
	zeroMAC  [6]byte
	bcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// arpLocked learns from one decoded ARP request or reply.
func (t *Table) arpLocked(p *decode.Packet) {
	a, st := &p.ARP, t.arpStateLocked()
	reply := a.Op == decode.ARPReply
	if reply {
		st.stats.Replies++
	} else {
		st.stats.Requests++
	}
	if p.HasMAC {
		if c := t.arpMACLocked(p.SrcMAC); c != nil {
			if reply {
				c.RepliesSent++
			} else {
				c.RequestsSent++
			}
		}
		if c := t.arpMACLocked(p.DstMAC); c != nil {
			if reply {
				c.RepliesRcvd++
			} else {
				c.RequestsRcvd++
			}
		}
	}
	if pfx, ok := BcastDomainOf(a.Sender(), a.Target()); ok {
		if d := st.domain(p.VLAN, pfx); d != nil {
			d.Hits++
		}
	}
	t.arpBindLocked(p, a.Sender(), a.SenderMAC, reply)
	if reply {
		t.arpBindLocked(p, a.Target(), a.TargetMAC, true)
	}
}

func (t *Table) arpStateLocked() *arpState {
	if t.arp == nil {
		t.arp = &arpState{
			domains:  make(map[bcastKey]*BcastDomain),
			bindings: make(map[arpKey]*ARPBinding),
			macs:     make(map[[6]byte]*ARPCounters),
			claims:   make(map[[6]byte]int),
		}
	}
	return t.arp
}

// domain is the domain pfx of vlan, learnt now if it is new and the cap
// allows; nil (counted) past the cap.
func (st *arpState) domain(vlan uint16, pfx netip.Prefix) *BcastDomain {
	k := bcastKey{vlan, pfx}
	d := st.domains[k]
	if d == nil {
		if len(st.domains) >= maxBcastDomains {
			st.stats.DomainsMissed++
			return nil
		}
		d = &BcastDomain{VLAN: vlan, Prefix: pfx}
		st.domains[k] = d
	}
	return d
}

// bcastIPLocked counts an IPv4 packet f carried to the Ethernet broadcast
// in the domain BcastIPDomain picks, and remembers it on f for deltas.
func (t *Table) bcastIPLocked(f *Flow, p *decode.Packet) {
	st := t.arp
	if r := f.rd(); r.bcast != nil && st != nil && int(r.bcastN) == len(st.domains) && p.Dst == f.Server {
		r.bcast.Hits++ // the same packet as the last one, the same domains known
		return
	}
	var learnt func(netip.Prefix) bool
	if st != nil && len(st.domains) > 0 {
		learnt = func(pfx netip.Prefix) bool { return st.domains[bcastKey{p.VLAN, pfx}] != nil }
	}
	pfx, ok := BcastIPDomain(p.Src, p.Dst, learnt, t.cfg.LocalNets, true)
	if !ok {
		return
	}
	st = t.arpStateLocked()
	if d := st.domain(p.VLAN, pfx); d != nil {
		d.Hits++
		r := f.rareOf()
		r.bcast, r.bcastN = d, int32(len(st.domains))
	}
}

// bcastDeltaLocked counts in f's domain the packets a kernel dataplane's
// delta saw f's client send (to the broadcast address, its server). A flow
// the packet path never saw gets its domain here (see above); ApplyDeltas
// calls this for those whose server address is odd, as every broadcast
// address is, and for those with a domain.
func (t *Table) bcastDeltaLocked(f *Flow, d *flow.Delta) {
	if f.rd().bcast == nil {
		if f.payloadKnown {
			return // the packet path saw it, with its MACs, and found no broadcast
		}
		st := t.arp
		var learnt func(netip.Prefix) bool
		if st != nil && len(st.domains) > 0 {
			learnt = func(pfx netip.Prefix) bool { return st.domains[bcastKey{f.VLAN, pfx}] != nil }
		}
		pfx, ok := BcastIPDomain(f.Client, f.Server, learnt, t.cfg.LocalNets, false)
		if !ok {
			return
		}
		bd := t.arpStateLocked().domain(f.VLAN, pfx)
		if bd == nil {
			return
		}
		f.rareOf().bcast = bd
	}
	for side := flow.AtoB; side <= flow.BtoA; side++ {
		sender := d.A
		if side == flow.BtoA {
			sender = d.B
		}
		if sender == f.Client && f.Client != f.Server {
			f.rare.bcast.Hits += d.Pkts[side]
		}
	}
}

// BcastIPDomain is the broadcast domain an IPv4 packet from src to the
// broadcast address dst hits, by the rule above; learnt says whether a
// domain is already known (nil: none is), localNets are the configured
// local networks, guess24 allows rule 3 (the frame went to the Ethernet
// broadcast). ok is false when the packet names no domain.
func BcastIPDomain(src, dst netip.Addr, learnt func(netip.Prefix) bool, localNets []netip.Prefix, guess24 bool) (netip.Prefix, bool) {
	if !src.Is4() || !dst.Is4() || src == dst {
		return netip.Prefix{}, false
	}
	s, d := u32(src), u32(dst)
	if s == 0 || s&0xFFFF0000 == 0xA9FE0000 {
		return netip.Prefix{}, false
	}
	limited := d == 0xFFFFFFFF
	// holds says whether the network of prefix length bits holding src
	// has dst as its broadcast (any network holding src, for limited).
	holds := func(bits int) bool {
		host := uint32(0xFFFFFFFF) >> bits // bits < 32
		return limited || (d&host == host && (s^d)&^host == 0)
	}
	// The largest known network that fits, learnt or configured: the
	// shortest prefix wins, so the answer does not depend on the order
	// domains were learnt in (a kernel dataplane's deltas come in any).
	best := -1
	if learnt != nil {
		// A /31 (RFC 3021) has no directed broadcast, but its two hosts
		// share the limited one.
		maxBits := 30
		if limited {
			maxBits = 31
		}
		for bits := 0; bits <= maxBits; bits++ {
			if holds(bits) && learnt(prefixOf(s, bits)) {
				best = bits
				break
			}
		}
	}
	for _, n := range localNets {
		if n.Addr().Is4() && n.Bits() <= 30 && (best < 0 || n.Bits() < best) && n.Contains(src) && holds(n.Bits()) {
			best = n.Bits()
		}
	}
	if best >= 0 {
		return prefixOf(s, best), true
	}
	if guess24 && !limited && d&0xFF == 0xFF && s>>8 == d>>8 {
		return prefixOf(s, 24), true
	}
	return netip.Prefix{}, false
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// prefixOf is the network of prefix length bits (0..32) holding v.
func prefixOf(v uint32, bits int) netip.Prefix {
	pfx, _ := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).Prefix(bits)
	return pfx
}

// BcastDomainOf is the broadcast domain ntopng derives from an ARP frame's
// sender and target protocol addresses (see above); ok is false when the
// frame names none.
func BcastDomainOf(sender, target netip.Addr) (netip.Prefix, bool) {
	if !sender.Is4() || !target.Is4() {
		return netip.Prefix{}, false
	}
	s4, t4 := sender.As4(), target.As4()
	src := uint32(s4[0])<<24 | uint32(s4[1])<<16 | uint32(s4[2])<<8 | uint32(s4[3])
	dst := uint32(t4[0])<<24 | uint32(t4[1])<<16 | uint32(t4[2])<<8 | uint32(t4[3])
	net := src & dst
	if src > dst {
		src, dst = dst, src
	}
	diff := dst - src
	if diff == 0 || src == 0 || src&0xFFFF0000 == 0xA9FE0000 {
		return netip.Prefix{}, false
	}
	bitsLen := 0
	for d := diff; d != 0; d >>= 1 {
		bitsLen++
	}
	pfx, err := netip.AddrFrom4([4]byte{byte(net >> 24), byte(net >> 16), byte(net >> 8), byte(net)}).Prefix(32 - bitsLen)
	if err != nil {
		return netip.Prefix{}, false
	}
	return pfx, true
}

func (t *Table) arpMACLocked(mac [6]byte) *ARPCounters {
	st := t.arp
	c := st.macs[mac]
	if c == nil {
		if len(st.macs) >= min(maxARPMACs, t.cfg.MaxHosts) {
			st.stats.MACsMissed++
			return nil
		}
		c = &ARPCounters{}
		st.macs[mac] = c
	}
	return c
}

func (t *Table) arpBindLocked(p *decode.Packet, ip netip.Addr, mac [6]byte, reply bool) {
	if mac == zeroMAC || mac == bcastMAC || !ip.IsValid() || ip.IsUnspecified() {
		return
	}
	st := t.arp
	k := arpKey{p.VLAN, ip}
	b := st.bindings[k]
	if b == nil {
		if len(st.bindings) >= min(maxARPBindings, t.cfg.MaxHosts) {
			st.stats.BindingsMissed++
			return
		}
		b = &ARPBinding{VLAN: p.VLAN, IP: ip, FirstSeen: p.Timestamp}
		st.bindings[k] = b
	}
	b.MAC, b.LastSeen = mac, p.Timestamp
	if !reply {
		return
	}
	if b.hasReply && b.replyMAC != mac {
		st.addEvent(ARPEvent{At: p.Timestamp, VLAN: p.VLAN, IP: ip, OldMAC: b.replyMAC, NewMAC: mac})
	}
	if !b.hasReply || b.replyMAC != mac {
		if b.hasReply {
			st.unclaim(b.replyMAC)
		}
		st.claims[mac]++
	}
	b.replyMAC, b.hasReply = mac, true
}

func (st *arpState) unclaim(mac [6]byte) {
	if n := st.claims[mac]; n <= 1 {
		delete(st.claims, mac)
	} else {
		st.claims[mac] = n - 1
	}
}

// expireARPLocked drops the bindings no ARP frame refreshed for the local
// host idle time (see above); expireLocked calls it.
func (t *Table) expireARPLocked() {
	st := t.arp
	if st == nil || t.clock-st.expiredAt < arpExpiryEvery {
		return
	}
	st.expiredAt = t.clock
	for k, b := range st.bindings {
		if t.clock-b.LastSeen > int64(t.cfg.LocalHostIdle) {
			if b.hasReply {
				st.unclaim(b.replyMAC)
			}
			delete(st.bindings, k)
		}
	}
}

func (st *arpState) addEvent(e ARPEvent) {
	st.seq++
	e.Seq = st.seq
	if len(st.events) < maxARPEvents {
		st.events = append(st.events, e)
		return
	}
	st.events[st.next] = e
	st.next = (st.next + 1) % maxARPEvents
}

// BcastDomains calls fn for every broadcast domain learnt (any order).
func (v View) BcastDomains(fn func(d BcastDomain)) {
	if v.t.arp == nil {
		return
	}
	for _, d := range v.t.arp.domains {
		fn(*d)
	}
}

// ARPBindings calls fn for every IP↔MAC binding (any order).
func (v View) ARPBindings(fn func(b ARPBinding)) {
	if v.t.arp == nil {
		return
	}
	for _, b := range v.t.arp.bindings {
		fn(*b)
	}
}

// ARPClaims calls fn for every MAC that ARP replies gave some IPs to, with
// how many IPs its replies hold now (any order).
func (v View) ARPClaims(fn func(mac [6]byte, ips int)) {
	if v.t.arp == nil {
		return
	}
	for mac, n := range v.t.arp.claims {
		fn(mac, n)
	}
}

// ARPClaimed calls fn for every binding mac holds by a reply (any order).
func (v View) ARPClaimed(mac [6]byte, fn func(b ARPBinding)) {
	if v.t.arp == nil || v.t.arp.claims[mac] == 0 {
		return
	}
	for _, b := range v.t.arp.bindings {
		if b.hasReply && b.replyMAC == mac {
			fn(*b)
		}
	}
}

// ARPCounters are mac's ARP frames (zero if it sent or received none).
func (v View) ARPCounters(mac [6]byte) ARPCounters {
	if v.t.arp == nil {
		return ARPCounters{}
	}
	if c := v.t.arp.macs[mac]; c != nil {
		return *c
	}
	return ARPCounters{}
}

// ARPStats are the interface's ARP totals.
func (v View) ARPStats() ARPStats {
	if v.t.arp == nil {
		return ARPStats{}
	}
	return v.t.arp.stats
}

// ARPEvents calls fn, oldest first, for the association changes with a
// Seq after after that the ring still holds, and returns the newest Seq
// (after, when there is none). Events pushed out before being read are
// lost, bounded by the ring's size.
func (v View) ARPEvents(after uint64, fn func(e ARPEvent)) uint64 {
	st := v.t.arp
	if st == nil || st.seq <= after {
		return after
	}
	n := len(st.events)
	for i := 0; i < n; i++ {
		e := st.events[(st.next+i)%n]
		if e.Seq > after {
			fn(e)
		}
	}
	return st.seq
}

// ARPLearner feeds a table ARP frames that are accounted elsewhere (an XDP
// interface's kernel counters): it learns from them without counting them
// again in the interface totals. It implements capture.Handler.
type ARPLearner struct{ T *Table }

// HandlePacket learns from p if it is an ARP request or reply.
func (l ARPLearner) HandlePacket(p *decode.Packet, _ decode.ErrKind) {
	if p.ARP.Op == 0 {
		return
	}
	l.T.mu.Lock()
	l.T.arpLocked(p)
	l.T.mu.Unlock()
}
