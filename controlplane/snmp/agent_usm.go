package snmp

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// USMStats are the usmStats counters of RFC 3414 5 (plus the messages that
// did not parse): each is a reason a v3 message was refused.
type USMStats struct {
	UnsupportedSecLevels uint32 `json:"unsupported_sec_levels"`
	NotInTimeWindows     uint32 `json:"not_in_time_windows"`
	UnknownUserNames     uint32 `json:"unknown_user_names"`
	UnknownEngineIDs     uint32 `json:"unknown_engine_ids"`
	WrongDigests         uint32 `json:"wrong_digests"`
	DecryptionErrors     uint32 `json:"decryption_errors"`
	ParseErrors          uint32 `json:"parse_errors"`
}

// usmFailure is why a message was refused: the usmStats counter it counts
// in, and what the log says.
type usmFailure int

const (
	usmOK usmFailure = iota
	usmParseError
	usmUnknownEngineID
	usmUnknownUserName
	usmUnsupportedSecLevel
	usmWrongDigest
	usmNotInTimeWindow
	usmDecryptionError
)

func (f usmFailure) String() string {
	return [...]string{"ok", "unparsable message", "unknown engine ID", "unknown user name",
		"unsupported security level", "wrong digest (bad authentication passphrase)", "not in time window",
		"decryption error (bad privacy passphrase)"}[f]
}

// oid is the usmStats object a Report carries for f.
func (f usmFailure) oid() string {
	switch f {
	case usmUnsupportedSecLevel:
		return oidUnsupportedSecLevels
	case usmNotInTimeWindow:
		return oidNotInTimeWindows
	case usmUnknownUserName:
		return oidUnknownUserNames
	case usmUnknownEngineID:
		return oidUnknownEngineIDs
	case usmWrongDigest:
		return oidWrongDigests
	case usmDecryptionError:
		return oidDecryptionErrors
	}
	return ""
}

// usmEngine is the appliance's side of SNMPv3's User-based Security Model
// (RFC 3414) for its users: engine discovery, RFC 3414 3.2's checks in
// order with a usmStats Report for each refusal, and answers at the
// request's security level. gosnmp checks the digest and decrypts; this
// adds what an authoritative engine must do around that. The agent and
// the trap receiver each have one.
type usmEngine struct {
	engineID string
	boots    uint32
	start    atomic.Pointer[time.Time] // engine time 0; set by Start
	users    map[string]*usmUser
	// remoteTraps accepts unconfirmed notifications (traps) whose sender
	// is the authoritative engine (RFC 3414 1.5.1): keys are localized to
	// the engine ID the trap carries. The agent takes requests for its
	// own engine only.
	remoteTraps bool

	counts [usmDecryptionError + 1]atomic.Uint32
	drops  *dropLog

	// remote is the notion of other engines' boots and time that RFC 3414
	// 3.2.7 b keeps, from the traps they authenticated: a replayed or
	// stale trap falls outside the window. Only process touches it.
	remote map[string]remoteClock
}

// remoteClock is an engine's boots and time as last authenticated, and
// when that was (our clock).
type remoteClock struct {
	boots, time uint32
	at          time.Time
}

// maxRemoteEngines bounds remote: past it the engine heard from longest
// ago is forgotten (its next trap is then taken as new).
const maxRemoteEngines = 4096

type usmUser struct {
	USMUser
	dec  *gosnmp.GoSNMP                // authenticates and decrypts
	keys *gosnmp.UsmSecurityParameters // localized to our engine, for answers
}

// timeWindow is RFC 3414 3.2.7's 150 seconds.
const timeWindow = 150

