package export

import (
	"encoding/binary"
	"time"
)

// dialect is what differs between IPFIX and NetFlow v9 framing.
type dialect struct {
	name          string
	headerLen     int
	templateSetID uint16
	padSets       bool // pad every set to 4 bytes
	relativeTimes bool // flow times count from sysUptime's origin (NetFlow v9)
	recordSeq     bool // the sequence number counts data records, not messages
	templates     [numKinds]template
	putHeader     func(b []byte, h *header)
}

// header is what a message header may carry.
type header struct {
	length   int
	records  int // data and template records in the message
	seq      uint32
	domain   uint32
	unixSecs int64
	uptimeMs uint32
}

// domainState is the per observation domain state of a transport session.
type domainState struct {
	seq            uint32
	templatesSent  bool
	templatesAt    time.Time
	sinceTemplates int       // messages since the last one with templates
	lastAt         time.Time // the last message
	burstUntil     time.Time // every message carries templates until then
}

// burstWindow is how long every message of a burst carries the templates.
// A collector that decodes datagrams in parallel (goflow2's workers) drops
// data whose template another worker has not yet stored, and the messages
// of a burst are decoded side by side: only messages that carry their
// templates are safe until the first ones have been decoded. A burst is
// what follows a new session or a domain quiet for a template refresh
// interval (a live table exports at its 5-minute block cadence; a capture
// file at its end), when the collector may have (re)started without them.
// The cost is the template set (220 bytes) in the messages of the
// burst's first second; the refresh cadence applies after it.
const burstWindow = time.Second

// encoder turns direction records into messages for one transport session
// (a UDP socket, a TCP connection).
type encoder struct {
	d           *dialect
	limit       int // message size
	domainBase  uint32
	stream      bool // TCP: templates once per session
	refresh     time.Duration
	refreshMsgs int
	bootMs      int64 // NetFlow v9 sysUptime origin, unix ms
	domains     map[uint32]*domainState
	msg         message // reused: send gets a pointer, which would escape
	offs        []int   // reused: where each record of a message goes
	hdr         header  // reused: putHeader is called through a func value
}

func newEncoder(c Collector, bootMs int64) *encoder {
	d := ipfix()
	if c.Protocol == ProtocolNetFlow9 {
		d = netflow9()
	}
	return &encoder{
		d:           d,
		limit:       c.messageSize(),
		domainBase:  c.ObservationDomain,
		stream:      c.Transport == TransportTCP,
		refresh:     time.Duration(c.TemplateRefresh) * time.Second,
		refreshMsgs: c.TemplateRefreshMessages,
		bootMs:      bootMs,
		domains:     make(map[uint32]*domainState),
	}
}

// reset starts a new transport session: templates go out again first and
// sequence numbers restart, as a collector expects of a new connection.
func (e *encoder) reset() { clear(e.domains) }

// message is one encoded message; it is reused by the next one.
type message struct {
	b         []byte
	records   int // data records
	templates int // template records
}

