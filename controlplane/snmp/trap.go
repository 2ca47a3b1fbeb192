package snmp

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Trap is a notification a device sent: a v1 Trap, a v2c/v3 SNMPv2-Trap or
// an Inform (acknowledged by the receiver).
type Trap struct {
	Source    string  `json:"source"` // ip:port it came from
	Version   Version `json:"version"`
	Community string  `json:"community,omitempty"`
	User      string  `json:"user,omitempty"` // v3 security name
	Inform    bool    `json:"inform,omitempty"`
	// TrapOID is snmpTrapOID.0; v1 traps get the RFC 3584 translation
	// (linkDown is .1.3.6.1.6.3.1.1.5.3 whatever the version).
	TrapOID string `json:"trap_oid"`
	// v1 only: the header fields TrapOID was derived from.
	EnterpriseOID string `json:"enterprise_oid,omitempty"`
	AgentAddress  string `json:"agent_address,omitempty"`
	GenericTrap   int    `json:"generic_trap,omitempty"`
	SpecificTrap  int    `json:"specific_trap,omitempty"`
	// UpTime is the sender's sysUpTime, in hundredths of a second.
	UpTime uint32 `json:"uptime"`
	// Vars are the bindings after sysUpTime.0 and snmpTrapOID.0.
	Vars []Var     `json:"vars"`
	Time time.Time `json:"time"`
}

// TrapOptions configure a TrapReceiver.
type TrapOptions struct {
	// Addr is the UDP address to listen on (default "0.0.0.0:162").
	Addr string
	// Communities accepted from v1/v2c senders; empty accepts any.
	Communities []string
	// V3Users are the SNMPv3 users whose traps and informs are accepted;
	// v3 notifications from anyone else are refused, counted and logged.
	V3Users []USMUser
	// EngineID is the receiver's snmpEngineID, the authoritative one for
	// informs (RFC 3414 1.5.1): senders discover it. Default random; a
	// caller that persists it must persist and increment EngineBoots too.
	EngineID    []byte
	EngineBoots uint32 // default 1
	OnTrap      func(Trap)
	Logger      *slog.Logger
	Now         func() time.Time
}

// TrapStats count what reached the receiver and why some of it did not
// become a Trap.
type TrapStats struct {
	Received        uint64   `json:"received"`         // datagrams
	Accepted        uint64   `json:"accepted"`         // traps and informs handed to OnTrap
	BadCommunity    uint64   `json:"bad_community"`    // v1/v2c with a community not accepted
	NotNotification uint64   `json:"not_notification"` // decoded, but not a trap or an inform
	Undecodable     uint64   `json:"undecodable"`      // not an SNMP message gosnmp can read
	USM             USMStats `json:"usm"`              // v3 messages refused, by reason
}

// TrapReceiver listens for traps and informs in v1, v2c and v3.
type TrapReceiver struct {
	opts TrapOptions
	log  *slog.Logger
	dec  *gosnmp.GoSNMP // v1/v2c
	usm  *usmEngine     // v3, with no users when none are configured

	received, accepted, badCommunity, notNotification, undecodable atomic.Uint64

	conn *net.UDPConn
	done chan struct{}
	once sync.Once
}

