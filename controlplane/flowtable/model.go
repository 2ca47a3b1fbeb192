package flowtable

import (
	"iter"
	"net/netip"
	"strings"
	"time"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// Flow is one conversation as ntopng sees it: client and server are fixed
// when the flow is created (the sender of the first packet is the client,
// unless that packet is a SYN-ACK, which only a server sends).
type Flow struct {
	Client, Server         netip.Addr
	ClientPort, ServerPort uint16
	VLAN                   uint16
	Proto                  uint8
	// swapPending: the next packet moves the conversation to a swapped
	// flow. Read for every packet: here, in the cache line the packet's
	// direction is read from, and in what was padding.
	swapPending bool
	PrivateID   uint16 // DNS transaction id, 0 otherwise

	HashID    uint32 // per-interface serial, ntopng's hash_id
	FirstSeen int64  // unix ns, packet clock
	LastSeen  int64

	PktsC2S, PktsS2C   uint64
	BytesC2S, BytesS2C uint64
	FlagsC2S, FlagsS2C uint8
	DSCPC2S, DSCPS2C   uint8

	// What every packet touches comes first, in as few cache lines as
	// will hold it (the flow's key and counters above, what waits for the
	// next sync, TCP sequence tracking, then classification); what the
	// periodic work reads (flushes, rates, TCP troubles) after.

	// Packets not yet applied to the hosts (see Table.syncLocked), per
	// direction (dirC2S, dirS2C). The flag and size counts are 16-bit: a
	// flow is synced before its pending packets reach 65,535 (pendLocked).
	pendPkts  [2]uint64
	pendBytes [2]uint64
	pendFlags [2][4]uint16 // syn, synack, finack, rst
	pendFirst int64        // time of the first pending packet, 0 if none
	pendLast  int64        // time of the last pending packet
	dscpClass [2]uint8     // class of the pending packets
	mac       [2][6]byte   // source MAC of the last packet each way
	hasMAC    [2]bool
	dirty     bool // on the table's dirty list
	// rateListed: on the table's list of what UpdateRates looks at (it
	// changed since the last update, or its rates are not zero yet);
	// gone: left the table (the list drops it at the next update).
	rateListed, gone bool
	pendSize         [2][NumSizeBuckets]uint16

	tcpSeq [2]tcpSeq

	// Handshake times (unix ns, 0 until seen): the network latency of each
	// side follows from them.
	synAt, synAckAt, ackAt int64

	// L4 payload bytes per direction (saturating); payloadKnown is false
	// for flows fed only by a kernel dataplane (no payloads there).
	payloadBytes [2]uint32
	payloadKnown bool
	inspected4L7 bool // its payloads go through detection (see booked)

	L7        l7.Result // application protocol, from the first payloads
	l7Tries   uint8
	inspected uint8

	ServerName  string // TLS SNI or HTTP Host seen from the client; DNS: the name asked for
	unreach     uint8  // ICMP unreachable errors already counted (unreachPort, unreachHost)
	retired     bool   // left behind by a swap: the conversation goes on in another flow
	dnsAnswered bool   // a DNS flow's response was seen (dnsRCode is valid)
	dnsRCode    uint8  // its response code
	dnsQType    uint16 // a DNS flow's query type; its name is ServerName
	dnsAnswerAt int64  // packet time of a DNS flow's first response (unix ns), 0 before

	risk l7.RiskInfo // nDPI flow risks found in the payloads, with their texts
	// dnsDGAChecked: the flow's DNS query name went through nDPI's DGA
	// heuristic (once: later packets of a DNS flow repeat the question).
	dnsDGAChecked bool
	// miningOut: a TCP payload that is not Mining came first (nDPI asks
	// its Mining dissector about the first one only).
	miningOut bool
	httpSeen  uint8     // httpRequestSeen | httpResponseSeen
	tls       *tlsState // only for flows that started with a ClientHello
	// What most flows never have (TCP troubles, HTTP, a broadcast
	// domain), made at the first of them: see flowRare.
	rare *flowRare

	// Read by the periodic work, not per packet.
	// synced is the table's sync generation that last applied packets of
	// this flow (see Changed): readers that remember the generation of
	// their last look skip the flows that did not change since.
	synced uint64
	// Counters already handed to the store (the next flush writes the
	// rest), and to flow export (Config.OnExport), which keeps the block
	// cadence while the store is flushed more often.
	flushed, exported handed

	ThptBps, ThptPps    float64 // bits/packets per second, see UpdateRates
	rateBytes, ratePkts uint64

	cli, srv *Host
}

// flowRare is the part of a flow most flows never need. A flow under churn
// is then 512 bytes instead of 704: the largest size Go allocates without
// a type header.
type flowRare struct {
	tcp        [2]TCPHealth // troubles per direction (client to server, server to client)
	zeroWindow [2]uint32    // segments advertising a zero receive window, per direction
	// The first request's target and User-Agent and the first response's
	// status code, which ntopng shows with the flow.
	httpTarget, httpUA string
	httpStatus         uint16
	// bcast is the broadcast domain the flow's packets to a broadcast
	// address last hit (arp.go), so that a kernel dataplane's deltas of the
	// flow count there too; nil for every other flow. bcastN is how many
	// domains were known when it was chosen: domains are only ever added,
	// so while that number holds the choice does too.
	bcastN int32
	bcast  *BcastDomain
}

// The parts of flows and hosts most of them never need are made at their
// first write (made) and read as all zero before (orZero): each kind has
// one shared zero value that nothing writes.
func made[T any](p **T) *T {
	if *p == nil {
		*p = new(T)
	}
	return *p
}

func orZero[T any](p, zero *T) *T {
	if p == nil {
		return zero
	}
	return p
}

var (
	noFlowRare flowRare
	noRare     hostRare
	noDNS      hostDNS
	noHTTP     hostHTTP
)

// rareOf is f's rare part for writing, rd for reading.
func (f *Flow) rareOf() *flowRare { return made(&f.rare) }
func (f *Flow) rd() *flowRare     { return orZero(f.rare, &noFlowRare) }

// TCP is the troubles of its TCP segments per direction (client to server,
// server to client).
func (f *Flow) TCP() [2]TCPHealth { return f.rd().tcp }

// ZeroWindow is its segments advertising a zero receive window, per
// direction.
func (f *Flow) ZeroWindow() [2]uint32 { return f.rd().zeroWindow }

// Protocol is the flow's application protocol: what its payload proved,
// else nDPI's guess from the server port (Guessed set).
func (f *Flow) Protocol() l7.Result {
	r := f.L7
	if r.Master == l7.Unknown {
		// Also under an address-list app: nDPI gives up as TLS.AmazonAWS.
		if g := l7.GuessByPort(f.Proto, f.ServerPort); g != l7.Unknown {
			r.Master, r.Guessed = g, true
		}
	}
	return r
}

// booked is the protocol the flow's traffic is booked under in host and
// interface L7 counters when its deltas are synced, as ntopng books them in
// its housekeeping: what detection proved so far. A flow whose payloads
// the classifier sees but that none identified yet counts as Unknown (nDPI
// applies its port and address guesses only when it gives up on the flow,
// after its traffic was booked); a flow only the kernel dataplane fed, or
// whose payloads are not inspected (NoDPI), keeps its guess, there being
// no detection to wait for.
func (f *Flow) booked() l7.Result {
	if f.inspected4L7 && (f.L7.Master == l7.Unknown || f.L7.Guessed) {
		return l7.Result{}
	}
	return f.Protocol()
}

// tlsState is a TLS flow's handshake: what was learnt, and the server-side
// parser while the handshake is in the clear (dropped after: flows outlive
// their handshakes by far).
type tlsState struct {
	info l7.TLSInfo
	srv  *l7.TLSServerParser
}

// DNS is what a DNS flow (one transaction) asked and got: the query type,
// the response code once answered; the name asked for is ServerName.
func (f *Flow) DNS() (qtype uint16, rcode uint8, answered bool) {
	return f.dnsQType, f.dnsRCode, f.dnsAnswered
}

// HTTP is what ntopng shows of an HTTP flow: the URL of its first request
// (the server name and the target), its User-Agent, the status code of the
// first response (0 before one).
func (f *Flow) HTTP() (url, userAgent string, status int) {
	r := f.rd()
	switch t := r.httpTarget; {
	case strings.HasPrefix(t, "/"):
		url = f.ServerName + t
	case strings.Contains(t, "://"): // absolute form, as to a proxy
		_, url, _ = strings.Cut(t, "://")
	}
	return url, r.httpUA, int(r.httpStatus)
}

// AlertAt is the packet time (unix ns) ntopng raises the flow's alerts at
// when the probe knows it, 0 otherwise (the checks pass that finds them):
// a DNS flow's at its first response, where ntopng's DNS detection ends
// and its protocol-detected checks run.
func (f *Flow) AlertAt() int64 { return f.dnsAnswerAt }

// Retired tells the flow a role swap left behind with its first packet:
// counted like ntopng does, but the conversation is the other flow's.
func (f *Flow) Retired() bool { return f.retired }

// Changed tells whether the flow took packets after the view whose
// Generation was gen (or has packets not yet synced, which a view of a
// later generation will count).
func (f *Flow) Changed(gen uint64) bool { return f.dirty || f.synced > gen }

// PayloadBytes are the L4 payload bytes client to server and server to
// client (as captured; math.MaxUint32 means at least that many); ok is
// false when the flow's packets were never seen (kernel dataplane only).
func (f *Flow) PayloadBytes() (c2s, s2c uint32, ok bool) {
	return f.payloadBytes[dirC2S], f.payloadBytes[dirS2C], f.payloadKnown
}

// Risks are the flow risks nDPI would raise on what the flow's payloads
// showed, with nDPI's info texts. Like the flow, valid while the table is
// locked (inside View); the copy itself stays consistent after.
//
// nDPI also raises UNSAFE_PROTOCOL for a flow whose application (its
// master when it has none) is of an unsafe breed, guessed or proven: that
// one follows the label, so it is added here.
func (f *Flow) Risks() l7.RiskInfo {
	ri := f.risk
	if l7.UnsafeBreed(f.Protocol().AppID()) {
		ri.Risks.Set(l7.RiskUnsafeProtocol)
	}
	return ri
}

// TLS is what the flow's TLS handshake showed, nil if the client did not
// open with a ClientHello. It must not be kept after View returns.
func (f *Flow) TLS() *l7.TLSInfo {
	if f.tls == nil {
		return nil
	}
	return &f.tls.info
}

// Latency is ntopng's network latency of a TCP flow whose handshake was
// seen: the server's (SYN → SYN-ACK) and the client's (SYN-ACK → ACK), in
// nanoseconds; ok is false without a complete handshake.
func (f *Flow) Latency() (client, server int64, ok bool) {
	if f.synAt == 0 || f.synAckAt == 0 || f.ackAt == 0 {
		return 0, 0, false
	}
	return f.ackAt - f.synAckAt, f.synAckAt - f.synAt, true
}

// Refused reports a TCP connection the server turned down: the client's
// SYN was answered with a RST and never with a SYN-ACK.
func (f *Flow) Refused() bool {
	return f.Proto == decode.ProtoTCP && f.FlagsC2S&0x02 != 0 && f.FlagsS2C&0x04 != 0 && f.FlagsS2C&0x12 != 0x12
}

// Reset reports a TCP connection that was established and then reset.
func (f *Flow) Reset() bool {
	return f.Proto == decode.ProtoTCP && (f.FlagsC2S|f.FlagsS2C)&0x04 != 0 && f.FlagsS2C&0x12 == 0x12
}

// Packets and Bytes are the totals of both directions.
func (f *Flow) Packets() uint64 { return f.PktsC2S + f.PktsS2C }
func (f *Flow) Bytes() uint64   { return f.BytesC2S + f.BytesS2C }

// Key is ntopng's 32-bit flow key.
func (f *Flow) Key() uint32 { return ntopngFlowKey(f) }

// ClientHost and ServerHost are the host entries of the two endpoints.
func (f *Flow) ClientHost() *Host { return f.cli }
func (f *Flow) ServerHost() *Host { return f.srv }

// DirCounters are sent/received packets and bytes of one class of traffic.
type DirCounters struct {
	PktsSent, PktsRcvd   uint64
	BytesSent, BytesRcvd uint64
}

func (d *DirCounters) sent(p, b uint64) { d.PktsSent += p; d.BytesSent += b }
func (d *DirCounters) rcvd(p, b uint64) { d.PktsRcvd += p; d.BytesRcvd += b }

// Packet-size buckets of ntopng's pktStats.size.
const (
	SizeUpTo64 = iota
	SizeUpTo128
	SizeUpTo256
	SizeUpTo512
	SizeUpTo1024
	SizeUpTo1518
	SizeUpTo2500
	SizeUpTo6500
	SizeUpTo9000
	SizeAbove9000
	NumSizeBuckets
)

// SizeBucketNames are ntopng's names of the buckets, in bucket order.
var SizeBucketNames = [NumSizeBuckets]string{"upTo64", "upTo128", "upTo256", "upTo512", "upTo1024", "upTo1518", "upTo2500", "upTo6500", "upTo9000", "above9000"}

func sizeBucket(n uint32) int {
	switch {
	case n <= 64:
		return SizeUpTo64
	case n <= 128:
		return SizeUpTo128
	case n <= 256:
		return SizeUpTo256
	case n <= 512:
		return SizeUpTo512
	case n <= 1024:
		return SizeUpTo1024
	case n <= 1518:
		return SizeUpTo1518
	case n <= 2500:
		return SizeUpTo2500
	case n <= 6500:
		return SizeUpTo6500
	case n <= 9000:
		return SizeUpTo9000
	}
	return SizeAbove9000
}

// Flow directions.
const (
	dirC2S = 0
	dirS2C = 1
)

// tcpFlagClass is the PktStats counter a TCP flags byte counts in: 0 SYN,
// 1 SYN-ACK, 2 FIN-ACK, 3 RST, -1 none.
func tcpFlagClass(flags uint8) int {
	switch {
	case flags&0x04 != 0:
		return 3
	case flags&0x12 == 0x12:
		return 1
	case flags&0x02 != 0:
		return 0
	case flags&0x11 == 0x11:
		return 2
	}
	return -1
}

// PktStats is one direction of a host's packet statistics.
type PktStats struct {
	Size                     [NumSizeBuckets]uint64
	Syn, SynAck, FinAck, Rst uint64
}

func (s *PktStats) addPending(size *[NumSizeBuckets]uint16, flags *[4]uint16) {
	for i, n := range size {
		s.Size[i] += uint64(n)
	}
	s.Syn += uint64(flags[0])
	s.SynAck += uint64(flags[1])
	s.FinAck += uint64(flags[2])
	s.Rst += uint64(flags[3])
}

// DNSStats counts DNS messages one way (sent or received) by a host.
type DNSStats struct {
	Queries, RepliesOK, RepliesError uint64
	QueryTypes                       [NumDNSQTypes]uint64
}

// DNS query-type buckets of ntopng's dns.*.queries.
const (
	DNSQA = iota
	DNSQNS
	DNSQCNAME
	DNSQSOA
	DNSQPTR
	DNSQMX
	DNSQTXT
	DNSQAAAA
	DNSQANY
	DNSQOther
	NumDNSQTypes
)

// DNSQTypeNames are ntopng's names of the query-type buckets.
var DNSQTypeNames = [NumDNSQTypes]string{"num_a", "num_ns", "num_cname", "num_soa", "num_ptr", "num_mx", "num_txt", "num_aaaa", "num_any", "num_other"}

func dnsQTypeBucket(t uint16) int {
	switch t {
	case 1:
		return DNSQA
	case 2:
		return DNSQNS
	case 5:
		return DNSQCNAME
	case 6:
		return DNSQSOA
	case 12:
		return DNSQPTR
	case 15:
		return DNSQMX
	case 16:
		return DNSQTXT
	case 28:
		return DNSQAAAA
	case 255:
		return DNSQANY
	}
	return DNSQOther
}

// DSCP classes as ntopng groups code points (dscp_consts.lua).
const (
	DSCPcs0 = iota
	DSCPcs1
	DSCPcs2
	DSCPcs3
	DSCPcs4
	DSCPcs5
	DSCPcs6
	DSCPcs7
	DSCPle
	DSCPunknown
	NumDSCPClasses
)

// DSCPClassNames are ntopng's keys of the classes, in class order.
var DSCPClassNames = [NumDSCPClasses]string{"cs0", "cs1", "cs2", "cs3", "cs4", "cs5", "cs6", "cs7", "le", "unknown"}

// dscpCounters are a host's counters by DSCP class. Nearly every host's
// traffic is of one class (cs0 unless marked), so that class sits inline
// and the whole array is made only when a second class shows up: 48 bytes
// per host instead of 320.
type dscpCounters struct {
	first    DirCounters
	firstCls uint8
	has      bool
	all      *[NumDSCPClasses]DirCounters
}

// of is the counters of class cls.
func (d *dscpCounters) of(cls uint8) *DirCounters {
	switch {
	case d.all != nil:
		return &d.all[cls]
	case !d.has:
		d.firstCls, d.has = cls, true
		return &d.first
	case cls == d.firstCls:
		return &d.first
	}
	d.all = new([NumDSCPClasses]DirCounters)
	d.all[d.firstCls] = d.first
	return &d.all[cls]
}

// DSCP is the host's traffic by ntopng DSCP class.
func (h *Host) DSCP() (by [NumDSCPClasses]DirCounters) {
	switch d := &h.dscp; {
	case d.all != nil:
		by = *d.all
	case d.has:
		by[d.firstCls] = d.first
	}
	return by
}

// dscpClassOf maps a 6-bit code point to its class.
var dscpClassOf = func() (t [64]uint8) {
	for d := range t {
		switch {
		case d == 0:
			t[d] = DSCPcs0
		case d == 1:
			t[d] = DSCPle
		case d == 8 || d == 10 || d == 12 || d == 14:
			t[d] = DSCPcs1
		case d >= 16 && d <= 22 && d%2 == 0:
			t[d] = DSCPcs2
		case d >= 24 && d <= 30 && d%2 == 0:
			t[d] = DSCPcs3
		case d >= 32 && d <= 38 && d%2 == 0:
			t[d] = DSCPcs4
		case d == 40 || d == 46:
			t[d] = DSCPcs5
		case d == 48:
			t[d] = DSCPcs6
		case d == 56:
			t[d] = DSCPcs7
		default:
			t[d] = DSCPunknown
		}
	}
	return t
}()

// HTTPCounts are HTTP/1.x requests by method (l7.HTTPGet…) and responses
// by status class (index 1–5 for 1xx–5xx).
type HTTPCounts struct {
	Queries   [l7.NumHTTPMethods]uint64
	Responses [6]uint64
}

// L7Counters are a host's traffic of one application protocol.
type L7Counters struct {
	DirCounters
	activity // 5-second periods with traffic: ntopng's "duration"
}

// Duration is ntopng's per-protocol duration: seconds of the 5-second
// periods that had traffic.
func (c *L7Counters) Duration() int64 { return c.seconds() }

// activity counts the 5-second periods with traffic, as ntopng's
// housekeeping does (durations and total_activity_time).
type activity struct {
	slots    int
	lastSlot int64
}

func (a *activity) seconds() int64 { return int64(a.slots) * 5 }

// touch marks every period from first to last (unix ns) as active; time
// only moves forward, so periods before the newest one are counted once.
func (a *activity) touch(first, last int64) {
	s0, s1 := first/5e9, last/5e9
	if s1 < s0 {
		s0, s1 = s1, s0
	}
	if a.slots > 0 && s0 <= a.lastSlot {
		s0 = a.lastSlot + 1
	}
	if s1 >= s0 {
		a.slots += int(s1 - s0 + 1)
		a.lastSlot = s1
	}
}

// Host is one IP address (per VLAN) seen on the interface.
type Host struct {
	Key    HostKey
	MAC    [6]byte
	HasMAC bool

	Local, Multicast, Broadcast bool
	// rateListed: on the table's list of what UpdateRates looks at (it
	// changed since the last update, or its rates are not zero yet);
	// gone: left the table (the list drops it at the next update).
	rateListed, gone bool
	LocalNetwork     int32 // index into the interface's local networks, -1 if remote

	FirstSeen int64  // unix ns
	LastSeen  int64  // unix ns
	Name      string // learnt from DNS answers

	// The generation of the first View that sees its last change (0:
	// none yet), as logged for readers of what changed (changed.go).
	changed uint64
	// Its counters without pointers, made with it (see hostCounters).
	*hostCounters
	dscp dscpCounters            // by ntopng DSCP class, see DSCP
	L7   CountersBy[l7.Protocol] // by application (nDPI id)
	// What most hosts never have (names but DNS's, ICMP and other IP
	// traffic, TCP troubles, unreachable errors, fingerprints), made at
	// the first of them: see hostRare.
	rare *hostRare
	// DNS counters and server contacts (DNSSent, ServerContacts), made
	// when the host first takes part in DNS, NTP or SMTP, and HTTP counters
	// (HTTPSent, ...), made at its first HTTP: most hosts never do, and a
	// new host under churn is smaller without them.
	dns  *hostDNS
	http *hostHTTP
	// Categories are the same per nDPI category, each flow counted under
	// its own (the host pattern's, else its application's).
	Categories CountersBy[uint8]

	contactsAsClient hashSet // addrHash of the servers it contacted
	contactsAsServer hashSet // addrHash of its clients
	portsAsClient    hashSet // portValue of the server ports it contacted
	servicesAsClient hashSet // serviceHash of the server address and port pairs it contacted
	portsAsServer    hashSet // portValue of its ports that clients contacted
}

// hostCounters are what a host counts that holds no pointer, apart from
// the rest: the garbage collector never scans them, and the rest of the
// host stays within 512 bytes, the largest size Go allocates without a
// type header (416 and 448 bytes, 864 in all where the whole host was
// 896).
type hostCounters struct {
	Traffic                     DirCounters
	TCP, UDP                    DirCounters
	UDPSentUnicast, UDPSentNonU uint64
	PktSent, PktRcvd            PktStats
	active                      activity // 5-second periods with traffic

	ActiveAsClient, ActiveAsServer uint32 // flows currently in the table
	TotalAsClient, TotalAsServer   uint64 // flows since the host appeared
	// Flows it started as client in its busiest second so far (ntopng's
	// flow flood hits), and in the second being counted.
	FlowFloodPeak uint32
	floodN        uint32
	floodSec      int64

	ThptBps, ThptPps    float64 // bits/packets per second, see UpdateRates
	rateBytes, ratePkts uint64
	dueAt               int64 // the second it is listed under for expiry, 0: not listed (expiry.go)
}

// hostRare is the part of a host most hosts never need: a client under
// churn (one flow, TCP or UDP, no troubles) does without its 256 bytes.
type hostRare struct {
	serverName     string // TLS SNI / HTTP Host clients used to reach it
	serverNameHTTP bool   // serverName came from an HTTP Host header
	mdnsName       string // what the host announced over mDNS
	mdnsAt         int64  // packet time mdnsName was learnt (unix ns)
	dhcpName       string // the name its MAC's DHCP client gave
	alias          string // set by the operator (set/host/alias)

	icmp, otherIP    DirCounters
	tcpSent, tcpRcvd TCPHealth // troubles of the TCP segments it sent / received
	unreachable      Unreachable

	ja3    map[string]uint32 // TLS client fingerprints it used, with counts
	hassh  map[string]uint32 // SSH client fingerprints it used, with counts
	vhosts map[string]*VirtualHost
}

// rareOf is h's rare part for writing, rd for reading.
func (h *Host) rareOf() *hostRare { return made(&h.rare) }
func (h *Host) rd() *hostRare     { return orZero(h.rare, &noRare) }

// ServerName is the TLS SNI or HTTP Host clients used to reach the host,
// and whether an HTTP Host header gave it.
func (h *Host) ServerName() (name string, http bool) {
	r := h.rd()
	return r.serverName, r.serverNameHTTP
}

// MDNSName is what the host announced over mDNS.
func (h *Host) MDNSName() string { return h.rd().mdnsName }

// DHCPName is the name its MAC's DHCP client gave.
func (h *Host) DHCPName() string { return h.rd().dhcpName }

// Alias is the operator's name for the host (set/host/alias).
func (h *Host) Alias() string { return h.rd().alias }

// setAlias sets (or, with "", clears) the operator's name.
func (h *Host) setAlias(alias string) {
	if alias != "" || h.rare != nil {
		h.rareOf().alias = alias
	}
}

// ICMP and OtherIP are its ICMP (v4 and v6) and other IP protocols'
// traffic.
func (h *Host) ICMP() DirCounters    { return h.rd().icmp }
func (h *Host) OtherIP() DirCounters { return h.rd().otherIP }

// TCPSent and TCPRcvd are the troubles of the TCP segments it sent and
// received.
func (h *Host) TCPSent() TCPHealth { return h.rd().tcpSent }
func (h *Host) TCPRcvd() TCPHealth { return h.rd().tcpRcvd }

// Unreachable are the ICMP unreachable errors its flows met.
func (h *Host) Unreachable() Unreachable { return h.rd().unreachable }

// hostDNSHTTP is a host's DNS and HTTP counters.
type hostDNS struct {
	dnsSent, dnsRcvd DNSStats

	// Servers of a kind the host used and the DNS names it asked for
	// (ntopng's server_contacts), each bounded by maxContacts. Only their
	// number is ever read, so they are kept as hashes (see hashSet): no
	// string kept per query.
	dnsServers, ntpServers, smtpServers hashSet // addrHash
	domainNames                         hashSet // nameHash
}

// hostHTTP is a host's HTTP counters, apart from its DNS ones: a DNS
// client under churn does not carry them.
type hostHTTP struct {
	httpSent, httpRcvd HTTPCounts // HTTP requests and responses it sent / received
	httpSentRate       HTTPCounts // the same per second (rounded), see UpdateRates
	httpRcvdRate       HTTPCounts
	httpPrev           [2]HTTPCounts
}

// dnsOf and httpOf are h's DNS and HTTP counters, made on first use.
func (h *Host) dnsOf() *hostDNS   { return made(&h.dns) }
func (h *Host) httpOf() *hostHTTP { return made(&h.http) }

// DNSSent and DNSRcvd are the DNS queries and replies the host sent and
// received; HTTPSent and HTTPRcvd its HTTP requests and responses, and
// HTTPSentRate and HTTPRcvdRate the same per second (see UpdateRates).
func (h *Host) DNSSent() DNSStats        { return h.dnsOrZero().dnsSent }
func (h *Host) DNSRcvd() DNSStats        { return h.dnsOrZero().dnsRcvd }
func (h *Host) HTTPSent() HTTPCounts     { return h.httpOrZero().httpSent }
func (h *Host) HTTPRcvd() HTTPCounts     { return h.httpOrZero().httpRcvd }
func (h *Host) HTTPSentRate() HTTPCounts { return h.httpOrZero().httpSentRate }
func (h *Host) HTTPRcvdRate() HTTPCounts { return h.httpOrZero().httpRcvdRate }

func (h *Host) dnsOrZero() *hostDNS   { return orZero(h.dns, &noDNS) }
func (h *Host) httpOrZero() *hostHTTP { return orZero(h.http, &noHTTP) }

// Label is the name ntopng shows for a host: the operator's alias (its
// Lua labels put that before everything), else LearntName.
func (h *Host) Label() string {
	if a := h.rd().alias; a != "" {
		return a
	}
	return h.LearntName()
}

// nameServer learns the name a client reached the host by (TLS SNI, HTTP
// Host): the first one stays, as ntopng's Host::offlineSet* keep a name
// once set. Its recorded alert list for test_01.pcap names 31.13.86.4
// "connect.facebook.net", the SNI of its first flow, in the alert of a
// later flow whose SNI was scontent.xx.fbcdn.net, and 104.83.123.49
// "socialize.us1.gigya.com" in the alert of the flow asking for
// comments.us1.gigya.com.
func (h *Host) nameServer(name string, http bool) {
	if r := h.rareOf(); r.serverName == "" {
		r.serverName, r.serverNameHTTP = name, http
	}
}

// LearntName is the name ntopng's Host::get_name gives a host, the one its
// alerts are stored with: the names it learnt as ntopng ranks them, "most
// relevant first": the DHCP name of its MAC, what it announced over mDNS,
// the name clients reached it by (TLS SNI, HTTP Host), the name DNS
// answers gave it. The recorded answers fix SNI before DNS:
// test_01.pcap's 13.224.102.94 is "www.repstatic.it" (its SNI) though DNS
// answered oasjs.kataweb.it first and video.repubblica.it last. A learnt
// name that is itself an IP address is passed over, as ntopng does. With
// no name, the loopback addresses are "localhost" (what ntopng's reverse
// resolution names them) and any other host its address.
func (h *Host) LearntName() string {
	return h.learntName(h.rd().mdnsName)
}

// NameAt is LearntName as ntopng showed it at packet time at (unix ns),
// the name it stores in an alert raised then. ntopng reads an mDNS
// announcement at once but shows the name from its next once-a-second
// pass on the packet clock: until the second after the announcement the
// host goes by the names it had without it. Its recorded alert list for
// test_01.pcap has 192.168.1.93 announce "Luca’s iMac" at .641847 of a
// second, the two DNS flows answered at .978920 and .986191 of that second
// stored with the address, the ones answered from .007110 of the next one
// with "lucas imac". at == 0 is now.
func (h *Host) NameAt(at int64) string {
	if r := h.rd(); at == 0 || r.mdnsName == "" || r.mdnsAt/int64(time.Second) < at/int64(time.Second) {
		return h.LearntName()
	}
	return h.learntName("")
}

// learntName ranks the names learnt with mdns as the mDNS one.
func (h *Host) learntName(mdns string) string {
	r := h.rd()
	for _, n := range [...]string{r.dhcpName, mdns, r.serverName, h.Name} {
		if n != "" && !isAddress(n) {
			return n
		}
	}
	if a := h.Key.Addr; a == loopback4 || a == netip.IPv6Loopback() {
		return "localhost"
	}
	return h.Key.Addr.String()
}

// loopback4 is the IPv4 loopback address ntopng names "localhost"; the
// rest of 127.0.0.0/8 has no name in /etc/hosts.
var loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// isAddress tells a name that is an IP address (as an HTTP Host can be).
// Names of other characters are told apart without parsing: labels are
// made for every listed host, and a failed parse allocates its error.
func isAddress(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '%' {
			break // an IPv6 zone: anything may follow
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return false
		}
	}
	_, err := netip.ParseAddr(name)
	return err == nil
}

