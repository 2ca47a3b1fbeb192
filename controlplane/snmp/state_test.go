package snmp

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

// row is an interface sample with 64-bit counters and error counters.
func row(idx, oper int, in, out uint64, inErr, outErr uint32) *ifSample {
	return &ifSample{
		Index: idx, Name: "eth" + string(rune('0'+idx)), Oper: oper, Admin: 1, Speed: 1e9,
		HCIn: in, HCOut: out, In32: uint32(in), Out32: uint32(out), InErrors: inErr, OutErrors: outErr,
		has: hasOctets32 | hasOctets32Out | hasOctetsHC | hasOctetsHCOut | hasErrors | hasErrorsOut,
	}
}

func result(uptime uint32, rows ...*ifSample) pollResult {
	r := pollResult{sys: System{Name: "dev", UpTime: uptime}, ifs: map[int]*ifSample{}}
	for _, s := range rows {
		r.ifs[s.Index] = s
	}
	return r
}

func kinds(evs []Event) []EventKind {
	var k []EventKind
	for _, e := range evs {
		k = append(k, e.Kind)
	}
	return k
}

// A sequence of polls of one device, 60 s apart, through the same state:
// rates, status changes, errors, a reboot, an outage and a recovery.
func TestDeviceStateSequence(t *testing.T) {
	st := newDevState(Device{ID: "sw1"})
	cfg := stateConfig{errorThreshold: 2, seriesLen: 288}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	ticks := func(i int) uint32 { return 100000 + uint32(i)*6000 }

	type step struct {
		name  string
		res   *pollResult // nil: the poll failed
		want  []EventKind
		check func(t *testing.T, ds DeviceState, evs []Event)
	}
	steps := []step{
		{"first poll: no rates yet", ptr(result(ticks(0), row(1, 1, 0, 0, 0, 0), row(2, 1, 0, 0, 0, 0))), nil,
			func(t *testing.T, ds DeviceState, _ []Event) {
				if len(ds.Interfaces) != 2 || ds.Interfaces[0].RatesValid {
					t.Errorf("%+v", ds.Interfaces)
				}
			}},
		{"traffic", ptr(result(ticks(1), row(1, 1, 750e6, 75e6, 0, 0), row(2, 1, 0, 0, 0, 0))), nil,
			func(t *testing.T, ds DeviceState, _ []Event) {
				i := ds.Interfaces[0]
				if !i.RatesValid || i.InBps != 100e6 || i.OutBps != 10e6 || len(i.Series) != 1 {
					t.Errorf("%+v", i)
				}
			}},
		{"eth2 goes down", ptr(result(ticks(2), row(1, 1, 750e6, 75e6, 0, 0), row(2, 2, 0, 0, 0, 0))),
			[]EventKind{EventPortStatusChange}, func(t *testing.T, _ DeviceState, evs []Event) {
				e := evs[0]
				if e.DeviceID != "sw1" || e.IfIndex != 2 || e.IfName != "eth2" || e.Old != 1 || e.New != 2 || !e.Time.Equal(at(2)) {
					t.Errorf("%+v", e)
				}
			}},
		{"two errors: at the threshold", ptr(result(ticks(3), row(1, 1, 750e6, 75e6, 1, 1), row(2, 2, 0, 0, 0, 0))), nil, nil},
		{"three more: over it", ptr(result(ticks(4), row(1, 1, 750e6, 75e6, 3, 2), row(2, 2, 0, 0, 0, 0))),
			[]EventKind{EventPortErrors}, func(t *testing.T, ds DeviceState, evs []Event) {
				if e := evs[0]; e.IfIndex != 1 || e.Old != 2 || e.New != 5 {
					t.Errorf("%+v", e)
				}
				if p := ds.Interfaces[0].Series; p[len(p)-1].InErrors != 2 || p[len(p)-1].OutErrors != 1 {
					t.Errorf("series %+v", p[len(p)-1])
				}
			}},
		{"reboot: uptime and counters restart, no rates, no error event",
			ptr(result(3000, row(1, 1, 1000, 1000, 0, 0), row(2, 2, 0, 0, 0, 0))),
			[]EventKind{EventDeviceReset}, func(t *testing.T, ds DeviceState, evs []Event) {
				if e := evs[0]; e.Old != int64(ticks(4)) || e.New != 3000 {
					t.Errorf("%+v", e)
				}
				if ds.Interfaces[0].RatesValid {
					t.Error("rates across a reboot")
				}
			}},
		{"after the reboot rates are back", ptr(result(9000, row(1, 1, 1000+75e6, 1000, 0, 0), row(2, 2, 0, 0, 0, 0))), nil,
			func(t *testing.T, ds DeviceState, _ []Event) {
				if i := ds.Interfaces[0]; !i.RatesValid || i.InBps != 10e6 {
					t.Errorf("%+v", i)
				}
			}},
		{"device stops answering", nil, []EventKind{EventUnresponsive}, func(t *testing.T, ds DeviceState, evs []Event) {
			if ds.Reachable || ds.LastError != "timeout" || evs[0].New != 1 || evs[0].Released {
				t.Errorf("%+v %+v", ds, evs)
			}
		}},
		{"still not answering: raised once", nil, nil, nil},
		{"answers again, eth2 gone", ptr(result(9000+3*6000, row(1, 1, 1000+75e6, 1000, 0, 0))),
			[]EventKind{EventUnresponsive}, func(t *testing.T, ds DeviceState, evs []Event) {
				if !evs[0].Released || !ds.Reachable || len(ds.Interfaces) != 1 {
					t.Errorf("%+v %+v", evs, ds)
				}
				// 3 minutes since the last success: the rate spans them.
				if i := ds.Interfaces[0]; !i.RatesValid || i.InBps != 0 {
					t.Errorf("%+v", i)
				}
			}},
	}
	for i, s := range steps {
		var evs []Event
		if s.res == nil {
			evs = st.failure(errors.New("timeout"), at(i))
		} else {
			evs = st.success(*s.res, at(i), cfg)
		}
		if got := kinds(evs); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d %q: events %v, want %v (%+v)", i, s.name, got, s.want, evs)
		}
		if s.check != nil {
			t.Run(s.name, func(t *testing.T) { s.check(t, st.snapshot(true), evs) })
		}
	}
	if ds := st.snapshot(true); ds.Failures != 2 || ds.System.Name != "dev" {
		t.Errorf("%+v", ds)
	}
}