// encode turns recs, grouped by interface, into messages and hands each to
// send. It stops at the first error of send and returns it with the
// number of records in the messages handed to send so far, the failed one
// included.
func (e *encoder) encode(recs []dirRec, now time.Time, send func(*message) error) (int, error) {
	reserve := 0
	if e.d.padSets {
		reserve = 3 // the padding of the last set
	}
	i := 0
	for i < len(recs) {
		domain := e.domainBase + uint32(recs[i].ifID)
		ds := e.domains[domain]
		if ds == nil {
			ds = &domainState{}
			e.domains[domain] = ds
		}
		m := &e.msg
		b := append(m.b[:0], make([]byte, e.d.headerLen)...)
		m.records, m.templates = 0, 0
		if e.templatesDue(ds, now) {
			b = e.appendTemplateSet(b)
			m.templates = numKinds
			ds.templatesSent, ds.templatesAt, ds.sinceTemplates = true, now, 0
		}
		// The records' places are laid out first and filled once the
		// message's span of flow times, which NetFlow v9's clock
		// depends on, is known.
		start := i
		offs := e.offs[:0]
		setStart, setKind := -1, kind(numKinds)
		for ; i < len(recs) && e.domainBase+uint32(recs[i].ifID) == domain; i++ {
			k := recs[i].kind()
			t := &e.d.templates[k]
			need := t.recLen
			if k != setKind {
				need += 4 + e.pad(b, setStart)
			}
			// Limits of at least MinMTU always take one record.
			if m.records > 0 && len(b)+need+reserve > e.limit {
				break
			}
			if k != setKind {
				b = e.closeSet(b, setStart)
				setStart, setKind = len(b), k
				b = binary.BigEndian.AppendUint16(b, t.id) // data set id = template id
				b = append(b, 0, 0)                        // length, filled by closeSet
			}
			offs = append(offs, len(b))
			b = append(b, make([]byte, t.recLen)...)
			m.records++
		}
		b = e.closeSet(b, setStart)
		e.offs = offs
		clk := e.clock(recs[start:i], now)
		for n, off := range offs {
			r := &recs[start+n]
			t := &e.d.templates[r.kind()]
			// In place: the capacity ends where the record does.
			appendData(b[off:off:off+t.recLen], t, r, &clk)
		}
		e.hdr = header{
			length: len(b), records: m.records + m.templates, seq: ds.seq, domain: domain,
			unixSecs: clk.secs, uptimeMs: clk.uptime,
		}
		e.d.putHeader(b, &e.hdr)
		// Counted when encoded: a message that then fails to send
		// leaves a gap the collector can see as loss.
		if e.d.recordSeq {
			ds.seq += uint32(m.records)
		} else {
			ds.seq++
		}
		ds.sinceTemplates++
		ds.lastAt = now
		m.b = b
		if err := send(m); err != nil {
			return i, err
		}
	}
	return i, nil
}

// clock is the time a message's header and NetFlow v9 records state.
func (e *encoder) clock(recs []dirRec, now time.Time) msgClock {
	if !e.d.relativeTimes {
		// IPFIX: the export time is the wall clock's; flow times are
		// absolute milliseconds of their own.
		return msgClock{secs: now.Unix()}
	}
	first, last := recs[0].firstMs, recs[0].lastMs
	for i := range recs[1:] {
		first = min(first, recs[i+1].firstMs)
		last = max(last, recs[i+1].lastMs)
	}
	return nf9Clock(now.UnixMilli(), e.bootMs, first, last)
}

// templatesDue: a session's first message carries the templates. Over UDP
// (RFC 7011 8.4) a collector may have missed them (lost datagram,
// restarted collector), so every message of a burst carries them (see
// burstWindow) and, after it, one in every refreshMsgs messages and one
// every refresh interval; a TCP session delivers them once for good.
func (e *encoder) templatesDue(ds *domainState, now time.Time) bool {
	if e.stream {
		return !ds.templatesSent
	}
	if !ds.templatesSent || now.Sub(ds.lastAt) >= e.refresh {
		ds.burstUntil = now.Add(burstWindow)
	}
	if now.Before(ds.burstUntil) {
		return true
	}
	return ds.sinceTemplates >= e.refreshMsgs || now.Sub(ds.templatesAt) >= e.refresh
}

func (e *encoder) appendTemplateSet(b []byte) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, e.d.templateSetID)
	b = append(b, 0, 0)
	for k := range e.d.templates {
		b = appendTemplateRecord(b, &e.d.templates[k])
	}
	// Template records are multiples of 4 bytes: no padding needed.
	return e.closeSet(b, start)
}

// pad is the padding the set starting at start needs (none if no set).
func (e *encoder) pad(b []byte, start int) int {
	if start < 0 || !e.d.padSets {
		return 0
	}
	return (4 - (len(b)-start)%4) % 4
}

// closeSet pads the set starting at start and writes its length, which
// includes the padding.
func (e *encoder) closeSet(b []byte, start int) []byte {
	if start < 0 {
		return b
	}
	for range e.pad(b, start) {
		b = append(b, 0) // RFC 3954 and 7011: padding octets are zero
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start))
	return b
}