// maxContacts bounds each contact set: a scanning host must not grow them
// without limit (the count then saturates).
const maxContacts = 4096

// ServerContacts are ntopng's server_contacts: how many DNS, NTP and SMTP
// servers the host contacted and how many distinct names it asked DNS for.
func (h *Host) ServerContacts() (dns, ntp, smtp, domainNames int) {
	c := h.dnsOrZero()
	return c.dnsServers.len(), c.ntpServers.len(), c.smtpServers.len(), c.domainNames.len()
}

// ActivityTime is ntopng's total_activity_time: seconds of the 5-second
// periods in which the host had traffic.
func (h *Host) ActivityTime() int64 { return h.active.seconds() }

// CategoryDuration is the ntopng duration of an nDPI category: seconds of
// the periods in which any of its applications had traffic.
func (h *Host) CategoryDuration(cat uint8) int64 {
	if a := h.Categories.Get(cat); a != nil {
		return a.seconds()
	}
	return 0
}

// maxJA3 bounds the fingerprints of a kind kept per host; real clients
// use a few.
const maxJA3 = 64

func (h *Host) addJA3(ja3 string) {
	if ja3 != "" {
		addFingerprint(&h.rareOf().ja3, ja3)
	}
}

func addFingerprint(m *map[string]uint32, fp string) {
	if fp == "" {
		return
	}
	if *m == nil {
		*m = make(map[string]uint32, 2)
	}
	if _, ok := (*m)[fp]; ok || len(*m) < maxJA3 {
		(*m)[fp]++
	}
}

