package activemon

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCrossed(t *testing.T) {
	rtt := Host{Measurement: ICMP, Threshold: 100}
	tp := Host{Measurement: Throughput, Threshold: 10}
	cases := []struct {
		h    Host
		r    Result
		want bool
	}{
		{rtt, Result{Value: 99.9}, false},
		{rtt, Result{Value: 100}, false}, // at the threshold is not above it
		{rtt, Result{Value: 100.1}, true},
		{rtt, Result{Unreachable: true}, true},
		{tp, Result{Value: 9.9}, true},
		{tp, Result{Value: 10}, false},
		{tp, Result{Value: 50}, false},
		{tp, Result{Value: 50, Unreachable: true}, true},
	}
	for _, c := range cases {
		if got := Crossed(c.h, c.r); got != c.want {
			t.Errorf("Crossed(%s threshold %g, %+v) = %v", c.h.Measurement, c.h.Threshold, c.r, got)
		}
	}
}

// fakeClock is the scheduler's Now under the test's control.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// recorder keeps what the scheduler reports.
type recorder struct {
	mu      sync.Mutex
	samples []Sample
	removed []string
}

func (r *recorder) sample(_ Host, s Sample) {
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}
func (r *recorder) remove(h Host, _ time.Time) {
	r.mu.Lock()
	r.removed = append(r.removed, h.Key())
	r.mu.Unlock()
}
func (r *recorder) byKey() map[string][]Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]Sample{}
	for _, s := range r.samples {
		out[s.Key] = append(out[s.Key], s)
	}
	return out
}

func hostSet(hs ...Host) map[string]Host {
	m := map[string]Host{}
	for _, h := range hs {
		m[h.Key()] = h
	}
	return m
}

func TestSchedulerPeriodsFollowGranularity(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	rec := &recorder{}
	var calls sync.Map
	s := NewScheduler(Options{Now: clk.Now, OnSample: rec.sample, Measure: func(_ context.Context, h Host) Result {
		n, _ := calls.LoadOrStore(h.Key(), new(int))
		*n.(*int)++
		return Result{Value: 1}
	}})
	minute := Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min"}
	five := Host{Host: "192.0.2.2", Measurement: ICMP, Threshold: 100, Granularity: "5mins"}
	hour := Host{Host: "192.0.2.3", Measurement: ICMP, Threshold: 100, Granularity: "hour"}
	s.SetHosts(hostSet(minute, five, hour))
	// Ten minutes in 30 s steps: 10 (20 checks, every second one due) +
	// 2 + 1 measurements, each host measured first at once.
	for i := 0; i <= 20; i++ {
		s.RunDue(clk.Now())
		s.Wait()
		clk.Add(30 * time.Second)
	}
	got := rec.byKey()
	want := map[string]int{minute.Key(): 11, five.Key(): 3, hour.Key(): 1}
	for k, n := range want {
		if len(got[k]) != n {
			t.Errorf("%s: %d measurements in 10 min, want %d", k, len(got[k]), n)
		}
	}
	// Times are the due times: a minute apart.
	ms := got[minute.Key()]
	for i := 1; i < len(ms); i++ {
		if d := ms[i].Time - ms[i-1].Time; d != 60 {
			t.Errorf("measurements %d and %d are %d s apart", i-1, i, d)
		}
	}
}

func TestSchedulerDeadHostDoesNotDelayOthers(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	rec := &recorder{}
	release := make(chan struct{})
	dead := Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min"}
	var mu sync.Mutex
	running, peak := 0, 0
	s := NewScheduler(Options{Now: clk.Now, OnSample: rec.sample, Concurrency: 2, Timeout: 50 * time.Millisecond,
		Measure: func(ctx context.Context, h Host) Result {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			defer func() { mu.Lock(); running--; mu.Unlock() }()
			if h == dead {
				select { // never answers: only the timeout ends it
				case <-ctx.Done():
					return Result{Unreachable: true, Error: ctx.Err().Error()}
				case <-release:
					return Result{Value: 1}
				}
			}
			return Result{Value: 1}
		}})
	hosts := []Host{dead}
	for _, a := range []string{"192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"} {
		hosts = append(hosts, Host{Host: a, Measurement: ICMP, Threshold: 100, Granularity: "min"})
	}
	s.SetHosts(hostSet(hosts...))
	// Two slots, the dead host holding one: the others get the second in
	// turn, one RunDue call each, while the dead one times out.
	for i := 0; i < 10 && len(rec.byKey()) < 5; i++ {
		s.RunDue(clk.Now())
		time.Sleep(20 * time.Millisecond)
	}
	s.Wait()
	close(release)
	got := rec.byKey()
	if len(got) != 5 {
		t.Fatalf("measured %d hosts of 5: %v", len(got), got)
	}
	if d := got[dead.Key()][0]; !d.Unreachable || !d.Alerted || !strings.Contains(d.Error, "deadline") {
		t.Errorf("dead host: %+v", d)
	}
	if peak > 2 {
		t.Errorf("%d measurements ran at once with 2 slots", peak)
	}
}

func TestSchedulerInFlightHostIsNotStartedTwice(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	block := make(chan struct{})
	var mu sync.Mutex
	calls := 0
	s := NewScheduler(Options{Now: clk.Now, Measure: func(ctx context.Context, h Host) Result {
		mu.Lock()
		calls++
		mu.Unlock()
		<-block
		return Result{Value: 1}
	}})
	s.SetHosts(hostSet(Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 1, Granularity: "min"}))
	if n := s.RunDue(clk.Now()); n != 1 {
		t.Fatalf("started %d", n)
	}
	clk.Add(2 * time.Minute) // due again, but still running
	if n := s.RunDue(clk.Now()); n != 0 {
		t.Errorf("started %d while the first run is in flight", n)
	}
	close(block)
	s.Wait()
	if n := s.RunDue(clk.Now()); n != 1 {
		t.Errorf("started %d once the first run ended", n)
	}
	s.Wait()
	if calls != 2 {
		t.Errorf("%d calls", calls)
	}
}

