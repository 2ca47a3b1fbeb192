package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

var allRecipient = Recipient{ID: 1, Name: "all", EndpointID: 1}

func TestWebhookBody(t *testing.T) {
	h := newHookServer(t)
	d := newTestDispatcher(t, testOpts())
	ep := h.endpoint(1, map[string]string{
		ParamWebhookSharedSecret: "s3cret",
		ParamWebhookUsername:     "alice",
		ParamWebhookPassword:     "pa:ss word",
		ParamWebhookHeaders:      "X-Token: abc def\r\nX-Other:2\n\n",
	})
	if err := d.SetEndpoints([]Endpoint{ep}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetRecipients([]Recipient{allRecipient}); err != nil {
		t.Fatal(err)
	}

	d.Send(Notification{
		Entity: "host", EntityVal: "192.168.1.7@0", TypeID: 11, Type: "host_alert_tcp_syn_flood",
		Title: "TCP SYN Flood", Severity: SeverityError, SeverityName: "error", Score: 100,
		Time: 1700000000, Engaged: true, IfID: 3, PoolIDs: []int{0}, Message: "SYN flood «attacker»",
		Detail: json.RawMessage(`{"syn_sent": 4000, "threshold": 256}`),
	})
	r := h.next(t)
	want := gotBody{Version: "0.2", SharedSecret: "s3cret", Alerts: []gotAlert{{
		Entity: "host", EntityVal: "192.168.1.7@0", AlertID: 11, AlertName: "host_alert_tcp_syn_flood",
		Title: "TCP SYN Flood", Severity: 5, SeverityName: "error", Score: 100, Tstamp: 1700000000,
		IfID: 3, Engaged: true, Message: "SYN flood «attacker»",
	}}}
	if len(r.body.Alerts) == 1 {
		var detail map[string]int
		if err := json.Unmarshal(r.body.Alerts[0].Detail, &detail); err != nil || detail["syn_sent"] != 4000 || detail["threshold"] != 256 {
			t.Errorf("detail = %s (%v)", r.body.Alerts[0].Detail, err)
		}
		r.body.Alerts[0].Detail = nil
	}
	if fmt.Sprint(r.body) != fmt.Sprint(want) {
		t.Errorf("body =\n%+v\nwant\n%+v", r.body, want)
	}
	if !r.hasAuth || r.user != "alice" || r.pass != "pa:ss word" {
		t.Errorf("basic auth = %v %q %q", r.hasAuth, r.user, r.pass)
	}
	if r.header.Get("X-Token") != "abc def" || r.header.Get("X-Other") != "2" {
		t.Errorf("extra headers = %v", r.header)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	waitFor(t, "sent=1", func() bool { return statsOf(t, d, 1).Sent == 1 })
	if s := statsOf(t, d, 1); s.LastSuccess == 0 || s.FailedAttempts != 0 || s.LastError != "" {
		t.Errorf("stats = %+v", s)
	}
}

// Defaults the receiver sees when the notification leaves fields empty,
// and a malformed detail that must not sink the batch.
func TestWebhookDefaults(t *testing.T) {
	h := newHookServer(t)
	opts := testOpts()
	opts.Now = func() time.Time { return time.Unix(1234567890, 0) }
	d := newTestDispatcher(t, opts)
	d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{Entity: "system", Severity: SeverityCritical, Detail: json.RawMessage(`{"broken`)})
	r := h.next(t)
	if r.hasAuth {
		t.Error("basic auth sent without a username")
	}
	a := r.body.Alerts[0]
	if a.SeverityName != "critical" || a.Tstamp != 1234567890 || string(a.Detail) != `"{\"broken"` || r.body.SharedSecret != "" {
		t.Errorf("alert = %+v, secret %q", a, r.body.SharedSecret)
	}
}

// Notifications queued while a POST is in flight go out together.
func TestWebhookBatches(t *testing.T) {
	h := newHookServer(t)
	release := make(chan struct{})
	h.hold = func(n int) <-chan struct{} {
		if n == 0 {
			return release
		}
		return nil
	}
	d := newTestDispatcher(t, testOpts())
	d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
	d.SetRecipients([]Recipient{allRecipient})
	d.Send(Notification{Title: "first"})
	h.next(t) // the worker is now busy
	for i := range 40 {
		d.Send(Notification{Title: fmt.Sprint("queued ", i)})
	}
	close(release)
	var titles []string
	for _, size := range []int{32, 8} { // MaxBatch is 32
		r := h.next(t)
		if len(r.body.Alerts) != size {
			t.Errorf("batch of %d alerts, want %d", len(r.body.Alerts), size)
		}
		for _, a := range r.body.Alerts {
			titles = append(titles, a.Title)
		}
	}
	for i, title := range titles {
		if want := fmt.Sprint("queued ", i); title != want {
			t.Fatalf("alert %d is %q, want %q (order kept)", i, title, want)
		}
	}
}

func TestWebhookRetry(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fails       int // requests answered 500 before success
		maxAttempts int
		wantReqs    int
		sent, disc  uint64
	}{
		{"succeeds on the third attempt", 2, 5, 3, 1, 0},
		{"gives up after max attempts", 100, 3, 3, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHookServer(t)
			h.status = func(n int) int {
				if n < tc.fails {
					return 500
				}
				return 204
			}
			opts := testOpts()
			opts.Retry.MaxAttempts = tc.maxAttempts
			d := newTestDispatcher(t, opts)
			d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
			d.SetRecipients([]Recipient{allRecipient})
			d.Send(Notification{Title: "retry me"})
			waitFor(t, "the batch to be settled", func() bool {
				s := statsOf(t, d, 1)
				return s.Sent+s.Discarded > 0
			})
			time.Sleep(50 * time.Millisecond) // room for a wrong extra attempt
			accepted := 0
			for range h.requests() {
				r := h.next(t)
				if len(r.body.Alerts) != 1 || r.body.Alerts[0].Title != "retry me" {
					t.Errorf("request body %+v", r.body)
				}
			}
			if tc.fails < tc.wantReqs {
				accepted = 1
			}
			s := statsOf(t, d, 1)
			if got := h.requests(); got != tc.wantReqs || s.Sent != tc.sent || s.Discarded != tc.disc || int(s.Sent) != accepted {
				t.Errorf("%d requests, stats %+v; want %d requests, sent %d, discarded %d", got, s, tc.wantReqs, tc.sent, tc.disc)
			}
			if s.FailedAttempts != uint64(min(tc.fails, tc.maxAttempts)) || !strings.Contains(s.LastError, "500") || s.LastErrorTime == 0 {
				t.Errorf("failure stats %+v", s)
			}
			if strings.Contains(s.LastError, "/hook") {
				t.Errorf("last error %q shows the URL path, which may hold a token", s.LastError)
			}
		})
	}
}

