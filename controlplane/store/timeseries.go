package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// Time series points (controlplane/timeseries) live in their own key space:
//
//	't' series time(8)                   one point of one series
//
// series is opaque to the store: controlplane/timeseries builds it so that
// no series is a prefix of another (NUL-terminated parts), which lets a
// prefix scan select series by their leading parts. time is sortableInt64.
const prefixTS = 't'

// TSPoint is one point to write: Value is opaque (the timeseries package's
// encoding); TTL > 0 makes Badger drop the point once TTL has passed.
type TSPoint struct {
	Series []byte
	Time   int64
	Value  []byte
	TTL    time.Duration
}

func tsKey(series []byte, t int64) []byte {
	k := make([]byte, 0, 1+len(series)+8)
	k = append(k, prefixTS)
	k = append(k, series...)
	return binary.BigEndian.AppendUint64(k, sortableInt64(t))
}

// TSPut writes pts in one batch. Time series are history: like flows they
// are refused (ErrDiskFull) once the disk is down to the history reserve.
func (s *Store) TSPut(pts []TSPoint) error {
	if len(pts) == 0 {
		return nil
	}
	if err := s.historyWritable(len(pts)); err != nil {
		return fmt.Errorf("store: time series: %w", err)
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	now := time.Now()
	for _, p := range pts {
		e := badger.NewEntry(tsKey(p.Series, p.Time), p.Value)
		if p.TTL > 0 {
			// Rounded up like PutTTL: never dropped early.
			e.ExpiresAt = uint64(now.Add(p.TTL + time.Second - 1).Unix())
		}
		if err := wb.SetEntry(e); err != nil {
			return fmt.Errorf("store: time series: write: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: time series: write: %w", err)
	}
	return nil
}

// TSGet reads one point; a missing or expired point is found=false.
func (s *Store) TSGet(series []byte, t int64) (val []byte, found bool, err error) {
	err = s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(tsKey(series, t))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: time series: get: %w", err)
	}
	return val, true, nil
}

// TSScan calls fn for every live point whose series starts with
// seriesPrefix and whose time is in [begin, end], in key order (series,
// then time). series and val are only valid during the call. When
// seriesPrefix is a whole series the scan seeks straight to begin.
// An error from fn stops the scan and is returned unchanged.
func (s *Store) TSScan(seriesPrefix []byte, begin, end int64, fn func(series []byte, t int64, val []byte) error) error {
	p := append([]byte{prefixTS}, seriesPrefix...)
	var fnErr error
	err := s.view(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = p
		io.PrefetchValues = false
		it := txn.NewIterator(io)
		defer it.Close()
		it.Seek(p)
		for it.ValidForPrefix(p) {
			item := it.Item()
			k := item.Key()
			if len(k) < len(p)+8 {
				it.Next()
				continue
			}
			series := k[1 : len(k)-8]
			t := int64(binary.BigEndian.Uint64(k[len(k)-8:]) ^ (1 << 63))
			switch {
			case t < begin:
				// Jump to begin within this series.
				it.Seek(tsKey(series, begin))
				continue
			case t > end:
				// Jump past this series: its next sibling starts after
				// every key of series (times are 8 bytes, 0xff.. is max).
				next := append(append([]byte{prefixTS}, series...), bytes.Repeat([]byte{0xff}, 9)...)
				it.Seek(next)
				continue
			}
			if err := item.Value(func(v []byte) error {
				fnErr = fn(series, t, v)
				return fnErr
			}); err != nil {
				return err
			}
			it.Next()
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: time series: scan: %w", err)
	}
	return nil
}
