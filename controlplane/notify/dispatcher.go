package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/internal/badinput"
)

// ErrUnknownEndpoint is returned (marked with badinput) by Test for an id
// that SetEndpoints did not configure.
var ErrUnknownEndpoint = errors.New("unknown endpoint")

// ErrClosed is returned by the setters after Close.
var ErrClosed = errors.New("notify: dispatcher is closed")

// Options tunes New. The zero value is what the appliance uses.
type Options struct {
	// Logger receives delivery failures; nil means slog.Default().
	Logger *slog.Logger
	// QueueSize bounds each endpoint's queue; 0 means 1000. Notifications
	// sent to a full queue are dropped and counted.
	QueueSize int
	// MaxBatch caps how many queued notifications go in one delivery (one
	// webhook POST, one email, one syslog TCP connection); 0 means 32.
	MaxBatch int
	// Retry governs re-delivery of a failed batch.
	Retry RetryPolicy
	// AttemptTimeout bounds one delivery attempt; 0 means 5s.
	AttemptTimeout time.Duration
	// Now is the clock for stats, email Date headers and notifications
	// without a time; nil means time.Now.
	Now func() time.Time
	// Hostname is syslog's HOSTNAME and the SMTP EHLO name; "" means
	// os.Hostname().
	Hostname string
	// AppName is syslog's APP-NAME, the webhook User-Agent and the email
	// subject prefix; "" means "probe".
	AppName string
}

// RetryPolicy is exponential back-off with jitter: the n-th wait is drawn
// from [d/2, d] with d = min(Initial*2^(n-1), Max), so that endpoints that
// failed together do not retry in lockstep.
type RetryPolicy struct {
	Initial     time.Duration // 0 means 1s
	Max         time.Duration // 0 means 60s
	MaxAttempts int           // attempts per batch including the first; 0 means 5
}

// EndpointStats are one endpoint's counters since it was configured
// (reconfiguring an endpoint keeps them; removing it drops them).
type EndpointStats struct {
	EndpointID int `json:"endpoint_id"`
	// Sent counts notifications delivered.
	Sent uint64 `json:"sent"`
	// FailedAttempts counts delivery attempts that failed (a batch
	// retried three times adds three).
	FailedAttempts uint64 `json:"failed_attempts"`
	// Discarded counts notifications given up on after the last attempt,
	// or abandoned by Close or removal mid-retry.
	Discarded uint64 `json:"discarded"`
	// Dropped counts notifications refused because the queue was full.
	Dropped uint64 `json:"dropped"`
	// Queued is the current queue length.
	Queued int `json:"queued"`
	// LastError is the last attempt's failure, kept after later successes.
	LastError     string `json:"last_error,omitempty"`
	LastErrorTime int64  `json:"last_error_time,omitempty"` // unix seconds
	// LastSuccess is the unix time of the last delivery; 0 means never.
	LastSuccess int64 `json:"last_success"`
}

// sender delivers one batch in one attempt; it must give up when ctx ends.
type sender interface {
	send(ctx context.Context, batch []Notification) error
}

// env is what senders share: one HTTP client so webhooks reuse
// connections, and the identity the messages carry.
type env struct {
	client   *http.Client
	hostname string // sanitised for syslog HOSTNAME
	helo     string // sanitised for EHLO
	app      string
	pid      int
	now      func() time.Time
}

// Dispatcher routes notifications to endpoint workers. Its methods are safe
// for concurrent use.
type Dispatcher struct {
	opts Options
	log  *slog.Logger
	env  *env

	// route is read lock-free by Send and replaced by the setters.
	route atomic.Pointer[routing]

	mu         sync.Mutex // serialises the setters and Close
	workers    map[int]*worker
	recipients []Recipient
	closed     bool
	wg         sync.WaitGroup // every worker ever started
}

