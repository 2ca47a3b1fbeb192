package checks

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/decode"
)

func arpReply(ts int64, mac [6]byte, ip string) *decode.Packet {
	return &decode.Packet{Timestamp: ts, WireLen: 60, HasMAC: true, SrcMAC: mac, DstMAC: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		EtherType: decode.EtherTypeARP, ARP: decode.ARP{Op: decode.ARPReply, SenderMAC: mac, SenderIP: netip.MustParseAddr(ip).As4(),
			TargetIP: [4]byte{10, 0, 0, 99}}}
}

// TestARPAssociationChange: each change of an IP's MAC in ARP replies is
// one MAC alert, raised once (a later pass does not repeat it); while the
// check is off changes raise nothing, and are not raised later either.
func TestARPAssociationChange(t *testing.T) {
	s := &sink{}
	e := newEngine(t, openStore(t, t.TempDir()), s)
	tb := flowtable.New(flowtable.Config{})
	good, evil := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 0x66}
	tb.HandlePacket(arpReply(1e9, good, "10.0.0.1"), decode.ErrNone)
	tb.HandlePacket(arpReply(2e9, evil, "10.0.0.1"), decode.ErrNone)
	e.Run(Iface{Table: tb}, 0, false)
	e.Run(Iface{Table: tb}, 0, false)
	if len(s.got) != 1 {
		t.Fatalf("%d alerts, want 1: %+v", len(s.got), s.got)
	}
	a := s.got[0]
	if a.Family != alert.FamilyOther || a.TypeID != 4112 || a.Entity != alert.EntityMAC || a.EntityVal != "02:00:00:00:00:66" ||
		a.Tstamp != 2 || a.Engaged || a.Info != "IP 10.0.0.1 changed association from 02:00:00:00:00:01 to 02:00:00:00:00:66" {
		t.Errorf("alert %+v", a)
	}
	if err := e.Enable(SubdirInterface, "mac_ip_association_change", false); err != nil {
		t.Fatal(err)
	}
	tb.HandlePacket(arpReply(3e9, good, "10.0.0.1"), decode.ErrNone)
	e.Run(Iface{Table: tb}, 0, false)
	if err := e.Enable(SubdirInterface, "mac_ip_association_change", true); err != nil {
		t.Fatal(err)
	}
	e.Run(Iface{Table: tb}, 0, false)
	if len(s.got) != 1 {
		t.Errorf("%d alerts after the change made while off, want 1", len(s.got))
	}
	tb.HandlePacket(arpReply(4e9, evil, "10.0.0.1"), decode.ErrNone)
	e.Run(Iface{Table: tb}, 0, false)
	if len(s.got) != 2 || s.got[1].Tstamp != 4 {
		t.Errorf("alerts %+v, want a second at 4", s.got)
	}
}

