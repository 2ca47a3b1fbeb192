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
