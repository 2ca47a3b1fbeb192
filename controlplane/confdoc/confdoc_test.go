package confdoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// service stands for a running service: what was applied to it last.
type service struct {
	mu      sync.Mutex
	applied []string
	calls   int
	fail    error
}

func (s *service) apply(doc []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return s.fail
	}
	s.applied = slices.Clone(doc)
	return nil
}

var errRefused = errors.New("refused")

// noEmpty is the validator of the tests: no empty element.
func noEmpty(doc []string) error {
	if slices.Contains(doc, "") {
		return fmt.Errorf("empty name: %w", errRefused)
	}
	return nil
}

func newDoc(st *store.Store, svc *service) *Doc[[]string] {
	return New(st, "test", "names", Options[[]string]{Version: 2, Validate: noEmpty, Apply: svc.apply})
}

func add(v string) func([]string) ([]string, error) {
	return func(cur []string) ([]string, error) { return append(cur, v), nil }
}

// TestUpdateStoresThenApplies: the apply callback sees the change already
// in the store, and a reopened store holds it in an envelope with the
// document's version.
func TestUpdateStoresThenApplies(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	svc := &service{}
	var seenInStore []string
	d := New(st, "test", "names", Options[[]string]{Version: 2, Validate: noEmpty, Apply: func(doc []string) error {
		// A second Doc reads the store directly, not this Update's value.
		other, err := New[[]string](st, "test", "names", Options[[]string]{Version: 2}).Load()
		if err != nil {
			return err
		}
		seenInStore = other
		return svc.apply(doc)
	}})
	for _, v := range []string{"a", "b"} {
		if err := d.Update(add(v)); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(seenInStore, []string{"a", "b"}) || !slices.Equal(svc.applied, []string{"a", "b"}) {
		t.Fatalf("in store at apply %q, applied %q", seenInStore, svc.applied)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, dir)
	defer st.Close()
	var raw json.RawMessage
	if _, err := st.Get("test", "names", &raw); err != nil {
		t.Fatal(err)
	}
	if want := `{"version":2,"doc":["a","b"]}`; string(raw) != want {
		t.Errorf("stored %s, want %s", raw, want)
	}
	got, err := newDoc(st, &service{}).Load()
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after restart: %q %v", got, err)
	}
}

// TestUpdateRefused: an edit or validation error comes back unchanged and
// neither the store nor the service change.
func TestUpdateRefused(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	svc := &service{}
	d := newDoc(st, svc)
	if err := d.Update(add("a")); err != nil {
		t.Fatal(err)
	}
	errEdit := errors.New("no such element")
	for _, c := range []struct {
		name string
		edit func([]string) ([]string, error)
		want error
	}{
		{"validator", add(""), errRefused},
		{"edit", func([]string) ([]string, error) { return nil, errEdit }, errEdit},
		{"not found", func([]string) ([]string, error) { return nil, fmt.Errorf("%w: x", ErrNotFound) }, ErrNotFound},
	} {
		err := d.Update(c.edit)
		if !errors.Is(err, c.want) || strings.HasPrefix(err.Error(), "confdoc") {
			t.Errorf("%s: %v, want %v unwrapped", c.name, err, c.want)
		}
		if got, err := d.Load(); err != nil || !slices.Equal(got, []string{"a"}) {
			t.Errorf("%s: stored %q %v", c.name, got, err)
		}
		if svc.calls != 1 || !slices.Equal(svc.applied, []string{"a"}) {
			t.Errorf("%s: applied %q after %d calls", c.name, svc.applied, svc.calls)
		}
	}
}

