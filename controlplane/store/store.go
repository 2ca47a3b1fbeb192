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

	badger "github.com/dgraph-io/badger/v4"
)

// Options tunes Open. The zero value is what the appliance uses.
type Options struct {
	// InMemory keeps everything in RAM; unit tests only, nothing survives Close.
	InMemory bool
	// Logger receives Badger's error messages; nil means slog.Default().
	Logger *slog.Logger
}

// Store is safe for concurrent use by multiple goroutines.
type Store struct {
	db       *badger.DB
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

// Open opens (creating if needed) the database in dir.
func Open(dir string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	bo := badger.DefaultOptions(dir)
	if opts.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create %s: %w", dir, err)
	}
	// Badger's defaults target servers (5x64 MB memtables, 256 MB block
	// cache, 1 GB vlog files); an appliance has far less RAM and disk.
	bo = bo.
		WithLogger(slogLogger{logger}).
		WithNumVersionsToKeep(1).
		WithValueLogFileSize(64 << 20).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithBlockCacheSize(16 << 20).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		// All read-modify-write sequences are serialised by the callers
		// (e.g. auth's mutex); conflict tracking would only cost memory.
		WithDetectConflicts(false)

	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open badger in %q: %w", dir, err)
	}
	s := &Store{db: db}
	if err := s.checkLayout(); err != nil {
		db.Close()
		return nil, err
	}
	s.flowSeq, err = db.GetSequence(metaKey("flowseq"), flowSeqLease)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store: flow sequence: %w", err)
	}
	s.alertSeq, err = db.GetSequence(metaKey("alertseq"), 64)
	if err != nil {
		s.flowSeq.Release()
		db.Close()
		return nil, fmt.Errorf("store: alert sequence: %w", err)
	}
	return s, nil
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

// Close releases the database; the Store must not be used afterwards.
func (s *Store) Close() error {
	// Release returns the unused part of the sequence lease, so restarts
	// don't burn numbers; its failure must not keep the DB open.
	errSeq := errors.Join(s.flowSeq.Release(), s.alertSeq.Release())
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	if errSeq != nil {
		return fmt.Errorf("store: release flow sequence: %w", errSeq)
	}
	return nil
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
