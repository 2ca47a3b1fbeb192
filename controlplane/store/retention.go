package store

import (
	"errors"
	"fmt"
	"sort"

	badger "github.com/dgraph-io/badger/v4"
)

// BlockUsage is what one stored flow block of one interface costs.
type BlockUsage struct {
	IfID  uint16
	Block int64 // block start, unix seconds
	Bytes int64 // keys + values as stored (before compression)
}

// FlowUsage lists every flow block of every interface with its size, oldest
// block first (ties by interface).
func (s *Store) FlowUsage() ([]BlockUsage, error) {
	var out []BlockUsage
	idx := map[[2]int64]int{}
	err := s.view(func(txn *badger.Txn) error {
		it := keyIterator(txn, []byte{prefixFlow})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			block, ok := flowKeyBlock(k)
			if !ok {
				return fmt.Errorf("malformed flow key %x", k)
			}
			ifid := int64(k[1])<<8 | int64(k[2])
			key := [2]int64{ifid, block}
			i, seen := idx[key]
			if !seen {
				i = len(out)
				idx[key] = i
				out = append(out, BlockUsage{IfID: uint16(ifid), Block: block})
			}
			out[i].Bytes += int64(len(k)) + item.ValueSize()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: flow usage: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Block != out[j].Block {
			return out[i].Block < out[j].Block
		}
		return out[i].IfID < out[j].IfID
	})
	return out, nil
}

// DeleteFlowBlock removes one block of one interface. Deleting chunks in
// write batches keeps writers running (Badger's DropPrefix would stop them).
func (s *Store) DeleteFlowBlock(ifid uint16, block int64) error {
	prefix := flowBlockPrefix(ifid, block)
	var keys [][]byte
	err := s.view(func(txn *badger.Txn) error {
		it := keyIterator(txn, prefix)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete block %d of if %d: %w", block, ifid, err)
	}
	// Deleting is what frees space, so it is allowed down to the config
	// floor, like configuration.
	if err := s.writable(false); err != nil {
		return fmt.Errorf("store: delete block %d of if %d: %w", block, ifid, err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(k); err != nil {
			return fmt.Errorf("store: delete block %d of if %d: %w", block, ifid, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: delete block %d of if %d: %w", block, ifid, err)
	}
	return nil
}

// Retention is how long and how much flow history the store keeps.
type Retention struct {
	MaxAgeSeconds int64 // blocks that started before now−MaxAge go; 0 = no age limit
	MaxBytes      int64 // oldest blocks go until the flow data fits; 0 = no size limit
}

// ApplyRetention deletes the flow blocks the policy no longer keeps, oldest
// first, and returns how many it deleted. The newest block is never
// deleted for size: it is the one being written.
func (s *Store) ApplyRetention(r Retention, nowUnix int64) (int, error) {
	usage, err := s.FlowUsage()
	if err != nil {
		return 0, err
	}
	var total int64
	newest := int64(0)
	for _, u := range usage {
		total += u.Bytes
		if u.Block > newest {
			newest = u.Block
		}
	}
	deleted := 0
	for _, u := range usage {
		tooOld := r.MaxAgeSeconds > 0 && u.Block+BlockSeconds <= nowUnix-r.MaxAgeSeconds
		tooBig := r.MaxBytes > 0 && total > r.MaxBytes && u.Block < newest
		if !tooOld && !tooBig {
			continue
		}
		if err := s.DeleteFlowBlock(u.IfID, u.Block); err != nil {
			return deleted, err
		}
		total -= u.Bytes
		deleted++
	}
	return deleted, nil
}

// CollectGarbage runs Badger's value-log GC until it finds nothing worth
// rewriting. Flow chunks live in the LSM tree, so this mostly reclaims the
// space of large config values; compaction reclaims deleted flow blocks.
func (s *Store) CollectGarbage() error {
	for i := 0; i < 16; i++ {
		err := s.db.RunValueLogGC(0.5)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: value log GC: %w", err)
		}
	}
	return nil
}

// Compact merges the LSM tree into one level, as the background
// compactions eventually do: after a bulk import, and for benchmarks that
// query the settled layout of a store written long ago rather than one
// still compacting what was written a moment ago.
func (s *Store) Compact() error {
	if err := s.db.Flatten(2); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	return nil
}
