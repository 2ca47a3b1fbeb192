package snmp

import (
	"fmt"
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
		V3User: &USMUser{Username: "trapuser", Level: AuthPriv, AuthProtocol: SHA, AuthPassphrase: "authpass123",
			PrivProtocol: AES, PrivPassphrase: "privpass123"},
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
	const linkDown = ".1.3.6.1.6.3.1.1.5.3"
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
	t.Run("unknown community and wrong v3 key are dropped", func(t *testing.T) {
		send(t, "snmptrap", "-v2c", "-c", "secret", target, "", linkDown, ifIndex2, "i", "2")
		send(t, "snmptrap", "-v3", "-e", "0x8000000001020304", "-u", "trapuser", "-l", "authPriv",
			"-a", "SHA", "-A", "wrongpass123", "-x", "AES", "-X", "privpass123", target, "", linkDown, ifIndex2, "i", "2")
		// A good one after them shows they were processed, and dropped.
		send(t, "snmptrap", "-v2c", "-c", "public", target, "", ".1.3.6.1.6.3.1.1.5.4", ifIndex2, "i", "2")
		if tr := next(t); tr.TrapOID != ".1.3.6.1.6.3.1.1.5.4" {
			t.Errorf("got %+v", tr)
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
