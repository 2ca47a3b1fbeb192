package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
)

// flowWriter moves flow deltas from the tables into the store off the
// capture goroutines. The queue is bounded: a slow disk pushes back on
// capture rather than growing memory or dropping records. Besides records
// it carries, in order, the merges of closed blocks and the syncs that end
// a flush interval.
type flowWriter struct {
	st        *store.Store
	lastWrite atomic.Int64 // unix ns of the last write: goProbe's "last writeout"
	ch        chan writeOp
	pending   sync.WaitGroup
	done      chan struct{}
	log       *slog.Logger
	unsynced  bool // written since the last sync (writer goroutine only)
	// clickhouse, when set (--clickhouse), gets every record too.
	clickhouse *clickhouse.Sink

	// received is each live table's packet count when its deltas last
	// went out (*flowtable.Table → uint64): goProbe's pcap counters
	// restart at each writeout.
	received sync.Map
}

// markWriteout notes tb's packet count as its deltas go out.
func (w *flowWriter) markWriteout(tb *flowtable.Table) {
	var n uint64
	tb.View(func(v flowtable.View) { n = v.Stats().Packets })
	w.received.Store(tb, n)
}

// receivedAtWriteout is tb's packet count at its last writeout (0: none).
func (w *flowWriter) receivedAtWriteout(tb *flowtable.Table) uint64 {
	if v, ok := w.received.Load(tb); ok {
		return v.(uint64)
	}
	return 0
}

// writeOp is one job of the writer: records to write, a block to merge
// (compact), the newest block before a time to merge (compactBefore), or
// a sync.
type writeOp struct {
	recs          []store.FlowRecord
	compact       bool
	ifid          uint16
	block         int64
	compactBefore bool
	sync          bool
}

func newFlowWriter(st *store.Store, log *slog.Logger) *flowWriter {
	w := &flowWriter{st: st, ch: make(chan writeOp, 64), done: make(chan struct{}), log: log}
	go w.loop()
	return w
}

func (w *flowWriter) send(op writeOp) {
	w.pending.Add(1)
	w.ch <- op
}

func (w *flowWriter) enqueue(recs []store.FlowRecord) { w.send(writeOp{recs: recs}) }

// blockClosed merges a closed block's partial records, after the records
// enqueued before it.
func (w *flowWriter) blockClosed(ifid uint16, block int64) {
	w.send(writeOp{compact: true, ifid: ifid, block: block})
}

// compactLatest merges the newest block of ifid before the block of
// unixSec: after a crash or a stop, the block that was live then was never
// closed.
func (w *flowWriter) compactLatest(ifid uint16, unixSec int64) {
	w.send(writeOp{compactBefore: true, ifid: ifid, block: store.BlockStart(unixSec)})
}

// sync puts everything written so far on stable storage.
func (w *flowWriter) sync() { w.send(writeOp{sync: true}) }

func (w *flowWriter) loop() {
	defer close(w.done)
	for op := range w.ch {
		w.do(op)
		w.pending.Done()
	}
}

func (w *flowWriter) do(op writeOp) {
	switch {
	case op.sync:
		if !w.unsynced {
			return // an idle link costs the flash no fsync
		}
		if err := w.st.SyncFlows(); err != nil {
			w.log.Error("syncing flows", "err", err)
			return
		}
		w.unsynced = false
	case op.compactBefore:
		block, ok, err := w.st.LatestFlowBlock(op.ifid, op.block)
		if err != nil {
			w.log.Error("finding the last stored block", "store_id", op.ifid, "err", err)
		} else if ok {
			w.compact(op.ifid, block)
		}
	case op.compact:
		w.compact(op.ifid, op.block)
	default:
		// A full disk is logged by the store when history stops and again
		// when it resumes, with the records refused meanwhile; a line per
		// refused batch would only fill the log of a full disk.
		if err := w.st.WriteFlows(op.recs); err != nil && !errors.Is(err, store.ErrDiskFull) {
			w.log.Error("writing flows", "records", len(op.recs), "err", err)
		}
		if w.clickhouse != nil {
			w.clickhouse.WriteFlows(op.recs)
		}
		w.lastWrite.Store(time.Now().UnixNano())
		w.unsynced = true
	}
}

func (w *flowWriter) compact(ifid uint16, block int64) {
	before, after, err := w.st.CompactBlock(ifid, block)
	if err != nil {
		// The partial records stay: exact, only more of them.
		w.log.Warn("block left as partial records", "store_id", ifid, "block", block, "records", before, "err", err)
		return
	}
	w.unsynced = true // merged chunks may have been written
	if before != after {
		w.log.Debug("block merged", "store_id", ifid, "block", block, "records", before, "merged", after)
	}
}

// wait returns once everything enqueued so far is written.
func (w *flowWriter) wait() { w.pending.Wait() }

func (w *flowWriter) close() {
	close(w.ch)
	<-w.done
}

// Live flow counts reach the store every flush interval: shorter costs
// more writes (partial records, merged when their block closes), longer
// loses more on a crash; a block is the longest that makes sense.
const (
	defaultFlushInterval = 5 * time.Second
	minFlushInterval     = time.Second
	maxFlushInterval     = store.BlockSeconds * time.Second
)

// flushLive hands the store every live table's flow deltas each interval
// and syncs them, so a crash or power cut loses at most one interval of
// live counts. Capture files keep their packet-clock blocks.
func flushLive(ctx context.Context, tables func() []*flowtable.Table, w *flowWriter, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, tb := range tables() {
				if !tb.Config().Offline {
					w.markWriteout(tb)
					tb.FlushDeltas()
				}
			}
			w.sync()
		}
	}
}
