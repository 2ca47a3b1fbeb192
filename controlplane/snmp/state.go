package snmp

import (
	"fmt"
	"slices"
	"sort"
	"time"
)

// IfStatus is ifAdminStatus / ifOperStatus (RFC 2863).
type IfStatus int

const (
	StatusUp             IfStatus = 1
	StatusDown           IfStatus = 2
	StatusTesting        IfStatus = 3
	StatusUnknown        IfStatus = 4
	StatusDormant        IfStatus = 5
	StatusNotPresent     IfStatus = 6
	StatusLowerLayerDown IfStatus = 7
)

func (s IfStatus) String() string {
	switch s {
	case StatusUp:
		return "up"
	case StatusDown:
		return "down"
	case StatusTesting:
		return "testing"
	case StatusUnknown:
		return "unknown"
	case StatusDormant:
		return "dormant"
	case StatusNotPresent:
		return "notPresent"
	case StatusLowerLayerDown:
		return "lowerLayerDown"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// EventKind names an event as ntopng's alert key does.
type EventKind string

const (
	EventPortStatusChange EventKind = "port_status_change"
	EventPortErrors       EventKind = "port_errors"
	EventUnresponsive     EventKind = "unresponsive_device"
	EventDeviceReset      EventKind = "snmp_device_reset"
)

// Event is something the alert engine may want to raise. Old and New are
// the ifOperStatus values for port_status_change, the in+out error totals
// for port_errors and the sysUpTime ticks for snmp_device_reset.
type Event struct {
	DeviceID string    `json:"device_id"`
	Kind     EventKind `json:"kind"`
	IfIndex  int       `json:"if_index,omitempty"`
	IfName   string    `json:"if_name,omitempty"`
	Old      int64     `json:"old"`
	New      int64     `json:"new"`
	// Released marks the end of an unresponsive_device condition: the
	// device answers again (ntopng's engaged alert is released).
	Released bool      `json:"released,omitempty"`
	Time     time.Time `json:"time"`
	Detail   string    `json:"detail"`
}

// Point is one poll interval of an interface's time series.
type Point struct {
	Time   time.Time `json:"time"`
	InBps  float64   `json:"in_bps"`
	OutBps float64   `json:"out_bps"`
	// Errors counted during the interval that ends at Time.
	InErrors  uint64 `json:"in_errors"`
	OutErrors uint64 `json:"out_errors"`
}

// Interface is an interface of a polled device as of its last poll.
type Interface struct {
	Index       int      `json:"index"`
	Name        string   `json:"name"`
	Descr       string   `json:"descr"`
	Alias       string   `json:"alias"`
	Type        int      `json:"type"`
	Speed       uint64   `json:"speed"` // bit/s
	AdminStatus IfStatus `json:"admin_status"`
	OperStatus  IfStatus `json:"oper_status"`
	LastChange  uint32   `json:"last_change"` // sysUpTime ticks at the last status change
	// HighCapacity: the octet counters are ifHCIn/OutOctets (64-bit).
	HighCapacity bool   `json:"high_capacity"`
	InOctets     uint64 `json:"in_octets"`
	OutOctets    uint64 `json:"out_octets"`
	InPkts       uint64 `json:"in_ucast_pkts"`
	OutPkts      uint64 `json:"out_ucast_pkts"`
	InErrors     uint64 `json:"in_errors"`
	OutErrors    uint64 `json:"out_errors"`
	InDiscards   uint64 `json:"in_discards"`
	OutDiscards  uint64 `json:"out_discards"`
	// Rates over the last poll interval; RatesValid is false after the
	// first poll, a device reset or a counter discontinuity.
	RatesValid bool      `json:"rates_valid"`
	InBps      float64   `json:"in_bps"`
	OutBps     float64   `json:"out_bps"`
	InPps      float64   `json:"in_pps"`
	OutPps     float64   `json:"out_pps"`
	Updated    time.Time `json:"updated"`
	Series     []Point   `json:"series,omitempty"`
}

// DeviceState is a polled device as of its last poll.
type DeviceState struct {
	Device      Device        `json:"device"` // secrets redacted
	System      System        `json:"system"`
	Reachable   bool          `json:"reachable"`
	LastPoll    time.Time     `json:"last_poll"`
	LastSuccess time.Time     `json:"last_success"`
	LastError   string        `json:"last_error,omitempty"`
	PollTime    time.Duration `json:"poll_time"` // how long the last poll took
	Polls       uint64        `json:"polls"`
	Failures    uint64        `json:"failures"`
	Interfaces  []Interface   `json:"interfaces"`
}

// pollResult is what one successful poll read.
type pollResult struct {
	sys System
	ifs map[int]*ifSample
}

// devState is what the poller remembers of a device between polls.
type devState struct {
	dev       Device
	sys       System
	answered  bool // some poll succeeded
	reachable bool // the last poll succeeded
	down      bool // unresponsive_device raised and not released
	lastPoll  time.Time
	lastOK    time.Time
	lastErr   string
	pollTime  time.Duration
	polls     uint64
	failures  uint64
	ifs       map[int]*ifState
}

type ifState struct {
	s      ifSample
	at     time.Time
	valid  bool
	inBps  float64
	outBps float64
	inPps  float64
	outPps float64
	series ring
}

// stateConfig is what applying a poll needs from the poller's options.
type stateConfig struct {
	errorThreshold uint64
	seriesLen      int
}

func newDevState(d Device) *devState {
	return &devState{dev: d, ifs: map[int]*ifState{}}
}

// success folds a successful poll taken at now into st and returns the
// events it causes.
func (st *devState) success(r pollResult, now time.Time, cfg stateConfig) []Event {
	var evs []Event
	ev := func(e Event) {
		e.DeviceID, e.Time = st.dev.ID, now
		evs = append(evs, e)
	}
	if st.down {
		st.down = false
		ev(Event{Kind: EventUnresponsive, Released: true, Old: 1, New: 0, Detail: "device answers again"})
	}
	reset := false
	if st.answered && rebooted(st.sys.UpTime, r.sys.UpTime, now.Sub(st.lastOK)) {
		reset = true
		ev(Event{Kind: EventDeviceReset, Old: int64(st.sys.UpTime), New: int64(r.sys.UpTime),
			Detail: fmt.Sprintf("sysUpTime went from %v to %v", System{UpTime: st.sys.UpTime}.UpTimeDuration(), r.sys.UpTimeDuration())})
	}
	// In ifIndex order, so that one poll's events come out in a stable
	// order.
	idxs := make([]int, 0, len(r.ifs))
	for idx := range r.ifs {
		idxs = append(idxs, idx)
	}
	slices.Sort(idxs)
	for _, idx := range idxs {
		s := r.ifs[idx]
		is := st.ifs[idx]
		if is == nil {
			st.ifs[idx] = &ifState{s: *s, at: now}
			continue
		}
		prev := is.s
		name := s.Name
		if name == "" {
			name = s.Descr
		}
		if prev.Oper != 0 && s.Oper != 0 && prev.Oper != s.Oper {
			ev(Event{Kind: EventPortStatusChange, IfIndex: idx, IfName: name, Old: int64(prev.Oper), New: int64(s.Oper),
				Detail: fmt.Sprintf("%s: %v -> %v", name, IfStatus(prev.Oper), IfStatus(s.Oper))})
		}
		is.valid = false
		if !reset {
			inErr, outErr, okErr := errorDeltas(&prev, s)
			if okErr && inErr+outErr > cfg.errorThreshold {
				ev(Event{Kind: EventPortErrors, IfIndex: idx, IfName: name,
					Old: int64(prev.InErrors) + int64(prev.OutErrors), New: int64(s.InErrors) + int64(s.OutErrors),
					Detail: fmt.Sprintf("%s: %d in and %d out errors since the last poll", name, inErr, outErr)})
			}
			is.rates(&prev, s, now.Sub(is.at))
			if is.valid {
				is.series.push(Point{Time: now, InBps: is.inBps, OutBps: is.outBps, InErrors: inErr, OutErrors: outErr}, cfg.seriesLen)
			}
		}
		is.s, is.at = *s, now
	}
	for idx := range st.ifs {
		if r.ifs[idx] == nil {
			delete(st.ifs, idx) // the interface went away (or was renumbered)
		}
	}
	st.sys, st.answered, st.reachable, st.lastOK, st.lastErr = r.sys, true, true, now, ""
	return evs
}

// failure records a failed poll. A device raises unresponsive_device once
// per outage: on its first failure after a success, or on the first poll
// of a device that never answered.
func (st *devState) failure(err error, now time.Time) []Event {
	st.failures++
	st.reachable = false
	st.lastErr = err.Error()
	if st.down {
		return nil
	}
	st.down = true
	return []Event{{DeviceID: st.dev.ID, Kind: EventUnresponsive, Old: 0, New: 1, Time: now, Detail: err.Error()}}
}

// errorDeltas is how many in and out errors an interface counted between
// two polls; false when the device does not report them or they went back.
func errorDeltas(prev, cur *ifSample) (in, out uint64, ok bool) {
	if !prev.hasAll(hasErrors|hasErrorsOut) || !cur.hasAll(hasErrors|hasErrorsOut) {
		return 0, 0, false
	}
	// Error counters move slowly enough that going back is a reset, not
	// a wrap.
	if cur.InErrors < prev.InErrors || cur.OutErrors < prev.OutErrors {
		return 0, 0, false
	}
	return uint64(cur.InErrors - prev.InErrors), uint64(cur.OutErrors - prev.OutErrors), true
}

// rates computes is's rates from prev to cur over elapsed; a counter that
// changed width (ifXTable appearing) has no rate across the change.
func (is *ifState) rates(prev, cur *ifSample, elapsed time.Duration) {
	speed := cur.speed()
	pi, po, pbits := prev.octets()
	ci, co, cbits := cur.octets()
	if pbits != cbits {
		return
	}
	if both := hasOctets32 | hasOctets32Out; cbits == 32 && !(prev.hasAll(both) && cur.hasAll(both)) {
		return
	}
	in, ok1 := counterRate(pi, ci, cbits, elapsed, maxOctetRate(speed))
	out, ok2 := counterRate(po, co, cbits, elapsed, maxOctetRate(speed))
	if !ok1 || !ok2 {
		return
	}
	is.inBps, is.outBps, is.valid = in*8, out*8, true
	is.inPps, is.outPps = 0, 0
	pi, po, pbits = prev.packets()
	ci, co, cbits = cur.packets()
	if pbits == cbits && cbits != 0 {
		if r, ok := counterRate(pi, ci, cbits, elapsed, maxPacketRate(speed)); ok {
			is.inPps = r
		}
		if r, ok := counterRate(po, co, cbits, elapsed, maxPacketRate(speed)); ok {
			is.outPps = r
		}
	}
}

// snapshot copies st out for callers; secrets are redacted.
func (st *devState) snapshot(series bool) DeviceState {
	ds := DeviceState{
		Device: st.dev.Redacted(), System: st.sys, Reachable: st.reachable,
		LastPoll: st.lastPoll, LastSuccess: st.lastOK, LastError: st.lastErr,
		PollTime: st.pollTime, Polls: st.polls, Failures: st.failures,
		Interfaces: make([]Interface, 0, len(st.ifs)),
	}
	for _, is := range st.ifs {
		s := &is.s
		in, out, bits := s.octets()
		pin, pout, _ := s.packets()
		i := Interface{
			Index: s.Index, Name: s.Name, Descr: s.Descr, Alias: s.Alias, Type: s.Type,
			Speed: s.speed(), AdminStatus: IfStatus(s.Admin), OperStatus: IfStatus(s.Oper),
			LastChange: s.LastChange, HighCapacity: bits == 64,
			InOctets: in, OutOctets: out, InPkts: pin, OutPkts: pout,
			InErrors: uint64(s.InErrors), OutErrors: uint64(s.OutErrors),
			InDiscards: uint64(s.InDiscards), OutDiscards: uint64(s.OutDiscards),
			RatesValid: is.valid, InBps: is.inBps, OutBps: is.outBps, InPps: is.inPps, OutPps: is.outPps,
			Updated: is.at,
		}
		if series {
			i.Series = is.series.slice()
		}
		ds.Interfaces = append(ds.Interfaces, i)
	}
	sort.Slice(ds.Interfaces, func(i, j int) bool { return ds.Interfaces[i].Index < ds.Interfaces[j].Index })
	return ds
}

// ring keeps the last points of a series without moving them around.
type ring struct {
	buf   []Point
	start int
}

func (r *ring) push(p Point, max int) {
	if max <= 0 {
		return
	}
	if len(r.buf) < max {
		r.buf = append(r.buf, p)
		return
	}
	r.buf[r.start] = p
	r.start = (r.start + 1) % len(r.buf)
}

func (r *ring) slice() []Point {
	if len(r.buf) == 0 {
		return nil
	}
	out := make([]Point, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}