// EachHASSH calls fn for every SSH client fingerprint the host used, with
// the number of connections that used it.
func (h *Host) EachHASSH(fn func(hassh string, uses uint32)) {
	for k, n := range h.rd().hassh {
		fn(k, n)
	}
}

// EachJA3 calls fn for every TLS client fingerprint the host used, with
// the number of connections that used it.
func (h *Host) EachJA3(fn func(ja3 string, uses uint32)) {
	for k, n := range h.rd().ja3 {
		fn(k, n)
	}
}

// VirtualHost is what an HTTP server served under one Host name.
type VirtualHost struct {
	BytesSent, BytesRcvd uint64 // of the flows whose first request named it
	Requests             uint64 // requests that named it
}

// maxVHosts bounds the names kept per server (a proxy sees many).
const maxVHosts = 64

func (h *Host) vhost(name string) *VirtualHost { return entry(&h.rareOf().vhosts, name, maxVHosts) }

// entry returns m's value for k, made (with the map) on first use while m
// has fewer than limit entries; nil once it is full.
func entry[K comparable, V any](m *map[K]*V, k K, limit int) *V {
	v := (*m)[k]
	if v == nil && len(*m) < limit {
		if *m == nil {
			*m = make(map[K]*V, 2)
		}
		v = new(V)
		(*m)[k] = v
	}
	return v
}

