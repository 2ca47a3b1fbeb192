package store

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// BenchmarkPutAlerts is what storing a pass's alerts costs per alert (a
// scan raises one per flow, and rewrites each when another check joins),
// against two baselines in the same run on the same synced options:
//
//   - badger: the same keys and values through a bare Badger WriteBatch,
//     the floor of the one-entry-per-alert layout;
//   - badger-pages: the same bytes as entries of 64 alerts each, what a
//     layout storing a pass's alerts in pages would pay.
//
// Values are 131-byte records shaped like the alert package's (a few
// varying fields in a mostly constant record), so Snappy sees what it
// sees on the appliance.
func BenchmarkPutAlerts(b *testing.B) {
	const batch, recLen, perPage = 16384, 131, 64
	rng := rand.New(rand.NewPCG(25, 2))
	proto := make([]byte, recLen)
	for i := range proto {
		proto[i] = byte(rng.IntN(64))
	}
	vals := make([][]byte, batch)
	page := make([]byte, 0, perPage*(alertKeyLen+recLen))
	var pages [][]byte
	for i := range vals {
		v := append([]byte(nil), proto...)
		binary.BigEndian.PutUint32(v[8:], rng.Uint32())   // addresses
		binary.BigEndian.PutUint16(v[20:], uint16(i))     // port
		binary.BigEndian.PutUint32(v[40:], uint32(i/100)) // times
		vals[i] = v
		page = appendAlertKey(page, 0, 1_767_225_600+int64(i/1000), uint64(i))
		page = append(page, v...)
		if (i+1)%perPage == 0 {
			pages = append(pages, page)
			page = make([]byte, 0, perPage*(alertKeyLen+recLen))
		}
	}
	run := func(b *testing.B, put func(s *Store, round int) error) {
		s, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for i := 0; b.Loop(); i++ {
			if err := put(s, i); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/alert")
	}
	keysOf := func(round int) []AlertKey {
		keys := make([]AlertKey, batch)
		for i := range keys {
			keys[i] = AlertKey{IfID: 0, Tstamp: 1_767_225_600 + int64(i/1000), ID: uint64(round*batch + i + 1)}
		}
		return keys
	}
	b.Run("store", func(b *testing.B) {
		run(b, func(s *Store, round int) error { return s.PutAlerts(keysOf(round), vals) })
	})
	b.Run("badger", func(b *testing.B) {
		run(b, func(s *Store, round int) error {
			wb := s.db.NewWriteBatch()
			defer wb.Cancel()
			for i, k := range keysOf(round) {
				if err := wb.Set(alertKey(k.IfID, k.Tstamp, k.ID), vals[i]); err != nil {
					return err
				}
			}
			return wb.Flush()
		})
	})
	b.Run("badger-pages", func(b *testing.B) {
		run(b, func(s *Store, round int) error {
			wb := s.db.NewWriteBatch()
			defer wb.Cancel()
			for i, p := range pages {
				if err := wb.Set(alertKey(1, int64(round), uint64(i+1)), p); err != nil {
					return err
				}
			}
			return wb.Flush()
		})
	})
}
