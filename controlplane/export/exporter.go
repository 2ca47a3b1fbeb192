// Package export sends the probe's flow records to IPFIX (RFC 7011) and
// NetFlow v9 (RFC 3954) collectors, so that a fleet of probes can feed the
// collectors an operator already runs.
//
// Every store.FlowRecord becomes up to two unidirectional data records
// (client to server, server to client). Each collector has its own
// bounded queue and goroutine: Export never waits for the network, and a
// collector that is slow or down costs dropped, counted records, never a
// stalled flow table.
package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// DefaultQueueFlows bounds a collector's queue: a 5-minute flush of a
// full flow table (131072 flows by default) and then some, about 25 MB of
// records shared with the other collectors and the store writer.
const DefaultQueueFlows = 1 << 18

// Options configure an Exporter.
type Options struct {
	Collectors []Collector
	QueueFlows int          // per collector; 0: DefaultQueueFlows
	Logger     *slog.Logger // nil: no logging

	// Now is the clock of export times and template refreshes; nil:
	// time.Now.
	Now func() time.Time
	// BootTime is the origin NetFlow v9's sysUptime counts from while
	// the flows allow it (see nf9Clock); zero: when the system booted.
	BootTime time.Time
}

// Exporter sends flow records to a changing set of collectors.
type Exporter struct {
	queueFlows int
	log        *slog.Logger
	now        func() time.Time
	bootMs     int64

	// live is what Export reads, without a lock so that it never waits
	// on a reconfiguration.
	live atomic.Pointer[[]*runner]

	mu      sync.Mutex // serializes SetCollectors and Close
	runners []*runner  // in configuration order; kept after Close for Stats
	closed  bool
}

// New starts an exporter to o.Collectors.
func New(o Options) (*Exporter, error) {
	if o.QueueFlows < 0 {
		return nil, badinput.Errorf("export: queue size %d is negative", o.QueueFlows)
	}
	e := &Exporter{queueFlows: o.QueueFlows, log: o.Logger, now: o.Now}
	if e.queueFlows == 0 {
		e.queueFlows = DefaultQueueFlows
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	boot := o.BootTime
	if boot.IsZero() {
		boot = systemBoot(e.now())
	}
	e.bootMs = boot.UnixMilli()
	if err := e.SetCollectors(o.Collectors); err != nil {
		return nil, err
	}
	return e, nil
}

// Export queues recs for every collector and returns at once; what does
// not fit in a collector's queue is dropped and counted. recs are read
// after Export returns, so the caller must not change them (the flow
// table hands over a new slice each time).
func (e *Exporter) Export(recs []store.FlowRecord) {
	rs := e.live.Load()
	if rs == nil || len(recs) == 0 {
		return
	}
	for _, r := range *rs {
		r.q.push(recs)
	}
}

// Active says whether there are collectors to export to.
func (e *Exporter) Active() bool {
	rs := e.live.Load()
	return rs != nil && len(*rs) > 0
}

// SetCollectors replaces the collectors. A collector whose configuration
// did not change keeps its queue, connection, sequence numbers and
// counters; one that changed starts anew (its queued flows are dropped).
func (e *Exporter) SetCollectors(cs []Collector) error {
	ids := make(map[int]bool, len(cs))
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if ids[c.ID] {
			return badinput.Errorf("export: collector %d: id used twice", c.ID)
		}
		ids[c.ID] = true
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("export: set collectors: exporter closed")
	}
	old := make(map[int]*runner, len(e.runners))
	for _, r := range e.runners {
		old[r.c.ID] = r
	}
	next := make([]*runner, 0, len(cs))
	for _, c := range cs {
		c = c.withDefaults()
		if r := old[c.ID]; r != nil && r.c == c {
			delete(old, c.ID)
			next = append(next, r)
			continue
		}
		next = append(next, newRunner(c, e.queueFlows, e.bootMs, e.now, e.log))
	}
	e.runners = next
	e.live.Store(&next)
	for _, r := range old {
		r.stop()
		<-r.done
	}
	return nil
}

// Stats returns the collectors' counters, in configuration order.
func (e *Exporter) Stats() []CollectorStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := make([]CollectorStats, len(e.runners))
	for i, r := range e.runners {
		st[i] = r.stats()
	}
	return st
}

// Close sends what is queued until ctx is done, then stops. Records still
// queued then are counted as dropped.
func (e *Exporter) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.live.Store(nil)
	rs := e.runners // no longer changes: SetCollectors refuses a closed exporter
	e.mu.Unlock()

	for _, r := range rs {
		r.drain()
	}
	var err error
	for _, r := range rs {
		select {
		case <-r.done:
		case <-ctx.Done():
			err = fmt.Errorf("export: close: %w", ctx.Err())
		}
		if err != nil {
			break
		}
	}
	for _, r := range rs {
		r.stop()
		<-r.done
	}
	return err
}
