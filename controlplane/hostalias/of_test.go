package hostalias

import (
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Of answers the alias stored now: set, changed and removed through Set,
// and read back from the store by a restarted probe's Aliases.
func TestOfFollowsSetAndRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := New(st)
	k := flowtable.HostKey{Addr: netip.MustParseAddr("192.0.2.10"), VLAN: 7}
	other := flowtable.HostKey{Addr: k.Addr} // the same address on VLAN 0
	steps := []struct{ set, want string }{{"", ""}, {"printer", "printer"}, {"lab printer", "lab printer"}, {"", ""}, {"nas", "nas"}}
	for _, s := range steps {
		if s.set != "" || a.Of(k) != "" {
			if err := a.Set(k, s.set, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := a.Of(k); got != s.want {
			t.Errorf("after Set(%q): Of = %q, want %q", s.set, got, s.want)
		}
		if got := a.Of(other); got != "" {
			t.Errorf("VLAN 0 host got alias %q", got)
		}
	}
	st.Close()
	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := New(st).Of(k); got != "nas" {
		t.Errorf("after restart: Of = %q, want nas", got)
	}
	// Without a store the aliases live in memory only.
	m := New(nil)
	if err := m.Set(k, "box", nil); err != nil || m.Of(k) != "box" {
		t.Errorf("in memory: %v, Of = %q", err, m.Of(k))
	}
}
