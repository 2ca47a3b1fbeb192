package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

func TestRecipientFiltering(t *testing.T) {
	e1, e2 := newHookServer(t), newHookServer(t)
	d := newTestDispatcher(t, testOpts())
	if err := d.SetEndpoints([]Endpoint{e1.endpoint(1, nil), e2.endpoint(2, nil)}); err != nil {
		t.Fatal(err)
	}
	err := d.SetRecipients([]Recipient{
		{ID: 1, Name: "warnings", EndpointID: 1, MinSeverity: SeverityWarning},
		{ID: 2, Name: "hosts", EndpointID: 1, Entities: []string{"host"}},
		{ID: 3, Name: "pools 3,5", EndpointID: 2, MinSeverity: SeverityNotice, Entities: []string{"host", "flow"}, HostPools: []int{3, 5}},
		{ID: 4, Name: "critical interfaces", EndpointID: 2, MinSeverity: SeverityCritical, Entities: []string{"interface"}},
		{ID: 5, Name: "endpoint not configured", EndpointID: 9},
	})
	if err != nil {
		t.Fatal(err)
	}
	var want1, want2 []string
	for _, tc := range []struct {
		title  string
		entity string
		sev    int
		pools  []int
		wantE1 bool
		wantE2 bool
	}{
		{"host info, pool 1", "host", SeverityInfo, []int{1}, true, false},              // 2 only
		{"host warning, pool 3", "host", SeverityWarning, []int{3}, true, true},         // 1 and 2 (once), 3
		{"host warning, pool 7", "host", SeverityWarning, []int{7}, true, false},        // 3 wants pool 3 or 5
		{"flow notice, pools 2 5", "flow", SeverityNotice, []int{2, 5}, false, true},    // 3
		{"flow notice, no pools", "flow", SeverityNotice, nil, false, true},             // 3: no pools, no pool filter
		{"interface error", "interface", SeverityError, nil, true, false},               // 1; 4 wants critical
		{"interface critical", "interface", SeverityCritical, nil, true, true},          // 1, 4
		{"mac notice", "mac", SeverityNotice, nil, false, false},                        // none
		{"unknown entity emergency", "bogus", SeverityEmergency, []int{3}, true, false}, // 1 has no entity filter
		{"host none", "host", SeverityNone, nil, true, false},                           // 2 has minimum 0
	} {
		d.Send(Notification{Title: tc.title, Entity: tc.entity, Severity: tc.sev, PoolIDs: tc.pools})
		if tc.wantE1 {
			want1 = append(want1, tc.title)
		}
		if tc.wantE2 {
			want2 = append(want2, tc.title)
		}
	}
	// A last notification for both: per-endpoint order means that once it
	// arrives, everything sent before it has been delivered or filtered.
	d.Send(Notification{Title: "sentinel", Entity: "host", Severity: SeverityEmergency, PoolIDs: []int{3}})

	collect := func(h *hookServer) []string {
		var titles []string
		for !slices.Contains(titles, "sentinel") {
			for _, a := range h.next(t).body.Alerts {
				titles = append(titles, a.Title)
			}
		}
		return titles
	}
	want1 = append(want1, "sentinel")
	want2 = append(want2, "sentinel")
	if got := collect(e1); !slices.Equal(got, want1) {
		t.Errorf("endpoint 1 got\n%q\nwant\n%q", got, want1)
	}
	if got := collect(e2); !slices.Equal(got, want2) {
		t.Errorf("endpoint 2 got\n%q\nwant\n%q", got, want2)
	}
}

// The rule matcher on its own, for the edge cases that need no receiver.
func TestRuleMatch(t *testing.T) {
	for _, tc := range []struct {
		r    Recipient
		n    Notification
		want bool
	}{
		{Recipient{}, Notification{}, true},
		{Recipient{MinSeverity: 8}, Notification{Severity: 7}, false},
		{Recipient{MinSeverity: 8}, Notification{Severity: 8}, true},
		{Recipient{Entities: []string{"am_host", "system"}}, Notification{Entity: "system"}, true},
		{Recipient{Entities: []string{"am_host"}}, Notification{Entity: "system"}, false},
		{Recipient{Entities: []string{"am_host"}}, Notification{Entity: ""}, false},
		{Recipient{HostPools: []int{0}}, Notification{PoolIDs: []int{0}}, true},
		{Recipient{HostPools: []int{0}}, Notification{PoolIDs: []int{1, 2}}, false},
		{Recipient{HostPools: []int{0}}, Notification{PoolIDs: []int{}}, true},
	} {
		d := New(testOpts())
		d.workers[0] = &worker{id: 0}
		d.recipients = []Recipient{tc.r}
		d.rebuild()
		r := d.route.Load().rules[0]
		if got := r.match(&tc.n, entityBit(tc.n.Entity)); got != tc.want {
			t.Errorf("%+v matching %+v = %v", tc.r, tc.n, got)
		}
	}
}

