package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/probe-appliance/probe/internal/badinput"
)

// Options configure a Poller; zero values pick the defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// OnEvent is called from the polling goroutines, without locks held;
	// a slow callback delays only the device whose event it is.
	OnEvent func(Event)
	// OnPoll, if set, gets the device's state after each answered poll
	// (without the series), from the polling goroutine: to store it.
	OnPoll func(DeviceState)
	// Concurrency bounds the polls in flight among devices that answer,
	// and separately among devices that do not (default 16 each), so that
	// dead devices timing out cannot take the slots of live ones.
	Concurrency int
	// ErrorThreshold: an interface raises port_errors when its in+out
	// errors grew by more than this between two polls (default 0: any).
	ErrorThreshold uint64
	// SeriesLen is how many points each interface's series keeps
	// (default 288: a day of 5-minute polls).
	SeriesLen int
}

const (
	defaultConcurrency = 16
	defaultSeriesLen   = 288
	maxStartSpread     = 5 * time.Second
)

// Poller polls devices, each on its own interval in its own goroutine.
type Poller struct {
	opts    Options
	log     *slog.Logger
	cfg     stateConfig
	live    chan struct{} // semaphore of devices whose last poll succeeded
	suspect chan struct{} // semaphore of the others

	mu      sync.Mutex
	closed  bool
	workers map[string]*worker
	wg      sync.WaitGroup
}

// worker is one device's goroutine; st outlives workers when a device's
// settings change, so its history is kept.
type worker struct {
	dev    Device
	ctx    context.Context
	cancel context.CancelFunc
	st     *devState
	mu     *sync.Mutex // guards st
}

// NewPoller makes a poller without devices; SetDevices gives it some.
func NewPoller(o Options) *Poller {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OnEvent == nil {
		o.OnEvent = func(Event) {}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = defaultConcurrency
	}
	if o.SeriesLen <= 0 {
		o.SeriesLen = defaultSeriesLen
	}
	return &Poller{
		opts:    o,
		log:     o.Logger.With("component", "snmp"),
		cfg:     stateConfig{errorThreshold: o.ErrorThreshold, seriesLen: o.SeriesLen},
		live:    make(chan struct{}, o.Concurrency),
		suspect: make(chan struct{}, o.Concurrency),
		workers: map[string]*worker{},
	}
}

// SetDevices makes devs the polled set: new devices start polling at once,
// removed ones stop, changed ones restart with their history kept. It
// returns without waiting for any poll. Devices that do not validate (or
// repeat an ID) are skipped and reported in the badinput error; the
// others are applied.
func (p *Poller) SetDevices(devs []Device) error {
	var errs []error
	want := map[string]Device{}
	for _, d := range devs {
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("device %q: %w", d.Host, err))
			continue
		}
		if _, dup := want[d.ID]; dup {
			errs = append(errs, badinput.Errorf("device %q: duplicate id", d.ID))
			continue
		}
		want[d.ID] = d
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("snmp: poller closed")
	}
	for id, w := range p.workers {
		if d, ok := want[id]; !ok || d != w.dev {
			w.cancel() // its in-flight poll is discarded, see pollOnce
			delete(p.workers, id)
			if ok {
				p.start(d, w.st, w.mu)
			}
		}
	}
	for id, d := range want {
		if _, ok := p.workers[id]; !ok {
			p.start(d, newDevState(d), &sync.Mutex{})
		}
	}
	return errors.Join(errs...)
}

func (p *Poller) start(d Device, st *devState, mu *sync.Mutex) {
	ctx, cancel := context.WithCancel(context.Background())
	mu.Lock()
	st.dev = d
	mu.Unlock()
	w := &worker{dev: d, ctx: ctx, cancel: cancel, st: st, mu: mu}
	p.workers[d.ID] = w
	p.wg.Add(1)
	go p.run(w)
}

