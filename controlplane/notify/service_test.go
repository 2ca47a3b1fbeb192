package notify

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

func openServiceStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newTestService(t *testing.T, st *store.Store) *Service {
	t.Helper()
	d := New(Options{})
	t.Cleanup(func() { d.Close(context.Background()) })
	s, err := NewService(st, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// appliedIDs are the endpoints the dispatcher runs.
func appliedIDs(s *Service) []int {
	var ids []int
	for _, st := range s.Dispatcher().Stats() {
		ids = append(ids, st.EndpointID)
	}
	slices.Sort(ids)
	return ids
}

func localSyslog(name string) Endpoint {
	return Endpoint{Name: name, Type: "syslog", Conf: map[string]string{ParamSyslogHost: "127.0.0.1", ParamSyslogPort: "5514"}}
}

// TestServiceLayouts: a setup stored by an older build (two keys) is read,
// and the first change writes the one document a restart reads back.
func TestServiceLayouts(t *testing.T) {
	dir := t.TempDir()
	st := openServiceStore(t, dir)
	old := localSyslog("old")
	old.ID = 4
	if err := st.Put(store.NSNotify, legacyEndpoints, []Endpoint{old}); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(store.NSNotify, legacyRecipient, []Recipient{{ID: 2, Name: "ops", EndpointID: 4}}); err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, st)
	if got := appliedIDs(s); !slices.Equal(got, []int{4}) {
		t.Fatalf("endpoints applied from the old layout: %v", got)
	}
	id, err := s.AddEndpoint(localSyslog("new"))
	if err != nil || id != 5 {
		t.Fatalf("add: id %d %v, want 5", id, err)
	}
	st.Close()

	st = openServiceStore(t, dir)
	defer st.Close()
	s = newTestService(t, st)
	su, err := s.Setup()
	if err != nil || len(su.Endpoints) != 2 || len(su.Recipients) != 1 || su.Recipients[0].Name != "ops" {
		t.Fatalf("after restart: %+v %v", su, err)
	}
	if got := appliedIDs(s); !slices.Equal(got, []int{4, 5}) {
		t.Errorf("applied after restart: %v", got)
	}
}

// TestServiceEdits: each edit's result, its refusals, and that deleting an
// endpoint takes its recipients along.
func TestServiceEdits(t *testing.T) {
	st := openServiceStore(t, t.TempDir())
	defer st.Close()
	s := newTestService(t, st)
	e1, _ := s.AddEndpoint(localSyslog("a"))
	e2, _ := s.AddEndpoint(localSyslog("b"))
	if _, err := s.AddRecipient(Recipient{Name: "r1", EndpointID: e1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddRecipient(Recipient{Name: "r2", EndpointID: e2}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
		want func(error) bool
	}{
		{"recipient of no endpoint", func() error { _, err := s.AddRecipient(Recipient{Name: "x", EndpointID: 9}); return err }(), badinput.Is},
		{"invalid endpoint", func() error { _, err := s.AddEndpoint(Endpoint{Name: "", Type: "syslog"}); return err }(), badinput.Is},
		{"edit unknown", s.EditEndpoint(Endpoint{ID: 9, Name: "z", Type: "syslog"}), func(err error) bool { return errors.Is(err, confdoc.ErrNotFound) }},
		{"delete unknown recipient", s.DeleteRecipient(9), func(err error) bool { return errors.Is(err, confdoc.ErrNotFound) }},
	} {
		if !c.want(c.err) {
			t.Errorf("%s: %v", c.name, c.err)
		}
	}
	if err := s.DeleteEndpoint(e1); err != nil {
		t.Fatal(err)
	}
	su, _ := s.Setup()
	if len(su.Endpoints) != 1 || su.Endpoints[0].ID != e2 || len(su.Recipients) != 1 || su.Recipients[0].Name != "r2" {
		t.Errorf("after deleting endpoint %d: %+v", e1, su)
	}
	if got := appliedIDs(s); !slices.Equal(got, []int{e2}) {
		t.Errorf("applied: %v", got)
	}
	// Import matches by name: "b" and "r2" are kept, "c" is added.
	partial, err := s.Import(Setup{Endpoints: []Endpoint{{ID: 1, Name: "b", Type: "syslog", Conf: localSyslog("").Conf}, {ID: 2, Name: "c", Type: "syslog", Conf: localSyslog("").Conf}},
		Recipients: []Recipient{{ID: 1, Name: "r2", EndpointID: 1}, {ID: 2, Name: "r3", EndpointID: 2}}})
	if err != nil || !partial {
		t.Fatalf("import: partial %v %v", partial, err)
	}
	su, _ = s.Setup()
	if len(su.Endpoints) != 2 || len(su.Recipients) != 2 || su.Recipients[1].EndpointID != su.Endpoints[1].ID {
		t.Errorf("after import: %+v", su)
	}
}

// TestServiceStoreFails: a change the store does not take leaves the
// dispatcher as it was.
func TestServiceStoreFails(t *testing.T) {
	st := openServiceStore(t, t.TempDir())
	s := newTestService(t, st)
	id, err := s.AddEndpoint(localSyslog("a"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := s.AddEndpoint(localSyslog("b")); err == nil {
		t.Error("add with the store closed succeeded")
	}
	if err := s.Reset(); err == nil {
		t.Error("reset with the store closed succeeded")
	}
	if got := appliedIDs(s); !slices.Equal(got, []int{id}) {
		t.Errorf("dispatcher runs %v, want %v", got, []int{id})
	}
}

// TestServiceApplyFails: with the dispatcher closed the change is stored,
// reported as not applied (not as bad input), and a restart runs it.
func TestServiceApplyFails(t *testing.T) {
	dir := t.TempDir()
	st := openServiceStore(t, dir)
	d := New(Options{})
	s, err := NewService(st, d)
	if err != nil {
		t.Fatal(err)
	}
	d.Close(context.Background())
	id, err := s.AddEndpoint(localSyslog("a"))
	if !errors.Is(err, confdoc.ErrNotApplied) || badinput.Is(err) {
		t.Fatalf("add to a closed dispatcher: %v", err)
	}
	st.Close()

	st = openServiceStore(t, dir)
	defer st.Close()
	if got := appliedIDs(newTestService(t, st)); !slices.Equal(got, []int{id}) {
		t.Errorf("after restart: %v, want [%d]", got, id)
	}
}
