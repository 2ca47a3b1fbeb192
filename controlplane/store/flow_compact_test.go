package store

import (
	"errors"
	"net/netip"
	"testing"

	badger "github.com/dgraph-io/badger/v4"
)

// chunkCount is the number of flow chunks (keys) of one block.
func chunkCount(t *testing.T, s *Store, ifid uint16, block int64) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		it := keyIterator(txn, flowBlockPrefix(ifid, block))
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

type compactKey struct {
	client     netip.Addr
	clientPort uint16
	firstSeen  int64
}

// TestCompactBlockMergesPartials writes a block the way a live table's
// flush interval does (the same flows' deltas in several batches, one flow
// seen again later with a new first-seen time) and merges it: one record
// per flow, each with the sums the test added up itself, in fewer chunks;
// other blocks and interfaces untouched.
func TestCompactBlockMergesPartials(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	const block = 1_700_000_100
	srv := netip.MustParseAddr("192.0.2.1")
	type want struct {
		pkts, bytes uint64
		last        int64
		flags       uint8
		l7          uint16
	}
	wants := map[compactKey]*want{}
	var all []FlowRecord
	flushes := 6
	for f := range flushes {
		var batch []FlowRecord
		for c := range 700 { // more than one chunk per flush
			if (c+f)%3 == 0 {
				continue // not every flow is active in every interval
			}
			r := FlowRecord{IfID: 1, Proto: 6, Client: netip.AddrFrom4([4]byte{10, 0, byte(c >> 8), byte(c)}), Server: srv,
				ClientPort: uint16(40000 + c), ServerPort: 443,
				PktsC2S: uint64(f + 1), PktsS2C: uint64(c%5 + 1), BytesC2S: uint64(100 * (f + 1)), BytesS2C: uint64(c + 1),
				FirstSeen: block - 50, LastSeen: block + int64(10*f+c%7), TCPFlagsC2S: 1 << (f % 5)}
			if f >= 2 {
				r.L7 = 91 // detected on the third interval
			}
			batch = append(batch, r)
		}
		// A flow on the ports of client 1 seen anew (new first-seen second).
		batch = append(batch, FlowRecord{IfID: 1, Proto: 6, Client: netip.AddrFrom4([4]byte{10, 0, 0, 1}), Server: srv,
			ClientPort: 40001, ServerPort: 443, PktsC2S: 1000, BytesC2S: 1000, FirstSeen: block + 100, LastSeen: block + 100 + int64(f)})
		if err := s.WriteFlows(batch); err != nil {
			t.Fatal(err)
		}
		all = append(all, batch...)
	}
	for _, r := range all {
		k := compactKey{r.Client, r.ClientPort, r.FirstSeen}
		w := wants[k]
		if w == nil {
			w = &want{}
			wants[k] = w
		}
		w.pkts += r.PktsC2S + r.PktsS2C
		w.bytes += r.BytesC2S + r.BytesS2C
		w.last = max(w.last, r.LastSeen)
		w.flags |= r.TCPFlagsC2S
		if r.L7 != 0 {
			w.l7 = r.L7
		}
	}
	other := []FlowRecord{
		{IfID: 1, Proto: 17, Client: srv, Server: srv, PktsC2S: 3, FirstSeen: block + BlockSeconds, LastSeen: block + BlockSeconds},
		{IfID: 2, Proto: 17, Client: srv, Server: srv, PktsC2S: 4, FirstSeen: block, LastSeen: block},
	}
	if err := s.WriteFlows(other); err != nil {
		t.Fatal(err)
	}
	// The same flow on the other block and interface: never merged.
	if err := s.WriteFlows(other); err != nil {
		t.Fatal(err)
	}
	chunksBefore := chunkCount(t, s, 1, block)

	before, after, err := s.CompactBlock(1, block)
	if err != nil {
		t.Fatal(err)
	}
	if before != len(all) || after != len(wants) {
		t.Errorf("CompactBlock: %d records -> %d, want %d -> %d", before, after, len(all), len(wants))
	}
	got := collect(t, s, 1, block, block+1)
	if len(got) != len(wants) {
		t.Fatalf("%d records after the merge, want %d", len(got), len(wants))
	}
	seen := map[compactKey]bool{}
	for _, r := range got {
		k := compactKey{r.Client, r.ClientPort, r.FirstSeen}
		w := wants[k]
		if w == nil || seen[k] {
			t.Fatalf("unexpected or repeated record %+v", r)
		}
		seen[k] = true
		if r.PktsC2S+r.PktsS2C != w.pkts || r.BytesC2S+r.BytesS2C != w.bytes || r.LastSeen != w.last || r.TCPFlagsC2S != w.flags || r.L7 != w.l7 {
			t.Errorf("merged %+v, want %+v", r, *w)
		}
	}
	if n, want := chunkCount(t, s, 1, block), (len(wants)+maxChunkRecords-1)/maxChunkRecords; n != want || n >= chunksBefore {
		t.Errorf("%d chunks after the merge (%d before), want %d", n, chunksBefore, want)
	}
	for _, c := range []struct {
		ifid         uint16
		from         int64
		records, pkt int
	}{{1, block + BlockSeconds, 2, 6}, {2, block, 2, 8}} {
		recs := collect(t, s, c.ifid, c.from, c.from+1)
		pk := 0
		for _, r := range recs {
			pk += int(r.PktsC2S)
		}
		if len(recs) != c.records || pk != c.pkt {
			t.Errorf("if %d block %d: %d records %d packets after another block's merge, want %d and %d", c.ifid, c.from, len(recs), pk, c.records, c.pkt)
		}
	}

	// Merging again changes nothing.
	if b, a, err := s.CompactBlock(1, block); err != nil || b != len(wants) || a != len(wants) {
		t.Errorf("second CompactBlock: %d -> %d, %v", b, a, err)
	}
	// An empty block is no error.
	if b, a, err := s.CompactBlock(7, block); err != nil || b != 0 || a != 0 {
		t.Errorf("CompactBlock of nothing: %d -> %d, %v", b, a, err)
	}
}

