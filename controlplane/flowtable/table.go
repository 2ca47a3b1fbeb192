// Package flowtable keeps the live flow and host tables of one interface,
// with ntopng's semantics: a flow is (VLAN, L4 protocol, client IP:port,
// server IP:port) plus the DNS transaction id for DNS, and a host is an IP
// address per VLAN.
//
// One capture goroutine writes a table; REST handlers read it under the
// read lock. Flow deltas leave the table as store.FlowRecord batches at every
// 5-minute block boundary of the table's clock, when flows expire, on Flush
// and, for the store only, on FlushDeltas (a live table's flush interval).
package flowtable

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// Config sets up a table.
type Config struct {
	IfID int
	// StoreID is the interface's id in the store (default IfID): stable per
	// interface name across restarts, where ntopng's ifid is the position
	// on the command line.
	StoreID   *uint16
	Name      string
	LocalNets []netip.Prefix

	// Offline tables (capture files) never expire anything: after the last
	// packet every host and flow stays, as ntopng does with a pcap.
	Offline bool
	// ExpireOffline makes an offline table expire idle flows and hosts on
	// its packet clock (checked once per second of it), as a live one does
	// on the wall clock: a capture far larger than the table then keeps
	// only what is active, at the price of ntopng's pcap answers.
	ExpireOffline bool

	FlowIdle       time.Duration // default 60 s
	LocalHostIdle  time.Duration // default 300 s
	RemoteHostIdle time.Duration // default 60 s
	MaxFlows       int           // default 131072
	MaxHosts       int           // default 131072

	// OnRecords receives flow deltas for the store (block boundary, expiry,
	// Flush, FlushDeltas). It is called with the table's write lock held
	// and must not call back into the table; it may block to push back on
	// the capture.
	OnRecords func([]store.FlowRecord)
	// OnExport, if set, receives flow deltas for flow export at the block
	// cadence (block boundary, expiry, Flush) whatever FlushDeltas hands
	// the store in between; nil: export shares OnRecords' deltas. Same
	// locking rules as OnRecords.
	OnExport func([]store.FlowRecord)
	// Exporting, if set, says whether OnExport has anyone to send to now.
	// While it says no, export deltas are marked as handed over without
	// records being made: a table's every block close and a file's end
	// no longer copy every flow for nothing. Called with the table's lock
	// held; it must be cheap and must not call back into the table.
	Exporting func() bool
	// OnBlockClosed, if set, is told (after OnRecords got the block's last
	// deltas) that a live table's block is over: its partial records can
	// be merged. Offline tables emit each block once and never call it.
	// Same locking rules as OnRecords.
	OnBlockClosed func(storeID uint16, block int64)

	// L7 is what the classifier knows of applications (server names,
	// address lists, a custom protocols file); nil is the built-in catalog.
	L7 *l7.Catalog
	// NoDPI leaves payloads uninspected: flows keep their port and address
	// guesses (no L7 detection, server names, TLS/QUIC/HTTP detail), for
	// links too fast to inspect and as the baseline classification's cost
	// is measured against.
	NoDPI bool
}

// EthOverhead is what ntopng adds to every packet in the interface byte
// counters: 8 bytes preamble, 12 bytes inter-frame gap, 4 bytes CRC.
const EthOverhead = 24

// Table is the live state of one interface.
type Table struct {
	mu  sync.RWMutex
	cfg Config

	flows map[flowKey]*Flow
	cache *flowCache // in front of flows for the per-packet lookup (flowcache.go)
	hosts map[hostID]*Host
	byIP  addrIndex          // the same hosts in address order: cheap default pages
	macs  map[[6]byte]string // seen MACs, with the host name their DHCP client gave
	alias map[HostKey]string // operator-given names, also for hosts not seen yet

	stats      IfaceStats
	nextHashID uint32
	dirty      []*Flow                // flows with packets not yet applied to their hosts
	syncs      uint64                 // syncs so far: the generation of the last one (see Flow.Changed)
	numLocal   int                    // hosts inside the local networks
	l7Bytes    map[l7.Protocol]uint64 // bytes per application since start
	catBytes   map[uint8]uint64       // bytes per flow category since start
	dscp       [NumDSCPClasses]uint64 // packets per DSCP class since start
	rates      Rates
	rateAt     rateState
	expiredAt  int64 // packet clock of an ExpireOffline table's last expiry
	// What UpdateRates looks at: flows and hosts that changed since the
	// last update or whose rates are still falling to zero, so that the
	// once-a-second update costs what moved, not the table's size.
	rateFlows   []*Flow
	rateHosts   []*Host
	clock       int64  // unix ns of the newest packet (or tick)
	block       int64  // start (unix s) of the current 5-minute block
	lastFlushed int    // records of the last FlushDeltas: the next one's first guess
	flushedGen  uint64 // sync generation of the last FlushDeltas: flows synced later may hold deltas
	emittedGen  uint64 // the same for the last block close or Flush (emitLocked), for both paths

	certs   l7.CertCache // leaf certificates of TLS servers, parsed once
	dnsName l7.NameBuf   // dnsLocked's scratch for a question name

	arp *arpState // what ARP taught (arp.go); nil until the first ARP frame

	// QUIC connections whose ClientHello is being put together from their
	// first Initial packets: a few at a time, each for milliseconds, so
	// the state lives here rather than in every Flow.
	quic      map[*Flow]*quicPending
	quicSwept int64 // table clock of the last sweep of abandoned entries

	// Hosts in the order they changed, and those that left (changed.go).
	changed []changedHost
	gone    goneLog[HostKey]
	inSync  bool // syncLocked is applying flows to their hosts
	flowLog      // flows in the order they changed, and those that left (changed.go)

	// Flows and flowless hosts by the second they may go idle (expiry.go).
	flowDue dueList[*Flow]
	hostDue dueList[*Host]
}