// CountersBy are a host's counters per application or per category.
// A host sees one or two of them (a new client under churn, one): the
// first lives in place, the others each in an allocation of their own
// listed in a slice, so a new host costs no allocation for them and a
// second key costs about a quarter of a map (a client whose flow swapped
// roles books its bytes under two applications).
type CountersBy[K comparable] struct {
	first    L7Counters
	firstKey K
	has      bool
	more     []*keyedCounters[K]
}

type keyedCounters[K comparable] struct {
	key K
	c   L7Counters
}

// of is k's counters, made on first use (both key spaces are small and
// fixed). The pointer stays valid as long as the host.
func (c *CountersBy[K]) of(k K) *L7Counters {
	if !c.has {
		c.has, c.firstKey = true, k
		return &c.first
	}
	if v := c.Get(k); v != nil {
		return v
	}
	e := &keyedCounters[K]{key: k}
	c.more = append(c.more, e)
	return &e.c
}

// Get is k's counters, nil if the host has none.
func (c *CountersBy[K]) Get(k K) *L7Counters {
	switch {
	case !c.has:
		return nil
	case c.firstKey == k:
		return &c.first
	}
	for _, e := range c.more {
		if e.key == k {
			return &e.c
		}
	}
	return nil
}

// Len is the number of keys with counters.
func (c *CountersBy[K]) Len() int {
	if !c.has {
		return 0
	}
	return 1 + len(c.more)
}

