package checks

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
)

var (
	lan      = netip.MustParsePrefix("192.168.1.0/24")
	attacker = netip.MustParseAddr("203.0.113.7")
	victim   = netip.MustParseAddr("192.168.1.20")
	t0       = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC).UnixNano()
)

func tcp(ts int64, src, dst netip.Addr, sport, dport uint16, flags uint8) *decode.Packet {
	return &decode.Packet{Timestamp: ts, WireLen: 60, IPVersion: 4, Src: src, Dst: dst, Proto: 6, SrcPort: sport, DstPort: dport, TCPFlags: flags}
}

func udp(ts int64, src, dst netip.Addr, sport, dport uint16) *decode.Packet {
	return &decode.Packet{Timestamp: ts, WireLen: 80, IPVersion: 4, Src: src, Dst: dst, Proto: 17, SrcPort: sport, DstPort: dport, Payload: []byte("data")}
}

type sink struct {
	mu  sync.Mutex
	got []alert.Alert
}

func (s *sink) add(a *alert.Alert) { s.mu.Lock(); s.got = append(s.got, *a); s.mu.Unlock() }

func newEngine(t *testing.T, st *store.Store, s *sink) *Engine {
	t.Helper()
	e, err := New(Options{Store: st, Notify: s.add})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// memStore is an in-memory store closed when the test ends.
func memStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// synFlood sends rate SYNs per second from attacker to victim:80 for secs
// seconds, each from a new source port (a new flow each).
func synFlood(tb *flowtable.Table, start int64, rate, secs int) int64 {
	ts := start
	step := int64(time.Second) / int64(rate)
	for i := 0; i < rate*secs; i++ {
		tb.HandlePacket(tcp(ts, attacker, victim, uint16(1024+i%60000), 80, decode.TCPSyn), decode.ErrNone)
		ts += step
	}
	return ts
}

func TestSYNFloodEngagesReleasesAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	var s sink
	e := newEngine(t, st, &s)
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	ifc := Iface{ID: 0, Table: tb}

	end := synFlood(tb, t0, 200, 3)
	e.Run(ifc, 0, false)
	e.Run(ifc, 0, true)

	var flood []alert.Alert
	for _, a := range e.Engaged(0) {
		if a.Family == alert.FamilyHost && a.TypeID == 6 {
			flood = append(flood, a)
		}
	}
	if len(flood) != 2 {
		t.Fatalf("engaged SYN flood alerts = %+v, want attacker and victim", flood)
	}
	for _, a := range flood {
		if a.Severity != alert.SeverityError || a.Entity != alert.EntityHost {
			t.Errorf("alert %+v: want severity error, entity host", a)
		}
		switch a.EntityVal {
		case attacker.String():
			if !a.Host.IsAttacker || a.Host.Value < 150 {
				t.Errorf("attacker side %+v", a.Host)
			}
		case victim.String():
			if !a.Host.IsVictim {
				t.Errorf("victim side %+v", a.Host)
			}
		default:
			t.Errorf("unexpected entity %q", a.EntityVal)
		}
	}
	// Every flood alert was notified exactly once despite two passes.
	n := 0
	for _, a := range s.got {
		if a.Family == alert.FamilyHost && a.TypeID == 6 {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d SYN flood notifications, want 2 (attacker, victim)", n)
	}

	// The flood stops: a quiet second later the alerts are released.
	tb.HandlePacket(udp(end+2*int64(time.Second), victim, netip.MustParseAddr("192.168.1.1"), 5000, 53), decode.ErrNone)
	e.Run(ifc, 0, false)
	for _, a := range e.Engaged(0) {
		if a.TypeID == alert.HostSYNFlood {
			t.Errorf("still engaged after the flood: %+v", a)
		}
	}
	e.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// A restarted probe finds them in history.
	st2 := openStore(t, dir)
	defer st2.Close()
	ar := alert.NewArchive(st2)
	var hist []alert.Alert
	if err := ar.Scan(0, alert.Filter{}, func(a *alert.Alert) error {
		if a.Family == alert.FamilyHost && a.TypeID == 6 {
			hist = append(hist, *a)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("historical SYN flood alerts after restart: %+v", hist)
	}
	for _, a := range hist {
		if a.Engaged || a.Tstamp < t0/1e9 || a.Tstamp > end/1e9 || a.TstampEnd < a.Tstamp {
			t.Errorf("historical alert %+v: want released, raised during the flood [%d, %d]", a, t0/1e9, end/1e9)
		}
	}
}

func TestCrashLeftEngagedAlertsAreClosedAtStart(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	var s sink
	e := newEngine(t, st, &s)
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	synFlood(tb, t0, 200, 2)
	e.Run(Iface{Table: tb}, 0, true)
	if len(e.Engaged(0)) == 0 {
		t.Fatal("no engaged alert")
	}
	st.Close() // no e.Close(): a crash

	st2 := openStore(t, dir)
	defer st2.Close()
	e2 := newEngine(t, st2, &s)
	e2.Run(Iface{Table: flowtable.New(flowtable.Config{Offline: true})}, t0+10e9, false)
	yes := true
	n := 0
	if err := e2.Archive().Scan(0, alert.Filter{Engaged: &yes}, func(*alert.Alert) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d alerts still marked engaged after restart", n)
	}
}

func TestFlowChecks(t *testing.T) {
	gw := netip.MustParseAddr("192.168.1.1")
	dns2 := netip.MustParseAddr("192.168.1.2")
	far1, far2 := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	cases := []struct {
		name  string
		cfg   map[string]Setting
		pkts  []*decode.Packet
		want  []int // the flow's alert keys, lead first; none for no alert
		score int
	}{
		{"allowed DNS server", map[string]Setting{"unexpected_dns": {Enabled: true, Items: []string{"192.168.1.1"}}},
			[]*decode.Packet{udp(t0, victim, gw, 5000, 53), udp(t0+1e6, gw, victim, 53, 5000)}, nil, 0},
		{"unexpected DNS server", map[string]Setting{"unexpected_dns": {Enabled: true, Items: []string{"192.168.1.1"}}},
			[]*decode.Packet{udp(t0, victim, dns2, 5000, 53), udp(t0+1e6, dns2, victim, 53, 5000)}, []int{alert.FlowUnexpectedDNS}, 100},
		{"unexpected DNS check off", nil,
			[]*decode.Packet{udp(t0, victim, dns2, 5000, 53), udp(t0+1e6, dns2, victim, 53, 5000)}, nil, 0},
		{"refused connection", nil,
			[]*decode.Packet{tcp(t0, victim, gw, 40000, 22, decode.TCPSyn), tcp(t0+1e6, gw, victim, 22, 40000, decode.TCPRst|decode.TCPAck)}, []int{alert.FlowUnidirectional, alert.FlowConnRefused}, 20},
		{"remote to remote", map[string]Setting{"remote_to_remote": {Enabled: true}},
			[]*decode.Packet{tcp(t0, far1, far2, 40000, 443, decode.TCPSyn), tcp(t0+1e6, far2, far1, 443, 40000, decode.TCPSyn|decode.TCPAck)}, []int{alert.FlowUnidirectional, alert.FlowRemoteToRemote}, 20},
		{"unanswered flow at the end of a capture", nil,
			[]*decode.Packet{udp(t0, victim, far1, 5000, 9999)}, []int{alert.FlowUnidirectional}, 10},
		// The long base32 label is also a generated name to nDPI 4.2 (an
		// element of 19+ characters with digits): both checks fire, the nDPI
		// risk leads the tie.
		{"DNS query carrying data", nil,
			dnsExchange(victim, gw, "mzxw6ytboi2dambqgezdgnbvgy3tqojqgezdgnbvgy3tqojq.x.example.com"), []int{alert.FlowDGADomain, alert.FlowDNSExfiltration}, 200},
		{"DNS query for a generated name", nil,
			dnsExchange(victim, gw, "www.q4cyamnc6mtokjurvdclt.com"), []int{alert.FlowDGADomain}, 100},
		{"ordinary DNS query", nil, dnsExchange(victim, gw, "www.example.com"), nil, 0},
		// Stratum to a pool: ntopng's web_mining (50), nDPI's non-standard
		// port (50, Mining's are 8333 and 30303; the nDPI risk leads the
		// tie) and unsafe protocol (10).
		{"Stratum mining", nil, stratum(far1), []int{alert.FlowKnownProtoNonStd, alert.FlowUnsafeProtocol, alert.FlowWebMining}, 110},
		{"DNS query for a browser miner", nil, dnsExchange(victim, gw, "coinhive.com"), []int{alert.FlowWebMining}, 50},
		// nDPI's medium Missing SNI (50) leads its low "not carrying HTTPS"
		// (10), as ntopng shows such a flow (issue 26).
		{"TLS without SNI nor ALPN", nil, tlsNoSNI(far1), []int{alert.FlowTLSMissingSNI, alert.FlowTLSNotHTTPS}, 60},
		{"low goodput", map[string]Setting{"low_goodput": {Enabled: true, Threshold: 25}},
			lowGoodput(), []int{alert.FlowLowGoodput}, 10},
		{"retransmissions", nil, retransmitted(), []int{alert.FlowTCPIssues}, 10},
		{"blacklisted peer and unanswered", map[string]Setting{"blacklisted": {Enabled: true, Items: []string{"198.51.100.0/24"}}},
			[]*decode.Packet{udp(t0, victim, far1, 5000, 9999)}, []int{alert.FlowBlacklisted, alert.FlowUnidirectional}, 110},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := memStore(t)
			var s sink
			e := newEngine(t, st, &s)
			if c.cfg != nil {
				if err := e.Set(c.cfg); err != nil {
					t.Fatal(err)
				}
			}
			got := judgeCapture(e, c.pkts)
			if c.want == nil {
				if len(got) != 0 {
					t.Fatalf("alerts %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Family != alert.FamilyFlow || got[0].Score != c.score {
				t.Fatalf("alerts %+v, want one flow alert with score %d", got, c.score)
			}
			keys := append([]int{got[0].TypeID}, got[0].Flow.Others...)
			if fmt.Sprint(keys) != fmt.Sprint(c.want) {
				t.Errorf("alert keys %v (lead first), want %v", keys, c.want)
			}
			if len(s.got) != 1 {
				t.Errorf("%d notifications, want 1", len(s.got))
			}
		})
	}
}

func TestSettingsValidateAndPersist(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	e := newEngine(t, st, &sink{})
	bad := []map[string]Setting{
		{"no_such_check": {Enabled: true}},
		{"syn_flood": {Enabled: true, Threshold: -1}},
		{"remote_to_remote": {Enabled: true, Threshold: 5}},
		{"unexpected_dns": {Enabled: true, Items: []string{"not-an-ip"}}},
		{"syn_flood": {Enabled: true, Items: []string{"10.0.0.1"}}},
	}
	for _, b := range bad {
		if err := e.Set(b); err == nil {
			t.Errorf("Set(%v) accepted", b)
		}
	}
	if err := e.Set(map[string]Setting{"syn_flood": {Enabled: true, Threshold: 10}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Enable(SubdirFlow, "remote_to_remote", true); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st2 := openStore(t, dir)
	defer st2.Close()
	e2 := newEngine(t, st2, &sink{})
	cfg := e2.Config()
	if cfg["syn_flood"].Threshold != 10 || !cfg["remote_to_remote"].Enabled || !cfg["tls_certificate_expired"].Enabled {
		t.Errorf("after restart: syn_flood %+v remote_to_remote %+v", cfg["syn_flood"], cfg["remote_to_remote"])
	}
}

// On the XDP path the table only gets per-flow deltas: the SYN flood must
// still show, from the flows' flags.
func TestSYNFloodFromKernelDeltas(t *testing.T) {
	st := memStore(t)
	e := newEngine(t, st, &sink{})
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}})
	var ds []flow.Delta
	for i := 0; i < 600; i++ {
		ts := t0 + int64(i)*int64(time.Second)/200
		ds = append(ds, flow.Delta{A: attacker, B: victim, APort: uint16(1024 + i), BPort: 80, Proto: 6,
			Pkts: [2]uint64{1, 0}, Bytes: [2]uint64{60, 0}, FirstNs: [2]int64{ts, 0}, LastNs: ts,
			Flags: [2]uint8{decode.TCPSyn, 0}, FirstFlags: [2]uint8{decode.TCPSyn, 0}})
	}
	tb.ApplyDeltas(ds, flowtable.DataplaneCounts{Packets: 600, Bytes: 600 * 60})
	e.Run(Iface{Table: tb, Live: true}, t0+3*int64(time.Second), false)
	n := 0
	for _, a := range e.Engaged(0) {
		if a.TypeID == alert.HostSYNFlood {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d SYN flood alerts from deltas, want attacker and victim: %+v", n, e.Engaged(0))
	}
}

// dnsExchange is a DNS query for name (type A) from cli:5353 to srv:53 and
// its NOERROR answer without records.
func dnsExchange(cli, srv netip.Addr, name string) []*decode.Packet {
	question := []byte{}
	for _, l := range strings.Split(name, ".") {
		question = append(question, byte(len(l)))
		question = append(question, l...)
	}
	question = append(question, 0, 0, 1, 0, 1)
	q := udp(t0, cli, srv, 5353, 53)
	q.Payload = append([]byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}, question...)
	r := udp(t0+1e6, srv, cli, 53, 5353)
	r.Payload = append([]byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, question...)
	return []*decode.Packet{q, r}
}

// stratum is a miner's Stratum session with a remote pool on port 3333.
func stratum(pool netip.Addr) []*decode.Packet {
	out := []*decode.Packet{tcp(t0, victim, pool, 40002, 3333, decode.TCPSyn), tcp(t0+1e6, pool, victim, 3333, 40002, decode.TCPSyn|decode.TCPAck)}
	sub := tcp(t0+2e6, victim, pool, 40002, 3333, decode.TCPAck|decode.TCPPsh)
	sub.Payload = []byte(`{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}` + "\n")
	ans := tcp(t0+3e6, pool, victim, 3333, 40002, decode.TCPAck|decode.TCPPsh)
	ans.Payload = []byte(`{"id":1,"result":[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"],"08000002",4],"error":null}` + "\n")
	out = append(out, sub, ans)
	for _, p := range out {
		p.TCPWindow = 65535
	}
	return out
}

// tlsNoSNI is a TLS 1.2 connection to port 443 whose ClientHello names
// no server and offers no ALPN; the server answers.
func tlsNoSNI(srv netip.Addr) []*decode.Packet {
	body := []byte{0x03, 0x03}
	body = append(body, make([]byte, 32)...)                   // random
	body = append(body, 0, 0x00, 0x04, 0xc0, 0x2f, 0x00, 0x9c) // no session id, two suites
	body = append(body, 1, 0)                                  // null compression
	ext := []byte{0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, 0x00, 0x0b, 0x00, 0x02, 0x01, 0x00}
	body = append(body, byte(len(ext)>>8), byte(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	hello := append([]byte{0x16, 0x03, 0x01, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	out := []*decode.Packet{tcp(t0, victim, srv, 40003, 443, decode.TCPSyn), tcp(t0+1e6, srv, victim, 443, 40003, decode.TCPSyn|decode.TCPAck)}
	c := tcp(t0+2e6, victim, srv, 40003, 443, decode.TCPAck|decode.TCPPsh)
	c.Payload = hello
	a := tcp(t0+3e6, srv, victim, 443, 40003, decode.TCPAck|decode.TCPPsh)
	a.Payload = []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28} // an alert
	out = append(out, c, a)
	for _, p := range out {
		p.TCPWindow = 65535
	}
	return out
}

// lowGoodput is an established TCP flow of 30 packets carrying 1 byte of
// payload each (60-byte frames: ~1.7% goodput).
func lowGoodput() []*decode.Packet {
	gw := netip.MustParseAddr("192.168.1.1")
	out := []*decode.Packet{tcp(t0, victim, gw, 40000, 23, decode.TCPSyn), tcp(t0+1e6, gw, victim, 23, 40000, decode.TCPSyn|decode.TCPAck)}
	for i := 0; i < 28; i++ {
		src, dst, sp, dp := victim, gw, uint16(40000), uint16(23)
		if i%2 == 1 {
			src, dst, sp, dp = gw, victim, 23, 40000
		}
		p := tcp(t0+int64(i+2)*1e6, src, dst, sp, dp, decode.TCPAck|decode.TCPPsh)
		p.Payload, p.TCPWindow = []byte{'x'}, 1024
		out = append(out, p)
	}
	return out
}

// retransmitted is an established TCP flow whose client sends the same
// segment 10 times (answered each time).
func retransmitted() []*decode.Packet {
	gw := netip.MustParseAddr("192.168.1.1")
	out := []*decode.Packet{tcp(t0, victim, gw, 40001, 8443, decode.TCPSyn), tcp(t0+1e6, gw, victim, 8443, 40001, decode.TCPSyn|decode.TCPAck)}
	for i := 0; i < 10; i++ {
		p := tcp(t0+int64(2*i+2)*1e6, victim, gw, 40001, 8443, decode.TCPAck|decode.TCPPsh)
		p.Payload, p.TCPWindow, p.TCPSeq = []byte("hello"), 1024, 1
		a := tcp(t0+int64(2*i+3)*1e6, gw, victim, 8443, 40001, decode.TCPAck)
		a.Payload, a.TCPWindow, a.TCPSeq = []byte("ok"), 1024, uint32(1+2*i)
		out = append(out, p, a)
	}
	return out
}

func TestSystemLossAlert(t *testing.T) {
	st := memStore(t)
	var s sink
	e := newEngine(t, st, &s)
	loss := func(n uint64) []Loss {
		return []Loss{{Key: "flow_export:1", Descr: "flow records for 10.0.0.9:4739", Count: n}}
	}
	e.RunSystem(t0, loss(0))
	if len(e.Engaged(SystemIfID)) != 0 {
		t.Fatal("alert without a loss")
	}
	e.RunSystem(t0+1e9, loss(7))
	got := e.Engaged(SystemIfID)
	if len(got) != 1 || got[0].Entity != alert.EntitySystem || got[0].TypeID != alert.OtherTooManyDrops || got[0].Info != "7 flow records for 10.0.0.9:4739 dropped" {
		t.Fatalf("engaged %+v", got)
	}
	e.RunSystem(t0+2e9, loss(7))
	if len(e.Engaged(SystemIfID)) != 0 {
		t.Error("still engaged once the losses stopped")
	}
	n := 0
	_ = e.Archive().Scan(SystemIfID, alert.Filter{}, func(a *alert.Alert) error { n++; return nil })
	if n != 1 || len(s.got) != 1 {
		t.Errorf("%d stored, %d notified; want 1 and 1", n, len(s.got))
	}
}

// judgeCapture puts pkts in a new offline table of the lan and runs the
// final pass of a capture file over it: the alerts stored after it.
func judgeCapture(e *Engine, pkts []*decode.Packet) []alert.Alert {
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	for _, p := range pkts {
		tb.HandlePacket(p, decode.ErrNone)
	}
	e.Run(Iface{Table: tb}, 0, true)
	return storedAlerts(e)
}

// storedAlerts is every alert the engine's archive holds for interface 0,
// oldest first.
func storedAlerts(e *Engine) []alert.Alert {
	var got []alert.Alert
	_ = e.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error { got = append(got, *a); return nil })
	return got
}
