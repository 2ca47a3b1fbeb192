package store

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

// TestOpenBounded: Badger answering a damaged store with a panic or an
// endless loop becomes an error, in bounded time.
func TestOpenBounded(t *testing.T) {
	for _, c := range []struct {
		name string
		open func() (*badger.DB, error)
		want string
	}{
		{"panic", func() (*badger.DB, error) { panic("slice bounds out of range") }, "panicked"},
		{"hang", func() (*badger.DB, error) { select {} }, "no answer after"},
		{"error", func() (*badger.DB, error) { return nil, errors.New("bad magic") }, "bad magic"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := openBounded(c.open, 200*time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}

// BenchmarkOpenVerify is what verifying every table at Open costs: the
// preflight (footer, index and every block checksum of each table) and
// Badger's own Open of the same store, in the same run. The store holds
// about 2 million flow records.
func BenchmarkOpenVerify(b *testing.B) {
	dir := b.TempDir()
	s := openTest(b, dir)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 400; i++ {
		recs := realisticFlows(rng, 5000, 1, 1_700_000_100+int64(i/10)*BlockSeconds)
		if err := s.WriteFlows(recs); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	var size int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") {
			fi, _ := e.Info()
			size += fi.Size()
		}
	}
	b.Logf("tables: %d MiB", size>>20)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.Run("preflight", func(b *testing.B) {
		for b.Loop() {
			if err := preflight(dir, log); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size)/(1<<20)/(b.Elapsed().Seconds()/float64(b.N)), "MiB/s")
	})
	b.Run("badger-open-close", func(b *testing.B) {
		bo := badgerOptions(dir, Options{}, log, defaultSizing)
		for b.Loop() {
			db, err := badger.Open(bo)
			if err != nil {
				b.Fatal(err)
			}
			if err := db.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
