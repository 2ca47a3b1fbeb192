package snmp

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Refusals are logged, but a flood of them is not: one line per reason at
// once, then one per interval saying how many went unlogged.
func TestDropLogRateLimits(t *testing.T) {
	var buf bytes.Buffer
	d := newDropLog(slog.New(slog.NewTextHandler(&buf, nil)))
	d.interval = 200 * time.Millisecond
	for range 5 {
		d.note("wrong digest", "127.0.0.1:1", "u", nil)
	}
	d.note("unknown user name", "127.0.0.1:1", "x", nil)
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want 2 (one per reason):\n%s", n, buf.String())
	}
	time.Sleep(250 * time.Millisecond)
	d.note("wrong digest", "127.0.0.1:1", "u", nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], "more_since_last_line=4") {
		t.Errorf("after the interval:\n%s", buf.String())
	}
}

// peekV3 reads what gosnmp wrote, and every truncation or corruption of
// it fails or reads something, never panics.
func TestPeekV3(t *testing.T) {
	pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version3, MsgFlags: gosnmp.Reportable, SecurityModel: gosnmp.UserSecurityModel,
		SecurityParameters: &gosnmp.UsmSecurityParameters{AuthoritativeEngineID: "\x80\x00\x1f\x88\x04abcd", AuthoritativeEngineBoots: 7,
			AuthoritativeEngineTime: 300000, UserName: "someone"},
		MsgID: 4242, MsgMaxSize: 65507, ContextName: "ctx", PDUType: gosnmp.GetRequest, RequestID: 0x7fff0001,
		Variables: []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.5.0", Type: gosnmp.Null}}}
	msg, err := pkt.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	h, err := peekV3(msg)
	want := v3Header{msgID: 4242, maxSize: 65507, flags: 4, secModel: 3, engineID: "\x80\x00\x1f\x88\x04abcd", boots: 7, time: 300000,
		user: "someone", requestID: 0x7fff0001, contextName: "ctx"}
	if err != nil || h != want {
		t.Fatalf("peek %+v %v\nwant %+v", h, err, want)
	}
	for i := range msg {
		peekV3(msg[:i])
		for _, b := range []byte{0, 0x7f, 0x80, 0x84, 0xff} {
			c := bytes.Clone(msg)
			c[i] = b
			peekV3(c)
		}
	}
}

// The notion of remote engines' clocks is bounded: past maxRemoteEngines
// the one heard from longest ago is forgotten, so its stale trap is
// taken as new; the others are still judged.
func TestRemoteClocksBounded(t *testing.T) {
	e, err := newUSMEngine(nil, "\x80\x00\x1f\x88\x04ours", 1, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	for i := range maxRemoteEngines + 1 {
		if !e.remoteTimely(fmt.Sprintf("engine-%05d", i), 5, 10_000, t0.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("engine %d: first trap refused", i)
		}
	}
	if len(e.remote) != maxRemoteEngines {
		t.Fatalf("%d engines remembered", len(e.remote))
	}
	now := t0.Add(time.Minute)
	// (Taking it back in forgets the next oldest, engine-00001.)
	if !e.remoteTimely("engine-00000", 5, 1000, now) {
		t.Error("the forgotten engine's old time was refused")
	}
	if e.remoteTimely("engine-04000", 5, 1000, now) || e.remoteTimely("engine-04000", 4, 20_000, now) {
		t.Error("a remembered engine's old time or boots was accepted")
	}
	// Its own clock runs on: 10 000 s + 60 s elapsed, so 9 900 is stale.
	if e.remoteTimely("engine-04001", 5, 9_900, now) || !e.remoteTimely("engine-04001", 5, 9_950, now) {
		t.Error("the window does not follow the elapsed time")
	}
}