func newUSMEngine(users []USMUser, engineID string, boots uint32, log *slog.Logger) (*usmEngine, error) {
	e := &usmEngine{engineID: engineID, boots: boots, users: map[string]*usmUser{}, drops: newDropLog(log),
		remote: map[string]remoteClock{}}
	now := time.Now()
	e.start.Store(&now)
	for _, u := range users {
		if err := u.normalize(); err != nil {
			return nil, fmt.Errorf("v3 user %q: %w", u.Username, err)
		}
		if _, dup := e.users[u.Username]; dup {
			return nil, fmt.Errorf("v3 user %q given twice", u.Username)
		}
		keys := u.usm(engineID)
		if err := keys.InitSecurityKeys(); err != nil {
			return nil, fmt.Errorf("localize v3 keys of %q: %w", u.Username, err)
		}
		e.users[u.Username] = &usmUser{USMUser: u, keys: keys, dec: &gosnmp.GoSNMP{
			// UnmarshalTrap(msg, true) re-localizes the keys to the engine
			// ID the message claims; process checks whose it is first.
			Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel,
			MsgFlags: u.Level.flags(), SecurityParameters: u.usm(engineID),
		}}
	}
	return e, nil
}

func (e *usmEngine) setStart(t time.Time) { e.start.Store(&t) }

func (e *usmEngine) engineTime(now time.Time) uint32 {
	start := *e.start.Load()
	if now.Before(start) {
		return 0
	}
	return uint32(now.Sub(start) / time.Second)
}

// Stats are the counters so far.
func (e *usmEngine) Stats() USMStats {
	c := func(f usmFailure) uint32 { return e.counts[f].Load() }
	return USMStats{UnsupportedSecLevels: c(usmUnsupportedSecLevel), NotInTimeWindows: c(usmNotInTimeWindow),
		UnknownUserNames: c(usmUnknownUserName), UnknownEngineIDs: c(usmUnknownEngineID), WrongDigests: c(usmWrongDigest),
		DecryptionErrors: c(usmDecryptionError), ParseErrors: c(usmParseError)}
}

// v3Message is a message that passed the USM: decrypted, from user.
type v3Message struct {
	pkt  *gosnmp.SnmpPacket
	user *usmUser
	// ours: our engine was the authoritative one (a request, an inform);
	// answers go out with our engine ID and keys.
	ours bool
}

// process runs a v3 message through RFC 3414 3.2. It returns the message,
// or the Report to send back (nil when the sender did not ask for one:
// reportable flag clear, as on traps). Every refusal is counted and logged.
func (e *usmEngine) process(msg []byte, from string, now time.Time) (*v3Message, []byte) {
	h, err := peekV3(msg)
	if err != nil {
		e.refuse(usmParseError, from, "", err)
		return nil, nil
	}
	if h.secModel != int(gosnmp.UserSecurityModel) {
		e.refuse(usmParseError, from, "", fmt.Errorf("security model %d, not USM", h.secModel))
		return nil, nil
	}
	level := gosnmp.SnmpV3MsgFlags(h.flags) & gosnmp.AuthPriv
	reportable := h.flags&byte(gosnmp.Reportable) != 0
	if level == gosnmp.SnmpV3MsgFlags(2) { // privacy without authentication: RFC 3412 7.2.5 drops it
		e.refuse(usmParseError, from, h.user, fmt.Errorf("msgFlags privacy without authentication"))
		return nil, nil
	}
	ours := h.engineID == e.engineID
	report := func(f usmFailure, u *usmUser, detail error) []byte {
		n := e.refuse(f, from, h.user, detail)
		if !reportable {
			return nil
		}
		return e.report(&h, f, u, n, now)
	}
	// 3.2.3: a request for another engine (discovery sends an empty one)
	// learns ours. A trap comes from its own engine (not reportable).
	if !ours && (reportable || !e.remoteTraps || len(h.engineID) < 5 || len(h.engineID) > 32) {
		if h.engineID == "" && h.user == "" && level == gosnmp.NoAuthNoPriv {
			// Discovery is the protocol working, not a refusal to log.
			n := e.counts[usmUnknownEngineID].Add(1)
			if !reportable {
				return nil, nil
			}
			return nil, e.report(&h, usmUnknownEngineID, nil, n, now)
		}
		return nil, report(usmUnknownEngineID, nil, fmt.Errorf("engine ID %x", h.engineID))
	}
	u, ok := e.users[h.user]
	if !ok { // 3.2.4
		return nil, report(usmUnknownUserName, nil, nil)
	}
	// 3.2.5: the level a user is configured at is the one it must use:
	// below it the request is refused, above it we have no keys.
	if level != u.Level.flags() {
		return nil, report(usmUnsupportedSecLevel, nil, fmt.Errorf("%s for a user at %s", levelName(level), u.Level))
	}
	pkt, err := u.dec.UnmarshalTrap(msg, true)
	if err != nil || pkt == nil {
		f := usmDecryptionError
		switch {
		case level == gosnmp.NoAuthNoPriv:
			f = usmParseError
		case err != nil && (strings.Contains(err.Error(), "not authentic") || strings.Contains(err.Error(), "msgAuthenticationParameters")):
			f = usmWrongDigest // 3.2.6
		case level == gosnmp.AuthNoPriv:
			f = usmParseError
		}
		if f == usmParseError {
			e.refuse(f, from, h.user, err)
			return nil, nil
		}
		return nil, report(f, nil, err)
	}
	// 3.2.7 a: the authoritative engine checks the time window; the
	// Report is authenticated, so the sender can trust the boots and time
	// in it and resend.
	if ours && level != gosnmp.NoAuthNoPriv {
		t := int64(e.engineTime(now))
		if h.boots != e.boots || abs(int64(h.time)-t) > timeWindow {
			h.requestID, h.contextName = pkt.RequestID, pkt.ContextName // decrypted now
			return nil, report(usmNotInTimeWindow, u, fmt.Errorf("boots %d time %d, ours %d %d", h.boots, h.time, e.boots, t))
		}
	}
	if !ours && level != gosnmp.NoAuthNoPriv && !e.remoteTimely(h.engineID, h.boots, h.time, now) {
		return nil, report(usmNotInTimeWindow, nil, fmt.Errorf("engine %x boots %d time %d: older than a trap it sent before", h.engineID, h.boots, h.time))
	}
	return &v3Message{pkt: pkt, user: u, ours: ours}, nil
}

