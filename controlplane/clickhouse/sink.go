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
	SpoolBatches int
	SpoolBytes   int64
	Connected    bool
}

// Sink writes flows and alerts to ClickHouse through the spool.
type Sink struct {
	cfg   Config
	sp    *spool
	log   *slog.Logger
	flows string
	alrts string

	sealMu  sync.Mutex // one seal at a time: batches enter the spool in row order
	mu      sync.Mutex
	pending batch
	nextID  uint64

	wake    chan struct{}
	sentOne chan struct{} // a batch left the spool (wakes Drain)
	stop    chan struct{}
	stopped chan struct{}
	sealer  chan struct{}

	sent, dropped, batches, errs, damaged atomic.Uint64
	connected                             atomic.Bool
	conn                                  driver.Conn // sender goroutine only
	lastRetention                         time.Time   // sender goroutine only
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
		wake:   make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}), sealer: make(chan struct{}),
	}
	go s.send()
	go s.sealEvery()
	return s, nil
}

// WriteFlows queues recs (flow deltas, as the store gets them).
func (s *Sink) WriteFlows(recs []store.FlowRecord) {
	s.mu.Lock()
	for i := range recs {
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
	if full {
		s.seal()
	}
}

// WriteAlert queues an alert.
func (s *Sink) WriteAlert(a *alert.Alert) {
	s.mu.Lock()
	s.nextID++
	s.pending.Alerts = append(s.pending.Alerts, alertRow(s.nextID, s.cfg.Probe, a))
	s.mu.Unlock()
}

// seal moves the pending rows into the spool (one batch per table).
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
		if err := s.sp.put(&part); err != nil {
			n := s.dropped.Add(uint64(part.rows()))
			if errors.Is(err, errSpoolFull) {
				s.log.Debug("spool full: rows dropped", "rows", part.rows(), "dropped", n)
			} else {
				s.log.Error("spooling rows", "rows", part.rows(), "err", err)
			}
			continue
		}
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
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
		SpoolBatches: b, SpoolBytes: n, Connected: s.connected.Load()}
}

// Drain seals what is pending and waits until the spool is empty or ctx
// ends.
func (s *Sink) Drain(ctx context.Context) error {
	s.seal()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if b, _ := s.sp.usage(); b == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			b, _ := s.sp.usage()
			return fmt.Errorf("clickhouse: %d batches still spooled: %w", b, ctx.Err())
		case <-t.C:
		case <-s.sentOne:
		}
	}
}

// closeGrace is how long Close waits for ClickHouse to take the spool.
const closeGrace = 5 * time.Second

// Close seals what is pending, gives a reachable ClickHouse a few seconds
// to take the spool, and stops; what it did not take stays spooled for
// the next start.
func (s *Sink) Close() {
	if s.connected.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		_ = s.Drain(ctx) // what is left waits on disk
		cancel()
	}
	close(s.stop)
	<-s.sealer
	<-s.stopped
	s.seal()
	if s.conn != nil {
		s.conn.Close()
	}
}

const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// send is the one goroutine talking to ClickHouse: oldest batch first, the
// next only once ClickHouse took it, so the order survives outages.
func (s *Sink) send() {
	defer close(s.stopped)
	backoff := retryMin
	for {
		progressed, err := s.sendOne()
		if err != nil {
			s.errs.Add(1)
			if s.connected.Swap(false) {
				s.log.Warn("clickhouse unreachable: spooling", "err", err)
			} else {
				s.log.Debug("clickhouse insert failed", "err", err)
			}
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
	if !s.connected.Swap(true) {
		s.log.Info("clickhouse connected", "addr", t.Addr, "database", t.Database)
	}
	return nil
}

// sendOne inserts the oldest spooled batch (false: none spooled).
func (s *Sink) sendOne() (bool, error) {
	seq, b, ok, err := s.sp.oldest()
	if !ok {
		return false, nil
	}
	if err != nil {
		// Unreadable: it can never be sent; its rows count as dropped.
		s.log.Error("dropping an unreadable spool batch", "err", err)
		s.damaged.Add(1)
		return true, s.sp.done(seq)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.connect(ctx); err != nil {
		return false, err
	}
	if err := s.insert(ctx, b); err != nil {
		return false, err
	}
	s.sent.Add(uint64(b.rows()))
	s.batches.Add(1)
	// A crash between the insert and this removal sends the batch again:
	// the same row ids, which ReplacingMergeTree keeps once.
	err = s.sp.done(seq)
	select {
	case s.sentOne <- struct{}{}:
	default:
	}
	return true, err
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
