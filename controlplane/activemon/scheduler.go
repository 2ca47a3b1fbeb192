package activemon

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Sample is one finished measurement, as kept in memory and in the store.
type Sample struct {
	Key         string  `json:"key"`
	Time        int64   `json:"time"` // unix s the measurement started
	Value       float64 `json:"value"`
	Unreachable bool    `json:"unreachable,omitempty"`
	Error       string  `json:"error,omitempty"`
	Threshold   float64 `json:"threshold"`
	// Alerted: the threshold was crossed or the host did not answer.
	Alerted    bool    `json:"alerted"`
	LossPct    float64 `json:"packet_loss_pct,omitempty"`
	JitterMs   float64 `json:"jitter_ms,omitempty"`
	StatusCode int     `json:"http_status,omitempty"`
	Bytes      int64   `json:"bytes,omitempty"`
	DurationMs float64 `json:"duration_ms"` // how long measuring took
}

// Crossed is ntopng's threshold rule: a time above its threshold, a
// throughput below it, or no answer at all.
func Crossed(h Host, r Result) bool {
	if r.Unreachable {
		return true
	}
	if lowerIsWorse(h.Measurement) {
		return r.Value < h.Threshold
	}
	return r.Value > h.Threshold
}

// Describe is the alert's text for a measurement that crossed.
func Describe(h Host, s Sample) string {
	name := h.Host
	if h.Label != "" {
		name = h.Label + " (" + h.Host + ")"
	}
	if s.Unreachable {
		return fmt.Sprintf("%s measurement of %s: host unreachable (%s)", h.Measurement, name, s.Error)
	}
	rel := "above"
	if lowerIsWorse(h.Measurement) {
		rel = "below"
	}
	return fmt.Sprintf("%s measurement of %s: %.2f %s, %s the threshold of %g %s", h.Measurement, name, s.Value, Unit(h.Measurement),
		rel, h.Threshold, Unit(h.Measurement))
}

// Options configure a Scheduler.
type Options struct {
	// Measure runs one measurement (default: a Measurer's).
	Measure MeasureFunc
	// Concurrency bounds the measurements running at once (default 16).
	Concurrency int
	// Timeout bounds one measurement (default 10 s, and never longer than
	// the host's period).
	Timeout time.Duration
	// Period overrides the granularities' periods (tests measure often).
	Period func(granularity string) time.Duration
	// Tick is how often Run looks for due hosts (default 1 s).
	Tick time.Duration
	// OnSample gets every finished measurement (s.Alerted is Crossed's
	// verdict), one call at a time. The alert and the store hang here.
	OnSample func(h Host, s Sample)
	// OnRemove gets hosts taken out of the configuration (to release
	// their alert).
	OnRemove func(h Host, at time.Time)
	Now      func() time.Time
	Logger   *slog.Logger
}

// Scheduler measures each configured host once per period. Measurements
// run in their own goroutines under a concurrency bound, so a host that
// does not answer costs one slot for at most the timeout and never delays
// the others.
type Scheduler struct {
	o   Options
	sem chan struct{}
	wg  sync.WaitGroup

	// emit orders OnSample and OnRemove: a host's last sample never
	// lands after its removal (its alert would stay engaged).
	emit  sync.Mutex
	mu    sync.Mutex
	hosts map[string]*hostState
	// stop ends the measurements of a Run whose context ended: queued ones
	// do not start and running ones are cancelled, so a stopping probe
	// does not wait out every dead host's timeout.
	stop context.Context
}

type hostState struct {
	h       Host
	next    time.Time // when the next measurement is due
	running bool
	last    *Sample
}

