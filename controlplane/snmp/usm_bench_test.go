package snmp

import (
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// usmBenchMessage is a v3 GET of sysName from user (keys from the given
// passphrases) to engineID, at authPriv, marshalled by gosnmp as a
// manager would send it.
func usmBenchMessage(tb testing.TB, user, authPass, privPass, engineID string, boots, engineTime uint32) []byte {
	tb.Helper()
	u := USMUser{Username: user, Level: AuthPriv, AuthProtocol: SHA, AuthPassphrase: authPass, PrivProtocol: AES, PrivPassphrase: privPass}
	sp := u.usm(engineID)
	sp.AuthoritativeEngineBoots, sp.AuthoritativeEngineTime = boots, engineTime
	sp.PrivacyParameters = []byte{0, 0, 0, 0, 0, 0, 0, 1}
	if err := sp.InitSecurityKeys(); err != nil {
		tb.Fatal(err)
	}
	pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.AuthPriv | gosnmp.Reportable,
		SecurityModel: gosnmp.UserSecurityModel, SecurityParameters: sp, MsgID: 7, MsgMaxSize: 65507,
		ContextEngineID: engineID, PDUType: gosnmp.GetRequest, RequestID: 99,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}}}
	b, err := pkt.MarshalMsg()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkUSMRefusal is what the USM costs per message: a good authPriv
// request (the baseline, decrypted), and the refusals a flood of bad
// traffic causes, each Report included. The refusal/accept ratios say
// whether hostile v3 traffic costs more than good traffic.
func BenchmarkUSMRefusal(b *testing.B) {
	const engineID = "\x80\x00\x1f\x88\x04benchmrk"
	e, err := newUSMEngine([]USMUser{testAgentUser}, engineID, 1, discardLogger())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	e.setStart(now)
	good := usmBenchMessage(b, "agentuser", "authpass123", "privpass123", engineID, 1, 0)
	cases := []struct {
		name string
		msg  []byte
		want usmFailure
	}{
		{"accepted authPriv", good, usmOK},
		{"wrong digest", usmBenchMessage(b, "agentuser", "wrongpass123", "privpass123", engineID, 1, 0), usmWrongDigest},
		{"unknown user", usmBenchMessage(b, "nobody", "authpass123", "privpass123", engineID, 1, 0), usmUnknownUserName},
		{"not in time window", usmBenchMessage(b, "agentuser", "authpass123", "privpass123", engineID, 1, 100000), usmNotInTimeWindow},
		{"unknown engine", usmBenchMessage(b, "agentuser", "authpass123", "privpass123", "\x80\x00\x1f\x88\x04otherone", 1, 0), usmUnknownEngineID},
		{"garbage", []byte("\x30\x82\x01\x00 not snmp at all"), usmParseError},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, len(c.msg))
			before := e.counts[c.want].Load()
			for b.Loop() {
				copy(buf, c.msg) // decryption works in place
				m, _ := e.process(buf, "127.0.0.1:1", now)
				if (m != nil) != (c.want == usmOK) {
					b.Fatalf("accepted %v", m != nil)
				}
			}
			if c.want != usmOK && e.counts[c.want].Load() == before {
				b.Fatalf("not refused as %v", c.want)
			}
		})
	}
}
