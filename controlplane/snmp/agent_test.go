package snmp

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// fakeIfaces is an interface table a test changes while an agent serves it.
type fakeIfaces struct {
	mu  sync.Mutex
	ifs []AgentIface
}

func (f *fakeIfaces) get() []AgentIface {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]AgentIface(nil), f.ifs...)
}

func (f *fakeIfaces) update(fn func(ifs []AgentIface)) {
	f.mu.Lock()
	fn(f.ifs)
	f.mu.Unlock()
}

func testIfaces(n int) *fakeIfaces {
	f := &fakeIfaces{}
	for i := range n {
		f.ifs = append(f.ifs, AgentIface{
			Index: i + 1, Name: fmt.Sprintf("eth%d", i), Alias: fmt.Sprintf("port %d", i+1),
			MTU: 1500, Speed: 10_000_000_000, MAC: net.HardwareAddr{2, 0, 0, 0, 0, byte(i + 1)},
			OperStatus: StatusUp,
			// Above 2^32, so the 32-bit columns show the wrapped value.
			InOctets: 5_000_000_000 + uint64(i), OutOctets: 7_000_000_000, InPkts: 1000, OutPkts: 2000,
			InErrors: 3, OutErrors: 4, InDiscards: 5, OutDiscards: 6,
		})
	}
	return f
}

var testAgentUser = USMUser{Username: "agentuser", Level: AuthPriv, AuthProtocol: SHA, AuthPassphrase: "authpass123",
	PrivProtocol: AES, PrivPassphrase: "privpass123"}

func startAgent(t testing.TB, addr string, ifs *fakeIfaces) *Agent {
	t.Helper()
	return startAgentEngine(t, addr, ifs, nil, 0)
}

