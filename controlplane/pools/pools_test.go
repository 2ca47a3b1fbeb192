package pools

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

func openPools(t *testing.T, dir string) (*Pools, *store.Store) {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(st)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return p, st
}

func TestNormalizeMember(t *testing.T) {
	cases := []struct {
		inst, in, want string // want "" = refused
	}{
		{Host, "192.168.2.0/24", "192.168.2.0/24@0"},
		{Host, "192.168.2.7/24@3", "192.168.2.0/24@3"},
		{Host, "8.8.8.8", "8.8.8.8/32@0"},
		{Host, "8.8.8.8/32@2", "8.8.8.8/32@2"},
		{Host, "2001:DB8::1", "2001:db8::1/128@0"},
		{Host, "aa:bb:cc:dd:ee:ff", "AA:BB:CC:DD:EE:FF"},
		{Host, " 10.0.0.0/8 ", "10.0.0.0/8@0"},
		{Host, "aa:bb:cc:dd:ee:ff@2", ""},
		{Host, "10.0.0.1@4096", ""},
		{Host, "10.0.0.1@-1", ""},
		{Host, "10.0.0.0/33", ""},
		{Host, "fe80::1%eth0", ""},
		{Host, "::ffff:1.2.3.4", ""},
		{Host, "example.com", ""},
		{Host, "", ""},
		{Interface, "007", "7"},
		{Interface, "-1", ""},
		{Network, "10.1.2.3/16", "10.1.0.0/16"},
		{Network, "10.1.2.3", ""},
		{MAC, "00:11:22:33:44:5a", "00:11:22:33:44:5A"},
		{SNMPDevice, "Switch-1.lan", "switch-1.lan"},
		{SNMPDevice, "bad host", ""},
		{ActiveMonitoring, "icmp@8.8.8.8", "icmp@8.8.8.8"},
		{ActiveMonitoring, "https://x y", ""},
		{"nope", "x", ""},
	}
	for _, c := range cases {
		got, err := NormalizeMember(c.inst, c.in)
		if c.want == "" {
			if err == nil || !badinput.Is(err) {
				t.Errorf("%s %q: %q, %v; want a badinput error", c.inst, c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %q: %q, %v; want %q", c.inst, c.in, got, err, c.want)
		}
	}
	d := Details(Host, "10.0.0.1/32@5")
	if d != (MemberDetails{Name: "10.0.0.1", VLAN: 5, Member: "10.0.0.1/32@5", Type: "ip", HostKey: "10.0.0.1@5"}) {
		t.Errorf("details %+v", d)
	}
}

func TestLifeCycleAndPersistence(t *testing.T) {
	dir := t.TempDir()
	p, st := openPools(t, dir)
	id, err := p.Add(Host, "lab", []string{"192.168.2.0/24", "AA:BB:CC:DD:EE:01", "192.168.2.0/24@0"})
	if err != nil || id != 2 {
		t.Fatalf("add: %d %v", id, err)
	}
	if _, err := p.Add(Host, "lab", nil); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("duplicate name: %v", err)
	}
	var be *BoundError
	if _, err := p.Add(Host, "other", []string{"aa:bb:cc:dd:ee:01"}); !errors.As(err, &be) || be.PoolID != 2 {
		t.Errorf("member in another pool: %v", err)
	}
	id3, _ := p.Add(Host, "gone", nil)
	if err := p.Delete(Host, id3); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{DefaultID, JailedID} {
		if err := p.Delete(Host, id); !errors.Is(err, ErrBuiltIn) {
			t.Errorf("delete %d: %v", id, err)
		}
	}
	if err := p.Edit(Host, DefaultID, "x", nil); !errors.Is(err, ErrBuiltIn) {
		t.Errorf("edit default: %v", err)
	}
	if err := p.Bind("10.9.9.9", JailedID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Add(Interface, "wan", []string{"0"}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	p, st = openPools(t, dir)
	defer st.Close()
	got, _ := p.List(Host)
	want := []Pool{
		{ID: 0, Name: DefaultName},
		{ID: 1, Name: JailedName, Members: []string{"10.9.9.9/32@0"}},
		{ID: 2, Name: "lab", Members: []string{"192.168.2.0/24@0", "AA:BB:CC:DD:EE:01"}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after reopen: %v", got)
	}
	// Ids are not reused, also across restarts.
	if id, err := p.Add(Host, "new", nil); err != nil || id != 4 {
		t.Errorf("next id %d %v", id, err)
	}
	if id, _ := p.HostPool(netip.MustParseAddr("192.168.2.9"), 0, [6]byte{}, false); id != 2 {
		t.Errorf("index after reopen: pool %d", id)
	}
	if x, _ := p.List(Interface); len(x) != 2 || x[1].Members[0] != "0" {
		t.Errorf("interface pools %v", x)
	}
}

func TestBind(t *testing.T) {
	p, st := openPools(t, t.TempDir())
	defer st.Close()
	a, _ := p.Add(Host, "a", []string{"10.0.0.1"})
	b, _ := p.Add(Host, "b", nil)
	var be *BoundError
	if err := p.Bind("10.0.0.1/32@0", b, ""); !errors.As(err, &be) || be.PoolID != a {
		t.Errorf("bound elsewhere: %v", err)
	}
	if err := p.Bind("10.0.0.1", a, ""); err != nil { // already there: fine
		t.Error(err)
	}
	if err := p.Bind("10.0.0.1", DefaultID, ""); err != nil {
		t.Error(err)
	}
	if err := p.Bind("10.0.0.1", b, ""); err != nil {
		t.Error(err)
	}
	if err := p.Bind("10.0.0.2", b, "10.0.0.1"); err != nil {
		t.Error(err)
	}
	if x, _ := p.Get(Host, b); !slices.Equal(x.Members, []string{"10.0.0.2/32@0"}) {
		t.Errorf("after edit: %v", x.Members)
	}
	if err := p.Bind("10.0.0.3", b, "10.0.0.99"); !badinput.Is(err) {
		t.Errorf("old member not in pool: %v", err)
	}
	if err := p.Bind("10.0.0.3", 99, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("no pool: %v", err)
	}
	if x, found, _ := p.ByMember(Host, "10.0.0.2"); !found || x.ID != b {
		t.Errorf("by member: %v %v", x, found)
	}
}

func TestLimitsAndImport(t *testing.T) {
	p, st := openPools(t, t.TempDir())
	defer st.Close()
	big := make([]string, MaxMembers+1)
	for i := range big {
		big[i] = fmt.Sprintf("10.%d.%d.1", i/256, i%256)
	}
	if _, err := p.Add(Host, "big", big); !errors.Is(err, ErrTooManyMembers) {
		t.Errorf("huge member list: %v", err)
	}
	if _, err := p.Add(HostPools, "hp", []string{"77"}); !badinput.Is(err) {
		t.Errorf("host_pool member naming no host pool: %v", err)
	}
	if _, err := p.Add(HostPools, "hp", []string{"1"}); err != nil {
		t.Error(err)
	}
	for i := 1; i < MaxPools; i++ { // pool 0 is there
		if _, err := p.Add(Network, fmt.Sprint("n", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Add(Network, "one too many", nil); !errors.Is(err, ErrTooManyPools) {
		t.Errorf("limit: %v", err)
	}
	p.Add(Host, "lab", []string{"10.0.0.0/8"})
	p.Bind("1.1.1.1", JailedID, "")
	exported := p.Export()
	if err := p.DeleteAll(); err != nil {
		t.Fatal(err)
	}
	if x, _ := p.List(Network); len(x) != 1 {
		t.Fatalf("after cleanup: %v", x)
	}
	raw := mustJSON(t, exported)
	partial, err := p.Import(raw)
	if err != nil || partial {
		t.Fatalf("import: %v %v", partial, err)
	}
	if fmt.Sprint(p.Export()) != fmt.Sprint(exported) {
		t.Errorf("import differs:\n%v\n%v", p.Export(), exported)
	}
	if partial, err := p.Import(raw); err != nil || !partial {
		t.Errorf("re-import: %v %v", partial, err)
	}
	if _, err := p.Import([]byte(`{"nope":[]}`)); !badinput.Is(err) {
		t.Errorf("unknown instance: %v", err)
	}
	if _, err := p.Import([]byte(`{"host":[{"pool_id":1000000000000,"name":"x","members":["bad"]}]}`)); !badinput.Is(err) {
		t.Errorf("bad member: %v", err)
	}
}