// New returns a Dispatcher with no endpoints; it starts no goroutine until
// SetEndpoints.
func New(opts Options) *Dispatcher {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 32
	}
	if opts.Retry.Initial <= 0 {
		opts.Retry.Initial = time.Second
	}
	if opts.Retry.Max <= 0 {
		opts.Retry.Max = 60 * time.Second
	}
	opts.Retry.Max = max(opts.Retry.Max, opts.Retry.Initial)
	if opts.Retry.MaxAttempts <= 0 {
		opts.Retry.MaxAttempts = 5
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Hostname == "" {
		opts.Hostname, _ = os.Hostname()
	}
	if opts.AppName == "" {
		opts.AppName = "probe"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 // one worker per endpoint: more would idle
	d := &Dispatcher{
		opts: opts,
		log:  opts.Logger,
		env: &env{
			client: &http.Client{
				Transport: tr,
				// A redirected POST turns into a GET without the alerts:
				// report the 3xx as a failure instead.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
			hostname: syslogField(opts.Hostname, 255),
			helo:     heloName(opts.Hostname),
			app:      syslogField(opts.AppName, 48),
			pid:      os.Getpid(),
			now:      opts.Now,
		},
		workers: map[int]*worker{},
	}
	d.route.Store(&routing{})
	return d
}

// SetEndpoints replaces the endpoint set. An endpoint whose id is kept
// keeps its queue and stats and uses the new parameters from its next
// attempt on; a removed one stops at once, its queue discarded. Invalid
// endpoints (and repeated ids) are skipped and reported in the returned
// error, marked with badinput; the valid ones are applied regardless, so
// one bad stored endpoint does not silence the others.
func (d *Dispatcher) SetEndpoints(eps []Endpoint) error {
	var errs []error
	confs := make(map[int]*senderBox, len(eps))
	for _, ep := range eps {
		c, err := parseEndpoint(ep)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := confs[ep.ID]; dup {
			errs = append(errs, badinput.Errorf("endpoint %d: id used twice", ep.ID))
			continue
		}
		confs[ep.ID] = &senderBox{name: ep.Name, s: c.newSender(d.env)}
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	for id, w := range d.workers {
		if _, ok := confs[id]; !ok {
			delete(d.workers, id)
			w.halt()
		}
	}
	for id, box := range confs {
		if w, ok := d.workers[id]; ok {
			w.snd.Store(box)
			continue
		}
		w := d.newWorker(id, box)
		d.workers[id] = w
		d.wg.Add(1)
		go w.run()
	}
	d.rebuild()
	return errors.Join(errs...)
}

// SetRecipients replaces the recipient set. Invalid recipients (and
// repeated ids) are skipped and reported like SetEndpoints does.
func (d *Dispatcher) SetRecipients(rs []Recipient) error {
	var errs []error
	valid := make([]Recipient, 0, len(rs))
	seen := make(map[int]bool, len(rs))
	for _, r := range rs {
		if err := r.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[r.ID] {
			errs = append(errs, badinput.Errorf("recipient %d: id used twice", r.ID))
			continue
		}
		seen[r.ID] = true
		// Copies: a later rebuild must not see the caller's later edits.
		r.Entities, r.HostPools = slices.Clone(r.Entities), slices.Clone(r.HostPools)
		valid = append(valid, r)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	d.recipients = valid
	d.rebuild()
	return errors.Join(errs...)
}

// routing is an immutable snapshot of the recipients, resolved to workers.
type routing struct {
	rules []rule
}

type rule struct {
	minSev   int
	entities uint32 // 0: all
	pools    []int  // empty: all
	w        *worker
}

func (r *rule) match(n *Notification, ebit uint32) bool {
	if n.Severity < r.minSev {
		return false
	}
	if r.entities != 0 && r.entities&ebit == 0 {
		return false
	}
	if len(r.pools) > 0 && len(n.PoolIDs) > 0 {
		for _, p := range n.PoolIDs {
			if slices.Contains(r.pools, p) {
				return true
			}
		}
		return false
	}
	return true
}

// rebuild publishes a new routing; d.mu must be held.
func (d *Dispatcher) rebuild() {
	rt := &routing{}
	for _, r := range d.recipients {
		w := d.workers[r.EndpointID]
		if w == nil {
			continue
		}
		ru := rule{minSev: r.MinSeverity, pools: r.HostPools, w: w} // never modified: SetRecipients copied it
		for _, e := range r.Entities {
			ru.entities |= entityBit(e)
		}
		rt.rules = append(rt.rules, ru)
	}
	d.route.Store(rt)
}

// Routed tells whether any recipient is configured: without one, Send
// drops everything, and a caller can skip building the notification (a
// scan raises an alert per flow).
func (d *Dispatcher) Routed() bool {
	rt := d.route.Load()
	return rt != nil && len(rt.rules) > 0
}

// Send queues n for every endpoint that a matching recipient names, once
// per endpoint however many of its recipients match. It never blocks: a
// full queue drops n and counts it.
func (d *Dispatcher) Send(n Notification) {
	rt := d.route.Load()
	ebit := entityBit(n.Entity)
	var buf [8]*worker
	done := buf[:0]
	for i := range rt.rules {
		r := &rt.rules[i]
		if slices.Contains(done, r.w) || !r.match(&n, ebit) {
			continue
		}
		done = append(done, r.w)
		select {
		case r.w.queue <- n:
		default:
			r.w.dropped.Add(1)
		}
	}
}

// Stats returns each configured endpoint's counters, by endpoint id.
func (d *Dispatcher) Stats() []EndpointStats {
	d.mu.Lock()
	ws := make([]*worker, 0, len(d.workers))
	for _, w := range d.workers {
		ws = append(ws, w)
	}
	d.mu.Unlock()
	out := make([]EndpointStats, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.stats())
	}
	slices.SortFunc(out, func(a, b EndpointStats) int { return cmp.Compare(a.EndpointID, b.EndpointID) })
	return out
}

// Test sends a test notification to a configured endpoint synchronously,
// once, bypassing recipients, queue, retries and stats, and returns the
// delivery error. ctx bounds it, as does Options.AttemptTimeout.
func (d *Dispatcher) Test(ctx context.Context, endpointID int) error {
	d.mu.Lock()
	w := d.workers[endpointID]
	d.mu.Unlock()
	if w == nil {
		return badinput.Wrap(fmt.Errorf("%w %d", ErrUnknownEndpoint, endpointID))
	}
	return d.test(ctx, w.snd.Load().s)
}

// TestEndpoint is Test for an endpoint that need not be configured, so a
// form can be checked before it is saved.
func (d *Dispatcher) TestEndpoint(ctx context.Context, ep Endpoint) error {
	c, err := parseEndpoint(ep)
	if err != nil {
		return err
	}
	return d.test(ctx, c.newSender(d.env))
}

func (d *Dispatcher) test(ctx context.Context, s sender) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.AttemptTimeout)
	defer cancel()
	n := Notification{
		Entity:    "system",
		EntityVal: d.opts.Hostname,
		Type:      "test_notification",
		Title:     "Test notification",
		Severity:  SeverityInfo,
		Time:      d.opts.Now().Unix(),
		Message:   fmt.Sprintf("This is a test notification from %s on %s.", d.opts.AppName, d.opts.Hostname),
	}
	return s.send(ctx, []Notification{n})
}

// Close stops the workers without draining their queues: an attempt in
// flight may finish, nothing else starts. When ctx ends first, in-flight
// attempts are aborted and Close returns ctx.Err() once the workers are
// gone (promptly: every attempt honours cancellation). Send after Close
// does nothing; a second Close returns nil.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.route.Store(&routing{})
	ws := d.workers
	d.workers = map[int]*worker{}
	for _, w := range ws {
		w.stopOnce.Do(func() { close(w.stop) })
	}
	d.mu.Unlock()

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		for _, w := range ws {
			w.cancel()
		}
		<-done
	}
	for _, w := range ws {
		w.cancel()
	}
	d.env.client.CloseIdleConnections()
	return err
}

