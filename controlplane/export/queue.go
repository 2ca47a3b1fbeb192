package export

import (
	"sync"

	"github.com/probe-appliance/probe/controlplane/store"
)

// queue holds the batches waiting for one collector, at most limit flows
// including the batch being sent. Batches are shared between collectors
// and only read.
type queue struct {
	mu      sync.Mutex
	batches [][]store.FlowRecord
	n       int
	limit   int
	dropped uint64
	closed  bool
	wake    chan struct{} // a push since the last pop
}

func newQueue(limit int) *queue {
	return &queue{limit: limit, wake: make(chan struct{}, 1)}
}

// push takes what fits of recs and counts the rest as dropped. It never
// waits on the sender: it is called with the flow table's lock held.
func (q *queue) push(recs []store.FlowRecord) {
	q.mu.Lock()
	if q.closed {
		q.dropped += uint64(len(recs))
		q.mu.Unlock()
		return
	}
	if room := q.limit - q.n; len(recs) > room {
		q.dropped += uint64(len(recs) - room)
		recs = recs[:room]
	}
	if len(recs) > 0 {
		q.batches = append(q.batches, recs)
		q.n += len(recs)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pop returns the oldest batch, nil if there is none. Its flows count
// against the limit until release.
func (q *queue) pop() []store.FlowRecord {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.batches) == 0 {
		return nil
	}
	b := q.batches[0]
	q.batches[0] = nil
	q.batches = q.batches[1:]
	return b
}

func (q *queue) release(n int) {
	q.mu.Lock()
	q.n -= n
	q.mu.Unlock()
}

// close refuses further pushes and counts what is still queued as dropped.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, b := range q.batches {
		q.dropped += uint64(len(b))
		q.n -= len(b)
	}
	q.batches = nil
}

func (q *queue) stats() (queued int, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, q.dropped
}
