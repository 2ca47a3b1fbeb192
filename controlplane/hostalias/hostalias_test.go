package hostalias

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// aliasOf is the alias a table shows for addr once a packet of it is seen.
func aliasOf(t *testing.T, tb *flowtable.Table, addr netip.Addr) string {
	t.Helper()
	tb.HandlePacket(&decode.Packet{Timestamp: 1_700_000_000e9, WireLen: 100, IPVersion: 4, Proto: decode.ProtoUDP,
		Src: addr, Dst: netip.MustParseAddr("192.0.2.1"), SrcPort: 4000, DstPort: 5000}, decode.ErrNone)
	var alias string
	tb.View(func(v flowtable.View) {
		if h := v.Host(flowtable.HostKey{Addr: addr}); h != nil {
			alias = h.Alias()
		}
	})
	return alias
}

// An alias is stored before it is shown, and a table of a restarted probe
// (a new store handle on the same directory) gets it back.
func TestAliasSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := New(st)
	host := netip.MustParseAddr("192.0.2.10")
	gone := netip.MustParseAddr("192.0.2.11")
	live := flowtable.New(flowtable.Config{Offline: true})
	for _, c := range []struct {
		addr netip.Addr
		name string
	}{{host, "printer"}, {gone, "old"}, {gone, ""}} {
		if err := a.Set(flowtable.HostKey{Addr: c.addr}, c.name, []*flowtable.Table{live}); err != nil {
			t.Fatal(err)
		}
	}
	if got := aliasOf(t, live, host); got != "printer" {
		t.Errorf("live table shows %q", got)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fresh := flowtable.New(flowtable.Config{Offline: true})
	if err := New(st).Apply(fresh); err != nil {
		t.Fatal(err)
	}
	if got := aliasOf(t, fresh, host); got != "printer" {
		t.Errorf("after a restart: %q, want printer", got)
	}
	if got := aliasOf(t, fresh, gone); got != "" {
		t.Errorf("a removed alias came back: %q", got)
	}
}

// A store that refuses the write leaves the tables as they were.
func TestAliasNotShownWhenNotStored(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	tb := flowtable.New(flowtable.Config{Offline: true})
	host := netip.MustParseAddr("192.0.2.12")
	if err := New(st).Set(flowtable.HostKey{Addr: host}, "nas", []*flowtable.Table{tb}); err == nil {
		t.Fatal("a closed store accepted the alias")
	}
	if got := aliasOf(t, tb, host); got != "" {
		t.Errorf("table shows %q though the alias was not stored", got)
	}
}
