package snmp

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Traps sent by net-snmp's snmptrap/snmpinform in v1, v2c and v3
// (authPriv SHA/AES) come out as Traps with the same snmpTrapOID whatever
// the version; informs are acknowledged; other communities are dropped.
func TestTrapReceiver(t *testing.T) {
	t.Parallel()
	port := freeUDPPort(t)
	traps := make(chan Trap, 16)
	r, err := NewTrapReceiver(TrapOptions{
		Addr:        fmt.Sprintf("127.0.0.1:%d", port),
		Communities: []string{"public"},
		V3Users: []USMUser{
			{Username: "trapuser", Level: AuthPriv, AuthProtocol: SHA, AuthPassphrase: "authpass123",
				PrivProtocol: AES, PrivPassphrase: "privpass123"},
			{Username: "authonly", Level: AuthNoPriv, AuthProtocol: SHA256, AuthPassphrase: "authonly123"},
		},
		OnTrap: func(tr Trap) { traps <- tr },
		Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	target := fmt.Sprintf("127.0.0.1:%d", port)
	const linkDown, linkUp = ".1.3.6.1.6.3.1.1.5.3", ".1.3.6.1.6.3.1.1.5.4"
	ifIndex2 := ".1.3.6.1.2.1.2.2.1.1.2"
	next := func(t *testing.T) Trap {
		t.Helper()
		select {
		case tr := <-traps:
			return tr
		case <-time.After(5 * time.Second):
			t.Fatal("no trap received")
		}
		return Trap{}
	}
	send := func(t *testing.T, name string, args ...string) {
		t.Helper()
		if out, err := runTool(t, name, args...); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	}
	checkIfIndex := func(t *testing.T, tr Trap) {
		t.Helper()
		if len(tr.Vars) != 1 || tr.Vars[0].OID != ifIndex2 || tr.Vars[0].Type != "Integer" || tr.Vars[0].Value != "2" {
			t.Errorf("vars %+v", tr.Vars)
		}
	}

	t.Run("v2c", func(t *testing.T) {
		send(t, "snmptrap", "-v2c", "-c", "public", target, "4242", linkDown, ifIndex2, "i", "2",
			".1.3.6.1.2.1.2.2.1.2.2", "s", "eth1")
		tr := next(t)
		t.Logf("%+v", tr)
		if tr.Version != V2c || tr.Community != "public" || tr.TrapOID != linkDown || tr.UpTime != 4242 || tr.Inform {
			t.Errorf("trap %+v", tr)
		}
		if len(tr.Vars) != 2 || tr.Vars[1].Value != "eth1" || tr.Vars[1].Type != "OctetString" {
			t.Errorf("vars %+v", tr.Vars)
		}
	})
	t.Run("v1 linkDown", func(t *testing.T) {
		send(t, "snmptrap", "-v1", "-c", "public", target, ".1.3.6.1.4.1.8072.3.2.10", "192.0.2.7", "2", "0", "777",
			ifIndex2, "i", "2")
		tr := next(t)
		t.Logf("%+v", tr)
		if tr.Version != V1 || tr.TrapOID != linkDown || tr.EnterpriseOID != ".1.3.6.1.4.1.8072.3.2.10" ||
			tr.AgentAddress != "192.0.2.7" || tr.GenericTrap != 2 || tr.UpTime != 777 {
			t.Errorf("trap %+v", tr)
		}
		checkIfIndex(t, tr)
	})
	t.Run("v1 enterprise specific", func(t *testing.T) {
		send(t, "snmptrap", "-v1", "-c", "public", target, ".1.3.6.1.4.1.99999", "192.0.2.7", "6", "17", "", ifIndex2, "i", "2")
		if tr := next(t); tr.TrapOID != ".1.3.6.1.4.1.99999.0.17" || tr.SpecificTrap != 17 {
			t.Errorf("trap %+v", tr)
		}
	})
	t.Run("v3 authPriv", func(t *testing.T) {
		send(t, "snmptrap", "-v3", "-e", "0x8000000001020304", "-u", "trapuser", "-l", "authPriv",
			"-a", "SHA", "-A", "authpass123", "-x", "AES", "-X", "privpass123", target, "", linkDown, ifIndex2, "i", "2")
		tr := next(t)
		t.Logf("%+v", tr)
		if tr.Version != V3 || tr.User != "trapuser" || tr.TrapOID != linkDown || tr.Community != "" {
			t.Errorf("trap %+v", tr)
		}
		checkIfIndex(t, tr)
	})
	t.Run("v2c inform is acknowledged", func(t *testing.T) {
		// snmpinform fails unless the receiver answers.
		send(t, "snmpinform", "-v2c", "-c", "public", "-t", "2", "-r", "0", target, "", linkDown, ifIndex2, "i", "2")
		if tr := next(t); !tr.Inform || tr.TrapOID != linkDown {
			t.Errorf("inform %+v", tr)
		}
	})
	v3 := func(user, level string, auth ...string) []string {
		a := []string{"-v3", "-u", user, "-l", level}
		if len(auth) >= 2 {
			a = append(a, "-a", auth[0], "-A", auth[1])
		}
		if len(auth) == 4 {
			a = append(a, "-x", auth[2], "-X", auth[3])
		}
		return a
	}
	good := v3("trapuser", "authPriv", "SHA", "authpass123", "AES", "privpass123")
	t.Run("v3 authNoPriv trap, sender's own engine ID", func(t *testing.T) {
		send(t, "snmptrap", append(v3("authonly", "authNoPriv", "SHA-256", "authonly123"), target, "", linkDown, ifIndex2, "i", "2")...)
		if tr := next(t); tr.Version != V3 || tr.User != "authonly" || tr.TrapOID != linkDown || tr.Inform {
			t.Errorf("trap %+v", tr)
		}
	})
	// snmpinform discovers the receiver's engine ID (the receiver is
	// authoritative for informs) and fails unless it is acknowledged.
	t.Run("v3 authPriv inform is acknowledged", func(t *testing.T) {
		send(t, "snmpinform", append(good, "-t", "2", "-r", "0", target, "", linkDown, ifIndex2, "i", "2")...)
		tr := next(t)
		if tr.Version != V3 || tr.User != "trapuser" || !tr.Inform || tr.TrapOID != linkDown {
			t.Errorf("inform %+v", tr)
		}
		checkIfIndex(t, tr)
	})
	t.Run("v3 authNoPriv inform is acknowledged", func(t *testing.T) {
		send(t, "snmpinform", append(v3("authonly", "authNoPriv", "SHA-256", "authonly123"), "-t", "2", "-r", "0", target, "", linkDown, ifIndex2, "i", "2")...)
		if tr := next(t); tr.User != "authonly" || !tr.Inform {
			t.Errorf("inform %+v", tr)
		}
	})
	// RFC 3414 3.2.7 b: the receiver keeps each sending engine's boots and
	// time from its authenticated traps; a trap from before them (a
	// replay, or a stale one) is refused. -Z sets the sender's boots,time.
	t.Run("stale and replayed v3 traps are refused", func(t *testing.T) {
		for _, c := range []struct {
			bootsTime string
			accepted  bool
		}{
			{"3,5000", true},
			{"3,4000", false}, // 1000 s behind
			{"3,4900", true},  // within 150 s
			{"2,9000", false}, // boots went back
			{"4,10", true},    // a restart
			{"3,6000", false},
		} {
			before := r.Stats().USM.NotInTimeWindows
			send(t, "snmptrap", append(v3("authonly", "authNoPriv", "SHA-256", "authonly123"), "-e", "0x80000000aabbccdd01", "-Z", c.bootsTime,
				target, "", linkUp)...)
			if c.accepted {
				if tr := next(t); tr.TrapOID != linkUp {
					t.Errorf("-Z %s: got %+v", c.bootsTime, tr)
				}
			} else {
				waitFor(t, 5*time.Second, "the stale trap counted", func() bool { return r.Stats().USM.NotInTimeWindows == before+1 })
			}
		}
		select {
		case tr := <-traps:
			t.Errorf("a refused trap got through: %+v", tr)
		default:
		}
	})
	t.Run("refused notifications are counted; informs get the report", func(t *testing.T) {
		before := r.Stats()
		send(t, "snmptrap", "-v2c", "-c", "secret", target, "", linkDown, ifIndex2, "i", "2")
		send(t, "snmptrap", append(v3("trapuser", "authPriv", "SHA", "wrongpass123", "AES", "privpass123"), target, "", linkDown, ifIndex2, "i", "2")...)
		send(t, "snmptrap", append(v3("trapuser", "authPriv", "SHA", "authpass123", "AES", "wrongpriv123"), target, "", linkDown, ifIndex2, "i", "2")...)
		send(t, "snmptrap", append(v3("stranger", "authPriv", "SHA", "authpass123", "AES", "privpass123"), target, "", linkDown, ifIndex2, "i", "2")...)
		for _, c := range []struct {
			args []string
			want string
		}{
			{v3("trapuser", "authPriv", "SHA", "wrongpass123", "AES", "privpass123"), "Authentication failure"},
			{v3("stranger", "authPriv", "SHA", "authpass123", "AES", "privpass123"), "Unknown user name"},
			{v3("trapuser", "authNoPriv", "SHA", "authpass123"), "Unsupported security level"},
		} {
			out, err := runTool(t, "snmpinform", append(c.args, "-t", "2", "-r", "0", target, "", linkDown, ifIndex2, "i", "2")...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("snmpinform %v: want %q, got %s %v", c.args, c.want, out, err)
			}
		}
		// A good one after them shows they were processed, and dropped.
		send(t, "snmptrap", "-v2c", "-c", "public", target, "", ".1.3.6.1.6.3.1.1.5.4", ifIndex2, "i", "2")
		if tr := next(t); tr.TrapOID != ".1.3.6.1.6.3.1.1.5.4" {
			t.Errorf("got %+v", tr)
		}
		after := r.Stats()
		t.Logf("before %+v\nafter %+v", before, after)
		for _, c := range []struct {
			name       string
			got, wantN uint64
		}{
			{"bad community", after.BadCommunity - before.BadCommunity, 1},
			{"wrong digests (a trap, an inform)", uint64(after.USM.WrongDigests - before.USM.WrongDigests), 2},
			{"decryption errors", uint64(after.USM.DecryptionErrors - before.USM.DecryptionErrors), 1},
			{"unknown user names (a trap, an inform)", uint64(after.USM.UnknownUserNames - before.USM.UnknownUserNames), 2},
			{"unsupported levels", uint64(after.USM.UnsupportedSecLevels - before.USM.UnsupportedSecLevels), 1},
		} {
			if c.got != c.wantN {
				t.Errorf("%s: counted %d, want %d", c.name, c.got, c.wantN)
			}
		}
		if after.Accepted != before.Accepted+1 {
			t.Errorf("accepted %d → %d", before.Accepted, after.Accepted)
		}
	})

	r.Close()
	r.Close()
}

// Start reports a port that cannot be bound instead of failing later,
// and Close frees the port. (Not parallel: other tests take free ports.)
func TestTrapReceiverBindError(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freeUDPPort(t))
	a, _ := NewTrapReceiver(TrapOptions{Addr: addr, Logger: testLogger(t)})
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	b, _ := NewTrapReceiver(TrapOptions{Addr: addr, Logger: testLogger(t)})
	if err := b.Start(); err == nil {
		b.Close()
		t.Fatal("second receiver on the same port started")
	}
	b.Close()
	a.Close()
	c, _ := NewTrapReceiver(TrapOptions{Addr: addr, Logger: testLogger(t)})
	if err := c.Start(); err != nil {
		t.Fatalf("rebinding after Close: %v", err)
	}
	c.Close()
}

// Hostile datagrams (every truncation and some corruptions of a real v3
// message, junk, empty) are counted and dropped; the receiver goes on
// receiving.
func TestTrapReceiverHostileInput(t *testing.T) {
	t.Parallel()
	traps := make(chan Trap, 4)
	r, err := NewTrapReceiver(TrapOptions{Addr: "127.0.0.1:0", V3Users: []USMUser{testAgentUser},
		OnTrap: func(tr Trap) { traps <- tr }, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	msg := usmBenchMessage(t, "agentuser", "authpass123", "privpass123", string(r.EngineID()), 1, 0)
	var bad [][]byte
	for i := range msg {
		bad = append(bad, msg[:i])
		c := bytes.Clone(msg)
		c[i] ^= 0xff
		bad = append(bad, c)
	}
	bad = append(bad, []byte{}, []byte("\x30\x84\xff\xff\xff\xff"), bytes.Repeat([]byte{0x30, 0x81}, 1000))
	conn, err := net.Dial("udp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, b := range bad {
		conn.Write(b)
	}
	// Let the receiver work through them (slowly under -race) before the
	// good trap, so that a full socket buffer cannot drop it.
	last := uint64(0)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		n := r.Stats().Received
		if n == last {
			break
		}
		last = n
	}
	// Each is refused, for a reason that depends on where it was cut or
	// changed; then a good trap still gets through.
	if out, err := runTool(t, "snmptrap", "-v2c", "-c", "public", r.Addr().String(), "", ".1.3.6.1.6.3.1.1.5.4"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	select {
	case tr := <-traps:
		if tr.TrapOID != ".1.3.6.1.6.3.1.1.5.4" {
			t.Errorf("got %+v", tr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the receiver stopped receiving")
	}
	st := r.Stats()
	refused := st.Undecodable + st.NotNotification + uint64(st.USM.ParseErrors+st.USM.WrongDigests+st.USM.DecryptionErrors+
		st.USM.UnknownUserNames+st.USM.UnknownEngineIDs+st.USM.UnsupportedSecLevels+st.USM.NotInTimeWindows)
	t.Logf("%d hostile datagrams: %+v", len(bad), st)
	// UDP on loopback does not drop at this rate, but allow it: what
	// arrived must all be accounted as refused, and all but the good trap.
	if st.Accepted != 1 || refused != st.Received-1 || st.Received < uint64(len(bad))/2 {
		t.Errorf("stats %+v: %d refused", st, refused)
	}
}
