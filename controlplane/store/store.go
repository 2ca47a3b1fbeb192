// Package store is the appliance's persistence layer: one embedded Badger
// database under --data-dir holding small JSON config records (users,
// tokens, sessions, aliases, ...) and flow records packed in 5-minute blocks.
package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options tunes Open. The zero value is what the appliance uses.
type Options struct {
	// InMemory keeps everything in RAM; unit tests only, nothing survives Close.
	InMemory bool
	// Logger receives Badger's error messages; nil means slog.Default().
	Logger *slog.Logger
	// OpenTimeout bounds Open (0: DefaultOpenTimeout): damaged files have
	// made Badger spin forever instead of failing.
	OpenTimeout time.Duration
	// CloseTimeout bounds Close (0: DefaultCloseTimeout): a store that
	// cannot write (data directory gone, disk dead) makes Badger retry its
	// last flush forever.
	CloseTimeout time.Duration

	// unsynced turns off synced writes: benchmarks measure what syncing costs.
	unsynced bool
}

// Default bounds of Open and Close.
const (
	DefaultOpenTimeout  = 30 * time.Second
	DefaultCloseTimeout = 10 * time.Second
)

// Store is safe for concurrent use by multiple goroutines.
type Store struct {
	db       *badger.DB
	dir      string
	log      *slog.Logger
	space    *space // nil in memory
	closeTO  time.Duration
	flowSeq  *badger.Sequence
	alertSeq *badger.Sequence
}

// layoutVersion is the key layout (not the value encoding, which carries its
// own version byte). Bump it when keys move, so an old binary refuses a newer
// database instead of misreading it.
const layoutVersion = "1"

// flowSeqLease is how many chunk sequence numbers are leased per disk write;
// leases lost on a crash only leave gaps, which are harmless.
const flowSeqLease = 4096

// alertSeqLease is the same for alert row ids: a scan raises an alert per
// flow, and a lease of 64 cost a synced write every 64 alerts.
const alertSeqLease = 4096

// badgerOptions is the one place Badger is tuned. sz is sized from the
// file system holding the store (see sizing).
func badgerOptions(dir string, opts Options, logger *slog.Logger, sz sizing) badger.Options {
	bo := badger.DefaultOptions(dir)
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	}
	// Badger's defaults target servers (5x64 MB memtables, 256 MB block
	// cache, 1 GB vlog files); an appliance has far less RAM and disk.
	// Every option that bounds memory or disk is set here, defaults
	// included, so that a Badger upgrade cannot change them unnoticed
	// (TestBadgerOptions holds the values). What they cost, measured on
	// the bench's scan capture (265k alert writes, 2026-12-07):
	//   - memory: one memtable arena (memTable + 15% batch room, 20.8 MB
	//     at 16 MiB) plus its mmapped log; table builders draw from
	//     Badger's own pool of up to 8 allocators, which keep what a flush
	//     grew (88 MB of live heap after a 16 MiB memtable flush, with the
	//     compressed copies). Memtables of 4 or 8 MiB did not lower the
	//     probe's peak RSS (more level-0 tables, more builders at once)
	//     and cost 0-18% more CPU (best of 3), so 16 MiB stays the default.
	//   - Snappy: the stores of the scan, churn and steady captures are
	//     2.6-2.8x larger without it (48.6 against 17.7 MB on the scan);
	//     flow history is what the disk is for, so it stays on, at about
	//     2% of the scan's CPU; builders then held 132 against 76 MB.
	//   - no index cache: table indexes and bloom filters stay in memory;
	//     an open store with 107 MB of flow tables (4 M records) held 21.9
	//     MB of heap against 21.8 MB for an empty one (the memtable arena),
	//     so a cache would only add a decode per miss.
	return bo.
		WithLogger(slogLogger{logger}).
		WithNumVersionsToKeep(1).
		WithValueLogFileSize(sz.vlogFile).
		WithMemTableSize(sz.memTable).
		// Badger wants values above the threshold no larger than a write
		// batch (15% of a memtable); flow chunks (under 32 KiB) stay inline.
		WithValueThreshold(min(1<<20, sz.memTable/8)).
		WithNumMemtables(2).
		// Level 0 is compacted into level 1 from 4 tables (one memtable
		// each) instead of 2: a scan's alert writes are then rewritten by
		// compactions half as often. Measured on the bench's scan capture,
		// 12 interleaved pairs: median CPU 0.94x (10 of 12 pairs lower),
		// peak RSS unchanged; churn, which writes little, 0.97x. Reads
		// look at up to 4 level-0 tables (bloom filters first).
		WithNumLevelZeroTables(4).
		WithNumLevelZeroTablesStall(numL0Stall).
		WithBaseTableSize(sz.baseTable).
		WithBaseLevelSize(sz.baseLevel).
		WithBlockSize(4 << 10).
		WithBloomFalsePositive(0.01).
		WithCompression(options.Snappy).
		WithBlockCacheSize(16 << 20).
		WithIndexCacheSize(0).
		WithMaxLevels(7).
		WithLevelSizeMultiplier(10).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		// Every write is on stable storage before it returns: what the
		// probe answered OK survives a power cut. Flow chunks come in
		// batches of thousands of records, so they pay one sync per batch.
		WithSyncWrites(!opts.unsynced).
		// Damaged blocks answer an error instead of fewer records; a full
		// check of every table is `probe store check` (VerifyChecksum).
		WithChecksumVerificationMode(options.OnBlockRead).
		WithVerifyValueChecksum(true).
		// All read-modify-write sequences are serialised by the callers
		// (e.g. auth's mutex); conflict tracking would only cost memory.
		WithDetectConflicts(false)
}