// startAgentEngine starts an agent with a given engine ID and boots, as a
// restarted agent that persists them would have.
func startAgentEngine(t testing.TB, addr string, ifs *fakeIfaces, engineID []byte, boots uint32) *Agent {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	a, err := NewAgent(AgentOptions{
		Addr: addr, Community: "public", V3User: &testAgentUser, EngineID: engineID, EngineBoots: boots,
		System: SystemInfo{Descr: "probe appliance", ObjectID: ".1.3.6.1.4.1.99999.1", Contact: "noc@example.net",
			Name: "probe-1", Location: "rack 4"},
		Interfaces: ifs.get,
		Logger:     testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// walkLines parses net-snmp's "-On" output into OID → "TYPE: value".
func walkLines(out string) (oids []string, vals map[string]string) {
	vals = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		o, v, ok := strings.Cut(line, " = ")
		if !ok || strings.HasPrefix(v, "No more variables") { // the endOfMibView that ends a walk
			continue
		}
		oids = append(oids, o)
		vals[o] = v
	}
	return oids, vals
}

// net-snmp's own tools walk and get the agent in v1, v2c (GETNEXT and
// GETBULK) and v3 authPriv: the view is complete, in order, typed as the
// MIB says, with noSuchObject / noSuchInstance / endOfMibView where due.
func TestAgentWithNetSnmpTools(t *testing.T) {
	t.Parallel()
	ifs := testIfaces(3)
	a := startAgent(t, "", ifs)
	target := a.Addr().String()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := runTool(t, name, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	v3 := []string{"-v3", "-l", "authPriv", "-u", "agentuser", "-a", "SHA", "-A", "authpass123", "-x", "AES", "-X", "privpass123"}

	walk := run("snmpwalk", "-v2c", "-c", "public", "-On", target, ".1.3.6.1.2.1")
	oids, vals := walkLines(walk)
	// 7 system scalars, ifNumber, 17 ifTable and 7 ifXTable columns x 3.
	if want := 8 + 3*(17+7); len(oids) != want {
		t.Errorf("walk has %d instances, want %d:\n%s", len(oids), want, walk)
	}
	for o, want := range map[string]string{
		".1.3.6.1.2.1.1.1.0":         `STRING: "probe appliance"`,
		".1.3.6.1.2.1.1.2.0":         `OID: .1.3.6.1.4.1.99999.1`,
		".1.3.6.1.2.1.1.5.0":         `STRING: "probe-1"`,
		".1.3.6.1.2.1.1.7.0":         `INTEGER: 72`,
		".1.3.6.1.2.1.2.1.0":         `INTEGER: 3`,
		".1.3.6.1.2.1.2.2.1.2.2":     `STRING: "eth1"`,
		".1.3.6.1.2.1.2.2.1.5.1":     `Gauge32: 4294967295`,
		".1.3.6.1.2.1.2.2.1.6.3":     `Hex-STRING: 02 00 00 00 00 03 `,
		".1.3.6.1.2.1.2.2.1.8.1":     `INTEGER: 1`,
		".1.3.6.1.2.1.2.2.1.10.1":    `Counter32: 705032704`, // 5e9 mod 2^32
		".1.3.6.1.2.1.2.2.1.14.3":    `Counter32: 3`,
		".1.3.6.1.2.1.31.1.1.1.1.3":  `STRING: "eth2"`,
		".1.3.6.1.2.1.31.1.1.1.6.1":  `Counter64: 5000000000`,
		".1.3.6.1.2.1.31.1.1.1.15.2": `Gauge32: 10000`,
		".1.3.6.1.2.1.31.1.1.1.18.1": `STRING: "port 1"`,
	} {
		if vals[o] != want {
			t.Errorf("%s = %q, want %q", o, vals[o], want)
		}
	}
	if !strings.HasPrefix(vals[".1.3.6.1.2.1.1.3.0"], "Timeticks:") {
		t.Errorf("sysUpTime %q", vals[".1.3.6.1.2.1.1.3.0"])
	}

	t.Run("snmpbulkwalk sees the same view", func(t *testing.T) {
		for _, reps := range []string{"-Cr1", "-Cr7", "-Cr100"} {
			bulk := run("snmpbulkwalk", "-v2c", "-c", "public", "-On", reps, target, ".1.3.6.1.2.1")
			if b, _ := walkLines(bulk); !reflect.DeepEqual(b, oids) {
				t.Errorf("%s: bulkwalk %d instances, walk %d", reps, len(b), len(oids))
			}
		}
	})
	t.Run("v3 authPriv walk and get", func(t *testing.T) {
		w := run("snmpbulkwalk", append(v3, "-On", target, ".1.3.6.1.2.1")...)
		if b, _ := walkLines(w); !reflect.DeepEqual(b, oids) {
			t.Errorf("v3 walk: %d instances, v2c %d", len(b), len(oids))
		}
		out := run("snmpget", append(v3, "-On", target, ".1.3.6.1.2.1.1.5.0")...)
		if !strings.Contains(out, `STRING: "probe-1"`) {
			t.Errorf("v3 get: %s", out)
		}
	})
	t.Run("v1 walk skips Counter64", func(t *testing.T) {
		w := run("snmpwalk", "-v1", "-c", "public", "-On", target, ".1.3.6.1.2.1")
		o1, v1 := walkLines(w)
		if want := len(oids) - 3*4; len(o1) != want {
			t.Errorf("v1 walk: %d instances, want %d", len(o1), want)
		}
		for o, v := range v1 {
			if strings.HasPrefix(v, "Counter64") {
				t.Errorf("v1 walk shows %s = %s", o, v)
			}
		}
		out, err := runTool(t, "snmpget", "-v1", "-c", "public", "-On", target, ".1.3.6.1.2.1.31.1.1.1.6.1")
		if err == nil || !strings.Contains(err.Error(), "noSuchName") {
			t.Errorf("v1 get of a Counter64: %s %v", out, err)
		}
	})
	t.Run("get exceptions", func(t *testing.T) {
		out := run("snmpget", "-v2c", "-c", "public", "-On", target,
			".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.5.1", ".1.3.6.1.2.1.99.1.0", ".1.3.6.1.2.1.2.2.1.2.9")
		for _, want := range []string{
			`.1.3.6.1.2.1.1.5.0 = STRING: "probe-1"`,
			`.1.3.6.1.2.1.1.5.1 = No Such Instance`,
			`.1.3.6.1.2.1.99.1.0 = No Such Object`,
			`.1.3.6.1.2.1.2.2.1.2.9 = No Such Instance`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("missing %q in\n%s", want, out)
			}
		}
		// With v3 on, the usmStats counters follow the IF-MIB and end the view.
		out = run("snmpgetnext", "-v2c", "-c", "public", "-On", target, ".1.3.6.1.2.1.31.1.1.1.18.3", ".1.3.6.1.6.3.15.1.1.6.0")
		if !strings.Contains(out, ".1.3.6.1.6.3.15.1.1.1.0 = Counter32: ") || !strings.Contains(out, "No more variables left in this MIB View") {
			t.Errorf("getnext past the end: %s", out)
		}
	})
	t.Run("set is refused", func(t *testing.T) {
		_, err := runTool(t, "snmpset", "-v2c", "-c", "public", "-On", target, ".1.3.6.1.2.1.1.5.0", "s", "x")
		if err == nil || !strings.Contains(err.Error(), "notWritable") {
			t.Errorf("set: %v", err)
		}
	})
	t.Run("wrong communities get no answer", func(t *testing.T) {
		for _, args := range [][]string{{"-v2c", "-c", "private"}, {"-v1", "-c", "nope"}} {
			out, err := runTool(t, "snmpget", append(args, "-t", "0.5", "-r", "0", "-On", target, ".1.3.6.1.2.1.1.5.0")...)
			if err == nil || !strings.Contains(err.Error(), "Timeout") {
				t.Errorf("%v answered: %s %v", args, out, err)
			}
		}
		// and the agent still answers the right ones afterwards
		run("snmpget", "-v2c", "-c", "public", target, ".1.3.6.1.2.1.1.5.0")
	})
	t.Run("interface changes show up", func(t *testing.T) {
		ifs.update(func(ifs []AgentIface) { ifs[0].OperStatus = StatusDown })
		time.Sleep(viewTTL)
		out := run("snmpget", "-v2c", "-c", "public", "-On", target, ".1.3.6.1.2.1.2.2.1.8.1")
		if !strings.Contains(out, "INTEGER: 2") {
			t.Errorf("oper status after the change: %s", out)
		}
	})
}

// Bad v3 credentials get the usmStats Report RFC 3414 3.2 says, which
// net-snmp's snmpget turns into its message for it, instead of silence;
// each refusal is counted. A manager whose notion of the agent's boots
// is behind gets an authenticated notInTimeWindow report, resynchronizes
// from it and is answered.
func TestAgentV3Reports(t *testing.T) {
	t.Parallel()
	a := startAgentEngine(t, "", testIfaces(1), []byte{0x80, 0, 0x1f, 0x88, 4, 1, 2, 3, 4, 5, 6, 7, 8}, 3)
	target := a.Addr().String()
	user := func(auth, priv string) []string {
		return []string{"-v3", "-l", "authPriv", "-u", "agentuser", "-a", "SHA", "-A", auth, "-x", "AES", "-X", priv}
	}
	for _, c := range []struct {
		name string
		args []string
		want string // snmpget's words for the report
		stat func(USMStats) uint32
	}{
		{"unknown user", []string{"-v3", "-l", "authPriv", "-u", "someone", "-a", "SHA", "-A", "authpass123", "-x", "AES", "-X", "privpass123"},
			"Unknown user name", func(s USMStats) uint32 { return s.UnknownUserNames }},
		{"wrong auth passphrase", user("wrongpass123", "privpass123"),
			"Authentication failure (incorrect password, community or key)", func(s USMStats) uint32 { return s.WrongDigests }},
		{"wrong priv passphrase", user("authpass123", "wrongpriv123"),
			"Decryption error", func(s USMStats) uint32 { return s.DecryptionErrors }},
		{"below the user's level", []string{"-v3", "-l", "authNoPriv", "-u", "agentuser", "-a", "SHA", "-A", "authpass123"},
			"Unsupported security level", func(s USMStats) uint32 { return s.UnsupportedSecLevels }},
		{"another engine's ID", append(user("authpass123", "privpass123"), "-e", "0x80001f8804aabbccdd"),
			"Unknown engine ID", func(s USMStats) uint32 { return s.UnknownEngineIDs }},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.stat(a.USMStats())
			out, err := runTool(t, "snmpget", append(c.args, "-t", "2", "-r", "0", "-On", target, ".1.3.6.1.2.1.1.5.0")...)
			if err == nil || strings.Contains(out, "probe-1") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want %q from snmpget, got %s %v", c.want, out, err)
			}
			if after := c.stat(a.USMStats()); after != before+1 {
				t.Errorf("counter went from %d to %d", before, after)
			}
		})
	}
	t.Run("not in time window", func(t *testing.T) {
		before := a.USMStats().NotInTimeWindows
		// -Z: snmpget believes the agent is at boots 2 (it is at 3).
		out, err := runTool(t, "snmpget", append(user("authpass123", "privpass123"), "-Z", "2,5", "-t", "2", "-r", "0",
			"-On", target, ".1.3.6.1.2.1.1.5.0")...)
		if err != nil || !strings.Contains(out, `STRING: "probe-1"`) {
			t.Errorf("after resynchronizing: %s %v", out, err)
		}
		if after := a.USMStats().NotInTimeWindows; after != before+1 {
			t.Errorf("notInTimeWindows went from %d to %d", before, after)
		}
	})
	// and the agent still answers the right credentials, with the
	// counters of what it refused in USM-MIB's usmStats.
	time.Sleep(viewTTL)
	out, err := runTool(t, "snmpget", append(user("authpass123", "privpass123"), "-On", target, ".1.3.6.1.2.1.1.5.0",
		".1.3.6.1.6.3.15.1.1.3.0", ".1.3.6.1.6.3.15.1.1.5.0", ".1.3.6.1.6.3.15.1.1.6.0")...)
	for _, want := range []string{"probe-1", ".1.3.6.1.6.3.15.1.1.3.0 = Counter32: 1\n", ".1.3.6.1.6.3.15.1.1.5.0 = Counter32: 1\n",
		".1.3.6.1.6.3.15.1.1.6.0 = Counter32: 1\n"} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("good credentials: want %q in %s %v", want, out, err)
		}
	}
}