// A hanging endpoint neither blocks Send nor delays another endpoint.
func TestWebhookHangingEndpoint(t *testing.T) {
	hang, fine := newHookServer(t), newHookServer(t)
	stuck := make(chan struct{})
	hang.hold = func(int) <-chan struct{} { return stuck }
	opts := testOpts()
	opts.AttemptTimeout = time.Minute
	d := newTestDispatcher(t, opts)
	t.Cleanup(func() { close(stuck) }) // before the dispatcher's and the servers' Close
	d.SetEndpoints([]Endpoint{hang.endpoint(1, nil), fine.endpoint(2, nil)})
	d.SetRecipients([]Recipient{allRecipient, {ID: 2, Name: "fine", EndpointID: 2}})

	d.Send(Notification{Title: "0"})
	hang.next(t)   // the hanging endpoint's worker is stuck in its POST
	const n = 2000 // more than the queue holds: the overflow must drop, not block
	start := time.Now()
	var slowest time.Duration
	for i := 1; i < n; i++ {
		t0 := time.Now()
		d.Send(Notification{Title: fmt.Sprint(i)})
		slowest = max(slowest, time.Since(t0))
	}
	total := time.Since(start)
	if total > 500*time.Millisecond {
		t.Errorf("%d Sends took %v while an endpoint hangs (slowest %v)", n-1, total, slowest)
	}
	t.Logf("%d Sends: %v, slowest %v", n-1, total, slowest)

	got := 0
	deadline := time.After(10 * time.Second)
	for got < n-statsOfDropped(t, d, 2) {
		select {
		case r := <-fine.reqs:
			got += len(r.body.Alerts)
		case <-deadline:
			t.Fatalf("the healthy endpoint got %d of %d notifications", got, n)
		}
	}
	if s := statsOf(t, d, 1); s.Sent != 0 || s.Dropped == 0 {
		t.Errorf("hanging endpoint stats %+v", s)
	}
}

func statsOfDropped(t testing.TB, d *Dispatcher, id int) int {
	return int(statsOf(t, d, id).Dropped)
}

func TestTest(t *testing.T) {
	h := newHookServer(t)
	h.status = func(n int) int { return []int{200, 503}[n%2] }
	d := newTestDispatcher(t, testOpts())
	d.SetEndpoints([]Endpoint{h.endpoint(1, nil)})
	ctx := context.Background()
	if err := d.Test(ctx, 1); err != nil {
		t.Fatalf("Test: %v", err)
	}
	r := h.next(t)
	if len(r.body.Alerts) != 1 || r.body.Alerts[0].Title != "Test notification" || r.body.Alerts[0].Entity != "system" {
		t.Errorf("test body %+v", r.body)
	}
	if err := d.Test(ctx, 1); err == nil || !strings.Contains(err.Error(), "503") || badinput.Is(err) {
		t.Errorf("Test against a 503 = %v, want a delivery error", err)
	}
	if err := d.Test(ctx, 9); !errors.Is(err, ErrUnknownEndpoint) || !badinput.Is(err) {
		t.Errorf("Test(unknown) = %v", err)
	}
	if err := d.TestEndpoint(ctx, h.endpoint(5, nil)); err != nil {
		t.Errorf("TestEndpoint: %v", err)
	}
	if err := d.TestEndpoint(ctx, Endpoint{ID: 5, Name: "x", Type: "pager"}); !badinput.Is(err) {
		t.Errorf("TestEndpoint(invalid) = %v", err)
	}
	if s := statsOf(t, d, 1); s.Sent != 0 || s.FailedAttempts != 0 {
		t.Errorf("tests counted in stats: %+v", s)
	}
}