// New creates an empty table.
func New(cfg Config) *Table {
	if cfg.FlowIdle == 0 {
		cfg.FlowIdle = 60 * time.Second
	}
	if cfg.LocalHostIdle == 0 {
		cfg.LocalHostIdle = 300 * time.Second
	}
	if cfg.RemoteHostIdle == 0 {
		cfg.RemoteHostIdle = 60 * time.Second
	}
	if cfg.MaxFlows == 0 {
		cfg.MaxFlows = 131072
	}
	if cfg.MaxHosts == 0 {
		cfg.MaxHosts = 131072
	}
	return &Table{
		cfg:      cfg,
		flows:    make(map[flowKey]*Flow),
		cache:    new(flowCache),
		hosts:    make(map[hostID]*Host),
		macs:     make(map[[6]byte]string),
		alias:    make(map[HostKey]string),
		l7Bytes:  make(map[l7.Protocol]uint64),
		catBytes: make(map[uint8]uint64),
	}
}

// Config returns the table's configuration.
func (t *Table) Config() Config { return t.cfg }

// HandlePacket accounts one frame. It implements capture.Handler.
func (t *Table) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	t.mu.Lock()
	t.handleLocked(p, kind)
	t.mu.Unlock()
}

// Batched is the table as one reader's capture.BatchHandler: the table's
// lock is taken once per batch of packets instead of for each one (5 % of
// a packet's cost on long flows, measured on the bench's steady capture).
// A Batch belongs to the goroutine that reads into it.
func (t *Table) Batched() *Batch { return &Batch{t: t} }

// Batch is what Batched returns.
type Batch struct {
	t    *Table
	held bool // in a batch: the table's lock is held
}

func (b *Batch) BeginBatch() { b.t.mu.Lock(); b.held = true }
func (b *Batch) EndBatch()   { b.held = false; b.t.mu.Unlock() }

// HandlePacket accounts one frame, in the batch's lock if one is open.
func (b *Batch) HandlePacket(p *decode.Packet, kind decode.ErrKind) {
	if !b.held {
		b.t.HandlePacket(p, kind)
		return
	}
	b.t.handleLocked(p, kind)
}

// Outside runs fn with the table's lock released, if a batch holds it:
// for work between packets that reads the table (a time-series sample).
func (b *Batch) Outside(fn func()) {
	if !b.held {
		fn()
		return
	}
	b.EndBatch()
	defer b.BeginBatch()
	fn()
}

func (t *Table) handleLocked(p *decode.Packet, kind decode.ErrKind) {
	if blk := store.BlockStart(p.Timestamp / 1e9); blk > t.block {
		t.advanceBlockLocked(blk)
	}
	if p.Timestamp > t.clock {
		t.clock = p.Timestamp
		if t.cfg.ExpireOffline && t.cfg.Offline && t.clock-t.expiredAt >= int64(time.Second) {
			t.expiredAt = t.clock
			t.syncLocked() // hosts' last-seen times come from their flows
			t.expireLocked()
		}
	}
	s := &t.stats
	s.Packets++
	s.Bytes += uint64(p.WireLen) + EthOverhead
	s.WireBytes += uint64(p.WireLen)
	if s.FirstPacket == 0 {
		s.FirstPacket = p.Timestamp
	}
	s.LastPacket = p.Timestamp
	if kind != decode.ErrNone && int(kind) < len(s.Errors) {
		s.Errors[kind]++
	}
	if p.ARP.Op != 0 {
		t.arpLocked(p)
	}
	if p.IPVersion == 0 || !p.Src.IsValid() || !p.Dst.IsValid() {
		// IP frames' MACs are collected from their flows in syncLocked.
		if p.HasMAC {
			t.addMACLocked(p.SrcMAC)
		}
		return
	}
	s.IPPackets++

	var priv uint16
	if p.Proto == decode.ProtoUDP && (p.SrcPort == 53 || p.DstPort == 53) && len(p.Payload) > 20 {
		priv = uint16(p.Payload[0])<<8 | uint16(p.Payload[1])
	}

	key := makeFlowKey(p.Src, p.Dst, p.SrcPort, p.DstPort, p.VLAN, p.Proto, priv)
	f := t.flowLocked(&key)
	if f == nil {
		if len(t.flows) >= t.cfg.MaxFlows {
			s.DroppedNewFlows++
			return
		}
		f = t.newFlowLocked(key, p, priv, nil)
		if f == nil {
			return
		}
	} else if f.swapPending {
		f = t.swapLocked(key, f, p)
		if f == nil {
			return
		}
	}
	t.accountLocked(f, p)
	if p.HasMAC && p.DstMAC == bcastMAC && p.IPVersion == 4 {
		t.bcastIPLocked(f, p) // arp.go
	}
	if p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6 {
		t.unreachableLocked(p)
	}
}