// remoteTimely is RFC 3414 3.2.7 b for an authenticated trap from another
// engine: outside the window when its boots went back, or its time is
// more than 150 s behind what it said before (plus the time since). A
// timely one moves the notion forward.
func (e *usmEngine) remoteTimely(engineID string, boots, t uint32, now time.Time) bool {
	c, known := e.remote[engineID]
	if known {
		expect := int64(c.time) + int64(now.Sub(c.at)/time.Second)
		if boots == 0x7fffffff || boots < c.boots || boots == c.boots && int64(t) < expect-timeWindow {
			return false
		}
		if boots == c.boots && t <= c.time {
			return true // in the window, but no news
		}
	} else if len(e.remote) >= maxRemoteEngines {
		var oldest string
		for id, rc := range e.remote {
			if oldest == "" || rc.at.Before(e.remote[oldest].at) {
				oldest = id
			}
		}
		delete(e.remote, oldest)
	}
	e.remote[engineID] = remoteClock{boots: boots, time: t, at: now}
	return true
}

func levelName(l gosnmp.SnmpV3MsgFlags) string {
	switch l {
	case gosnmp.AuthNoPriv:
		return string(AuthNoPriv)
	case gosnmp.AuthPriv:
		return string(AuthPriv)
	}
	return string(NoAuthNoPriv)
}

// refuse counts and logs a refused message; it returns the new count.
func (e *usmEngine) refuse(f usmFailure, from, user string, detail error) uint32 {
	n := e.counts[f].Add(1)
	e.drops.note(f.String(), from, user, detail)
	return n
}

// report is a Report PDU with one usmStats counter. It is sent at
// noAuthNoPriv (RFC 3414 3.1.1 / 3.2: we cannot or must not use the
// sender's keys), except notInTimeWindow, authenticated with the user's.
func (e *usmEngine) report(h *v3Header, f usmFailure, u *usmUser, count uint32, now time.Time) []byte {
	level, user := gosnmp.NoAuthNoPriv, h.user
	if f == usmUnknownEngineID {
		user = ""
	}
	if u != nil {
		level = gosnmp.AuthNoPriv
	}
	b, err := e.encode(h.msgID, h.contextName, h.requestID, level, user, u, gosnmp.Report, answer{vars: []gosnmp.SnmpPDU{
		{Name: f.oid(), Type: gosnmp.Counter32, Value: count},
	}}, now, e.engineID)
	if err != nil {
		return nil
	}
	return b
}