// TestSchedulerAlertLifecycle drives one host across its threshold and
// back: engaged while crossed, released when it ends or when the host goes.
func TestSchedulerAlertLifecycle(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	values := []Result{{Value: 20}, {Value: 150}, {Unreachable: true, Error: "no echo reply"}, {Value: 30}, {Value: 200}}
	i := 0
	type event struct {
		on   bool
		info string
	}
	var events []event
	engaged := map[string]bool{}
	h := Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min", Label: "gw"}
	s := NewScheduler(Options{Now: clk.Now,
		Measure: func(context.Context, Host) Result { r := values[i]; i++; return r },
		OnSample: func(h Host, smp Sample) {
			if smp.Alerted || engaged[h.Key()] {
				events = append(events, event{smp.Alerted, Describe(h, smp)})
			}
			engaged[h.Key()] = smp.Alerted
		},
		OnRemove: func(h Host, _ time.Time) {
			if engaged[h.Key()] {
				events = append(events, event{false, "removed"})
			}
			delete(engaged, h.Key())
		}})
	s.SetHosts(hostSet(h))
	for range values {
		s.RunDue(clk.Now())
		s.Wait()
		clk.Add(time.Minute)
	}
	s.SetHosts(nil)
	want := []event{
		{true, "icmp measurement of gw (192.0.2.1): 150.00 ms, above the threshold of 100 ms"},
		{true, "icmp measurement of gw (192.0.2.1): host unreachable (no echo reply)"},
		{false, "icmp measurement of gw (192.0.2.1): 30.00 ms, above the threshold of 100 ms"},
		{true, "icmp measurement of gw (192.0.2.1): 200.00 ms, above the threshold of 100 ms"},
		{false, "removed"},
	}
	if len(events) != len(want) {
		t.Fatalf("events %+v", events)
	}
	for k := range want {
		if events[k].on != want[k].on || (k != 2 && events[k].info != want[k].info) {
			t.Errorf("event %d: %+v, want %+v", k, events[k], want[k])
		}
	}
}

func TestSchedulerSetHostsKeepsUnchangedAndDropsLateResults(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	rec := &recorder{}
	block := make(chan struct{})
	a := Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 100, Granularity: "min"}
	b := Host{Host: "192.0.2.2", Measurement: ICMP, Threshold: 100, Granularity: "min"}
	s := NewScheduler(Options{Now: clk.Now, OnSample: rec.sample, OnRemove: rec.remove,
		Measure: func(_ context.Context, h Host) Result {
			if h == b {
				<-block
			}
			return Result{Value: 5}
		}})
	s.SetHosts(hostSet(a, b))
	s.RunDue(clk.Now())
	// b changes (new threshold) while measured: its old result must not
	// be reported, a stays as it was.
	b2 := b
	b2.Threshold = 1
	s.SetHosts(hostSet(a, b2))
	close(block)
	s.Wait()
	got := rec.byKey()
	if len(got[a.Key()]) != 1 || len(got[b.Key()]) != 0 {
		t.Fatalf("samples %v", got)
	}
	if len(rec.removed) != 1 || rec.removed[0] != b.Key() {
		t.Errorf("removed %v", rec.removed)
	}
	// b2 is new: due at once; a is not due before its minute.
	if n := s.RunDue(clk.Now()); n != 1 {
		t.Errorf("started %d, want only the changed host", n)
	}
	s.Wait()
	st := s.Hosts()
	if len(st) != 2 || st[0].Last == nil || st[1].Last == nil || !st[1].Last.Alerted || st[1].Threshold != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestSchedulerRunStopsWithContext(t *testing.T) {
	var mu sync.Mutex
	n := 0
	s := NewScheduler(Options{Tick: 5 * time.Millisecond, Period: func(string) time.Duration { return 10 * time.Millisecond },
		Measure: func(context.Context, Host) Result { mu.Lock(); n++; mu.Unlock(); return Result{Value: 1} }})
	s.SetHosts(hostSet(Host{Host: "192.0.2.1", Measurement: ICMP, Threshold: 1, Granularity: "min"}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	for {
		mu.Lock()
		c := n
		mu.Unlock()
		if c >= 3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestSchedulerStopCutsDeadHostsShort: when Run's context ends, a
// measurement waiting on a dead host is cancelled and queued ones never
// start, so Run returns at once instead of after every host's timeout,
// and a measurement cut short by the stop reports nothing (no unreachable
// alert for a host that was merely interrupted).
func TestSchedulerStopCutsDeadHostsShort(t *testing.T) {
	rec := &recorder{}
	started := make(chan struct{}, 16)
	s := NewScheduler(Options{Concurrency: 1, Timeout: time.Minute, Tick: time.Millisecond, OnSample: rec.sample,
		Measure: func(ctx context.Context, _ Host) Result {
			started <- struct{}{}
			<-ctx.Done() // a dead host: answers only to the deadline
			return Result{Unreachable: true, Error: ctx.Err().Error()}
		}})
	hosts := map[string]Host{}
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		h := Host{Host: a, Measurement: ICMP, Threshold: 1, Granularity: "min"}
		hosts[h.Key()] = h
	}
	s.SetHosts(hosts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-started // one measures, two wait for the single slot
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended: it waits out the dead hosts")
	}
	if len(started) != 0 {
		t.Errorf("%d queued measurements started after the stop", len(started))
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.samples) != 0 {
		t.Errorf("interrupted measurements reported %+v", rec.samples)
	}
}
