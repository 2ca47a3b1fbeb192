package export

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// runningIDs are the collectors the exporter runs, in order.
func runningIDs(e *Exporter) []int {
	var ids []int
	for _, s := range e.Stats() {
		ids = append(ids, s.ID)
	}
	return ids
}

func newServiceExporter(t *testing.T) *Exporter {
	t.Helper()
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// TestService: fixed collectors first, stored ones after; a stored one may
// not take a fixed one's id; a restart applies what was stored.
func TestService(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fixed := []Collector{{ID: 2, Address: "127.0.0.1:2055"}}
	s, err := NewService(st, newServiceExporter(t), fixed)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Add(Collector{Address: "127.0.0.1:4739", Protocol: ProtocolIPFIX})
	if err != nil || id != 1 {
		t.Fatalf("add: %d %v", id, err)
	}
	if got := runningIDs(s.Exporter()); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("running %v", got)
	}
	// The next stored id is 2, the fixed collector's: refused, not stored,
	// not applied.
	if _, err := s.Add(Collector{Address: "127.0.0.1:9995"}); !badinput.Is(err) {
		t.Errorf("id clash with a fixed collector: %v", err)
	}
	if err := s.Edit(Collector{ID: 7, Address: "127.0.0.1:9995"}); !errors.Is(err, confdoc.ErrNotFound) {
		t.Errorf("edit of no collector: %v", err)
	}
	if err := s.Edit(Collector{ID: 1, Address: "no port"}); !badinput.Is(err) {
		t.Errorf("edit to an invalid address: %v", err)
	}
	if cs, _ := s.Stored(); len(cs) != 1 || cs[0].Address != "127.0.0.1:4739" {
		t.Errorf("stored %+v", cs)
	}
	if got := runningIDs(s.Exporter()); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("running after refusals %v", got)
	}
	partial, err := s.Import([]Collector{{ID: 9, Address: "127.0.0.1:4739", Protocol: ProtocolIPFIX}})
	if err != nil || !partial {
		t.Errorf("import of a collector already there: partial %v %v", partial, err)
	}
	st.Close()

	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err = NewService(st, newServiceExporter(t), fixed)
	if err != nil {
		t.Fatal(err)
	}
	if got := runningIDs(s.Exporter()); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("running after restart %v", got)
	}
}

// TestServiceStoreFails: a collector the store does not take is not
// exported to either (it used to be applied first, then stored).
func TestServiceStoreFails(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewService(st, newServiceExporter(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(Collector{Address: "127.0.0.1:2055"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := s.Add(Collector{Address: "127.0.0.1:4739"}); err == nil {
		t.Error("add with the store closed succeeded")
	}
	if err := s.Delete(1); err == nil {
		t.Error("delete with the store closed succeeded")
	}
	if got := runningIDs(s.Exporter()); !slices.Equal(got, []int{1}) {
		t.Errorf("running %v, want [1]", got)
	}
}
