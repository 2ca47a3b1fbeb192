package store

import (
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// countPrefix counts the keys under one prefix byte, read from Badger
// directly (as an older build would walk its alert space).
func countPrefix(t *testing.T, s *Store, p byte) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOlderBuildAlertsMoved: alerts an older build stored (JSON under 'a')
// are moved at open and listed with their keys and values unchanged; what
// this build writes never lands where an older build looks, so a build
// started after a slot fallback meets no record it cannot decode.
func TestOlderBuildAlertsMoved(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	old := []struct {
		key AlertKey
		val string
	}{
		{AlertKey{IfID: 0, Tstamp: 1_700_000_000, ID: 7}, `{"row_id":7,"ifid":0}`},
		{AlertKey{IfID: 3, Tstamp: 1_700_000_050, ID: 9}, `{"row_id":9,"ifid":3}`},
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		for _, o := range old {
			k := alertKey(o.key.IfID, o.key.Tstamp, o.key.ID)
			k[0] = prefixAlertJSON
			if err := txn.Set(k, []byte(o.val)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, dir)
	defer s.Close()
	if n := countPrefix(t, s, prefixAlertJSON); n != 0 {
		t.Errorf("%d alerts left under the older prefix after open", n)
	}
	for _, o := range old {
		var got []string
		if err := s.ScanAlerts(o.key.IfID, 0, 1<<40, func(k AlertKey, raw []byte) error {
			if k != o.key {
				t.Errorf("key %+v, want %+v", k, o.key)
			}
			got = append(got, string(raw))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != o.val {
			t.Errorf("interface %d: %q, want [%q]", o.key.IfID, got, o.val)
		}
	}
	if err := s.PutAlerts([]AlertKey{{IfID: 0, Tstamp: 1_700_000_100, ID: 11}}, [][]byte{{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(t, s, prefixAlertJSON); n != 0 {
		t.Errorf("a new alert landed under the older build's prefix (%d keys)", n)
	}
	if n := countPrefix(t, s, prefixAlert); n != 3 {
		t.Errorf("%d alerts under this build's prefix, want 3", n)
	}
}
