package snmp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/probe-appliance/probe/internal/badinput"
)

// AgentOptions configure the appliance's own SNMP agent. It is read-only
// and serves the system group, ifNumber, ifTable and ifXTable.
type AgentOptions struct {
	// Addr is the UDP address to answer on (default "0.0.0.0:161").
	Addr string
	// Community is the v1/v2c read community; empty turns v1/v2c off.
	// Requests with another community get no answer, as from net-snmp.
	Community string
	// V3User is the one SNMPv3 user; nil turns v3 off.
	V3User *USMUser
	// EngineID is the agent's snmpEngineID (5..32 bytes); default random,
	// which makes v3 managers re-discover it after each restart. A caller
	// that persists it must persist and increment EngineBoots too.
	EngineID    []byte
	EngineBoots uint32 // default 1
	System      SystemInfo
	// Interfaces is called for the IF-MIB view, at most twice a second.
	Interfaces func() []AgentIface
	Logger     *slog.Logger
	Now        func() time.Time
}

// Agent answers SNMP requests for the appliance itself. It is off until
// Start.
type Agent struct {
	opts  AgentOptions
	log   *slog.Logger
	dec   *gosnmp.GoSNMP // decodes v1/v2c requests
	usm   *usmEngine     // v3: nil without a v3 user
	start time.Time

	mu     sync.Mutex
	sys    SystemInfo
	view   mibView
	viewAt time.Time

	conn *net.UDPConn
	done chan struct{}
	once sync.Once
}

// viewTTL is how long a built view answers requests: a walk's requests
// see one consistent table, and a manager's burst does not call
// Interfaces per packet.
const viewTTL = 500 * time.Millisecond

// maxUDPPayload is the largest response we send over IPv4 UDP.
const maxUDPPayload = 65507

// NewAgent checks o; errors are badinput.
func NewAgent(o AgentOptions) (*Agent, error) {
	if o.Addr == "" {
		o.Addr = "0.0.0.0:161"
	}
	if _, err := net.ResolveUDPAddr("udp", o.Addr); err != nil {
		return nil, badinput.Wrap(fmt.Errorf("snmp agent: address %q: %w", o.Addr, err))
	}
	if o.Community == "" && o.V3User == nil {
		return nil, badinput.Errorf("snmp agent: needs a community or a v3 user")
	}
	if len(o.Community) > 127 {
		return nil, badinput.Errorf("snmp agent: community longer than 127 bytes")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interfaces == nil {
		o.Interfaces = func() []AgentIface { return nil }
	}
	if o.EngineBoots == 0 {
		o.EngineBoots = 1
	}
	if o.System.ObjectID != "" {
		if _, err := parseOID(o.System.ObjectID); err != nil {
			return nil, badinput.Wrap(fmt.Errorf("snmp agent: sysObjectID: %w", err))
		}
	}
	a := &Agent{opts: o, log: o.Logger.With("component", "snmp-agent"), sys: o.System}
	a.dec = &gosnmp.GoSNMP{Version: gosnmp.Version2c}
	if o.V3User != nil {
		u := *o.V3User
		if err := u.normalize(); err != nil {
			return nil, fmt.Errorf("snmp agent: v3 user: %w", err)
		}
		if len(o.EngineID) == 0 {
			o.EngineID = randomEngineID()
			a.opts.EngineID = o.EngineID
		}
		if len(o.EngineID) < 5 || len(o.EngineID) > 32 {
			return nil, badinput.Errorf("snmp agent: engine ID of %d bytes, RFC 3411 wants 5..32", len(o.EngineID))
		}
		usm, err := newUSMEngine([]USMUser{u}, string(o.EngineID), o.EngineBoots, a.log)
		if err != nil {
			return nil, fmt.Errorf("snmp agent: %w", err)
		}
		a.usm = usm
	}
	return a, nil
}

// randomEngineID is an RFC 3411 engine ID in the "octets" format under
// no enterprise: 0x80000000, format 5, then 8 random bytes.
func randomEngineID() []byte {
	id := []byte{0x80, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}
	rand.Read(id[5:])
	return id
}

// EngineID is the agent's snmpEngineID.
func (a *Agent) EngineID() []byte { return slices.Clone(a.opts.EngineID) }

// SetSystem replaces the system group (sysName edited in the UI…).
func (a *Agent) SetSystem(s SystemInfo) {
	a.mu.Lock()
	a.sys, a.view = s, nil
	a.mu.Unlock()
}

// Start binds the address and answers requests until Close.
func (a *Agent) Start() error {
	addr, err := net.ResolveUDPAddr("udp", a.opts.Addr)
	if err != nil {
		return fmt.Errorf("snmp agent: %w", err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return fmt.Errorf("snmp agent: listen %s: %w", a.opts.Addr, err)
	}
	a.conn, a.done, a.start = conn, make(chan struct{}), a.opts.Now()
	if a.usm != nil {
		a.usm.setStart(a.start)
	}
	go a.serve()
	a.log.Info("snmp agent listening", "addr", conn.LocalAddr().String())
	return nil
}

// Addr is the bound address (useful with port 0).
func (a *Agent) Addr() net.Addr {
	if a.conn == nil {
		return nil
	}
	return a.conn.LocalAddr()
}

// Close stops answering; safe to call more than once.
func (a *Agent) Close() error {
	var err error
	a.once.Do(func() {
		if a.conn == nil {
			return
		}
		err = a.conn.Close()
		<-a.done
	})
	return err
}

func (a *Agent) serve() {
	defer close(a.done)
	buf := make([]byte, 65535)
	for {
		n, from, err := a.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			a.log.Debug("snmp agent read", "err", err)
			continue
		}
		if out := a.handle(buf[:n], from); out != nil {
			if _, err := a.conn.WriteToUDP(out, from); err != nil {
				a.log.Debug("snmp agent write", "to", from, "err", err)
			}
		}
	}
}

// handle answers one datagram, or returns nil to stay silent. gosnmp's
// decoder was written for answers from devices, not for whatever the
// network sends; a panic in it drops the packet, not the appliance.
func (a *Agent) handle(msg []byte, from *net.UDPAddr) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Warn("snmp agent: undecodable request", "from", from, "panic", r)
			out = nil
		}
	}()
	if v, ok := msgVersion(msg); ok && v == 3 {
		if a.usm == nil {
			return nil
		}
		return a.handleV3(msg, from)
	}
	req, err := a.dec.UnmarshalTrap(msg, true)
	if err != nil || req == nil || req.Version == gosnmp.Version3 {
		a.log.Debug("snmp agent: request dropped", "from", from, "err", err)
		return nil
	}
	if a.opts.Community == "" || req.Community != a.opts.Community {
		return nil // RFC 3584: no answer, only an authenticationFailure count
	}
	ans, ok := a.currentView().process(req, req.Version == gosnmp.Version1)
	if !ok {
		return nil
	}
	b, err := fitResponse(ans, req.PDUType, maxUDPPayload, func(an answer) ([]byte, error) {
		resp := &gosnmp.SnmpPacket{
			Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse,
			RequestID: req.RequestID, Error: an.status, ErrorIndex: errIndex(an.index), Variables: an.vars,
		}
		return resp.MarshalMsg()
	})
	if err != nil {
		a.log.Warn("snmp agent: cannot encode response", "err", err)
		return nil
	}
	return b
}