// TestMACManyIPs: a MAC whose replies hold more IPs than the threshold is
// one MAC alert, raised once while it stays over; it is raised again only
// after its bindings aged out and it went over again.
func TestMACManyIPs(t *testing.T) {
	s := &sink{}
	e := newEngine(t, openStore(t, t.TempDir()), s)
	if err := e.Set(map[string]Setting{"mac_many_ips": {Enabled: true, Threshold: 3}}); err != nil {
		t.Fatal(err)
	}
	tb := flowtable.New(flowtable.Config{}) // live: bindings age out after 300 s
	proxy, host := [6]byte{2, 0, 0, 0, 0, 0x66}, [6]byte{2, 0, 0, 0, 0, 1}
	claim := func(at int64, mac [6]byte, ips ...string) {
		for _, ip := range ips {
			tb.HandlePacket(arpReply(at, mac, ip), decode.ErrNone)
		}
	}
	claim(1e9, host, "10.0.0.50")
	claim(2e9, proxy, "10.0.0.1", "10.0.0.2", "10.0.0.3") // 3: not more than 3
	e.Run(Iface{Table: tb}, 0, false)
	if len(s.got) != 0 {
		t.Fatalf("alerts at the threshold: %+v", s.got)
	}
	claim(3e9, proxy, "10.0.0.4", "10.0.0.50") // 5, .50 taken from host
	e.Run(Iface{Table: tb}, 0, false)
	claim(4e9, proxy, "10.0.0.5")
	e.Run(Iface{Table: tb}, 0, false)
	var many []alert.Alert
	for _, a := range s.got {
		if a.TypeID == alert.OtherMACManyIPs {
			many = append(many, a)
		}
	}
	if len(many) != 1 {
		t.Fatalf("%d many-IPs alerts, want 1: %+v", len(many), s.got)
	}
	a := many[0]
	wantInfo := "MAC 02:00:00:00:00:66 answers ARP for 5 IPs (more than 3): 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.50"
	if a.Family != alert.FamilyOther || a.Entity != alert.EntityMAC || a.EntityVal != "02:00:00:00:00:66" || a.Tstamp != 3 ||
		a.Score != 50 || a.Engaged || a.Info != wantInfo {
		t.Errorf("alert %+v\nwant info %q at 3", a, wantInfo)
	}
	// 400 s later everything has aged out; the proxy answers for four
	// addresses again: a second alert.
	tb.Tick(400e9)
	e.Run(Iface{Table: tb}, 0, false)
	claim(401e9, proxy, "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4")
	e.Run(Iface{Table: tb}, 0, false)
	n := 0
	for _, a := range s.got {
		if a.TypeID == alert.OtherMACManyIPs {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d many-IPs alerts after aging out and crossing again, want 2", n)
	}
}

// TestMACExclusions: a MAC exclusion silences that MAC alert key about that
// MAC only; lifted, a MAC still over the many-IPs threshold is raised at
// the next pass.
func TestMACExclusions(t *testing.T) {
	s := &sink{}
	e := newEngine(t, openStore(t, t.TempDir()), s)
	if err := e.Set(map[string]Setting{"mac_many_ips": {Enabled: true, Threshold: 2}}); err != nil {
		t.Fatal(err)
	}
	good, evil, proxy := [6]byte{2, 0, 0, 0, 0, 1}, [6]byte{2, 0, 0, 0, 0, 0x66}, [6]byte{2, 0, 0, 0, 0, 0x77}
	for _, x := range []Exclusion{
		{Type: ExclMAC, Addr: "02:00:00:00:00:66", Key: alert.OtherMACIPAssocChange},
		{Type: ExclMAC, Addr: "02:00:00:00:00:77", Key: alert.OtherMACManyIPs},
	} {
		if err := e.AddExclusion(x); err != nil {
			t.Fatal(err)
		}
	}
	tb := flowtable.New(flowtable.Config{})
	tb.HandlePacket(arpReply(1e9, good, "10.0.0.1"), decode.ErrNone)
	tb.HandlePacket(arpReply(2e9, evil, "10.0.0.1"), decode.ErrNone) // excluded change
	tb.HandlePacket(arpReply(3e9, good, "10.0.0.1"), decode.ErrNone) // good takes it back: not excluded
	for i, ip := range []string{"10.0.1.1", "10.0.1.2", "10.0.1.3"} {
		tb.HandlePacket(arpReply(int64(4+i)*1e9, proxy, ip), decode.ErrNone) // 3 > 2, excluded
	}
	e.Run(Iface{Table: tb}, 0, false)
	if len(s.got) != 1 || s.got[0].TypeID != alert.OtherMACIPAssocChange || s.got[0].EntityVal != "02:00:00:00:00:01" {
		t.Fatalf("alerts %+v, want only the change back to 02:00:00:00:00:01", s.got)
	}
	if _, err := e.DeleteExclusions(func(x Exclusion) bool { return x.Key == alert.OtherMACManyIPs }); err != nil {
		t.Fatal(err)
	}
	e.Run(Iface{Table: tb}, 0, false)
	if len(s.got) != 2 || s.got[1].TypeID != alert.OtherMACManyIPs || s.got[1].EntityVal != "02:00:00:00:00:77" {
		t.Errorf("alerts %+v, want the proxy's many-IPs alert once the exclusion is gone", s.got)
	}
}
