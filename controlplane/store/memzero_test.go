package store

import (
	"os"
	"path/filepath"
	"testing"
)

// A crash between Badger creating a memtable log and sizing it leaves an
// empty .mem file, which holds no entry: the store opens (Badger alone
// refuses it with "Create a new file" and the probe could not start).
func TestEmptyMemLogAfterCrash(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("t", "k", "v"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00009.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("open with an empty memtable log: %v", err)
	}
	defer s.Close()
	var v string
	if found, err := s.Get("t", "k", &v); err != nil || !found || v != "v" {
		t.Fatalf("record after reopening: %q %v %v", v, found, err)
	}
}