// All yields every key with its counters, in the order they came.
func (c *CountersBy[K]) All() iter.Seq2[K, *L7Counters] {
	return func(yield func(K, *L7Counters) bool) {
		if !c.has || !yield(c.firstKey, &c.first) {
			return
		}
		for _, e := range c.more {
			if !yield(e.key, &e.c) {
				return
			}
		}
	}
}

// EachVirtualHost calls fn for every HTTP Host name the host served.
func (h *Host) EachVirtualHost(fn func(name string, v VirtualHost)) {
	for k, v := range h.rd().vhosts {
		fn(k, *v)
	}
}

// Cardinality is ntopng's get/host/data "cardinality" section: distinct
// values up to maxContacts each, two addresses counting as one only if
// their 64-bit hashes collide (ntopng estimates it with HyperLogLog).
type Cardinality struct {
	HostsAsClient, PortsAsClient, ServicesAsClient int
	PortsAsServer, HostsAsServer                   int
}

func (h *Host) Cardinality() Cardinality {
	return Cardinality{
		HostsAsClient: h.contactsAsClient.len(), PortsAsClient: h.portsAsClient.len(),
		ServicesAsClient: h.servicesAsClient.len(),
		PortsAsServer:    h.portsAsServer.len(), HostsAsServer: h.contactsAsServer.len(),
	}
}