// TestUpdateStoreFails: with the store gone (closed) the change is
// refused and the running service keeps what it had.
func TestUpdateStoreFails(t *testing.T) {
	st := openStore(t, t.TempDir())
	svc := &service{}
	d := newDoc(st, svc)
	if err := d.Update(add("a")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	err := d.Update(func(cur []string) ([]string, error) { return []string{"b"}, nil })
	if err == nil || errors.Is(err, ErrNotApplied) {
		t.Fatalf("update on a closed store: %v", err)
	}
	if svc.calls != 1 || !slices.Equal(svc.applied, []string{"a"}) {
		t.Errorf("service changed: %q after %d calls", svc.applied, svc.calls)
	}
}

// TestUpdatePutFails: the load, edit and validation pass but the store
// refuses the write (Badger reads a key longer than it writes, 65000
// bytes), so the running service is not touched.
func TestUpdatePutFails(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	svc := &service{}
	d := New(st, "test", strings.Repeat("k", 70000), Options[[]string]{Validate: noEmpty, Apply: svc.apply})
	if got, err := d.Load(); err != nil || got != nil {
		t.Fatalf("load: %q %v", got, err)
	}
	edited := false
	err := d.Update(func(cur []string) ([]string, error) { edited = true; return append(cur, "a"), nil })
	if err == nil || errors.Is(err, ErrNotApplied) || !strings.Contains(err.Error(), "storing") || !edited {
		t.Fatalf("refused write: %v (edited %v)", err, edited)
	}
	if svc.calls != 0 {
		t.Errorf("applied %d times", svc.calls)
	}
}

// TestUpdateEncodeFails: the load and the edit work but the document
// cannot be written, so nothing is applied.
func TestUpdateEncodeFails(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	svc := &service{}
	type unencodable struct{ C chan int }
	d := New(st, "test", "bad", Options[unencodable]{Apply: func(unencodable) error { return svc.apply(nil) }})
	edited := false
	err := d.Update(func(cur unencodable) (unencodable, error) { edited = true; return unencodable{C: make(chan int)}, nil })
	if err == nil || !edited || svc.calls != 0 {
		t.Errorf("unencodable document: err %v, edited %v, applied %d times", err, edited, svc.calls)
	}
}

// TestUpdateApplyFails: the document stays stored, the error says it was
// not applied, and the next start applies it.
func TestUpdateApplyFails(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	errBusy := errors.New("service closed")
	svc := &service{fail: errBusy}
	d := newDoc(st, svc)
	err := d.Update(add("a"))
	if !errors.Is(err, ErrNotApplied) || errors.Is(err, errBusy) || !strings.Contains(err.Error(), errBusy.Error()) {
		t.Fatalf("apply failure: %v", err)
	}
	if got, err := d.Load(); err != nil || !slices.Equal(got, []string{"a"}) {
		t.Errorf("stored %q %v", got, err)
	}
	st.Close()
	st = openStore(t, dir)
	defer st.Close()
	if got, err := newDoc(st, &service{}).Load(); err != nil || !slices.Equal(got, []string{"a"}) {
		t.Errorf("after restart: %q %v", got, err)
	}
}

// TestLoadVersions: a bare value (stored before envelopes) is version 0,
// an older version goes through Upgrade, a newer one is refused, a
// missing key asks Legacy.
func TestLoadVersions(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	put := func(key, raw string) {
		if err := st.Put("test", key, json.RawMessage(raw)); err != nil {
			t.Fatal(err)
		}
	}
	put("bare", `["x","y"]`)
	put("old", `{"version":1,"doc":"x,y"}`)
	put("new", `{"version":3,"doc":["x"]}`)
	put("map", `{"version@host":{"a":1}}`) // a bare map is not an envelope
	upgrade := func(v int, raw json.RawMessage) ([]string, error) {
		if v != 1 {
			return nil, fmt.Errorf("version %d", v)
		}
		var s string
		err := json.Unmarshal(raw, &s)
		return strings.Split(s, ","), err
	}
	for _, c := range []struct {
		key     string
		o       Options[[]string]
		want    []string
		wantErr string
	}{
		{key: "bare", o: Options[[]string]{Version: 2}, want: []string{"x", "y"}},
		{key: "old", o: Options[[]string]{Version: 2, Upgrade: upgrade}, want: []string{"x", "y"}},
		{key: "bare", o: Options[[]string]{Version: 2, Upgrade: upgrade}, wantErr: "version 0"},
		{key: "new", o: Options[[]string]{Version: 2}, wantErr: "newer build"},
		{key: "missing", o: Options[[]string]{}, want: nil},
		{key: "missing", o: Options[[]string]{Legacy: func() ([]string, bool, error) { return []string{"l"}, true, nil }}, want: []string{"l"}},
		{key: "map", o: Options[[]string]{}, wantErr: "decoding"},
	} {
		got, err := New(st, "test", c.key, c.o).Load()
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %q %v, want error %q", c.key, got, err, c.wantErr)
		case c.wantErr == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("%s: %q %v, want %q", c.key, got, err, c.want)
		}
	}
	// A bare map decodes as the map it is.
	m, err := New[map[string]map[string]int](st, "test", "map", Options[map[string]map[string]int]{}).Load()
	if err != nil || m["version@host"]["a"] != 1 {
		t.Errorf("bare map: %v %v", m, err)
	}
}

// TestUpdateSerialised: concurrent updates all land; none is lost to an
// interleaved load/store.
func TestUpdateSerialised(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	svc := &service{}
	d := newDoc(st, svc)
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Update(add(fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := d.Load()
	if err != nil || len(got) != n || len(svc.applied) != n {
		t.Errorf("after %d concurrent updates: stored %q %v, applied %q", n, got, err, svc.applied)
	}
}
