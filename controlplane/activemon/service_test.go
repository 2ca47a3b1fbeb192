package activemon

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// scheduled are the host keys the scheduler measures (it is not run: the
// set it holds is what was applied).
func scheduled(s *Scheduler) []string {
	var keys []string
	for _, h := range s.Hosts() {
		keys = append(keys, h.Key)
	}
	slices.Sort(keys)
	return keys
}

func pingHost(host string) Host {
	return Host{Host: host, Measurement: "icmp", Threshold: 50, Granularity: "min"}
}

// TestService: the host list is stored and scheduled; a stored host that
// no longer validates is left out at start and reported.
func TestService(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// An older build's layout: the bare map, one host now invalid.
	bad := Host{Host: "127.0.0.2", Measurement: "icmp", Threshold: -1, Granularity: "min"}
	if err := st.Put(store.NSActiveMon, hostsKey, map[string]Host{pingHost("127.0.0.1").Key(): pingHost("127.0.0.1"), bad.Key(): bad}); err != nil {
		t.Fatal(err)
	}
	s, err := NewService(st, NewScheduler(Options{}), nil)
	if s == nil || err == nil || !strings.Contains(err.Error(), bad.Key()+" left out") {
		t.Fatalf("start with an invalid stored host: %v", err)
	}
	if got := scheduled(s.Scheduler()); !slices.Equal(got, []string{"icmp@127.0.0.1"}) {
		t.Errorf("scheduled %v", got)
	}
	// The invalid host is still stored: every change is refused until it
	// goes (as before: the whole list is validated).
	if err := s.Delete(bad.Key()); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(pingHost("127.0.0.3")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
		want func(error) bool
	}{
		{"add twice", s.Add(pingHost("127.0.0.3")), badinput.Is},
		{"edit unknown", s.Edit(pingHost("127.0.0.9")), func(err error) bool { return errors.Is(err, confdoc.ErrNotFound) }},
		{"delete unknown", s.Delete("icmp@127.0.0.9"), func(err error) bool { return errors.Is(err, confdoc.ErrNotFound) }},
		{"invalid", s.Add(Host{Host: "127.0.0.4", Measurement: "carrier-pigeon"}), func(err error) bool { return err != nil }},
	} {
		if !c.want(c.err) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	want := []string{"icmp@127.0.0.1", "icmp@127.0.0.3"}
	if got := scheduled(s.Scheduler()); !slices.Equal(got, want) {
		t.Errorf("scheduled %v, want %v", got, want)
	}
	st.Close()

	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err = NewService(st, NewScheduler(Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := scheduled(s.Scheduler()); !slices.Equal(got, want) {
		t.Errorf("scheduled after restart %v, want %v", got, want)
	}
	// An import replaces the list; the skipped host makes it partial.
	partial, err := s.Import([]byte(`{"icmp@127.0.0.5":{"threshold":10,"granularity":"min"},"icmp@x":{"threshold":"no"}}`))
	if err != nil || !partial {
		t.Errorf("import: partial %v %v", partial, err)
	}
	if got := scheduled(s.Scheduler()); !slices.Equal(got, []string{"icmp@127.0.0.5"}) {
		t.Errorf("scheduled after import %v", got)
	}
}

// TestServiceStoreFails: a change the store does not take leaves the
// scheduler as it was.
func TestServiceStoreFails(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(st, NewScheduler(Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(pingHost("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := s.Reset(); err == nil {
		t.Error("reset with the store closed succeeded")
	}
	if got := scheduled(s.Scheduler()); !slices.Equal(got, []string{"icmp@127.0.0.1"}) {
		t.Errorf("scheduled %v", got)
	}
}