// NewScheduler builds a scheduler without hosts.
func NewScheduler(o Options) *Scheduler {
	if o.Measure == nil {
		o.Measure = (&Measurer{}).Measure
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Scheduler{o: o, sem: make(chan struct{}, o.Concurrency), hosts: map[string]*hostState{}, stop: context.Background()}
}

func (s *Scheduler) period(g string) time.Duration {
	if s.o.Period != nil {
		if d := s.o.Period(g); d > 0 {
			return d
		}
	}
	d, _ := GranularityPeriod(g)
	return d
}

// SetHosts replaces the configuration. Hosts that stay unchanged keep
// their schedule and last measurement; new or changed ones are due at
// once; removed ones go to OnRemove.
func (s *Scheduler) SetHosts(hosts map[string]Host) {
	now := s.o.Now()
	var removed []Host
	s.emit.Lock()
	defer s.emit.Unlock()
	s.mu.Lock()
	next := make(map[string]*hostState, len(hosts))
	for _, h := range hosts {
		k := h.Key()
		if old, ok := s.hosts[k]; ok && old.h == h {
			next[k] = old
			continue
		}
		next[k] = &hostState{h: h, next: now}
	}
	for k, old := range s.hosts {
		if nh, ok := next[k]; !ok || nh != old {
			removed = append(removed, old.h)
		}
	}
	s.hosts = next
	s.mu.Unlock()
	if s.o.OnRemove != nil {
		for _, h := range removed {
			s.o.OnRemove(h, now)
		}
	}
}

// RunDue starts the measurements due at now and returns how many. Each
// waits for a free slot in its own goroutine (in the order started), so
// RunDue never blocks and a host is never queued twice; it does not wait
// for them (see Wait).
func (s *Scheduler) RunDue(now time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	started := 0
	for _, st := range s.hosts {
		if st.running || now.Before(st.next) {
			continue
		}
		st.running = true
		p := s.period(st.h.Granularity)
		// The next run keeps its cadence from the due time; a host far
		// behind (slots were busy) restarts from now.
		st.next = st.next.Add(p)
		if !st.next.After(now) {
			st.next = now.Add(p)
		}
		started++
		s.wg.Add(1)
		go s.measure(s.stop, st, st.h, now, p)
	}
	return started
}

func (s *Scheduler) measure(stop context.Context, st *hostState, h Host, at time.Time, period time.Duration) {
	defer s.wg.Done()
	select {
	case s.sem <- struct{}{}:
	case <-stop.Done():
		s.mu.Lock()
		st.running = false
		s.mu.Unlock()
		return
	}
	defer func() { <-s.sem }()
	s.mu.Lock()
	gone := s.hosts[h.Key()] != st
	if stop.Err() != nil { // the slot and the stop came together
		st.running, gone = false, true
	}
	s.mu.Unlock()
	if gone { // replaced while waiting for its slot, or stopped
		return
	}
	timeout := min(s.o.Timeout, period)
	ctx, cancel := context.WithTimeout(stop, timeout)
	t0 := time.Now()
	r := s.o.Measure(ctx, h)
	cancel()
	if stop.Err() != nil { // cut short by the stop, not by the host
		s.mu.Lock()
		st.running = false
		s.mu.Unlock()
		return
	}
	smp := Sample{Key: h.Key(), Time: at.Unix(), Value: r.Value, Unreachable: r.Unreachable, Error: r.Error, Threshold: h.Threshold,
		Alerted: Crossed(h, r), LossPct: r.LossPct, JitterMs: r.JitterMs, StatusCode: r.StatusCode, Bytes: r.Bytes,
		DurationMs: ms(time.Since(t0))}
	if smp.Unreachable {
		smp.Value = 0
	}
	s.emit.Lock()
	defer s.emit.Unlock()
	s.mu.Lock()
	st.running = false
	// A host removed or changed while measured: its result would raise an
	// alert nobody releases.
	current := s.hosts[h.Key()] == st && st.h == h
	if current {
		st.last = &smp
	}
	s.mu.Unlock()
	if current && s.o.OnSample != nil {
		s.o.OnSample(h, smp)
	}
}

// Wait returns once the measurements started so far have finished.
func (s *Scheduler) Wait() { s.wg.Wait() }

// Run measures until ctx ends, looking for due hosts every Tick, then
// waits for the measurements in flight.
func (s *Scheduler) Run(ctx context.Context) {
	s.mu.Lock()
	s.stop = ctx
	s.mu.Unlock()
	t := time.NewTicker(s.o.Tick)
	defer t.Stop()
	defer s.Wait()
	for {
		s.RunDue(s.o.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status is a host's configuration and its last measurement (nil before
// the first).
type Status struct {
	Host
	Key  string  `json:"key"`
	Last *Sample `json:"last_measurement"`
}

// Hosts lists the hosts in key order with their last measurements.
func (s *Scheduler) Hosts() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.hosts))
	for k, st := range s.hosts {
		var last *Sample
		if st.last != nil {
			c := *st.last
			last = &c
		}
		out = append(out, Status{Host: st.h, Key: k, Last: last})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