func ptr[T any](v T) *T { return &v }

// A device that never answered raises unresponsive_device on its first
// failed poll.
func TestNeverAnsweredIsUnresponsive(t *testing.T) {
	st := newDevState(Device{ID: "x"})
	if k := kinds(st.failure(errors.New("timeout"), time.Now())); !reflect.DeepEqual(k, []EventKind{EventUnresponsive}) {
		t.Errorf("%v", k)
	}
}

// A 32-bit-only device (v1, or no ifXTable) wrapping its octet counter
// between polls still gets the right rate; a counter reset does not make
// up one.
func TestDeviceState32BitWrap(t *testing.T) {
	mk := func(in uint32) *ifSample {
		return &ifSample{Index: 1, Oper: 1, Speed: 1e9, In32: in, Out32: 0, has: hasOctets32 | hasOctets32Out}
	}
	st := newDevState(Device{ID: "old"})
	cfg := stateConfig{seriesLen: 10}
	t0 := time.Now()
	st.success(result(0, mk(math.MaxUint32-1e6+1)), t0, cfg)
	st.success(result(1000, mk(124e6)), t0.Add(10*time.Second), cfg)
	i := st.snapshot(true).Interfaces[0]
	// 1e6 + 124e6 octets in 10 s = 100 Mb/s
	if !i.RatesValid || i.InBps != 100e6 || i.HighCapacity {
		t.Errorf("after a wrap: %+v", i)
	}
	// The counter is cleared: going back from 124e6 to 10 in 10 s would
	// be a 3.3 Gb/s wrap on a 1 Gb/s port.
	st.success(result(2000, mk(10)), t0.Add(20*time.Second), cfg)
	if i := st.snapshot(true).Interfaces[0]; i.RatesValid {
		t.Errorf("after a reset: %+v", i)
	}
}

// ifXTable appearing between polls switches counters: no rate across.
func TestDeviceStateCounterWidthChange(t *testing.T) {
	st := newDevState(Device{ID: "d"})
	cfg := stateConfig{seriesLen: 10}
	t0 := time.Now()
	s32 := &ifSample{Index: 1, In32: 100, Out32: 100, has: hasOctets32 | hasOctets32Out}
	st.success(result(0, s32), t0, cfg)
	st.success(result(1000, row(1, 1, 1e12, 1e12, 0, 0)), t0.Add(10*time.Second), cfg)
	if i := st.snapshot(true).Interfaces[0]; i.RatesValid || !i.HighCapacity {
		t.Errorf("%+v", i)
	}
}

func TestRing(t *testing.T) {
	var r ring
	t0 := time.Now()
	for i := range 300 {
		r.push(Point{Time: t0.Add(time.Duration(i) * time.Second), InBps: float64(i)}, 288)
	}
	s := r.slice()
	if len(s) != 288 || s[0].InBps != 12 || s[287].InBps != 299 {
		t.Fatalf("len %d first %v last %v", len(s), s[0].InBps, s[len(s)-1].InBps)
	}
	for i := 1; i < len(s); i++ {
		if !s[i].Time.After(s[i-1].Time) {
			t.Fatalf("out of order at %d", i)
		}
	}
	s[0].InBps = -1 // a copy: callers cannot reach into the ring
	if r.slice()[0].InBps != 12 {
		t.Error("slice aliases the ring")
	}
}
