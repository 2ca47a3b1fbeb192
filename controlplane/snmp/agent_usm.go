package snmp

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/gosnmp/gosnmp"
)

// usmAgent is the agent's side of SNMPv3's User-based Security Model
// (RFC 3414) for one user: engine discovery, the time window, and
// answering at the request's security level. gosnmp checks the digest and
// decrypts (its trap-receiver path does exactly that for an incoming
// message); this adds what an authoritative engine must do on top.
type usmAgent struct {
	user     USMUser
	engineID string
	boots    uint32
	start    time.Time
	// keys holds the user's keys localized to engineID, for responses.
	keys *gosnmp.UsmSecurityParameters

	// usmStats counters reported in Report PDUs.
	unknownEngineIDs uint32
	notInTimeWindows uint32
	unsupportedLevel uint32
}

// timeWindow is RFC 3414 3.2.7's 150 seconds.
const timeWindow = 150

func newUSMAgent(u USMUser, engineID string, boots uint32) (*usmAgent, error) {
	keys := u.usm(engineID)
	if err := keys.InitSecurityKeys(); err != nil {
		return nil, fmt.Errorf("localize v3 keys: %w", err)
	}
	return &usmAgent{user: u, engineID: engineID, boots: boots, keys: keys}, nil
}

// decoder is a gosnmp instance set up so that UnmarshalTrap(msg, true)
// authenticates and decrypts requests for the user (keys re-localized to
// the engine ID the message claims; handle checks it is ours), and lets
// engine-discovery probes through unauthenticated.
func (u *usmAgent) decoder() *gosnmp.GoSNMP {
	return &gosnmp.GoSNMP{
		Version:            gosnmp.Version3,
		SecurityModel:      gosnmp.UserSecurityModel,
		MsgFlags:           u.user.Level.flags(),
		SecurityParameters: u.user.usm(u.engineID),
	}
}

func (u *usmAgent) engineTime(now time.Time) uint32 {
	if now.Before(u.start) {
		return 0
	}
	return uint32(now.Sub(u.start) / time.Second)
}

// handle answers a decoded v3 request, or reports why it cannot.
func (u *usmAgent) handle(req *gosnmp.SnmpPacket, view func() mibView, now time.Time) []byte {
	sp, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok || req.SecurityModel != gosnmp.UserSecurityModel {
		return nil
	}
	level := req.MsgFlags & gosnmp.AuthPriv
	reportable := req.MsgFlags&gosnmp.Reportable != 0
	// Discovery (RFC 3414 4): a manager asks with an empty engine ID
	// and learns ours, and our boots and time, from the report.
	if sp.AuthoritativeEngineID != u.engineID {
		u.unknownEngineIDs++
		if !reportable {
			return nil
		}
		return u.report(req, gosnmp.NoAuthNoPriv, "", oidUnknownEngineIDs, u.unknownEngineIDs, now)
	}
	if level < u.user.Level.flags() {
		u.unsupportedLevel++
		if !reportable {
			return nil
		}
		return u.report(req, gosnmp.NoAuthNoPriv, sp.UserName, oidUnsupportedSecLevels, u.unsupportedLevel, now)
	}
	if level&gosnmp.AuthNoPriv != 0 {
		t := int64(u.engineTime(now))
		if sp.AuthoritativeEngineBoots != u.boots || abs(int64(sp.AuthoritativeEngineTime)-t) > timeWindow {
			u.notInTimeWindows++
			// Authenticated, so the manager can trust the boots and time
			// in it and resend (RFC 3414 3.2.7 a).
			return u.report(req, gosnmp.AuthNoPriv, sp.UserName, oidNotInTimeWindows, u.notInTimeWindows, now)
		}
	}
	ans, ok := view().process(req, false)
	if !ok {
		return nil
	}
	limit := maxUDPPayload
	if req.MsgMaxSize > 0 && int(req.MsgMaxSize) < limit {
		limit = int(req.MsgMaxSize)
	}
	b, err := fitResponse(ans, req.PDUType, limit, func(an answer) ([]byte, error) {
		return u.encode(req, level, sp.UserName, gosnmp.GetResponse, an, now)
	})
	if err != nil {
		return nil
	}
	return b
}

// report is a Report PDU with one usmStats counter.
func (u *usmAgent) report(req *gosnmp.SnmpPacket, level gosnmp.SnmpV3MsgFlags, user, stat string, count uint32, now time.Time) []byte {
	b, err := u.encode(req, level, user, gosnmp.Report, answer{vars: []gosnmp.SnmpPDU{
		{Name: stat, Type: gosnmp.Counter32, Value: count},
	}}, now)
	if err != nil {
		return nil
	}
	return b
}

// encode builds a v3 message from our engine at the given level.
func (u *usmAgent) encode(req *gosnmp.SnmpPacket, level gosnmp.SnmpV3MsgFlags, user string, pdu gosnmp.PDUType, an answer, now time.Time) ([]byte, error) {
	sp := &gosnmp.UsmSecurityParameters{
		AuthoritativeEngineID:    u.engineID,
		AuthoritativeEngineBoots: u.boots,
		AuthoritativeEngineTime:  u.engineTime(now),
		UserName:                 user,
		AuthenticationProtocol:   u.keys.AuthenticationProtocol,
		PrivacyProtocol:          u.keys.PrivacyProtocol,
		SecretKey:                u.keys.SecretKey,
		PrivacyKey:               u.keys.PrivacyKey,
	}
	if level == gosnmp.AuthPriv {
		// The salt must never repeat under one key (RFC 3826 3.1.1.1);
		// 64 random bits make that as sure as a counter would.
		sp.PrivacyParameters = make([]byte, 8)
		if _, err := rand.Read(sp.PrivacyParameters); err != nil {
			return nil, err
		}
	}
	pkt := &gosnmp.SnmpPacket{
		Version:            gosnmp.Version3,
		MsgFlags:           level,
		SecurityModel:      gosnmp.UserSecurityModel,
		SecurityParameters: sp,
		MsgID:              req.MsgID,
		MsgMaxSize:         maxUDPPayload,
		ContextEngineID:    u.engineID,
		ContextName:        req.ContextName,
		PDUType:            pdu,
		RequestID:          req.RequestID,
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
