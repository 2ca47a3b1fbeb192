package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/store"
)

// Config is a sink's set-up.
type Config struct {
	Target Target
	// Probe names this probe in every row (NTOPNG_INSTANCE_NAME): the
	// fleet's filter.
	Probe string
	// SpoolDir holds batches ClickHouse has not taken yet (on the data
	// partition); SpoolMaxBytes caps it (records past it are dropped and
	// counted).
	SpoolDir      string
	SpoolMaxBytes int64
	// RetentionDays drops day partitions older than this (0: keep).
	RetentionDays int
	// BatchRows seals a batch at this many rows (default 10000); FlushEvery
	// seals a non-empty one at least this often (default 1s).
	BatchRows  int
	FlushEvery time.Duration
	// IfName names an interface id, Place gives an address's country and
	// AS, L7 an application id's name and category (each optional).
	IfName func(uint16) string
	Place  Place
	L7     func(uint16) (name string, category uint8)
	Log    *slog.Logger
}

// Stats are the sink's counters since start, for /metrics and the system
// drop alert.
type Stats struct {
	Sent         uint64 // rows ClickHouse took
	Dropped      uint64 // rows refused because the spool was full
	Batches      uint64 // batches ClickHouse took
	Errors       uint64 // failed inserts (each retried)
	Damaged      uint64 // spool batches that could not be read back (dropped)
	Spooled      uint64 // batches written to the spool (0 while ClickHouse keeps up)
	SpoolBatches int
	SpoolBytes   int64
	Connected    bool
}

// What a kill -9 can lose. A record handed to WriteFlows waits in pending
// until its batch is sealed: at most FlushEvery (1 s), or sooner at
// BatchRows rows. A sealed batch then waits in memory for the sender (at
// most memBatches of them; a seal finding the queue full holds its batch
// and waits for room up to directTimeout, then spools) and is inserted
// within directTimeout, or, while ClickHouse is unreachable, slow to
// answer or being caught up from the spool, goes to the spool, written and
// fsynced before seal returns. So a kill -9 while ClickHouse is up costs
// the pending rows, the batch a waiting seal holds, memBatches queued and
// the one being inserted: at most (memBatches+3)×BatchRows rows (50,000
// with the defaults), normally the last second or two of records. That is
// on top of the deltas the flow tables hold before the flow writer gets
// them, which the Badger store loses alike (one flush interval, 5 s by
// default). While ClickHouse is down a kill -9 costs the pending rows
// only. A batch ClickHouse acknowledged is durable there; a spooled batch
// stays until ClickHouse acknowledges it, and a replay after a crash
// carries the same row ids, kept once.
const memBatches = 2

// directTimeout bounds an insert from memory and a seal's wait for room
// (a variable only so tests can shorten it).
var directTimeout = 10 * time.Second

// memBatch is a sealed batch waiting in memory, with its place in the
// order.
type memBatch struct {
	seq uint64
	b   *batch
}

// Sink writes flows and alerts to ClickHouse: straight from memory while
// ClickHouse takes them, through the spool when it does not.
type Sink struct {
	cfg   Config
	sp    *spool
	log   *slog.Logger
	flows string
	alrts string

	sealMu  sync.Mutex // one seal at a time: batches are numbered in row order
	mu      sync.Mutex
	pending batch
	nextID  uint64

	// qmu orders the hand-over between sealer and sender: mem (sealed
	// batches in memory, oldest first), inflight (the memory batch being
	// inserted) and closing. Spooling under qmu keeps the sender from
	// passing a batch on its way to disk.
	qmu      sync.Mutex
	mem      []memBatch
	inflight bool
	closing  bool

	wake    chan struct{}
	sentOne chan struct{} // a batch was taken (wakes Drain)
	room    chan struct{} // the sender took a batch from memory (wakes queue)
	stop    chan struct{}
	stopped chan struct{}
	sealer  chan struct{}

	sent, dropped, batches, errs, damaged, spooled atomic.Uint64
	connected                                      atomic.Bool
	// down routes seals to the spool: set by a failed connection or
	// insert, cleared by a connection. Not set before the first attempt,
	// so the first batches wait in memory for it rather than on disk.
	down          atomic.Bool
	conn          driver.Conn // sender goroutine only
	lastRetention time.Time   // sender goroutine only
}