func TestQueueBound(t *testing.T) {
	h := newHookServer(t)
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	h.hold = func(int) <-chan struct{} { return stuck }
	opts := testOpts()
	opts.QueueSize = 3
	opts.AttemptTimeout = time.Minute
	d := New(opts)
	d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
	d.SetRecipients([]Recipient{allRecipient})

	d.Send(Notification{Title: "in flight"})
	h.next(t) // the worker holds this one and waits on the receiver
	for i := range 10 {
		d.Send(Notification{Title: fmt.Sprint(i)})
	}
	if s := statsOf(t, d, 1); s.Dropped != 7 || s.Queued != 3 || s.Sent != 0 {
		t.Errorf("stats %+v, want 7 dropped and 3 queued", s)
	}

	// Close cannot wait for the hanging attempt: its context bounds it.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Close(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v with a hanging endpoint", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the context's error", err)
	}
	if d.Close(context.Background()) != nil || len(d.Stats()) != 0 {
		t.Error("second Close or Stats after Close")
	}
	d.Send(Notification{}) // a no-op, not a panic
	if err := d.SetEndpoints(nil); !errors.Is(err, ErrClosed) {
		t.Errorf("SetEndpoints after Close = %v", err)
	}
	if h.requests() != 1 {
		t.Errorf("%d requests: the queue was delivered after Close", h.requests())
	}
}

// Close lets an attempt in flight finish when it can, and starts no other.
func TestCloseGraceful(t *testing.T) {
	h := newHookServer(t)
	release := make(chan struct{})
	h.hold = func(int) <-chan struct{} { return release }
	d := New(testOpts())
	d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{Title: "in flight"})
	h.next(t)
	d.Send(Notification{Title: "queued"})
	closed := make(chan error)
	go func() { closed <- d.Close(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if h.requests() != 1 {
		t.Errorf("%d requests, want the in-flight one only", h.requests())
	}
}

// Endpoints and recipients change under a stream of Sends (the race
// detector watches); a kept endpoint keeps its worker and stats but moves
// to its new address.
func TestHotReconfiguration(t *testing.T) {
	a, b := newHookServer(t), newHookServer(t)
	d := newTestDispatcher(t, testOpts())
	d.SetEndpoints([]Endpoint{a.endpoint(1, nil)})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{Title: "to a"})
	if got := a.next(t).body.Alerts[0].Title; got != "to a" {
		t.Fatal(got)
	}
	waitFor(t, "sent=1", func() bool { return statsOf(t, d, 1).Sent == 1 })

	d.SetEndpoints([]Endpoint{b.endpoint(1, nil)})
	d.Send(Notification{Title: "to b"})
	if got := b.next(t).body.Alerts[0].Title; got != "to b" {
		t.Fatal(got)
	}
	waitFor(t, "sent=2", func() bool { return statsOf(t, d, 1).Sent == 2 })

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			d.Send(Notification{Title: "storm", Entity: "host", Severity: i % 9})
			if i%64 == 0 {
				d.Stats()
			}
		}
	}()
	for i := range 50 {
		eps := []Endpoint{a.endpoint(1, nil)}
		if i%2 == 0 {
			eps = append(eps, b.endpoint(2, nil))
		}
		if err := d.SetEndpoints(eps); err != nil {
			t.Fatal(err)
		}
		rs := []Recipient{allRecipient, {ID: 2, Name: "b", EndpointID: 2, MinSeverity: i % 9, Entities: []string{"host"}}}
		if err := d.SetRecipients(rs[:1+i%2]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
}

func TestSetPartiallyInvalid(t *testing.T) {
	h := newHookServer(t)
	d := newTestDispatcher(t, testOpts())
	err := d.SetEndpoints([]Endpoint{
		h.endpoint(1, nil),
		{ID: 2, Name: "bad", Type: TypeWebhook, Conf: map[string]string{ParamWebhookURL: "ftp://x"}},
		h.endpoint(1, nil),
	})
	if !badinput.Is(err) || len(d.Stats()) != 1 {
		t.Errorf("SetEndpoints = %v, %d endpoints applied", err, len(d.Stats()))
	}
	err = d.SetRecipients([]Recipient{allRecipient, {ID: 1, Name: "dup", EndpointID: 1}, {ID: 3, Name: "bad", MinSeverity: 9}})
	if !badinput.Is(err) {
		t.Errorf("SetRecipients = %v", err)
	}
	d.Send(Notification{Title: "valid part applied"})
	if got := h.next(t).body.Alerts[0].Title; got != "valid part applied" {
		t.Error(got)
	}
}

func TestBackoff(t *testing.T) {
	rp := RetryPolicy{Initial: time.Second, Max: 60 * time.Second}
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 7: 60 * time.Second, 1000: 60 * time.Second} {
		for range 100 {
			if got := backoff(rp, attempt); got < want/2 || got > want {
				t.Fatalf("backoff after attempt %d = %v, want within [%v, %v]", attempt, got, want/2, want)
			}
		}
	}
}

