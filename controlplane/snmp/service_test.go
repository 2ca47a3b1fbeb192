package snmp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// polledIDs are the devices the poller runs.
func polledIDs(p *Poller) []string {
	var ids []string
	for _, d := range p.Devices() {
		ids = append(ids, d.Device.ID)
	}
	slices.Sort(ids)
	return ids
}

func newTestService(t *testing.T, st *store.Store) *Service {
	t.Helper()
	p := NewPoller(Options{})
	t.Cleanup(p.Close)
	s, err := NewService(st, p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dev is a device on a loopback port nothing answers on (the poller's
// attempts fail quietly).
func dev(port int) Device {
	return Device{Host: "127.0.0.1", Port: uint16(port), Community: "public"}
}

func valid(t *testing.T, d Device) Device {
	t.Helper()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestService: edits are stored and polled, refusals change nothing, a
// restart polls what was stored.
func TestService(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, st)
	a, b := valid(t, dev(1161)), valid(t, dev(1162))
	if err := s.Add([]Device{a, b}); err != nil {
		t.Fatal(err)
	}
	if got, want := polledIDs(s.Poller()), []string{a.ID, b.ID}; !slices.Equal(got, want) {
		t.Fatalf("polled %v, want %v", got, want)
	}
	if err := s.Add([]Device{a}); !badinput.Is(err) {
		t.Errorf("adding a device twice: %v", err)
	}
	many := make([]Device, MaxDevices)
	for i := range many {
		many[i] = valid(t, dev(2000+i))
	}
	if err := s.Add(many); !errors.Is(err, ErrTooManyDevices) {
		t.Errorf("past %d devices: %v", MaxDevices, err)
	}
	if err := s.Delete("127.0.0.1:9"); !errors.Is(err, confdoc.ErrNotFound) {
		t.Errorf("delete of no device: %v", err)
	}
	if err := s.Delete(a.ID); err != nil {
		t.Fatal(err)
	}
	if got := polledIDs(s.Poller()); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("polled after delete %v", got)
	}
	partial, err := s.Import([]Device{dev(1162), dev(1163)})
	if err != nil || !partial {
		t.Errorf("import: partial %v %v", partial, err)
	}
	st.Close()

	st, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s = newTestService(t, st)
	if got, want := polledIDs(s.Poller()), []string{b.ID, valid(t, dev(1163)).ID}; !slices.Equal(got, want) {
		t.Errorf("polled after restart %v, want %v", got, want)
	}
}

// TestServiceStoreFails: a change the store does not take leaves the
// poller as it was.
func TestServiceStoreFails(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newTestService(t, st)
	a := valid(t, dev(1161))
	if err := s.Add([]Device{a}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := s.Delete(a.ID); err == nil {
		t.Error("delete with the store closed succeeded")
	}
	if got := polledIDs(s.Poller()); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("polled %v", got)
	}
}

// TestSamples: a poll's samples come back per interface and time window.
func TestSamples(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := newTestService(t, st)
	d := valid(t, dev(1161))
	for i, at := range []int64{100, 200, 300} {
		ds := DeviceState{Device: d, LastPoll: time.Unix(at, 0), Interfaces: []Interface{
			{Index: 1, InOctets: uint64(10 * i), OperStatus: StatusUp},
			{Index: 2, InOctets: uint64(1000 + i)},
		}}
		if err := StoreSamples(st, ds, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		idx      int
		from, to int64
		want     []int64
	}{
		{1, 0, 0, []int64{100, 200, 300}},
		{1, 150, 250, []int64{200}},
		{2, 200, 0, []int64{200, 300}},
		{3, 0, 0, nil},
	} {
		got, err := s.Samples(d.ID, c.idx, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		var times []int64
		for _, smp := range got {
			times = append(times, smp.Time)
		}
		if !slices.Equal(times, c.want) {
			t.Errorf("if %d [%d,%d]: %v, want %v", c.idx, c.from, c.to, times, c.want)
		}
		if c.idx == 2 && got[0].InOctets != 1001 {
			t.Errorf("if 2 at 200: %+v, want in_octets 1001", got[0])
		}
	}
}

// TestAddAnswering: only devices that answer are stored; the errors say
// which case it was.
func TestAddAnswering(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := newTestService(t, st)
	errDown := fmt.Errorf("probe: %w", ErrUnreachable)
	s.Probe = func(_ context.Context, d Device) (System, error) {
		if d.Port == 1161 || d.Port == 1163 {
			return System{}, nil
		}
		return System{}, errDown
	}
	a, b, c := valid(t, dev(1161)), valid(t, dev(1162)), valid(t, dev(1163))
	if got, err := s.AddAnswering([]Device{a, b, c}); err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].ID != c.ID {
		t.Fatalf("scan: %v %v", got, err)
	}
	for _, cc := range []struct {
		name  string
		cands []Device
		want  error
	}{
		{"stored", []Device{a}, ErrAlreadyAdded},
		{"down", []Device{b}, ErrUnreachable},
		{"scan, none new answers", []Device{a, b}, ErrNoneAnswered},
	} {
		if _, err := s.AddAnswering(cc.cands); !errors.Is(err, cc.want) {
			t.Errorf("%s: %v, want %v", cc.name, err, cc.want)
		}
	}
	if err := s.EditAnswering(b); !errors.Is(err, confdoc.ErrNotFound) {
		t.Errorf("edit of a device not stored: %v", err)
	}
	down := a
	down.Port = 1162 // same id, a port that does not answer
	if err := s.EditAnswering(down); !errors.Is(err, ErrUnreachable) {
		t.Errorf("edit to settings that do not answer: %v", err)
	}
	edited := a
	edited.Community = "private"
	if err := s.EditAnswering(edited); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := s.Device(a.ID); d.Community != "private" {
		t.Errorf("after edit: %+v", d)
	}
	if got := polledIDs(s.Poller()); !slices.Equal(got, []string{a.ID, c.ID}) {
		t.Errorf("polled %v", got)
	}
}