// Close stops every device and waits for their goroutines; a poll in
// flight is interrupted, not waited for.
func (p *Poller) Close() {
	p.mu.Lock()
	p.closed = true
	for id, w := range p.workers {
		w.cancel()
		delete(p.workers, id)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Snapshot is the state of one device as of its last poll, with its
// interfaces' time series.
func (p *Poller) Snapshot(id string) (DeviceState, bool) {
	p.mu.Lock()
	w, ok := p.workers[id]
	p.mu.Unlock()
	if !ok {
		return DeviceState{}, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st.snapshot(true), true
}

// Devices is the state of every device, by ID, without the time series
// (a day of them for every interface of every device is megabytes; a
// device list does not need them).
func (p *Poller) Devices() []DeviceState {
	p.mu.Lock()
	ws := make([]*worker, 0, len(p.workers))
	for _, w := range p.workers {
		ws = append(ws, w)
	}
	p.mu.Unlock()
	out := make([]DeviceState, 0, len(ws))
	for _, w := range ws {
		w.mu.Lock()
		out = append(out, w.st.snapshot(false))
		w.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Device.ID < out[j].Device.ID })
	return out
}

func (p *Poller) run(w *worker) {
	defer p.wg.Done()
	var g *gosnmp.GoSNMP
	defer func() {
		if g != nil {
			g.Close()
		}
	}()
	// Devices added together (all of them, at start-up) would otherwise
	// be polled in one burst every interval: each starts at a random
	// point of the first few seconds and keeps that phase, so a new
	// device still has data within seconds.
	select {
	case <-w.ctx.Done():
		return
	case <-time.After(rand.N(min(w.dev.PollInterval, maxStartSpread))):
	}
	t := time.NewTicker(w.dev.PollInterval)
	defer t.Stop()
	for {
		g = p.pollOnce(w, g)
		// A poll longer than the interval makes the ticker drop ticks:
		// polls of a slow device never pile up.
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pollOnce polls w's device with g (made if nil) and returns the client
// for the next poll: nil after a failure, so the next poll starts afresh
// (a rebooted v3 device has new engine boots, a re-addressed one a new
// address).
func (p *Poller) pollOnce(w *worker, g *gosnmp.GoSNMP) *gosnmp.GoSNMP {
	w.mu.Lock()
	sem := p.suspect
	if w.st.reachable {
		sem = p.live
	}
	w.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-w.ctx.Done():
		return g
	}
	// A poll must end before the next one is due.
	ctx, cancel := context.WithTimeout(w.ctx, w.dev.PollInterval)
	began := time.Now()
	res, g, err := poll(ctx, w.dev, g)
	took := time.Since(began)
	cancel()
	<-sem // the slot is for the network part, not for OnEvent
	now := p.opts.Now()

	w.mu.Lock()
	if w.ctx.Err() != nil {
		// Removed or reconfigured meanwhile: this result belongs to a
		// device that no longer exists in this form.
		w.mu.Unlock()
		return g
	}
	st := w.st
	st.polls++
	st.lastPoll, st.pollTime = now, took
	var evs []Event
	var snap *DeviceState
	wasDown := st.down
	if err != nil {
		evs = st.failure(err, now)
	} else {
		evs = st.success(res, now, p.cfg)
		if p.opts.OnPoll != nil {
			s := st.snapshot(false)
			snap = &s
		}
	}
	w.mu.Unlock()
	if snap != nil {
		p.opts.OnPoll(*snap)
	}

	switch {
	case err != nil && !wasDown:
		p.log.Warn("snmp device unresponsive", "device", w.dev.ID, "err", err)
	case err != nil:
		p.log.Debug("snmp poll failed", "device", w.dev.ID, "err", err)
	case wasDown:
		p.log.Info("snmp device answers again", "device", w.dev.ID)
	}
	for _, e := range evs {
		p.opts.OnEvent(e)
	}
	return g
}

// poll reads d's system group and interface tables.
func poll(ctx context.Context, d Device, g *gosnmp.GoSNMP) (pollResult, *gosnmp.GoSNMP, error) {
	reused := g != nil
	res, g, err := pollWith(ctx, d, g)
	// A v3 client keeps the engine ID it discovered. A device whose
	// engine ID changed (replaced, or an agent that does not persist it)
	// answers with an unauthenticated report gosnmp will not trust; a
	// fresh client discovers the new engine. Timeouts are not retried: a
	// dead device must not cost twice.
	if err != nil && reused && d.Version == V3 && errors.Is(err, ErrAuth) && ctx.Err() == nil {
		res, g, err = pollWith(ctx, d, nil)
	}
	return res, g, err
}

func pollWith(ctx context.Context, d Device, g *gosnmp.GoSNMP) (pollResult, *gosnmp.GoSNMP, error) {
	if g == nil {
		var err error
		if g, err = dial(ctx, d); err != nil {
			return pollResult{}, nil, err
		}
	}
	g.Context = ctx
	// gosnmp only looks at the context between attempts; a read blocked
	// on a dead device is cut short by moving the socket's deadline.
	conn := g.Conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (pollResult, *gosnmp.GoSNMP, error) {
		g.Close()
		return pollResult{}, nil, err
	}
	sys, err := getSystem(g, d)
	if err != nil {
		return fail(err)
	}
	ifs, err := walkInterfaces(g)
	if err != nil {
		return fail(classify(d, err))
	}
	return pollResult{sys: sys, ifs: ifs}, g, nil
}
