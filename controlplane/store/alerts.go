package store

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Alerts are opaque values (the alert package encodes them) keyed by
//
//	'b' ifid(2) tstamp(8) id(8)
//
// so that a time range of one interface is one seek and a forward walk,
// and retention deletes a key prefix in time order. The id is a store-wide
// sequence: it is the alert's row id and survives restarts.
const alertKeyLen = 1 + 2 + 8 + 8

func alertIfPrefix(ifid uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{prefixAlert}, ifid)
}

func alertKey(ifid uint16, tstamp int64, id uint64) []byte {
	return appendAlertKey(make([]byte, 0, alertKeyLen), ifid, tstamp, id)
}

// appendAlertKey appends the key to dst: a batch builds all its keys in
// one buffer.
func appendAlertKey(dst []byte, ifid uint16, tstamp int64, id uint64) []byte {
	dst = append(dst, prefixAlert)
	dst = binary.BigEndian.AppendUint16(dst, ifid)
	dst = binary.BigEndian.AppendUint64(dst, sortableInt64(tstamp))
	return binary.BigEndian.AppendUint64(dst, id)
}

// AlertKey identifies a stored alert.
type AlertKey struct {
	IfID   uint16
	Tstamp int64 // unix seconds
	ID     uint64
}

func parseAlertKey(k []byte) (AlertKey, bool) {
	if len(k) != alertKeyLen || k[0] != prefixAlert {
		return AlertKey{}, false
	}
	return AlertKey{
		IfID:   binary.BigEndian.Uint16(k[1:3]),
		Tstamp: int64(binary.BigEndian.Uint64(k[3:11]) ^ (1 << 63)),
		ID:     binary.BigEndian.Uint64(k[11:19]),
	}, true
}

// NextAlertID hands out a new alert row id (never 0).
func (s *Store) NextAlertID() (uint64, error) {
	for {
		id, err := s.alertSeq.Next()
		if err != nil {
			return 0, fmt.Errorf("store: alert sequence: %w", err)
		}
		if id != 0 {
			return id, nil
		}
	}
}

// PutAlerts writes (or rewrites: same keys) alerts in one batch (a pass
// that raised thousands at once should not pay a transaction each).
func (s *Store) PutAlerts(keys []AlertKey, values [][]byte) error {
	if err := s.writable(false); err != nil {
		return fmt.Errorf("store: put alerts: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	// The batch keeps the key slices until it is flushed: one buffer for
	// all of them, never grown.
	kbuf := make([]byte, 0, len(keys)*alertKeyLen)
	for i, k := range keys {
		kbuf = appendAlertKey(kbuf, k.IfID, k.Tstamp, k.ID)
		key := kbuf[len(kbuf)-alertKeyLen : len(kbuf) : len(kbuf)]
		if err := wb.Set(key, values[i]); err != nil {
			return fmt.Errorf("store: put alert %d: %w", k.ID, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: put alerts: %w", err)
	}
	return nil
}

// ScanAlerts calls fn for the alerts of ifid with from <= tstamp < to, oldest
// first. fn's value is only valid during the call. An error from fn stops
// the walk and is returned unchanged.
func (s *Store) ScanAlerts(ifid uint16, from, to int64, fn func(k AlertKey, value []byte) error) error {
	if to <= from {
		return nil
	}
	prefix := alertIfPrefix(ifid)
	end := alertKey(ifid, to, 0)
	var fnErr error
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
		defer it.Close()
		for it.Seek(alertKey(ifid, from, 0)); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			if string(item.Key()) >= string(end) {
				break
			}
			k, ok := parseAlertKey(item.Key())
			if !ok {
				return fmt.Errorf("malformed alert key %x", item.Key())
			}
			if err := item.Value(func(v []byte) error {
				fnErr = fn(k, v)
				return fnErr
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: scan alerts if %d: %w", ifid, err)
	}
	return nil
}

// DeleteAlerts removes the given alerts; unknown keys are ignored.
func (s *Store) DeleteAlerts(keys []AlertKey) error {
	if err := s.writable(false); err != nil {
		return fmt.Errorf("store: delete alerts: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, k := range keys {
		if err := wb.Delete(alertKey(k.IfID, k.Tstamp, k.ID)); err != nil {
			return fmt.Errorf("store: delete alert %d: %w", k.ID, err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: delete alerts: %w", err)
	}
	return nil
}

// DeleteAlertsBefore removes every alert of every interface older than
// before (unix seconds) and returns how many went: alert retention.
func (s *Store) DeleteAlertsBefore(before int64) (int, error) {
	var keys []AlertKey
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixAlert}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k, ok := parseAlertKey(it.Item().Key())
			if !ok {
				continue
			}
			if k.Tstamp < before {
				keys = append(keys, k)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: alert retention: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	return len(keys), s.DeleteAlerts(keys)
}

// moveJSONAlerts moves the alerts an older build wrote under
// prefixAlertJSON to prefixAlert, values unchanged (the alert package
// still reads its JSON). It runs at every open: after a fallback to an
// older build and back, what that build stored is moved too. A crash
// midway leaves some keys under both prefixes with the same value; the
// next open moves them again.
func (s *Store) moveJSONAlerts() (int, error) {
	moved := 0
	for {
		var keys, vals [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixAlertJSON}})
			defer it.Close()
			for it.Rewind(); it.Valid() && len(keys) < 4096; it.Next() {
				v, err := it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				keys, vals = append(keys, it.Item().KeyCopy(nil)), append(vals, v)
			}
			return nil
		})
		if err != nil {
			return moved, fmt.Errorf("store: read older alerts: %w", err)
		}
		if len(keys) == 0 {
			return moved, nil
		}
		wb := s.db.NewWriteBatch()
		for i, k := range keys {
			nk := append([]byte{prefixAlert}, k[1:]...)
			if err := wb.Set(nk, vals[i]); err != nil {
				wb.Cancel()
				return moved, fmt.Errorf("store: move older alerts: %w", err)
			}
			if err := wb.Delete(k); err != nil {
				wb.Cancel()
				return moved, fmt.Errorf("store: move older alerts: %w", err)
			}
		}
		if err := wb.Flush(); err != nil {
			return moved, fmt.Errorf("store: move older alerts: %w", err)
		}
		moved += len(keys)
	}
}