// Open starts a sink. ClickHouse need not be up: batches wait in the spool
// until it is.
func Open(cfg Config) (*Sink, error) {
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = 10000
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.SpoolMaxBytes <= 0 {
		return nil, errors.New("clickhouse: the spool needs a size cap")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if !validIdent(cfg.Target.Database) {
		return nil, fmt.Errorf("clickhouse: bad database name %q", cfg.Target.Database)
	}
	sp, err := openSpool(cfg.SpoolDir, cfg.SpoolMaxBytes)
	if err != nil {
		return nil, err
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	s := &Sink{
		cfg: cfg, sp: sp, log: cfg.Log.With("sink", "clickhouse"),
		flows:  flowsTable.insert(cfg.Target.Database),
		alrts:  alertsTable.insert(cfg.Target.Database),
		nextID: binary.LittleEndian.Uint64(seed[:]), // ids unique across restarts, not just within one
		wake:   make(chan struct{}, 1), sentOne: make(chan struct{}, 1), room: make(chan struct{}, 1),
		stop: make(chan struct{}), stopped: make(chan struct{}), sealer: make(chan struct{}),
	}
	go s.send()
	go s.sealEvery()
	return s, nil
}

// WriteFlows queues recs (flow deltas, as the store gets them). A batch
// is sealed every BatchRows rows, however many records one call brings (a
// flush of a full flow table is one call), so no batch outgrows what one
// insert, one spool file and the spool's cap were sized for.
func (s *Sink) WriteFlows(recs []store.FlowRecord) {
	for len(recs) > 0 {
		s.mu.Lock()
		n := min(len(recs), max(s.cfg.BatchRows-s.pending.rows(), 1))
		for i := range recs[:n] {
			name := ""
			if s.cfg.IfName != nil {
				name = s.cfg.IfName(recs[i].IfID)
			}
			s.nextID++
			row := flowRow(s.nextID, s.cfg.Probe, name, &recs[i], s.cfg.Place)
			if s.cfg.L7 != nil {
				row.L7Name, row.L7Category = s.cfg.L7(row.L7)
			}
			s.pending.Flows = append(s.pending.Flows, row)
		}
		full := s.pending.rows() >= s.cfg.BatchRows
		s.mu.Unlock()
		recs = recs[n:]
		if full {
			s.seal()
		}
	}
}

// WriteAlert queues an alert.
func (s *Sink) WriteAlert(a *alert.Alert) {
	s.mu.Lock()
	s.nextID++
	s.pending.Alerts = append(s.pending.Alerts, alertRow(s.nextID, s.cfg.Probe, a))
	s.mu.Unlock()
}

// Probe is the name this sink writes its rows under.
func (s *Sink) Probe() string { return s.cfg.Probe }

// WriteAlertDeleted queues the tombstone of an alert its probe deleted.
func (s *Sink) WriteAlertDeleted(a *alert.Alert) {
	s.mu.Lock()
	s.nextID++
	row := alertRow(s.nextID, s.cfg.Probe, a)
	row.Deleted = 1
	s.pending.Alerts = append(s.pending.Alerts, row)
	s.mu.Unlock()
}

// seal ends the pending batch (one per table) and hands it on: to the
// sender in memory while ClickHouse is up and the sender keeps up, to the
// spool otherwise.
func (s *Sink) seal() {
	s.sealMu.Lock()
	defer s.sealMu.Unlock()
	s.mu.Lock()
	b := s.pending
	s.pending = batch{}
	s.mu.Unlock()
	for _, part := range []batch{{Flows: b.Flows}, {Alerts: b.Alerts}} {
		if part.rows() == 0 {
			continue
		}
		s.queue(memBatch{seq: s.sp.reserve(), b: &part})
	}
	poke(s.wake)
}

// queue keeps mb in memory for the sender while ClickHouse is up and the
// spool is empty. A full queue makes seal wait for the sender (the flow
// writer feels ClickHouse's pace, as it feels the disk's) up to
// directTimeout; then, or while ClickHouse is down or the spool is being
// replayed, the queue (older) and mb go to the spool.
func (s *Sink) queue(mb memBatch) {
	deadline := time.Now().Add(directTimeout)
	for {
		s.qmu.Lock()
		if b, _ := s.sp.usage(); s.down.Load() || s.closing || b > 0 || closed(s.stop) || !time.Now().Before(deadline) {
			// Down, stopping, catching up from the spool or waited
			// enough: behind the spool is where this batch belongs.
			break
		}
		if len(s.mem) < memBatches {
			s.mem = append(s.mem, mb)
			s.qmu.Unlock()
			return
		}
		s.qmu.Unlock()
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-s.room:
		case <-s.stop:
		case <-t.C:
		}
		t.Stop()
	}
	defer s.qmu.Unlock()
	s.spillLocked()
	s.spoolBatch(mb)
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// spillLocked moves the memory queue to the spool (qmu held).
func (s *Sink) spillLocked() {
	for _, mb := range s.mem {
		s.spoolBatch(mb)
	}
	s.mem = nil
}

// spoolBatch writes mb to the spool, or counts its rows as dropped.
func (s *Sink) spoolBatch(mb memBatch) {
	if err := s.sp.put(mb.seq, mb.b); err != nil {
		n := s.dropped.Add(uint64(mb.b.rows()))
		if errors.Is(err, errSpoolFull) {
			s.log.Debug("spool full: rows dropped", "rows", mb.b.rows(), "dropped", n)
		} else {
			s.log.Error("spooling rows", "rows", mb.b.rows(), "err", err)
		}
		return
	}
	s.spooled.Add(1)
}

func (s *Sink) sealEvery() {
	t := time.NewTicker(s.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			close(s.sealer)
			return
		case <-t.C:
			s.seal()
		}
	}
}

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	b, n := s.sp.usage()
	return Stats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Batches: s.batches.Load(), Errors: s.errs.Load(), Damaged: s.damaged.Load(),
		Spooled: s.spooled.Load(), SpoolBatches: b, SpoolBytes: n, Connected: s.connected.Load()}
}