// senderBox pairs a sender with its endpoint's name, so a worker can swap
// both atomically on reconfiguration.
type senderBox struct {
	name string
	s    sender
}

// worker owns one endpoint's queue; being alone on it keeps per-endpoint
// order and keeps a dead endpoint from delaying the others.
type worker struct {
	d     *Dispatcher
	id    int
	queue chan Notification
	snd   atomic.Pointer[senderBox]

	stop     chan struct{} // closed: finish the attempt in flight, then exit
	stopOnce sync.Once
	ctx      context.Context // cancelled: abort the attempt in flight too
	cancel   context.CancelFunc

	sent, failedAttempts, discarded, dropped atomic.Uint64
	lastSuccess                              atomic.Int64

	mu          sync.Mutex
	lastErr     string
	lastErrTime int64
}

func (d *Dispatcher) newWorker(id int, box *senderBox) *worker {
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		d:      d,
		id:     id,
		queue:  make(chan Notification, d.opts.QueueSize),
		stop:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
	w.snd.Store(box)
	return w
}

// halt stops the worker without waiting for it.
func (w *worker) halt() {
	w.stopOnce.Do(func() { close(w.stop) })
	w.cancel()
}

func (w *worker) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

func (w *worker) run() {
	defer w.d.wg.Done()
	batch := make([]Notification, 0, w.d.opts.MaxBatch)
	for {
		select {
		case <-w.stop:
			return
		case n := <-w.queue:
			if w.stopping() { // select picks at random when both are ready
				return
			}
			batch = append(batch[:0], n)
		fill:
			for len(batch) < cap(batch) {
				select {
				case n := <-w.queue:
					batch = append(batch, n)
				default:
					break fill
				}
			}
			w.deliver(batch)
			clear(batch) // let the GC have the details while idle
		}
	}
}

