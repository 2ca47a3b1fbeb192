package store

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store/internal/flowcodec"
)

func TestBlockStart(t *testing.T) {
	cases := []struct{ in, want int64 }{
		{0, 0}, {1, 0}, {299, 0}, {300, 300}, {301, 300}, {1_700_000_123, 1_700_000_100},
		{-1, -300}, {-300, -300}, {-301, -600},
		{math.MaxInt64, math.MaxInt64 - math.MaxInt64%300},
		{math.MinInt64, math.MinInt64 / 300 * 300},
		{math.MinInt64 / 300 * 300, math.MinInt64 / 300 * 300},
	}
	for _, c := range cases {
		if got := BlockStart(c.in); got != c.want {
			t.Errorf("BlockStart(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}

func collect(t *testing.T, s *Store, ifid uint16, from, to int64) []FlowRecord {
	t.Helper()
	var out []FlowRecord
	if err := s.ScanFlows(ifid, from, to, func(r *FlowRecord) error {
		out = append(out, *r)
		return nil
	}); err != nil {
		t.Fatalf("ScanFlows(%d, %d, %d): %v", ifid, from, to, err)
	}
	return out
}

func TestWriteScanFlows(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()

	const t0 = 1_700_000_100 // block aligned
	rng := rand.New(rand.NewPCG(7, 8))
	// 4 blocks x 2 interfaces, more records than one chunk in block 1, and
	// one batch that spans blocks and interfaces.
	var all []FlowRecord
	for b := range int64(4) {
		for _, ifid := range []uint16{1, 2} {
			n := 50
			if b == 1 && ifid == 1 {
				n = maxChunkRecords*2 + 17
			}
			all = append(all, realisticFlows(rng, n, ifid, t0+b*BlockSeconds)...)
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if err := s.WriteFlows(all[:len(all)/2]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFlows(all[len(all)/2:]); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteFlows(nil); err != nil {
		t.Fatal(err)
	}

	want := func(ifid uint16, from, to int64) []FlowRecord {
		var w []FlowRecord
		for _, r := range all {
			if b := BlockStart(r.LastSeen); r.IfID == ifid && b >= BlockStart(from) && b < to {
				w = append(w, r)
			}
		}
		return w
	}
	ranges := []struct{ from, to int64 }{
		{0, math.MaxInt64},
		{t0, t0 + BlockSeconds},                  // exactly block 0
		{t0 + 299, t0 + BlockSeconds + 1},        // unaligned: blocks 0 and 1
		{t0 + BlockSeconds, t0 + 3*BlockSeconds}, // blocks 1,2
		{t0 + 4*BlockSeconds, math.MaxInt64},     // after everything
		{t0 + BlockSeconds, t0 + BlockSeconds},   // empty range
		{t0 + 2*BlockSeconds, t0},                // inverted
		{math.MinInt64, t0},                      // before everything
	}
	for _, ifid := range []uint16{1, 2, 3} {
		for _, rg := range ranges {
			got := collect(t, s, ifid, rg.from, rg.to)
			w := want(ifid, rg.from, rg.to)
			if !sameMultiset(got, w) {
				t.Errorf("if %d [%d,%d): got %d records, want %d", ifid, rg.from, rg.to, len(got), len(w))
			}
			for i := 1; i < len(got); i++ {
				if BlockStart(got[i].LastSeen) < BlockStart(got[i-1].LastSeen) {
					t.Fatalf("if %d: blocks out of order", ifid)
				}
			}
		}
	}

	blocks, err := s.FlowBlocks(1)
	if err != nil {
		t.Fatal(err)
	}
	wantBlocks := []int64{t0, t0 + 300, t0 + 600, t0 + 900}
	if !slices.Equal(blocks, wantBlocks) {
		t.Errorf("FlowBlocks(1) = %v, want %v", blocks, wantBlocks)
	}
	if blocks, err := s.FlowBlocks(3); err != nil || len(blocks) != 0 {
		t.Errorf("FlowBlocks(3) = %v, %v", blocks, err)
	}
}

func ptrs(recs []FlowRecord) []*flowcodec.Record {
	p := make([]*flowcodec.Record, len(recs))
	for i := range recs {
		p[i] = &recs[i]
	}
	return p
}

func sameMultiset(a, b []FlowRecord) bool {
	if len(a) != len(b) {
		return false
	}
	m := make(map[FlowRecord]int, len(a))
	for _, r := range a {
		m[r]++
	}
	for _, r := range b {
		if m[r] == 0 {
			return false
		}
		m[r]--
	}
	return true
}

func TestScanWithinBlockKeepsWriteOrder(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	for i := range 20 {
		recs := make([]FlowRecord, 30)
		for j := range recs {
			recs[j] = FlowRecord{IfID: 1, LastSeen: 600, PktsC2S: uint64(i*30 + j)}
		}
		if err := s.WriteFlows(recs); err != nil {
			t.Fatal(err)
		}
	}
	var n uint64
	collectErr := s.ScanFlows(1, 600, 900, func(r *FlowRecord) error {
		if r.PktsC2S != n {
			return fmt.Errorf("record %d has PktsC2S %d", n, r.PktsC2S)
		}
		n++
		return nil
	})
	if collectErr != nil || n != 600 {
		t.Fatalf("n=%d err=%v", n, collectErr)
	}
}

func TestScanFlowsStops(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	recs := realisticFlows(rand.New(rand.NewPCG(1, 1)), 100, 1, 3000)
	if err := s.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("enough")
	n := 0
	err := s.ScanFlows(1, 0, math.MaxInt64, func(*FlowRecord) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	const writers, batches, per = 8, 20, 100
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for range batches {
				// All writers hit the same interfaces and blocks, so
				// chunk keys would collide if sequence numbers did.
				recs := realisticFlows(rng, per, uint16(w%2), 1_700_000_100)
				for i := range recs {
					recs[i].BytesC2S = uint64(w) // tag the writer
				}
				if err := s.WriteFlows(recs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	perWriter := make(map[uint64]int)
	for _, ifid := range []uint16{0, 1} {
		for _, r := range collect(t, s, ifid, 0, math.MaxInt64) {
			perWriter[r.BytesC2S]++
		}
	}
	for w := range uint64(writers) {
		if perWriter[w] != batches*per {
			t.Errorf("writer %d: %d records stored, want %d", w, perWriter[w], batches*per)
		}
	}
}

// TestBytesPerRecord measures storage cost on realistic records: the encoded
// value size and, after Close has flushed everything, the SST files on disk.
func TestBytesPerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200k records")
	}
	dir := t.TempDir()
	s := openTest(t, dir)
	rng := rand.New(rand.NewPCG(11, 12))
	const n, batch = 200_000, 5_000
	var encoded int
	for i := 0; i < n; i += batch {
		// One batch per 5-minute export of a ~5k-flow interface.
		recs := realisticFlows(rng, batch, 1, 1_700_000_100+int64(i/batch)*BlockSeconds)
		for off := 0; off < len(recs); off += maxChunkRecords {
			chunk := recs[off:min(off+maxChunkRecords, len(recs))]
			encoded += len(flowcodec.AppendChunk(nil, ptrs(chunk), BlockStart(chunk[0].LastSeen))) + flowKeyLen
		}
		if err := s.WriteFlows(recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var sst, other int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if strings.HasSuffix(p, ".sst") {
				sst += fi.Size()
			} else {
				other += fi.Size()
			}
		}
		return nil
	})
	t.Logf("%d records: encoded key+value %.1f B/record; SST on disk %.1f B/record (snappy); other files %d B (preallocated vlog/memtable)",
		n, float64(encoded)/n, float64(sst)/n, other)
}