// ContactsAsClient / ContactsAsServer are the numbers of distinct peers.
func (h *Host) ContactsAsClient() int { return h.contactsAsClient.len() }

// countFlowStart counts a flow the host started at ts (unix ns) towards
// its busiest second.
func (h *Host) countFlowStart(ts int64) {
	if sec := ts / 1e9; sec != h.floodSec {
		h.floodSec, h.floodN = sec, 0
	}
	h.floodN++
	h.FlowFloodPeak = max(h.FlowFloodPeak, h.floodN)
}
func (h *Host) ContactsAsServer() int { return h.contactsAsServer.len() }

// IfaceStats are the interface-wide counters.
type IfaceStats struct {
	Packets, Bytes          uint64 // bytes include ntopng's 24-byte Ethernet overhead per packet
	WireBytes               uint64 // bytes as captured on the wire
	IPPackets               uint64
	Errors                  [16]uint64 // by decode.ErrKind
	Local2Remote            uint64
	Remote2Local            uint64
	Local2Local             uint64
	Remote2Remote           uint64
	FlowsCreated            uint64
	HostsCreated            uint64
	DroppedNewFlows         uint64 // table full
	DroppedNewHosts         uint64
	FirstPacket, LastPacket int64 // unix ns
	TCP                     TCPHealth
	// L4Bytes are the frame bytes per L4 protocol (TCP, UDP, ICMP and
	// ICMPv6, other IP) as the hosts' TCP/UDP/ICMP/OtherIP counters take
	// them at sync: what all hosts sent, hosts gone included.
	L4Bytes [4]uint64
}

// Unflushed are the flow's counters not yet handed to the store: goProbe's
// view of a flow, whose in-memory counters restart at every writeout.
func (f *Flow) Unflushed() (pktsC2S, pktsS2C, bytesC2S, bytesS2C uint64) {
	h := &f.flushed
	return f.PktsC2S - h.pktsC2S, f.PktsS2C - h.pktsS2C, f.BytesC2S - h.bytesC2S, f.BytesS2C - h.bytesS2C
}