// BenchmarkSend measures Send with two matching recipients of one endpoint.
//
// "drain": the worker drains into a local UDP syslog receiver, as in
// production. Send outpaces any receiver, so most Sends meet a full queue
// (dropped/op says how many): this is Send's cost while an endpoint lags.
//
// "enqueue": every Send finds room. The worker is held by a hanging
// webhook and the benchmark empties the queue itself with the clock
// stopped, so this is the cost of a successful enqueue.
func BenchmarkSend(b *testing.B) {
	n := Notification{Entity: "host", EntityVal: "10.0.0.1@0", Type: "host_alert_flow_flood", Title: "Flow Flood",
		Severity: SeverityError, Score: 100, Time: 1700000000, PoolIDs: []int{0}, Message: "flood"}
	recipients := []Recipient{
		{ID: 1, Name: "hosts", EndpointID: 1, MinSeverity: SeverityWarning, Entities: []string{"host", "flow"}, HostPools: []int{0, 1}},
		{ID: 2, Name: "all", EndpointID: 1},
	}

	b.Run("drain", func(b *testing.B) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer pc.Close()
		go func() {
			buf := make([]byte, 65536)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		d := newTestDispatcher(b, testOpts())
		if err := d.SetEndpoints([]Endpoint{syslogEndpoint(1, pc.LocalAddr(), nil)}); err != nil {
			b.Fatal(err)
		}
		d.SetRecipients(recipients)
		b.ReportAllocs()
		for b.Loop() {
			d.Send(n)
		}
		b.StopTimer()
		b.ReportMetric(float64(statsOf(b, d, 1).Dropped)/float64(b.N), "dropped/op")
	})

	b.Run("enqueue", func(b *testing.B) {
		h := newHookServer(b)
		stuck := make(chan struct{})
		h.hold = func(int) <-chan struct{} { return stuck }
		opts := testOpts()
		opts.AttemptTimeout = time.Hour
		d := newTestDispatcher(b, opts)
		b.Cleanup(func() { close(stuck) })
		d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
		d.SetRecipients(recipients)
		d.Send(n)
		h.next(b) // the worker is held from now on
		q := d.workers[1].queue
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if len(q) == cap(q) {
				b.StopTimer()
				for len(q) > 0 {
					<-q
				}
				b.StartTimer()
			}
			d.Send(n)
		}
		b.StopTimer()
		b.ReportMetric(float64(statsOf(b, d, 1).Dropped)/float64(b.N), "dropped/op")
	})
}

// TestRouted: the probe builds notifications only while a recipient with
// a configured endpoint exists.
func TestRouted(t *testing.T) {
	e1 := newHookServer(t)
	d := newTestDispatcher(t, testOpts())
	if d.Routed() {
		t.Fatal("routed before any recipient")
	}
	if err := d.SetRecipients([]Recipient{{ID: 5, Name: "endpoint not configured", EndpointID: 1}}); err != nil {
		t.Fatal(err)
	}
	if d.Routed() {
		t.Fatal("routed to an endpoint that does not exist")
	}
	if err := d.SetEndpoints([]Endpoint{e1.endpoint(1, nil)}); err != nil {
		t.Fatal(err)
	}
	if !d.Routed() {
		t.Fatal("not routed with a recipient and its endpoint")
	}
	if err := d.SetRecipients(nil); err != nil {
		t.Fatal(err)
	}
	if d.Routed() {
		t.Fatal("routed after the recipients went")
	}
}