// TestCompactBlockTooLarge: a block whose merge does not fit in one Badger
// transaction stays as it was, its records still exact, and says so.
func TestCompactBlockTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 240,000 records")
	}
	s := openTest(t, t.TempDir())
	defer s.Close()
	const block = 1_700_000_100
	const flows = 120_000
	var want uint64
	for f := range 2 {
		batch := make([]FlowRecord, flows)
		for i := range batch {
			batch[i] = FlowRecord{IfID: 1, Proto: 17, Client: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
				Server: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), ClientPort: uint16(i), ServerPort: 53,
				PktsC2S: uint64(f + 1), BytesC2S: uint64(i%1000 + 60), FirstSeen: block, LastSeen: block + int64(f)}
			want += batch[i].PktsC2S
		}
		if err := s.WriteFlows(batch); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := s.CompactBlock(1, block)
	if !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("CompactBlock of a huge block: %v, want ErrTxnTooBig", err)
	}
	var got uint64
	n := 0
	if err := s.ScanFlows(1, block, block+1, func(r *FlowRecord) error { got += r.PktsC2S; n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if got != want || n != 2*flows {
		t.Errorf("after a failed merge: %d records %d packets, want %d and %d", n, got, 2*flows, want)
	}
}

func TestLatestFlowBlock(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	const b0 = 1_700_000_100
	for _, r := range []FlowRecord{
		{IfID: 1, LastSeen: b0 + 5, PktsC2S: 1},
		{IfID: 1, LastSeen: b0 + 2*BlockSeconds + 7, PktsC2S: 1},
		{IfID: 2, LastSeen: b0 + 3*BlockSeconds, PktsC2S: 1},
	} {
		if err := s.WriteFlows([]FlowRecord{r}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		ifid   uint16
		before int64
		block  int64
		ok     bool
	}{
		{1, b0 + 10*BlockSeconds, b0 + 2*BlockSeconds, true},
		{1, b0 + 2*BlockSeconds, b0, true}, // the block itself does not count
		{1, b0 + 2*BlockSeconds + 1, b0 + 2*BlockSeconds, true},
		{1, b0, 0, false},
		{2, b0 + 3*BlockSeconds, 0, false},
		{2, b0 + 4*BlockSeconds, b0 + 3*BlockSeconds, true},
		{3, b0 + 10*BlockSeconds, 0, false},
		{0, b0 + 10*BlockSeconds, 0, false},
	}
	for _, c := range cases {
		block, ok, err := s.LatestFlowBlock(c.ifid, c.before)
		if err != nil || ok != c.ok || (ok && block != c.block) {
			t.Errorf("LatestFlowBlock(%d, %d) = %d, %v, %v; want %d, %v", c.ifid, c.before, block, ok, err, c.block, c.ok)
		}
	}
}
