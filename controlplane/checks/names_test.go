package checks

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// mdnsName is an mDNS response from src naming it: one PTR answer
// "<instance>._ipp._tcp.local".
func mdnsName(ts int64, src netip.Addr, instance string) *decode.Packet {
	msg := []byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0}
	for _, l := range []string{"_ipp", "_tcp", "local"} {
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	msg = append(msg, 0, 0, 12, 0, 1, 0, 0, 0, 120)
	rdata := append([]byte{byte(len(instance))}, instance...)
	rdata = append(rdata, 0xc0, 12)
	msg = append(msg, 0, byte(len(rdata)))
	p := udp(ts, src, netip.MustParseAddr("224.0.0.251"), 5353, 5353)
	p.Payload = append(msg, rdata...)
	return p
}

// TestAlertNamesFixedWhenRaised: a flow alert keeps the names its peers
// had when it was raised, as ntopng stores them (its recorded answers for
// test_01.pcap name 192.168.1.93 by address in the DNS alerts raised
// before its mDNS name was learnt, by that name in the later ones), even
// when the alert is rebuilt later with another check; a flow alerted after
// the name was learnt carries it. Host alerts keep theirs while engaged.
func TestAlertNamesFixedWhenRaised(t *testing.T) {
	st := memStore(t)
	var s sink
	e := newEngine(t, st, &s)
	if err := e.Set(map[string]Setting{"elephant_flow": {Enabled: true, Threshold: 1000}}); err != nil {
		t.Fatal(err)
	}
	far1 := netip.MustParseAddr("198.51.100.1")
	far2 := netip.MustParseAddr("198.51.100.2")
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	for _, p := range stratum(far1) {
		tb.HandlePacket(p, decode.ErrNone)
	}
	e.Run(Iface{Table: tb}, 0, false) // raised: the miner has no name yet
	tb.HandlePacket(mdnsName(t0+10e6, victim, "miner-box"), decode.ErrNone)
	big := tcp(t0+11e6, victim, far1, 40002, 3333, decode.TCPAck|decode.TCPPsh)
	big.Payload, big.WireLen, big.TCPWindow = make([]byte, 1400), 1454, 65535
	tb.HandlePacket(big, decode.ErrNone)
	for _, p := range stratum(far2) { // same client port: another flow (other server)
		p.Timestamp += 12e6
		tb.HandlePacket(p, decode.ErrNone)
	}
	e.Run(Iface{Table: tb}, 0, false) // the first alert grows (elephant), the second is raised
	tb.View(func(v flowtable.View) {
		if h := v.Host(flowtable.HostKey{Addr: victim}); h == nil || h.LearntName() != "miner-box" {
			t.Fatalf("the miner's name was not learnt: %+v", h)
		}
	})
	names := map[string]string{}
	elephant := false
	_ = e.Archive().Scan(0, alert.Filter{}, func(a *alert.Alert) error {
		if a.Flow != nil {
			names[a.Flow.SrvIP] = a.Flow.CliName
			if a.Flow.SrvIP == far1.String() {
				for _, o := range append([]int{a.TypeID}, a.Flow.Others...) {
					elephant = elephant || o == alert.FlowElephant
				}
			}
		}
		return nil
	})
	if !elephant {
		t.Fatalf("the first flow's alert was not rebuilt with Elephant Flow: names %v", names)
	}
	if names[far1.String()] != victim.String() || names[far2.String()] != "miner-box" {
		t.Errorf("client names %v, want %s for the alert raised before the name, miner-box after", names, victim)
	}
}

// TestHostAlertNameFixedWhileEngaged: an engaged host alert keeps the name
// the host had when it was raised, pass after pass.
func TestHostAlertNameFixedWhileEngaged(t *testing.T) {
	st := memStore(t)
	e := newEngine(t, st, &sink{})
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{lan}})
	flood := func(from int64) {
		for i := 0; i < 600; i++ {
			ts := from + int64(i)*5e6
			tb.HandlePacket(tcp(ts, victim, attacker, uint16(1024+i), 80, decode.TCPSyn), decode.ErrNone)
		}
	}
	flood(t0)
	e.Run(Iface{Table: tb, Live: true}, t0+3e9, false)
	tb.HandlePacket(mdnsName(t0+3e9+1, victim, "flooder"), decode.ErrNone)
	flood(t0 + 4e9)
	e.Run(Iface{Table: tb, Live: true}, t0+7e9, false)
	n := 0
	for _, a := range e.Engaged(0) {
		if a.TypeID == alert.HostSYNFlood && a.Host.IP == victim.String() {
			n++
			if a.Host.Name != victim.String() {
				t.Errorf("engaged alert names the host %q, want %s (its name when raised)", a.Host.Name, victim)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d SYN flood alerts of %s, want 1: %+v", n, victim, e.Engaged(0))
	}
	tb.View(func(v flowtable.View) {
		if h := v.Host(flowtable.HostKey{Addr: victim}); h == nil || h.LearntName() != "flooder" {
			t.Errorf("name not learnt: %+v", h)
		}
	})
}