// swapLocked is ntopng's (5.x) answer to a TCP flow that was first seen
// from its server side: the first flow stays in the table with the packet
// it had, and the conversation goes on in a new flow with the roles the
// other way round. The v1 API's flow counts include both.
func (t *Table) swapLocked(key flowKey, old *Flow, p *decode.Packet) *Flow {
	old.swapPending = false
	if len(t.flows) >= t.cfg.MaxFlows {
		t.stats.DroppedNewFlows++
		return nil
	}
	delete(t.flows, key)
	t.cache.drop(&key)
	rk := key
	rk.retired = old.HashID + 1
	t.flows[rk] = old
	old.retired = true
	t.flowGoneLocked(old) // readers of the flows that changed judge the conversation, not the half left behind
	// The old flow's hosts, swapped too: no lookup (they stay in the table
	// while their flows do).
	roles := flowRoles{Client: old.Server, ClientPort: old.ServerPort, Server: old.Client, ServerPort: old.ClientPort,
		cli: old.srv, srv: old.cli}
	return t.newFlowLocked(key, p, key.priv, &roles)
}

// flowRoles fixes a new flow's client and server, and its hosts when
// known, instead of its first packet's direction.
type flowRoles struct {
	Client, Server         netip.Addr
	ClientPort, ServerPort uint16
	cli, srv               *Host
}

// newFlowLocked creates the flow of key from its first packet; roles, when
// given, fixes client and server instead of the packet's direction, and
// its hosts, when it has them, are the new flow's.
func (t *Table) newFlowLocked(key flowKey, p *decode.Packet, priv uint16, roles *flowRoles) *Flow {
	f := &Flow{
		Client: p.Src, Server: p.Dst, ClientPort: p.SrcPort, ServerPort: p.DstPort,
		VLAN: p.VLAN, Proto: p.Proto, PrivateID: priv,
		FirstSeen: p.Timestamp,
	}
	switch {
	case roles != nil:
		f.Client, f.ClientPort, f.Server, f.ServerPort = roles.Client, roles.ClientPort, roles.Server, roles.ServerPort
	case p.Proto == decode.ProtoTCP && p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck:
		// Only a server answers a SYN with SYN-ACK: a capture that starts
		// there has the roles the other way round.
		f.Client, f.Server, f.ClientPort, f.ServerPort = f.Server, f.Client, f.ServerPort, f.ClientPort
	case p.Proto == decode.ProtoTCP && p.TCPFlags&decode.TCPSyn == 0 && p.SrcPort < 1024 && p.DstPort >= 1024:
		// Mid-stream from a well-known port to an ephemeral one: the
		// sender is the server. See swapLocked.
		f.swapPending = true
	}
	cli, srv := (*Host)(nil), (*Host)(nil)
	if roles != nil && roles.cli != nil && roles.srv != nil {
		cli, srv = roles.cli, roles.srv
	} else {
		cli = t.hostLocked(HostKey{f.Client, p.VLAN}, p.Timestamp)
		srv = t.hostLocked(HostKey{f.Server, p.VLAN}, p.Timestamp)
		if cli == nil || srv == nil {
			return nil
		}
	}
	f.cli, f.srv = cli, srv
	t.hostChangedLocked(cli) // flow counts and contacts
	t.hostChangedLocked(srv)
	f.HashID = uint32(t.cfg.IfID&0xff)<<24 | t.nextHashID&0xffffff
	t.nextHashID++
	cli.ActiveAsClient++
	cli.TotalAsClient++
	cli.countFlowStart(p.Timestamp)
	srv.ActiveAsServer++
	srv.TotalAsServer++
	srvHash := addrHash(f.Server)
	cli.contactsAsClient.add(srvHash)
	cli.portsAsClient.add(portValue(f.ServerPort))
	cli.servicesAsClient.add(serviceHash(f.Server, f.ServerPort))
	srv.contactsAsServer.add(addrHash(f.Client))
	srv.portsAsServer.add(portValue(f.ServerPort))
	switch {
	case p.Proto == decode.ProtoUDP && f.ServerPort == 123:
		cli.dnsOf().ntpServers.add(srvHash)
	case p.Proto == decode.ProtoTCP && (f.ServerPort == 25 || f.ServerPort == 465 || f.ServerPort == 587):
		cli.dnsOf().smtpServers.add(srvHash)
	}
	t.guessLocked(f)
	switch p.Proto {
	case 1:
		f.L7.Master, f.L7.Guessed = l7.ICMP, false
	case 58:
		f.L7.Master, f.L7.Guessed = l7.ICMPV6, false
	}
	t.flows[key] = f
	t.cache.put(&key, f)
	t.flowDueLocked(f)
	t.stats.FlowsCreated++
	return f
}

