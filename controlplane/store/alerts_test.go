package store

import (
	"fmt"
	"testing"
)

func TestAlertsScanRangeAndRetention(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put := func(ifid uint16, ts int64) AlertKey {
		id, err := s.NextAlertID()
		if err != nil {
			t.Fatal(err)
		}
		k := AlertKey{IfID: ifid, Tstamp: ts, ID: id}
		if err := s.PutAlerts([]AlertKey{k}, [][]byte{[]byte(fmt.Sprintf("%d/%d", ifid, ts))}); err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, ts := range []int64{100, 200, 300, 300, 400} {
		put(0, ts)
		put(1, ts+1)
	}
	scan := func(ifid uint16, from, to int64) []string {
		var out []string
		if err := s.ScanAlerts(ifid, from, to, func(k AlertKey, v []byte) error {
			out = append(out, string(v))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		ifid     uint16
		from, to int64
		want     int
	}{{0, 0, 1000, 5}, {0, 200, 300, 1}, {0, 200, 301, 3}, {1, 0, 102, 1}, {0, 300, 300, 0}, {0, 500, 100, 0}, {2, 0, 1000, 0}}
	for _, c := range cases {
		if got := scan(c.ifid, c.from, c.to); len(got) != c.want {
			t.Errorf("if %d [%d,%d): %v, want %d alerts", c.ifid, c.from, c.to, got, c.want)
		}
	}
	n, err := s.DeleteAlertsBefore(300)
	if err != nil || n != 4 {
		t.Fatalf("DeleteAlertsBefore(300) = %d, %v; want 4", n, err)
	}
	// Ids keep growing across a restart: no row id is handed out twice.
	last := put(0, 500)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := scan(0, 0, 1000); len(got) != 4 {
		t.Errorf("after restart if 0: %v", got)
	}
	id, err := s.NextAlertID()
	if err != nil || id <= last.ID {
		t.Errorf("next id after restart %d, last before %d", id, last.ID)
	}
}