// Open opens (creating if needed) the database in dir. A damaged store is
// an error naming the damaged file, never a panic, a hang or a silently
// new empty store (see preflight).
func Open(dir string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{dir: dir, log: logger, closeTO: opts.CloseTimeout}
	if s.closeTO <= 0 {
		s.closeTO = DefaultCloseTimeout
	}
	sz := defaultSizing
	if !opts.InMemory {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
		var err error
		if s.space, err = newSpace(dir); err != nil {
			return nil, err
		}
		sz = sizingFor(s.space.total)
		s.space.setFloors(sz)
		s.space.log = logger
		if err := preflight(dir, logger); err != nil {
			return nil, err
		}
	}
	bo := badgerOptions(dir, opts, logger, sz)
	to := opts.OpenTimeout
	if to <= 0 {
		to = DefaultOpenTimeout
	}
	db, err := openBounded(func() (*badger.DB, error) { return badger.Open(bo) }, to)
	if err != nil {
		return nil, fmt.Errorf("store: open badger in %q: %w", dir, err)
	}
	s.db = db
	if err := s.checkLayout(); err != nil {
		s.closeDB()
		return nil, err
	}
	// Not fatal: on a full disk the move waits for the next start, and
	// until then the older alerts are not listed.
	if n, err := s.moveJSONAlerts(); err != nil {
		logger.Warn("store: alerts of an older build not moved; they are listed once a start moves them", "moved", n, "err", err)
	} else if n > 0 {
		logger.Info("store: alerts of an older build moved to this build's key space", "alerts", n)
	}
	s.flowSeq, err = db.GetSequence(metaKey("flowseq"), flowSeqLease)
	if err != nil {
		s.closeDB()
		return nil, fmt.Errorf("store: flow sequence: %w", err)
	}
	s.alertSeq, err = db.GetSequence(metaKey("alertseq"), alertSeqLease)
	if err != nil {
		s.flowSeq.Release()
		s.closeDB()
		return nil, fmt.Errorf("store: alert sequence: %w", err)
	}
	return s, nil
}

// openBounded runs badger.Open so that a panic becomes an error and a
// hang a timeout. A timed-out Open leaves its goroutine behind: the
// caller is expected to exit (the probe refuses to start).
func openBounded(open func() (*badger.DB, error), to time.Duration) (*badger.DB, error) {
	type result struct {
		db  *badger.DB
		err error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{err: fmt.Errorf("badger panicked while opening (damaged files?): %v", r)}
			}
		}()
		db, err := open()
		ch <- result{db, err}
	}()
	select {
	case r := <-ch:
		return r.db, r.err
	case <-time.After(to):
		return nil, fmt.Errorf("no answer after %v (damaged files?); run `probe store check`", to)
	}
}

func (s *Store) checkLayout() error {
	k := metaKey("layout")
	return s.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(k, []byte(layoutVersion))
		}
		if err != nil {
			return fmt.Errorf("store: read layout version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("store: read layout version: %w", err)
		}
		if string(v) != layoutVersion {
			return fmt.Errorf("store: database layout %q, this build understands %q", v, layoutVersion)
		}
		return nil
	})
}

// Close releases the database; the Store must not be used afterwards. It
// gives up after Options.CloseTimeout: what was not yet on disk is then
// lost (synced writes are not) and the error says so.
func (s *Store) Close() error {
	// Release returns the unused part of the sequence lease, so restarts
	// don't burn numbers; its failure must not keep the DB open.
	errSeq := errors.Join(s.flowSeq.Release(), s.alertSeq.Release())
	if err := s.closeDB(); err != nil {
		return err
	}
	if errSeq != nil {
		return fmt.Errorf("store: release flow sequence: %w", errSeq)
	}
	return nil
}

// ErrCloseTimeout: Close gave up; Badger could not write what it held.
var ErrCloseTimeout = errors.New("store: close timed out")

func (s *Store) closeDB() error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("badger panicked while closing: %v", r)
			}
		}()
		done <- s.db.Close()
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("store: close: %w", err)
		}
		return nil
	case <-time.After(s.closeTO):
		return fmt.Errorf("%w after %v: unwritten memtable data (at most the last unsynced flow counts) is lost", ErrCloseTimeout, s.closeTO)
	}
}

// slogLogger forwards only errors: Badger's info/warning chatter (table
// opens, compactions, replays) is noise on an appliance console.
type slogLogger struct{ l *slog.Logger }

func (g slogLogger) Errorf(f string, a ...any) {
	g.l.Error(strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
}
func (slogLogger) Warningf(string, ...any) {}
func (slogLogger) Infof(string, ...any)    {}
func (slogLogger) Debugf(string, ...any)   {}