func (t *Table) hostLocked(k HostKey, ts int64) *Host {
	id := k.id()
	if h := t.hosts[id]; h != nil {
		return h
	}
	if len(t.hosts) >= t.cfg.MaxHosts {
		t.stats.DroppedNewHosts++
		return nil
	}
	h := &Host{Key: k, FirstSeen: ts, LastSeen: ts, LocalNetwork: -1, hostCounters: new(hostCounters)}
	for i, n := range t.cfg.LocalNets {
		if n.Contains(k.Addr) {
			h.Local = true
			h.LocalNetwork = int32(i)
			break
		}
	}
	h.Multicast = k.Addr.IsMulticast()
	h.Broadcast = t.isBroadcast(k.Addr)
	h.setAlias(t.alias[k])
	t.hosts[id] = h
	t.byIP.ReplaceOrInsert(hostItem{id, h})
	t.hostChangedLocked(h)
	t.hostDueLocked(h)
	if h.Local {
		t.numLocal++
	}
	t.stats.HostsCreated++
	return h
}

func (t *Table) isBroadcast(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	for _, n := range t.cfg.LocalNets {
		if n.Addr().Is4() && n.Bits() < 31 && n.Contains(a) && a == lastAddr(n) {
			return true
		}
	}
	return false
}

func lastAddr(n netip.Prefix) netip.Addr {
	b := n.Masked().Addr().As4()
	host := uint32(1)<<(32-n.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// accountLocked counts a packet in its flow. It touches only the flow:
// hosts and the interface's local/remote split are brought up to date from
// the flows' deltas in syncLocked, as ntopng updates hosts from flows in
// its housekeeping, so the per-packet cost does not grow with what hosts
// keep (and the XDP drain, which only knows flows, feeds the same path).
func (t *Table) accountLocked(f *Flow, p *decode.Packet) {
	dir := directionOf(f, p)
	t.countLocked(f, p, dir)
	if p.Proto == decode.ProtoTCP {
		t.tcpLocked(f, p, dir)
	}
	if p.Timestamp > f.LastSeen {
		f.LastSeen = p.Timestamp
	}
	t.markDirtyLocked(f)
	t.namesLocked(f, p, dir)
	if !t.cfg.NoDPI {
		t.inspectLocked(f, p, dir)
	}
}

// directionOf tells whether p goes from f's client to its server; a flow
// from an endpoint to itself is all client to server.
func directionOf(f *Flow, p *decode.Packet) int {
	if f.Client == f.Server && f.ClientPort == f.ServerPort {
		return dirC2S
	}
	if p.SrcPort != f.ClientPort || p.Src != f.Client {
		return dirS2C
	}
	return dirC2S
}

// countLocked adds p to the flow's counters in direction dir and to what
// is pending for the hosts' next sync.
func (t *Table) countLocked(f *Flow, p *decode.Packet, dir int) {
	wire := uint64(p.WireLen)
	t.pendLocked(f, dir, p.DSCP)
	if dir == dirC2S {
		f.PktsC2S++
		f.BytesC2S += wire
		f.FlagsC2S |= p.TCPFlags
		f.DSCPC2S = p.DSCP
	} else {
		f.PktsS2C++
		f.BytesS2C += wire
		f.FlagsS2C |= p.TCPFlags
		f.DSCPS2C = p.DSCP
	}
	f.pendPkts[dir]++
	f.pendBytes[dir] += wire
	f.payloadKnown = true
	f.inspected4L7 = !t.cfg.NoDPI
	if n := uint32(len(p.Payload)); n > 0 {
		if f.payloadBytes[dir] > math.MaxUint32-n {
			f.payloadBytes[dir] = math.MaxUint32
		} else {
			f.payloadBytes[dir] += n
		}
	}
	f.markActive(p.Timestamp, t.cfg.L7)
	f.pendSize[dir][sizeBucket(p.WireLen)]++
	if p.HasMAC {
		f.mac[dir], f.hasMAC[dir] = p.SrcMAC, true
	}
}

// tcpLocked follows a TCP flow: flag counts, handshake times, zero
// windows, and retransmissions/out-of-order/lost segments.
func (t *Table) tcpLocked(f *Flow, p *decode.Packet, dir int) {
	if fl := tcpFlagClass(p.TCPFlags); fl >= 0 {
		f.pendFlags[dir][fl]++
	}
	switch fl := p.TCPFlags & (decode.TCPSyn | decode.TCPAck | decode.TCPRst); {
	case fl == decode.TCPSyn && dir == dirC2S && f.synAt == 0:
		f.synAt = p.Timestamp
	case fl == decode.TCPSyn|decode.TCPAck && dir == dirS2C && f.synAt != 0 && f.synAckAt == 0:
		f.synAckAt = p.Timestamp
	case fl == decode.TCPAck && dir == dirC2S && f.synAckAt != 0 && f.ackAt == 0:
		f.ackAt = p.Timestamp
	}
	if p.TCPWindow == 0 && p.TCPFlags&(decode.TCPRst|decode.TCPSyn|decode.TCPFin) == 0 {
		f.rareOf().zeroWindow[dir]++
	}
	if ev := trackTCP(&f.tcpSeq[dir], p); ev != (TCPHealth{}) {
		// Rare: hosts and the interface are touched only then.
		f.rareOf().tcp[dir].add(ev)
		sender, receiver := f.endsOf(dir)
		sender.rareOf().tcpSent.add(ev)
		receiver.rareOf().tcpRcvd.add(ev)
		t.stats.TCP.add(ev)
	}
}

// endsOf is the sending and the receiving host of direction dir.
func (f *Flow) endsOf(dir int) (sender, receiver *Host) {
	if dir == dirS2C {
		return f.srv, f.cli
	}
	return f.cli, f.srv
}

// namesLocked learns names from the services that carry them even when
// payloads are not inspected: DNS answers, DHCP requests, mDNS announcements.
func (t *Table) namesLocked(f *Flow, p *decode.Packet, dir int) {
	if f.PrivateID != 0 || (p.Proto == decode.ProtoUDP && (p.SrcPort == 53 || p.DstPort == 53)) {
		sender, receiver := f.endsOf(dir)
		t.dnsLocked(f, p, sender, receiver)
	}
	if p.Proto != decode.ProtoUDP {
		return
	}
	if p.DstPort == 67 {
		if mac, name, ok := l7.DHCPHostName(p.Payload); ok {
			if _, seen := t.macs[mac]; seen || len(t.macs) < t.cfg.MaxHosts {
				t.macs[mac] = name
			}
		}
	}
	if p.DstPort == 5355 && !f.dnsDGAChecked {
		// LLMNR: nDPI's DNS dissector also reads queries to 5355.
		if info, ok := l7.ParseDNS(p.Payload); ok {
			t.dnsDGALocked(f, info.QName)
		}
	}
	if p.SrcPort == 5353 {
		// A host announcing itself over mDNS names itself.
		sender, _ := f.endsOf(dir)
		if name, ok := l7.MDNSName(p.Payload); ok && name != sender.MDNSName() {
			r := sender.rareOf()
			r.mdnsName, r.mdnsAt = name, p.Timestamp
		}
	}
}

// inspectLocked is deep packet inspection: server names (TLS, QUIC),
// certificates, HTTP, and payload classification until the flow's
// application is proven or the tries run out.
func (t *Table) inspectLocked(f *Flow, p *decode.Packet, dir int) {
	if len(p.Payload) == 0 {
		return
	}
	if dir == dirC2S && p.Proto == decode.ProtoTCP && f.inspected < maxInspected {
		f.inspected++
		inspectServerName(f, p.Payload, t.cfg.L7)
	}
	if dir == dirC2S && p.Proto == decode.ProtoUDP && f.inspected < maxQUICInspected {
		t.quicLocked(f, p)
	}
	if dir == dirS2C && f.tls != nil && f.tls.srv != nil {
		t.tlsServerLocked(f, p)
	}
	if f.L7.Master == l7.HTTP && !f.L7.Guessed {
		t.httpLocked(f, dir, p.Payload)
	}
	if (f.L7.Master == l7.Unknown || f.L7.Guessed) && f.l7Tries < maxL7Tries {
		f.l7Tries++
		// A file's port rule only guessed the master: the payload's proof wins.
		m := l7.Classify(p.Proto, p.SrcPort, p.DstPort, p.Payload)
		if m == l7.Unknown && p.Proto == decode.ProtoTCP && !f.miningOut && len(p.Payload) > l7.MiningMinPayload {
			if l7.MiningTCP(p.SrcPort, p.DstPort, p.Payload) {
				m = l7.Mining
			} else {
				f.miningOut = true // nDPI's Mining dissector gives up on the first miss
			}
		}
		if m == l7.Unknown && p.Proto == decode.ProtoUDP && l7.MiningUDP(p.SrcPort, p.DstPort, p.Payload) && !miningSkipsDst(p.Dst) {
			m = l7.Mining
		}
		if m != l7.Unknown {
			f.L7.Master, f.L7.Guessed = m, false
		}
		if m == l7.HTTP {
			t.httpLocked(f, dir, p.Payload)
		}
		if m == l7.DNS || m == l7.MDNS {
			if _, name, ok := l7.ParseDNSName(l7.StripTCPLengthIf(p.Proto, p.Payload), &t.dnsName); ok {
				qname := f.ServerName // dnsLocked's string of the same name, mostly
				if string(name) != qname {
					qname = string(name)
				}
				setHostMatch(f, t.cfg.L7.MatchHost(qname))
				setMiningHost(f, qname)
				t.dnsDGALocked(f, qname)
			}
		}
	}
}

// dnsDGALocked runs nDPI's DGA heuristic on a DNS-like flow's first
// question name (nDPI's DNS dissector scores each packet's, and a flow's
// packets repeat its question).
func (t *Table) dnsDGALocked(f *Flow, qname string) {
	if f.dnsDGAChecked || qname == "" {
		return
	}
	f.dnsDGAChecked = true
	t.cfg.L7.DNSDGARisk(qname, &f.risk)
}

// httpLocked counts the requests and responses an HTTP flow carries (every
// one, keep-alive connections carry many).
func (t *Table) httpLocked(f *Flow, dir int, payload []byte) {
	sender, receiver := f.endsOf(dir)
	if m, ok := l7.HTTPRequestMethod(payload); ok {
		if f.httpSeen&httpRequestSeen == 0 {
			f.httpSeen |= httpRequestSeen
			if l7.HTTPRequestRisks(payload, &f.risk) {
				f.httpSeen |= httpJavaAgent
			}
			r := f.rareOf()
			r.httpTarget, r.httpUA, _ = l7.HTTPRequestInfo(payload)
		}
		sender.httpOf().httpSent.Queries[m]++
		receiver.httpOf().httpRcvd.Queries[m]++
		if name, ok := l7.HTTPHost(payload); ok {
			if v := receiver.vhost(name); v != nil {
				v.Requests++
			}
		}
	} else if c, ok := l7.HTTPResponseClass(payload); ok {
		if f.httpSeen&httpResponseSeen == 0 {
			f.httpSeen |= httpResponseSeen
			l7.HTTPResponseRisks(payload, f.ServerName, f.httpSeen&httpJavaAgent != 0, &f.risk)
			if code, ok := l7.HTTPResponseStatus(payload); ok {
				f.rareOf().httpStatus = uint16(code)
			}
		}
		sender.httpOf().httpSent.Responses[c]++
		receiver.httpOf().httpRcvd.Responses[c]++
	}
}

// Flow.httpSeen bits: what of an HTTP flow nDPI's risk checks already saw.
const (
	httpRequestSeen  = 1 << iota // the first request (User-Agent, URL)
	httpResponseSeen             // the first response (content)
	httpJavaAgent                // the first request came from Java's User-Agent
)

// maxL7Tries is how many payload packets of a flow the classifier sees: a
// protocol shows itself in the first ones or not at all.
const maxL7Tries = 4

// maxServerName bounds a name kept from the wire (DNS names are at most
// 253 characters written out).
const maxServerName = 255

// maxInspected is how many client payload segments of a TCP flow are
// looked at for a server name; a name comes in the first one or never.
const maxInspected = 3

// guessLocked gives a new flow what nDPI knows before any payload: the
// application of the address lists (server side first, then the client's;
// a name seen later overrides it, see setApp) and a custom file's port
// rule as a guessed master.
func (t *Table) guessLocked(f *Flow) {
	cat := t.cfg.L7
	app := cat.AppForAddr(f.Server, f.ServerPort)
	if app == l7.Unknown {
		app = cat.AppForAddr(f.Client, f.ClientPort)
	}
	f.L7.App = app
	if m, ok := cat.PortRule(f.Proto, f.ServerPort); ok {
		f.L7.Master, f.L7.Guessed = m, true
	}
}

// setHostMatch takes what a server name matched: its application (a name
// that gives none keeps the address lists' one, nDPI's TLS.<ip app> for an
// unknown SNI) and its category, which nDPI gives the flow whenever a host
// pattern or the category list matched.
func setHostMatch(f *Flow, m l7.HostMatch) {
	if m.App != l7.Unknown {
		f.L7.App = m.App
	}
	if m.Name != "" || m.ByCategory {
		f.L7.Category, f.L7.HasCategory = m.Category, true
	}
}

// miningSkipsDst: nDPI's UDP Mining rule ignores datagrams to 255.x and
// to ff02::/16.
func miningSkipsDst(a netip.Addr) bool {
	if a.Is4() || a.Is4In6() {
		return a.As4()[0] == 255
	}
	b := a.As16()
	return b[0] == 0xff && b[1] == 0x02
}

// setMiningHost gives a flow to a browser miner's name (l7.MiningHost)
// the Mining category, as ntopng's NoCoin list does: its protocol stays.
func setMiningHost(f *Flow, name string) {
	if l7.MiningHost(name) {
		f.L7.Category, f.L7.HasCategory = l7.CategoryMining, true
	}
}

// inspectServerName takes the TLS SNI or the HTTP Host of a client's first
// segments as the server's name, as ntopng labels servers.
func inspectServerName(f *Flow, payload []byte, cat *l7.Catalog) {
	hello, ok := l7.ParseClientHello(payload)
	if hello.Version != 0 && f.tls == nil {
		startTLS(f, hello)
	}
	if ok {
		f.inspected = maxInspected
		f.cli.addJA3(hello.JA3)
		if name := hello.ServerName; name != "" {
			f.ServerName = name
			f.srv.nameServer(name, false)
			setHostMatch(f, cat.MatchHost(name))
			setMiningHost(f, name)
			if l7.TorSNI(name, cat.DGARisk(name, &f.risk)) {
				f.L7.App = l7.Tor
			}
		}
		return
	}
	if fp, ok := l7.SSHClientHASSH(payload); ok {
		f.inspected = maxInspected
		addFingerprint(&f.cli.rareOf().hassh, fp)
		return
	}
	if name, ok := l7.HTTPHost(payload); ok {
		f.ServerName = name
		f.inspected = maxInspected
		if v, ok := l7.HTTPHostValue(payload); ok {
			// nDPI judges the value as sent, with its port.
			l7.NumericHostRisk(v, &f.risk)
			cat.DGARisk(v, &f.risk)
		}
		f.srv.nameServer(name, true)
		// nDPI's HTTP dissector keeps the host's application even where
		// the category list claimed the name (captive.apple.com: Apple).
		m := cat.MatchHost(name)
		if m.App == l7.Unknown {
			m.App = m.Dropped
		}
		setHostMatch(f, m)
		setMiningHost(f, name)
	}
}

// startTLS gives a flow whose client opened with a ClientHello (maybe cut
// by the segment) its TLS state, and raises what the hello shows.
func startTLS(f *Flow, hello l7.ClientHello) {
	f.tls = &tlsState{srv: new(l7.TLSServerParser)}
	f.tls.info.SetClientHello(hello)
	f.tls.info.ClientRisks(f.ServerPort, &f.risk)
}

// tlsServerLocked feeds a server segment to the flow's handshake parser
// and, once it has all the handshake shows in the clear, judges it at the
// packet's time.
func (t *Table) tlsServerLocked(f *Flow, p *decode.Packet) {
	s := f.tls
	if !s.srv.Feed(p.TCPSeq, p.Payload, &s.info, &t.certs) {
		return
	}
	s.srv = nil
	s.info.ServerRisks(time.Unix(0, p.Timestamp), &f.risk)
	t.certAppLocked(f, s.info.Cert)
}

// certAppLocked is nDPI's fallback when the SNI matched nothing in its
// tables (neither an application nor the category list): the server
// certificate's subjectAltName DNS names are matched against the host
// table, the first that matches names the application (a flow to an ntop
// server whose SNI matched nothing becomes TLS.ntop).
func (t *Table) certAppLocked(f *Flow, cert *l7.TLSCert) {
	cat := t.cfg.L7
	if cert == nil {
		return
	}
	if m := cat.MatchHost(f.ServerName); f.ServerName != "" && (m.Name != "" || m.ByCategory) {
		return
	}
	for _, name := range cert.DNSNames {
		if m := cat.MatchHost(name); m.App != l7.Unknown {
			setHostMatch(f, m)
			return
		}
	}
}

// dnsLocked counts DNS queries and replies and learns host names from the
// answers: ntopng names an address after the name that was asked for.
func (t *Table) dnsLocked(f *Flow, p *decode.Packet, sender, receiver *Host) {
	// The name is decoded into the table's scratch buffer: most packets
	// only hash it, a string is made for the flow's first ones.
	info, name, ok := l7.ParseDNSName(p.Payload, &t.dnsName)
	if !ok {
		return
	}
	l7.DNSRisks(p.Payload, info, p.Proto == decode.ProtoUDP, &f.risk)
	if len(name) > 0 && (!f.dnsDGAChecked || f.ServerName == "") {
		info.QName = string(name)
	}
	t.dnsDGALocked(f, info.QName)
	if f.ServerName == "" && info.QName != "" && len(info.QName) <= maxServerName {
		// ntopng shows a DNS flow's query as its info.
		f.ServerName, f.dnsQType = info.QName, info.QType
	}
	if info.Response && !f.dnsAnswered {
		f.dnsAnswered, f.dnsRCode, f.dnsAnswerAt = true, info.RCode, p.Timestamp
	}
	sd, rd := sender.dnsOf(), receiver.dnsOf()
	if !info.Response {
		sd.dnsServers.add(addrHash(receiver.Key.Addr))
		if len(name) > 0 {
			sd.domainNames.add(nameHashBytes(name))
		}
		sd.dnsSent.Queries++
		sd.dnsSent.QueryTypes[dnsQTypeBucket(info.QType)]++
		rd.dnsRcvd.Queries++
		rd.dnsRcvd.QueryTypes[dnsQTypeBucket(info.QType)]++
		return
	}
	if info.RCode == 0 {
		sd.dnsSent.RepliesOK++
		rd.dnsRcvd.RepliesOK++
	} else {
		sd.dnsSent.RepliesError++
		rd.dnsRcvd.RepliesError++
	}
	if info.RCode != 0 || info.NumAnswers == 0 || len(name) == 0 {
		return
	}
	// Like ntopng, an answer names only hosts already in the table: an
	// address nobody talked to yet stays unnamed. The name asked for
	// becomes a string once, for the first host it names.
	asked := info.QName
	_ = l7.DNSAnswerAddrs(p.Payload, func(addr netip.Addr) {
		if h := t.hosts[HostKey{addr.Unmap(), p.VLAN}.id()]; h != nil {
			if asked == "" {
				asked = string(name)
			}
			h.Name = asked
		}
	})
}

const (
	// maxQUICInspected is how many client datagrams of a UDP flow are
	// looked at for a QUIC ClientHello: the client's first flight holds it.
	maxQUICInspected = 4
	// maxQUICPending bounds the hellos being reassembled at once.
	maxQUICPending = 1024
	// quicAbandoned is when a pending hello is given up: its flow went
	// quiet (or expired) before the rest of its first flight came.
	quicAbandoned = 10 * time.Second
)

// quicPending is one connection's hello in the making.
type quicPending struct {
	l7.QUICHello
	started int64 // unix ns, packet clock
}

// quicLocked looks for the ClientHello in a UDP flow's first client
// datagrams and, once one comes out, names the server as inspectServerName
// does for TLS over TCP. A flow whose first datagram is no QUIC Initial
// costs one cheap check.
func (t *Table) quicLocked(f *Flow, p *decode.Packet) {
	f.inspected++
	q := t.quic[f]
	if q == nil {
		if !l7.IsQUICInitial(p.Payload) || !t.roomForQUICLocked() {
			f.inspected = maxQUICInspected
			return
		}
		if t.quic == nil {
			t.quic = make(map[*Flow]*quicPending)
		}
		q = &quicPending{started: p.Timestamp}
		t.quic[f] = q
	}
	if !q.Feed(p.Payload) && f.inspected < maxQUICInspected {
		return
	}
	delete(t.quic, f)
	f.inspected = maxQUICInspected
	hello, ok := q.Hello()
	if !ok {
		return
	}
	// The Initial decrypted: QUIC is proven, whatever a port guessed.
	f.L7.Master, f.L7.Guessed = l7.QUIC, false
	if f.tls == nil {
		// No server parser: QUIC encrypts the server's flight.
		f.tls = &tlsState{}
		f.tls.info.SetClientHello(hello)
		f.tls.info.ClientRisks(f.ServerPort, &f.risk)
	}
	f.cli.addJA3(hello.JA3)
	if name := hello.ServerName; name != "" {
		f.ServerName = name
		f.srv.nameServer(name, false)
		setHostMatch(f, t.cfg.L7.MatchHost(name))
		setMiningHost(f, name)
		if l7.TorSNI(name, t.cfg.L7.DGARisk(name, &f.risk)) {
			f.L7.Master, f.L7.App = l7.TLS, l7.Tor // nDPI: Tor over TLS, even on QUIC
		}
	}
}

// roomForQUICLocked makes room for one more pending hello, dropping those
// whose flows went quiet; false if the bound is still reached.
func (t *Table) roomForQUICLocked() bool {
	full := len(t.quic) >= maxQUICPending
	since := t.clock - t.quicSwept
	if !(full && since >= int64(time.Second) || len(t.quic) > 0 && since > int64(quicAbandoned)) {
		return !full
	}
	t.quicSwept = t.clock
	for f, q := range t.quic {
		if t.clock-q.started > int64(quicAbandoned) {
			delete(t.quic, f)
		}
	}
	return len(t.quic) < maxQUICPending
}
