package agent

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestWriterMergesClosedBlock wires a live table to the flow writer and a
// store on disk as serve does, on a clock the test drives: the interval
// flushes leave partial records in the block, the block's close merges
// them into one record per flow with the counts the test sent; what a
// crash left of a block that never closed is merged at the next start.
func TestWriterMergesClosedBlock(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := newFlowWriter(st, log)
	id := uint16(3)
	tb := flowtable.New(flowtable.Config{StoreID: &id, FlowIdle: time.Hour,
		OnRecords: w.enqueue, OnBlockClosed: w.blockClosed})

	block := int64(1_800_000_000) // block aligned
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.1")
	const flows, flushes = 5, 4
	wantPkts := 0
	send := func(blockStart int64, sec int64) {
		for f := range flows {
			p := &decode.Packet{Timestamp: (blockStart + sec) * 1e9, WireLen: 100, IPVersion: 4, Src: cli, Dst: srv,
				Proto: 17, SrcPort: uint16(5000 + f), DstPort: 9053}
			tb.HandlePacket(p, decode.ErrNone)
			wantPkts++
		}
	}
	for i := range flushes {
		send(block, int64(10+i*5))
		tb.FlushDeltas()
	}
	w.wait()
	count := func(b int64) (records, pkts int) {
		t.Helper()
		if err := st.ScanFlows(id, b, b+1, func(r *store.FlowRecord) error {
			records++
			pkts += int(r.PktsC2S + r.PktsS2C)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return
	}
	if n, p := count(block); n != flows*flushes || p != wantPkts {
		t.Fatalf("before the block closed: %d records %d packets, want %d partial records and %d packets", n, p, flows*flushes, wantPkts)
	}
	tb.Tick((block + store.BlockSeconds + 1) * 1e9)
	w.wait()
	if n, p := count(block); n != flows || p != wantPkts {
		t.Errorf("after the block closed: %d records %d packets, want %d and %d", n, p, flows, wantPkts)
	}

	// The next block gets partials, then the probe "crashes" (the table
	// goes, the block never closes) and starts again later.
	next := block + store.BlockSeconds
	wantPkts = 0
	for i := range 3 {
		send(next, int64(20+i))
		tb.FlushDeltas()
	}
	w.wait()
	if n, p := count(next); n != 3*flows || p != wantPkts {
		t.Fatalf("live block: %d records %d packets, want %d partial records and %d packets", n, p, 3*flows, wantPkts)
	}
	w.compactLatest(id, next+3*store.BlockSeconds)
	w.wait()
	if n, p := count(next); n != flows || p != wantPkts {
		t.Errorf("block left by a crash, after the restart: %d records %d packets, want %d and %d", n, p, flows, wantPkts)
	}
	w.close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