// waiting is the sealed batches not taken yet, in memory and spooled.
func (s *Sink) waiting() int {
	s.qmu.Lock()
	n := len(s.mem)
	if s.inflight {
		n++
	}
	s.qmu.Unlock()
	b, _ := s.sp.usage()
	return n + b
}

// Drain seals what is pending and waits until ClickHouse took every
// sealed batch or ctx ends.
func (s *Sink) Drain(ctx context.Context) error {
	s.seal()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if s.waiting() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clickhouse: %d batches not taken yet: %w", s.waiting(), ctx.Err())
		case <-t.C:
		case <-s.sentOne:
		}
	}
}

// closeGrace is how long Close waits for ClickHouse to take the spool.
const closeGrace = 5 * time.Second

// Close seals what is pending, gives a reachable ClickHouse a few seconds
// to take it and the spool, and stops; what it did not take is spooled for
// the next start.
func (s *Sink) Close() {
	if s.connected.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		_ = s.Drain(ctx) // what is left waits on disk
		cancel()
	}
	close(s.stop)
	<-s.sealer
	<-s.stopped // the sender spooled what waited in memory, and set closing
	s.seal()    // closing: straight to the spool
	if s.conn != nil {
		s.conn.Close()
	}
}

const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// send is the one goroutine talking to ClickHouse: the oldest sealed batch
// first (from memory or the spool, by sequence), the next only once
// ClickHouse took it, so the order survives outages.
func (s *Sink) send() {
	defer close(s.stopped)
	defer func() {
		s.qmu.Lock()
		s.closing = true
		s.spillLocked()
		s.qmu.Unlock()
	}()
	// Connect at once, so the first batches already go straight to
	// ClickHouse (a failure here only means they are spooled).
	ctx, cancel := context.WithTimeout(context.Background(), directTimeout)
	if err := s.connect(ctx); err != nil {
		s.down.Store(true)
		s.log.Warn("clickhouse unreachable: spooling", "err", err)
	}
	cancel()
	backoff := retryMin
	for {
		progressed, err := s.sendOne()
		if err != nil {
			s.errs.Add(1)
			s.down.Store(true)
			if s.connected.Swap(false) {
				s.log.Warn("clickhouse unreachable: spooling", "err", err)
			} else {
				s.log.Debug("clickhouse insert failed", "err", err)
			}
			// Nothing waits in memory while ClickHouse is down: what is
			// queued goes to disk now, later seals go there directly.
			s.qmu.Lock()
			s.spillLocked()
			s.qmu.Unlock()
			poke(s.room) // a seal waiting for room spools at once
			if s.conn != nil {
				s.conn.Close()
				s.conn = nil
			}
			select {
			case <-s.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, retryMax)
			continue
		}
		backoff = retryMin
		select {
		case <-s.stop:
			return
		default:
		}
		if progressed {
			continue
		}
		s.retention()
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-time.After(time.Second):
		}
	}
}