// reply is the answer to an accepted message from our engine, at its
// level, with its user's keys.
func (e *usmEngine) reply(m *v3Message, pdu gosnmp.PDUType, an answer, now time.Time) ([]byte, error) {
	sp, _ := m.pkt.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	user := m.user.Username
	if sp != nil {
		user = sp.UserName
	}
	return e.encode(m.pkt.MsgID, m.pkt.ContextName, m.pkt.RequestID, m.pkt.MsgFlags&gosnmp.AuthPriv, user, m.user, pdu, an, now,
		m.pkt.ContextEngineID)
}

// encode builds a v3 message from our engine at the given level; u is
// the user whose keys sign (and encrypt) it, nil at noAuthNoPriv.
func (e *usmEngine) encode(msgID uint32, contextName string, requestID uint32, level gosnmp.SnmpV3MsgFlags, user string,
	u *usmUser, pdu gosnmp.PDUType, an answer, now time.Time, contextEngineID string) ([]byte, error) {
	sp := &gosnmp.UsmSecurityParameters{
		AuthoritativeEngineID:    e.engineID,
		AuthoritativeEngineBoots: e.boots,
		AuthoritativeEngineTime:  e.engineTime(now),
		UserName:                 user,
		AuthenticationProtocol:   gosnmp.NoAuth,
		PrivacyProtocol:          gosnmp.NoPriv,
	}
	if u != nil && level != gosnmp.NoAuthNoPriv {
		sp.AuthenticationProtocol, sp.SecretKey = u.keys.AuthenticationProtocol, u.keys.SecretKey
		if level == gosnmp.AuthPriv {
			sp.PrivacyProtocol, sp.PrivacyKey = u.keys.PrivacyProtocol, u.keys.PrivacyKey
			// The salt must never repeat under one key (RFC 3826
			// 3.1.1.1); 64 random bits make that as sure as a counter.
			sp.PrivacyParameters = make([]byte, 8)
			if _, err := rand.Read(sp.PrivacyParameters); err != nil {
				return nil, err
			}
		}
	} else {
		level = gosnmp.NoAuthNoPriv
	}
	// A response names the context the request named (an inform's is the
	// sender's engine, RFC 3412 7.1.3); a report, ours.
	ctxEngine := contextEngineID
	if ctxEngine == "" {
		ctxEngine = e.engineID
	}
	pkt := &gosnmp.SnmpPacket{
		Version:            gosnmp.Version3,
		MsgFlags:           level,
		SecurityModel:      gosnmp.UserSecurityModel,
		SecurityParameters: sp,
		MsgID:              msgID,
		MsgMaxSize:         maxUDPPayload,
		ContextEngineID:    ctxEngine,
		ContextName:        contextName,
		PDUType:            pdu,
		RequestID:          requestID,
		Error:              an.status,
		ErrorIndex:         errIndex(an.index),
		Variables:          an.vars,
	}
	return pkt.MarshalMsg()
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// dropLog logs refused messages without letting a flood of them flood the
// log: the first of each reason at once, then at most one line per reason
// and interval, saying how many went unlogged in between.
type dropLog struct {
	log      *slog.Logger
	interval time.Duration
	mu       sync.Mutex
	last     map[string]time.Time
	skipped  map[string]int
}

const dropLogInterval = time.Minute

func newDropLog(log *slog.Logger) *dropLog {
	if log == nil {
		log = slog.Default()
	}
	return &dropLog{log: log, interval: dropLogInterval, last: map[string]time.Time{}, skipped: map[string]int{}}
}

func (d *dropLog) note(reason, from, user string, detail error) {
	d.mu.Lock()
	now := time.Now()
	if t, ok := d.last[reason]; ok && now.Sub(t) < d.interval {
		d.skipped[reason]++
		d.mu.Unlock()
		return
	}
	skipped := d.skipped[reason]
	d.last[reason], d.skipped[reason] = now, 0
	d.mu.Unlock()
	args := []any{"reason", reason, "from", from}
	if user != "" {
		args = append(args, "user", user)
	}
	if detail != nil {
		args = append(args, "detail", detail.Error())
	}
	if skipped > 0 {
		args = append(args, "more_since_last_line", skipped)
	}
	d.log.Warn("snmp: v3 message refused", args...)
}