func (w *worker) deliver(batch []Notification) {
	rp := w.d.opts.Retry
	for attempt := 1; ; attempt++ {
		// Reloaded each attempt so that a fixed configuration is used by
		// the retries of a batch that failed under the old one.
		box := w.snd.Load()
		ctx, cancel := context.WithTimeout(w.ctx, w.d.opts.AttemptTimeout)
		err := box.s.send(ctx, batch)
		cancel()
		if err == nil {
			w.sent.Add(uint64(len(batch)))
			w.lastSuccess.Store(w.d.opts.Now().Unix())
			return
		}
		w.failedAttempts.Add(1)
		w.mu.Lock()
		w.lastErr, w.lastErrTime = err.Error(), w.d.opts.Now().Unix()
		w.mu.Unlock()
		if attempt >= rp.MaxAttempts || w.stopping() {
			w.discarded.Add(uint64(len(batch)))
			w.d.log.Warn("notify: giving up on a batch", "endpoint", w.id, "name", box.name,
				"notifications", len(batch), "attempts", attempt, "err", err)
			return
		}
		w.d.log.Debug("notify: delivery failed, will retry", "endpoint", w.id, "attempt", attempt, "err", err)
		t := time.NewTimer(backoff(rp, attempt))
		select {
		case <-t.C:
		case <-w.stop:
			t.Stop()
			w.discarded.Add(uint64(len(batch)))
			return
		}
	}
}

// backoff is the wait after the given failed attempt (1-based).
func backoff(rp RetryPolicy, attempt int) time.Duration {
	d := rp.Initial
	for i := 1; i < attempt && d < rp.Max; i++ {
		if d > rp.Max/2 { // also keeps d*2 from overflowing
			d = rp.Max
			break
		}
		d *= 2
	}
	d = min(d, rp.Max)
	return d/2 + rand.N(d/2+1)
}

func (w *worker) stats() EndpointStats {
	w.mu.Lock()
	lastErr, lastErrTime := w.lastErr, w.lastErrTime
	w.mu.Unlock()
	return EndpointStats{
		EndpointID:     w.id,
		Sent:           w.sent.Load(),
		FailedAttempts: w.failedAttempts.Load(),
		Discarded:      w.discarded.Load(),
		Dropped:        w.dropped.Load(),
		Queued:         len(w.queue),
		LastError:      lastErr,
		LastErrorTime:  lastErrTime,
		LastSuccess:    w.lastSuccess.Load(),
	}
}