// NewTrapReceiver checks o; Start listens.
func NewTrapReceiver(o TrapOptions) (*TrapReceiver, error) {
	if o.Addr == "" {
		o.Addr = "0.0.0.0:162"
	}
	if _, err := net.ResolveUDPAddr("udp", o.Addr); err != nil {
		return nil, fmt.Errorf("snmp trap receiver: address %q: %w", o.Addr, err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnTrap == nil {
		o.OnTrap = func(Trap) {}
	}
	if len(o.EngineID) == 0 {
		o.EngineID = randomEngineID()
	}
	if len(o.EngineID) < 5 || len(o.EngineID) > 32 {
		return nil, badinput.Errorf("snmp trap receiver: engine ID of %d bytes, RFC 3411 wants 5..32", len(o.EngineID))
	}
	if o.EngineBoots == 0 {
		o.EngineBoots = 1
	}
	r := &TrapReceiver{opts: o, log: o.Logger.With("component", "snmp-traps"), dec: &gosnmp.GoSNMP{Version: gosnmp.Version2c}}
	// gosnmp formats a dozen lines per packet when it has a logger.
	if r.log.Enabled(context.Background(), slog.LevelDebug) {
		r.dec.Logger = gosnmp.NewLogger(log.New(slogWriter{r.log}, "", 0))
	}
	usm, err := newUSMEngine(o.V3Users, string(o.EngineID), o.EngineBoots, r.log)
	if err != nil {
		return nil, fmt.Errorf("snmp trap receiver: %w", err)
	}
	// Traps come from the sender's own engine; informs to ours.
	usm.remoteTraps = true
	r.usm = usm
	return r, nil
}

// Start binds the address and returns once traps are being received, or
// with the bind error.
func (r *TrapReceiver) Start() error {
	addr, err := net.ResolveUDPAddr("udp", r.opts.Addr)
	if err != nil {
		return fmt.Errorf("snmp trap receiver: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("snmp trap receiver: listen %s: %w", r.opts.Addr, err)
	}
	r.conn, r.done = conn, make(chan struct{})
	r.usm.setStart(r.opts.Now())
	go r.serve()
	r.log.Info("snmp trap receiver listening", "addr", conn.LocalAddr().String(), "v3_users", len(r.opts.V3Users))
	return nil
}

// Addr is the bound address (useful with port 0).
func (r *TrapReceiver) Addr() net.Addr {
	if r.conn == nil {
		return nil
	}
	return r.conn.LocalAddr()
}

// EngineID is the receiver's snmpEngineID.
func (r *TrapReceiver) EngineID() []byte { return slices.Clone(r.opts.EngineID) }

// Stats are the counters so far.
func (r *TrapReceiver) Stats() TrapStats {
	return TrapStats{Received: r.received.Load(), Accepted: r.accepted.Load(), BadCommunity: r.badCommunity.Load(),
		NotNotification: r.notNotification.Load(), Undecodable: r.undecodable.Load(), USM: r.usm.Stats()}
}

// Close stops receiving; safe to call more than once.
func (r *TrapReceiver) Close() {
	r.once.Do(func() {
		if r.conn == nil {
			return
		}
		r.conn.Close()
		<-r.done
	})
}

func (r *TrapReceiver) serve() {
	defer close(r.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Debug("snmp trap receiver read", "err", err)
			continue
		}
		r.received.Add(1)
		if out := r.handle(buf[:n], from); out != nil {
			if _, err := r.conn.WriteToUDP(out, from); err != nil {
				r.log.Debug("snmp trap receiver write", "to", from, "err", err)
			}
		}
	}
}

// handle takes one datagram and returns what to send back: an inform's
// acknowledgement, a v3 Report, or nil. gosnmp's decoder was written for
// answers from devices, not for whatever the network sends; a panic in it
// drops the packet, not the appliance.
func (r *TrapReceiver) handle(msg []byte, from *net.UDPAddr) (out []byte) {
	defer func() {
		if p := recover(); p != nil {
			r.undecodable.Add(1)
			r.usm.drops.note("undecodable message", from.String(), "", fmt.Errorf("decoder panic: %v", p))
			out = nil
		}
	}()
	now := r.opts.Now()
	if v, ok := msgVersion(msg); ok && v == 3 {
		m, report := r.usm.process(msg, from.String(), now)
		if m == nil {
			return report
		}
		if !r.notification(m.pkt, from) {
			return nil
		}
		if m.pkt.PDUType != gosnmp.InformRequest {
			return nil
		}
		b, err := r.usm.reply(m, gosnmp.GetResponse, answer{vars: m.pkt.Variables}, now)
		if err != nil {
			r.log.Warn("snmp trap receiver: cannot acknowledge an inform", "from", from, "err", err)
			return nil
		}
		return b
	}
	p, err := r.dec.UnmarshalTrap(msg, false)
	if err != nil || p == nil || p.Version == gosnmp.Version3 {
		r.undecodable.Add(1)
		r.usm.drops.note("undecodable message", from.String(), "", err)
		return nil
	}
	if len(r.opts.Communities) > 0 && !slices.Contains(r.opts.Communities, p.Community) {
		// RFC 3584: no answer, only a count (and a line in the log).
		r.badCommunity.Add(1)
		r.usm.drops.note("community not accepted", from.String(), "", nil)
		return nil
	}
	if !r.notification(p, from) || p.PDUType != gosnmp.InformRequest {
		return nil
	}
	ack := &gosnmp.SnmpPacket{Version: p.Version, Community: p.Community, PDUType: gosnmp.GetResponse,
		RequestID: p.RequestID, Variables: p.Variables}
	b, err := ack.MarshalMsg()
	if err != nil {
		r.log.Warn("snmp trap receiver: cannot acknowledge an inform", "from", from, "err", err)
		return nil
	}
	return b
}

// notification hands a trap or inform to OnTrap; anything else is counted
// and dropped.
func (r *TrapReceiver) notification(p *gosnmp.SnmpPacket, from *net.UDPAddr) bool {
	switch p.PDUType {
	case gosnmp.Trap, gosnmp.SNMPv2Trap, gosnmp.InformRequest:
	default:
		r.notNotification.Add(1)
		r.usm.drops.note("not a notification", from.String(), "", fmt.Errorf("PDU %v", p.PDUType))
		return false
	}
	r.accepted.Add(1)
	r.opts.OnTrap(r.toTrap(p, from))
	return true
}

func (r *TrapReceiver) toTrap(p *gosnmp.SnmpPacket, from *net.UDPAddr) Trap {
	t := Trap{Source: from.String(), Time: r.opts.Now(), Inform: p.PDUType == gosnmp.InformRequest}
	switch p.Version {
	case gosnmp.Version1:
		t.Version = V1
	case gosnmp.Version2c:
		t.Version = V2c
	case gosnmp.Version3:
		t.Version = V3
		if usm, ok := p.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
			t.User = usm.UserName
		}
	}
	if t.Version != V3 {
		t.Community = p.Community
	}
	if p.PDUType == gosnmp.Trap {
		fillV1(&t, p)
		return t
	}
	for _, v := range p.Variables {
		switch v.Name {
		case oidSysUpTime:
			u, _ := pduUint(v)
			t.UpTime = uint32(u)
		case oidTrapOID:
			t.TrapOID, _ = pduString(v)
		default:
			t.Vars = append(t.Vars, formatVar(v))
		}
	}
	return t
}

// fillV1 translates a v1 trap header as RFC 3584 3.1 says, so that alert
// rules match one OID whatever version the device speaks.
func fillV1(t *Trap, p *gosnmp.SnmpPacket) {
	t.EnterpriseOID = p.Enterprise
	t.AgentAddress = p.AgentAddress
	t.GenericTrap = p.GenericTrap
	t.SpecificTrap = p.SpecificTrap
	t.UpTime = uint32(p.Timestamp)
	if p.GenericTrap >= 0 && p.GenericTrap < 6 {
		t.TrapOID = oidTrapsStd + "." + strconv.Itoa(p.GenericTrap+1)
	} else {
		t.TrapOID = p.Enterprise + ".0." + strconv.Itoa(p.SpecificTrap)
	}
	for _, v := range p.Variables {
		t.Vars = append(t.Vars, formatVar(v))
	}
}

// slogWriter sends gosnmp's debug log lines (decode failures of junk
// packets) to slog at debug level.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(b []byte) (int, error) {
	w.l.Debug(string(b))
	return len(b), nil
}