// handleV3 answers a v3 request, or sends the usmStats Report that says
// why it cannot (RFC 3414 3.2).
func (a *Agent) handleV3(msg []byte, from *net.UDPAddr) []byte {
	now := a.opts.Now()
	m, report := a.usm.process(msg, from.String(), now)
	if m == nil {
		return report
	}
	ans, ok := a.currentView().process(m.pkt, false)
	if !ok {
		return nil
	}
	limit := maxUDPPayload
	if m.pkt.MsgMaxSize > 0 && int(m.pkt.MsgMaxSize) < limit {
		limit = int(m.pkt.MsgMaxSize)
	}
	b, err := fitResponse(ans, m.pkt.PDUType, limit, func(an answer) ([]byte, error) {
		return a.usm.reply(m, gosnmp.GetResponse, an, now)
	})
	if err != nil {
		a.log.Warn("snmp agent: cannot encode response", "err", err)
		return nil
	}
	return b
}

// USMStats are the agent's usmStats counters (refused v3 requests).
func (a *Agent) USMStats() USMStats {
	if a.usm == nil {
		return USMStats{}
	}
	return a.usm.Stats()
}

// currentView is the view, rebuilt if older than viewTTL.
func (a *Agent) currentView() mibView {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.view != nil && time.Since(a.viewAt) < viewTTL {
		return a.view
	}
	now := a.opts.Now()
	a.view = buildView(a.sys, a.opts.Interfaces(), a.ticks(now), a.ticks)
	if a.usm != nil {
		// USM-MIB's usmStats (RFC 3414 5) come after every IF-MIB OID.
		a.view = append(a.view, usmStatsView(a.usm.Stats())...)
	}
	a.viewAt = time.Now()
	return a.view
}

// ticks is t as sysUpTime: hundredths of a second since Start, 0 before.
func (a *Agent) ticks(t time.Time) uint32 {
	if t.IsZero() || t.Before(a.start) {
		return 0
	}
	return uint32(t.Sub(a.start) / (10 * time.Millisecond))
}

// errIndex fits a 1-based binding index into gosnmp's byte; bindings past
// 255 in an erroring request are rare enough to point at the last one.
func errIndex(i int) uint8 { return uint8(min(i, 255)) }

// fitResponse encodes ans and, when the message is over limit, trims a
// GETBULK answer (which may legitimately return fewer bindings) or turns
// anything else into tooBig with no bindings (RFC 3416 4.2.1).
func fitResponse(ans answer, pdu gosnmp.PDUType, limit int, encode func(answer) ([]byte, error)) ([]byte, error) {
	b, err := encode(ans)
	if err != nil && ans.status != gosnmp.NoError {
		// An erroring request's bindings are echoed; values gosnmp cannot
		// re-encode are sent back as NULL.
		ans.vars = nullValues(ans.vars)
		b, err = encode(ans)
	}
	if err != nil {
		return nil, err
	}
	for len(b) > limit && pdu == gosnmp.GetBulkRequest && len(ans.vars) > 1 {
		keep := len(ans.vars) * limit / len(b) * 9 / 10
		ans.vars = ans.vars[:max(1, min(keep, len(ans.vars)-1))]
		if b, err = encode(ans); err != nil {
			return nil, err
		}
	}
	if len(b) > limit {
		return encode(answer{status: gosnmp.TooBig})
	}
	return b, nil
}

func nullValues(vars []gosnmp.SnmpPDU) []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, len(vars))
	for i, v := range vars {
		out[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Null}
	}
	return out
}