// The processing rules, without sockets: v2c exceptions versus v1
// noSuchName, GETBULK non-repeaters and repetitions, and the end of view.
func TestMibViewProcess(t *testing.T) {
	v := buildView(SystemInfo{Name: "n"}, testIfaces(2).get(), 100, func(time.Time) uint32 { return 0 })
	for i := 1; i < len(v); i++ {
		if v[i-1].oid.compare(v[i].oid) >= 0 {
			t.Fatalf("view not sorted at %s, %s", v[i-1].name, v[i].name)
		}
	}
	req := func(pdu gosnmp.PDUType, names ...string) *gosnmp.SnmpPacket {
		p := &gosnmp.SnmpPacket{PDUType: pdu}
		for _, n := range names {
			p.Variables = append(p.Variables, gosnmp.SnmpPDU{Name: n, Type: gosnmp.Null})
		}
		return p
	}
	type vb struct {
		name string
		typ  gosnmp.Asn1BER
	}
	got := func(a answer) []vb {
		var out []vb
		for _, p := range a.vars {
			out = append(out, vb{p.Name, p.Type})
		}
		return out
	}
	last := ".1.3.6.1.2.1.31.1.1.1.18.2"
	for _, tc := range []struct {
		name   string
		req    *gosnmp.SnmpPacket
		v1     bool
		status gosnmp.SNMPError
		index  int
		want   []vb
	}{
		{"get", req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.3.0"), false, 0, 0,
			[]vb{{".1.3.6.1.2.1.1.5.0", gosnmp.OctetString}, {".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks}}},
		{"get exceptions", req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5", ".1.3.6.1.2.1.2.2.1.10.3", ".1.3.6.1.4.1"), false, 0, 0,
			[]vb{{".1.3.6.1.2.1.1.5", gosnmp.NoSuchObject}, {".1.3.6.1.2.1.2.2.1.10.3", gosnmp.NoSuchInstance}, {".1.3.6.1.4.1", gosnmp.NoSuchObject}}},
		{"v1 get missing is noSuchName at its index", req(gosnmp.GetRequest, ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.5.1"), true,
			gosnmp.NoSuchName, 2, []vb{{".1.3.6.1.2.1.1.5.0", gosnmp.Null}, {".1.3.6.1.2.1.1.5.1", gosnmp.Null}}},
		{"v1 get Counter64", req(gosnmp.GetRequest, ".1.3.6.1.2.1.31.1.1.1.6.1"), true, gosnmp.NoSuchName, 1,
			[]vb{{".1.3.6.1.2.1.31.1.1.1.6.1", gosnmp.Null}}},
		{"getnext from a prefix", req(gosnmp.GetNextRequest, ".1.3"), false, 0, 0, []vb{{".1.3.6.1.2.1.1.1.0", gosnmp.OctetString}}},
		{"getnext across tables", req(gosnmp.GetNextRequest, ".1.3.6.1.2.1.2.2.1.20.2"), false, 0, 0,
			[]vb{{".1.3.6.1.2.1.31.1.1.1.1.1", gosnmp.OctetString}}},
		{"v1 getnext skips Counter64", req(gosnmp.GetNextRequest, ".1.3.6.1.2.1.31.1.1.1.1.2"), true, 0, 0,
			[]vb{{".1.3.6.1.2.1.31.1.1.1.15.1", gosnmp.Gauge32}}},
		{"getnext past the end", req(gosnmp.GetNextRequest, last), false, 0, 0, []vb{{last, gosnmp.EndOfMibView}}},
		{"v1 getnext past the end", req(gosnmp.GetNextRequest, last), true, gosnmp.NoSuchName, 1, []vb{{last, gosnmp.Null}}},
		{"set", req(gosnmp.SetRequest, ".1.3.6.1.2.1.1.5.0"), false, gosnmp.NotWritable, 1, []vb{{".1.3.6.1.2.1.1.5.0", gosnmp.Null}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := v.process(tc.req, tc.v1)
			if !ok || a.status != tc.status || a.index != tc.index || !reflect.DeepEqual(got(a), tc.want) {
				t.Errorf("got ok=%v status=%v index=%d %v", ok, a.status, a.index, got(a))
			}
		})
	}

	t.Run("getbulk", func(t *testing.T) {
		r := req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.1.4.0", ".1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.31.1.1.1.18.1")
		r.NonRepeaters, r.MaxRepetitions = 1, 3
		a, _ := v.process(r, false)
		want := []vb{
			{".1.3.6.1.2.1.1.5.0", gosnmp.OctetString}, // the non-repeater's one successor
			{".1.3.6.1.2.1.2.2.1.2.1", gosnmp.OctetString}, {last, gosnmp.OctetString},
			{".1.3.6.1.2.1.2.2.1.2.2", gosnmp.OctetString}, {last, gosnmp.EndOfMibView},
			{".1.3.6.1.2.1.2.2.1.3.1", gosnmp.Integer}, {last, gosnmp.EndOfMibView},
		}
		if !reflect.DeepEqual(got(a), want) {
			t.Errorf("got %v", got(a))
		}
		if _, ok := v.process(r, true); ok {
			t.Error("v1 GETBULK answered")
		}
		r = req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.31.1.1.1.15")
		r.MaxRepetitions = 1 << 30
		a, _ = v.process(r, false)
		if len(a.vars) != 5 || a.vars[4].Type != gosnmp.EndOfMibView {
			t.Errorf("bulk to the end: %v", got(a))
		}
	})
	t.Run("oversized getbulk is trimmed, oversized get is tooBig", func(t *testing.T) {
		big := buildView(SystemInfo{}, testIfaces(200).get(), 0, func(time.Time) uint32 { return 0 })
		r := req(gosnmp.GetBulkRequest, ".1.3.6.1.2.1.2.2.1")
		r.MaxRepetitions = 2000
		r.Community, r.Version = "public", gosnmp.Version2c
		enc := func(a answer) ([]byte, error) {
			return (&gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse,
				Error: a.status, Variables: a.vars}).MarshalMsg()
		}
		a, _ := big.process(r, false)
		b, err := fitResponse(a, gosnmp.GetBulkRequest, 1400, enc)
		if err != nil || len(b) > 1400 || len(b) < 700 {
			t.Errorf("trimmed bulk: %d bytes, %v", len(b), err)
		}
		b, err = fitResponse(a, gosnmp.GetRequest, 1400, enc)
		var g gosnmp.GoSNMP
		p, derr := g.SnmpDecodePacket(b)
		if err != nil || derr != nil || p.Error != gosnmp.TooBig || len(p.Variables) != 0 {
			t.Errorf("tooBig: %v %v %+v", err, derr, p)
		}
	})
}

// The agent's USM talks to net-snmp with every protocol pair it offers,
// including AES-192/256 as net-snmp localizes their keys.
func TestAgentV3Protocols(t *testing.T) {
	t.Parallel()
	for _, u := range []USMUser{
		{Username: "md5des", Level: AuthPriv, AuthProtocol: MD5, AuthPassphrase: "authpass123", PrivProtocol: DES, PrivPassphrase: "privpass123"},
		{Username: "sha256aes256", Level: AuthPriv, AuthProtocol: SHA256, AuthPassphrase: "authpass123", PrivProtocol: AES256, PrivPassphrase: "privpass123"},
		{Username: "sha512aes192", Level: AuthPriv, AuthProtocol: SHA512, AuthPassphrase: "authpass123", PrivProtocol: AES192, PrivPassphrase: "privpass123"},
		{Username: "sha224", Level: AuthNoPriv, AuthProtocol: SHA224, AuthPassphrase: "authpass123"},
		{Username: "plain", Level: NoAuthNoPriv},
	} {
		t.Run(u.Username, func(t *testing.T) {
			a, err := NewAgent(AgentOptions{Addr: "127.0.0.1:0", V3User: &u, System: SystemInfo{Name: "x"}, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			args := []string{"-v3", "-u", u.Username, "-l", string(u.Level)}
			if u.Level != NoAuthNoPriv {
				args = append(args, "-a", string(u.AuthProtocol), "-A", u.AuthPassphrase)
			}
			if u.Level == AuthPriv {
				args = append(args, "-x", string(u.PrivProtocol), "-X", u.PrivPassphrase)
			}
			out, err := runTool(t, "snmpget", append(args, "-t", "1", "-r", "0", "-On", a.Addr().String(), ".1.3.6.1.2.1.1.5.0", ".1.3.6.1.2.1.1.2.0")...)
			// sysObjectID defaults to net-snmp's playpen subtree (NET-SNMP-MIB).
			if err != nil || !strings.Contains(out, `STRING: "x"`) || !strings.Contains(out, "OID: .1.3.6.1.4.1.8072.9999.9999.1\n") {
				t.Errorf("%s %v", out, err)
			}
		})
	}
}
