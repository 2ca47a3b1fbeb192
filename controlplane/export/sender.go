package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Connection timing. Back-off doubles from minBackoff to maxBackoff while
// a collector cannot be reached; a TCP collector that takes no data for
// writeTimeout is dropped and dialled again, so that a stalled peer shows
// up as an error instead of a silent stop.
const (
	dialTimeout  = 5 * time.Second
	writeTimeout = 10 * time.Second
	minBackoff   = 500 * time.Millisecond
	maxBackoff   = 30 * time.Second
)

// runner feeds one collector from its queue, in its own goroutine.
type runner struct {
	c      Collector // with defaults
	q      *queue
	enc    *encoder
	log    *slog.Logger
	now    func() time.Time
	ctx    context.Context
	cancel context.CancelFunc

	drainOnce sync.Once
	draining  chan struct{} // closed: send what is queued, then stop
	done      chan struct{}

	connMu sync.Mutex
	conn   net.Conn

	dirs    []dirRec // reused between batches
	backoff time.Duration
	failing bool // the last send or dial failed (logged once per outage)

	mu sync.Mutex
	st CollectorStats
}

func newRunner(c Collector, queueFlows int, bootMs int64, now func() time.Time, log *slog.Logger) *runner {
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{
		c: c, q: newQueue(queueFlows), enc: newEncoder(c, bootMs),
		log: log.With("collector", c.ID, "address", c.Address, "protocol", c.Protocol, "transport", c.Transport),
		now: now, ctx: ctx, cancel: cancel,
		draining: make(chan struct{}), done: make(chan struct{}),
		backoff: minBackoff,
		st:      CollectorStats{ID: c.ID, Address: c.Address, Transport: c.Transport, Protocol: c.Protocol},
	}
	go r.run()
	return r
}

// drain lets the runner send what is queued and stop.
func (r *runner) drain() { r.drainOnce.Do(func() { close(r.draining) }) }

// stop ends the runner at once; closing the connection frees a write
// that waits on a stalled peer.
func (r *runner) stop() {
	r.cancel()
	r.closeConn()
}

func (r *runner) run() {
	defer close(r.done)
	defer r.closeConn()
	defer r.q.close()
	for {
		if b := r.q.pop(); b != nil {
			r.exportBatch(b)
			r.q.release(len(b))
			if r.ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-r.q.wake:
		case <-r.draining:
			if n, _ := r.q.stats(); n == 0 {
				return
			}
		case <-r.ctx.Done():
			return
		}
	}
}

// exportBatch sends b. Over TCP a failed send costs the message it was
// in: the rest of the batch goes out on the next connection, which starts
// a new session (templates first, sequence numbers from zero).
func (r *runner) exportBatch(b []store.FlowRecord) {
	r.dirs = appendDirs(r.dirs[:0], b)
	dirs := r.dirs
	for len(dirs) > 0 {
		if err := r.connect(); err != nil {
			r.count(func(st *CollectorStats) { st.RecordsLost += uint64(len(dirs)) })
			return
		}
		n, err := r.enc.encode(dirs, r.now(), r.send)
		dirs = dirs[n:]
		if err != nil {
			// A peer that accepts and then drops every connection
			// must not have us redial in a tight loop.
			r.closeConn()
			if !r.sleep() {
				r.count(func(st *CollectorStats) { st.RecordsLost += uint64(len(dirs)) })
				return
			}
		}
	}
}

// sleep waits the back-off and doubles it; false if the runner stopped.
func (r *runner) sleep() bool {
	t := time.NewTimer(r.backoff)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
		return false
	}
	r.backoff = min(2*r.backoff, maxBackoff)
	return true
}

// connect opens the socket if there is none, retrying with back-off until
// it succeeds or the runner stops. Meanwhile the queue fills and Export
// drops: a collector that is down costs bounded memory.
func (r *runner) connect() error {
	r.connMu.Lock()
	up := r.conn != nil
	r.connMu.Unlock()
	if up {
		return nil
	}
	d := net.Dialer{Timeout: dialTimeout}
	for {
		conn, err := d.DialContext(r.ctx, r.c.Transport, r.c.Address)
		if err == nil {
			r.connMu.Lock()
			if r.ctx.Err() != nil { // stopped while dialling
				r.connMu.Unlock()
				conn.Close()
				return r.ctx.Err()
			}
			r.conn = conn
			r.connMu.Unlock()
			r.enc.reset()
			r.count(func(st *CollectorStats) { st.Connected = true })
			return nil
		}
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		r.fail(fmt.Errorf("connect: %w", err))
		if !r.sleep() {
			return r.ctx.Err()
		}
	}
}

var errNoConn = errors.New("no connection")

// send writes one message. A UDP datagram that fails is lost but the
// socket stays (the error is often an ICMP unreachable for an earlier
// one); a TCP error ends the connection.
func (r *runner) send(m *message) error {
	r.connMu.Lock()
	conn := r.conn
	r.connMu.Unlock()
	err := errNoConn
	if conn != nil {
		if r.c.Transport == TransportTCP {
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		_, err = conn.Write(m.b)
	}
	if err != nil {
		r.count(func(st *CollectorStats) { st.RecordsLost += uint64(m.records) })
		if r.ctx.Err() == nil {
			r.fail(fmt.Errorf("send: %w", err))
		}
		if r.c.Transport == TransportTCP {
			return err
		}
		return nil
	}
	r.backoff = minBackoff // the back-off restarts once data goes through
	if r.failing {
		r.failing = false
		r.log.Info("flow export: collector reachable again")
	}
	r.count(func(st *CollectorStats) {
		st.RecordsSent += uint64(m.records)
		st.TemplatesSent += uint64(m.templates)
		st.MessagesSent++
		st.BytesSent += uint64(len(m.b))
	})
	return nil
}

// fail counts err and logs the first of an outage only: a collector that
// is down for hours must not flood the log.
func (r *runner) fail(err error) {
	now := r.now()
	r.count(func(st *CollectorStats) {
		st.SendErrors++
		st.LastError = err.Error()
		st.LastErrorAt = now
	})
	if !r.failing {
		r.failing = true
		r.log.Warn("flow export: collector unreachable", "err", err)
	}
}

func (r *runner) closeConn() {
	r.connMu.Lock()
	defer r.connMu.Unlock()
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
	r.count(func(st *CollectorStats) { st.Connected = false })
}

func (r *runner) count(f func(*CollectorStats)) {
	r.mu.Lock()
	f(&r.st)
	r.mu.Unlock()
}

func (r *runner) stats() CollectorStats {
	r.mu.Lock()
	st := r.st
	r.mu.Unlock()
	st.FlowsQueued, st.FlowsDropped = r.q.stats()
	return st
}
