package checks

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// The behaviour pass meets the local hosts in address order from a list
// the host pass adds to as it meets them: hosts added over several passes,
// in any order, and hosts that left must come out as a walk of the table
// would meet them.
func TestLocalHostsSorted(t *testing.T) {
	type step struct {
		add  []string // hosts met by the host pass, in that order
		drop []string // hosts that left
		want []string // the behaviour pass's order
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"one pass, any order", []step{
			{add: []string{"192.168.1.9", "192.168.1.2", "192.168.1.5"}, want: []string{"192.168.1.2", "192.168.1.5", "192.168.1.9"}},
		}},
		{"later hosts merged between earlier ones", []step{
			{add: []string{"192.168.1.9", "192.168.1.2"}, want: []string{"192.168.1.2", "192.168.1.9"}},
			{add: []string{"192.168.1.10", "192.168.1.1", "192.168.1.5"}, want: []string{"192.168.1.1", "192.168.1.2", "192.168.1.5", "192.168.1.9", "192.168.1.10"}},
			{want: []string{"192.168.1.1", "192.168.1.2", "192.168.1.5", "192.168.1.9", "192.168.1.10"}},
		}},
		{"hosts that left are dropped, sorted or not", []step{
			{add: []string{"192.168.1.3", "192.168.1.1", "192.168.1.2"}, want: []string{"192.168.1.1", "192.168.1.2", "192.168.1.3"}},
			{add: []string{"192.168.1.7", "192.168.1.4"}, drop: []string{"192.168.1.2", "192.168.1.7"}, want: []string{"192.168.1.1", "192.168.1.3", "192.168.1.4"}},
			{drop: []string{"192.168.1.1", "192.168.1.3", "192.168.1.4"}, want: []string{}},
		}},
		{"IPv4 before IPv6, a host listed once", []step{
			{add: []string{"fd00::1", "192.168.1.1", "192.168.1.1"}, want: []string{"192.168.1.1", "fd00::1"}},
			{add: []string{"fd00::1", "10.0.0.1"}, want: []string{"10.0.0.1", "192.168.1.1", "fd00::1"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &ifState{}
			for i, s := range c.steps {
				for _, a := range s.add {
					k := flowtable.HostKey{Addr: netip.MustParseAddr(a)}
					st.listLocal(&flowtable.Host{Key: k, Local: true}, st.host(k))
				}
				for _, a := range s.drop {
					st.dropHost(flowtable.HostKey{Addr: netip.MustParseAddr(a)})
				}
				got := []string{}
				for _, hs := range st.locals.sorted() {
					got = append(got, hs.key.Addr.String())
				}
				if !slices.Equal(got, s.want) {
					t.Fatalf("step %d: %v, want %v", i, got, s.want)
				}
			}
		})
	}
}
