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
	"time"

	"github.com/gosnmp/gosnmp"
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
	// V3User, if set, is the one SNMPv3 user whose traps are accepted.
	V3User *USMUser
	OnTrap func(Trap)
	Logger *slog.Logger
	Now    func() time.Time
}

// TrapReceiver listens for traps with gosnmp's TrapListener.
type TrapReceiver struct {
	opts TrapOptions
	log  *slog.Logger
	tl   *gosnmp.TrapListener
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
	if o.V3User != nil {
		u := *o.V3User
		if err := u.normalize(); err != nil {
			return nil, fmt.Errorf("snmp trap receiver: v3 user: %w", err)
		}
		o.V3User = &u
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
	return &TrapReceiver{opts: o, log: o.Logger.With("component", "snmp-traps")}, nil
}

// Start binds the address and returns once traps are being received, or
// with the bind error.
func (r *TrapReceiver) Start() error {
	params := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Timeout: 2 * time.Second}
	// gosnmp formats a dozen lines per packet when it has a logger.
	if r.log.Enabled(context.Background(), slog.LevelDebug) {
		params.Logger = gosnmp.NewLogger(log.New(slogWriter{r.log}, "", 0))
	}
	if u := r.opts.V3User; u != nil {
		// The sender is the authoritative engine of a trap: gosnmp
		// localizes the user's keys to the engine ID each trap carries.
		params.Version = gosnmp.Version3
		params.SecurityModel = gosnmp.UserSecurityModel
		params.MsgFlags = u.Level.flags()
		params.SecurityParameters = u.usm("")
	}
	tl := gosnmp.NewTrapListener()
	tl.Params = params
	tl.OnNewTrap = r.handle
	r.tl = tl
	r.done = make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(r.done)
		errc <- tl.Listen(r.opts.Addr)
	}()
	select {
	case <-tl.Listening():
		r.log.Info("snmp trap receiver listening", "addr", r.opts.Addr)
		return nil
	case err := <-errc:
		if err == nil {
			err = errors.New("listener stopped")
		}
		return fmt.Errorf("snmp trap receiver: listen %s: %w", r.opts.Addr, err)
	}
}

// Close stops receiving; safe to call more than once.
func (r *TrapReceiver) Close() {
	r.once.Do(func() {
		if r.tl == nil {
			return
		}
		r.tl.Close()
		<-r.done
	})
}

func (r *TrapReceiver) handle(p *gosnmp.SnmpPacket, from *net.UDPAddr) {
	t := Trap{Source: from.String(), Time: r.opts.Now(), Inform: p.IsInform}
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
		if len(r.opts.Communities) > 0 && !slices.Contains(r.opts.Communities, p.Community) {
			r.log.Debug("snmp trap with unknown community dropped", "from", t.Source)
			return
		}
		t.Community = p.Community
	}
	if p.PDUType == gosnmp.Trap {
		fillV1(&t, p)
	} else {
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
	}
	r.opts.OnTrap(t)
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