func (s *Sink) connect(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	t := s.cfg.Target
	conn, err := ch.Open(&ch.Options{
		Addr: []string{t.Addr}, Auth: ch.Auth{Database: "default", Username: t.User, Password: t.Password},
		Compression: &ch.Compression{Method: ch.CompressionLZ4}, DialTimeout: 3 * time.Second,
		ReadTimeout: 30 * time.Second, MaxOpenConns: 2,
	})
	if err != nil {
		return fmt.Errorf("clickhouse %s: %w", t.Addr, err)
	}
	if err := ensureSchema(ctx, conn, t.Database); err != nil {
		conn.Close()
		return err
	}
	s.conn = conn
	s.down.Store(false)
	if !s.connected.Swap(true) {
		s.log.Info("clickhouse connected", "addr", t.Addr, "database", t.Database)
	}
	return nil
}

// sendOne inserts the oldest sealed batch, from memory or from the spool
// (false: none waiting).
func (s *Sink) sendOne() (bool, error) {
	s.qmu.Lock()
	spSeq, spooled := s.sp.oldestSeq()
	if len(s.mem) > 0 && (!spooled || s.mem[0].seq < spSeq) {
		mb := s.mem[0]
		s.mem = s.mem[1:]
		s.inflight = true
		s.qmu.Unlock()
		poke(s.room)
		return true, s.sendMem(mb)
	}
	s.qmu.Unlock()
	if !spooled {
		return false, nil
	}
	return true, s.sendSpooled()
}

// sendMem inserts a batch straight from memory; one ClickHouse did not
// take goes to the spool before the error is returned.
func (s *Sink) sendMem(mb memBatch) error {
	ctx, cancel := context.WithTimeout(context.Background(), directTimeout)
	defer cancel()
	err := s.connect(ctx)
	if err == nil {
		err = s.insert(ctx, mb.b)
	}
	s.qmu.Lock()
	if err != nil {
		// A timed-out insert ClickHouse did apply is sent again from the
		// spool: the same row ids, kept once.
		s.spoolBatch(mb)
	}
	s.inflight = false
	s.qmu.Unlock()
	if err != nil {
		return err
	}
	s.taken(mb.b)
	return nil
}

// taken counts a batch ClickHouse took and wakes Drain.
func (s *Sink) taken(b *batch) {
	s.sent.Add(uint64(b.rows()))
	s.batches.Add(1)
	poke(s.sentOne)
}

// poke wakes whoever waits on c (a one-slot channel) without blocking.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// sendSpooled inserts the oldest spooled batch.
func (s *Sink) sendSpooled() error {
	seq, b, _, err := s.sp.oldest()
	if err != nil {
		// Unreadable: it can never be sent; its rows count as dropped.
		s.log.Error("dropping an unreadable spool batch", "err", err)
		s.damaged.Add(1)
		return s.sp.done(seq)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.connect(ctx); err != nil {
		return err
	}
	if err := s.insert(ctx, b); err != nil {
		return err
	}
	// A crash between the insert and this removal sends the batch again:
	// the same row ids, which ReplacingMergeTree keeps once.
	err = s.sp.done(seq)
	s.taken(b)
	return err
}

func (s *Sink) insert(ctx context.Context, b *batch) error {
	q, n := s.flows, len(b.Flows)
	if n == 0 {
		q, n = s.alrts, len(b.Alerts)
	}
	bt, err := s.conn.PrepareBatch(ctx, q)
	if err != nil {
		return fmt.Errorf("clickhouse batch: %w", err)
	}
	for i := range b.Flows {
		if err := bt.Append(b.Flows[i].values()...); err != nil {
			bt.Abort()
			return fmt.Errorf("clickhouse flow row: %w", err)
		}
	}
	for i := range b.Alerts {
		if err := bt.Append(b.Alerts[i].values()...); err != nil {
			bt.Abort()
			return fmt.Errorf("clickhouse alert row: %w", err)
		}
	}
	if err := bt.Send(); err != nil {
		return fmt.Errorf("clickhouse insert of %d rows: %w", n, err)
	}
	return nil
}

// retention drops expired day partitions, at most hourly.
func (s *Sink) retention() {
	if s.cfg.RetentionDays <= 0 || s.conn == nil || time.Since(s.lastRetention) < time.Hour {
		return
	}
	s.lastRetention = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keep := time.Duration(s.cfg.RetentionDays) * 24 * time.Hour
	for _, tb := range []string{"flows", "alerts"} {
		if n, err := dropExpired(ctx, s.conn, s.cfg.Target.Database, tb, keep, time.Now()); err != nil {
			s.log.Warn("clickhouse retention", "err", err)
		} else if n > 0 {
			s.log.Info("clickhouse retention dropped day partitions", "table", tb, "partitions", n)
		}
	}
}
