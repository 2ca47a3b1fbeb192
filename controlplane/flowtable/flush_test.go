package flowtable

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// sums adds up records per direction.
func sums(recs []store.FlowRecord) (pc, ps, bc, bs uint64) {
	for _, r := range recs {
		pc, ps, bc, bs = pc+r.PktsC2S, ps+r.PktsS2C, bc+r.BytesC2S, bs+r.BytesS2C
	}
	return
}

// TestFlushDeltas: each interval flush hands the store only what was
// counted since the previous one (nothing when nothing happened), export
// gets the whole block at the block boundary, and the closed block is
// announced once its last deltas went out.
func TestFlushDeltas(t *testing.T) {
	var stored, exported [][]store.FlowRecord
	var closed []int64
	tb := New(Config{FlowIdle: time.Hour,
		OnRecords:     func(r []store.FlowRecord) { stored = append(stored, r) },
		OnExport:      func(r []store.FlowRecord) { exported = append(exported, r) },
		OnBlockClosed: func(id uint16, b int64) { closed = append(closed, b); _ = id }})
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixNano() // block aligned
	pkt := func(sec int64, c2s bool, wire uint32) {
		p := tcp(base+sec*1e9, local, remote, 1000, 443, decode.TCPAck, wire, nil)
		if !c2s {
			p = tcp(base+sec*1e9, remote, local, 443, 1000, decode.TCPAck, wire, nil)
		}
		tb.HandlePacket(p, decode.ErrNone)
	}
	pkt(1, true, 100)
	pkt(2, false, 200)
	pkt(3, true, 300)

	tb.FlushDeltas()
	if len(stored) != 1 || len(stored[0]) != 1 {
		t.Fatalf("first flush: %v", stored)
	}
	if pc, ps, bc, bs := sums(stored[0]); pc != 2 || ps != 1 || bc != 400 || bs != 200 {
		t.Errorf("first flush: %d/%d packets %d/%d bytes, want 2/1 and 400/200", pc, ps, bc, bs)
	}
	if len(exported) != 0 {
		t.Errorf("export got an interval flush: %v", exported)
	}

	tb.FlushDeltas()
	if len(stored) != 1 {
		t.Errorf("a flush without traffic emitted %v", stored[1:])
	}

	pkt(10, false, 50)
	pkt(11, false, 70)
	tb.FlushDeltas()
	if len(stored) != 2 {
		t.Fatalf("second flush: %v", stored)
	}
	if pc, ps, bc, bs := sums(stored[1]); pc != 0 || ps != 2 || bc != 0 || bs != 120 {
		t.Errorf("second flush: %d/%d packets %d/%d bytes, want only the new 0/2 and 0/120", pc, ps, bc, bs)
	}
	if r := stored[1][0]; r.FirstSeen != base/1e9+1 || r.LastSeen != base/1e9+11 {
		t.Errorf("second flush times %d..%d", r.FirstSeen, r.LastSeen)
	}

	// The block ends: the store gets the rest (one packet), export the
	// whole block, and the block is announced after its records.
	pkt(200, true, 10)
	tb.Tick(base + 301e9)
	if len(stored) != 3 || len(exported) != 1 || len(closed) != 1 || closed[0] != base/1e9 {
		t.Fatalf("block close: stored %v exported %v closed %v", stored, exported, closed)
	}
	if pc, ps, bc, bs := sums(stored[2]); pc != 1 || ps != 0 || bc != 10 || bs != 0 {
		t.Errorf("block close to the store: %d/%d packets %d/%d bytes, want 1/0 and 10/0", pc, ps, bc, bs)
	}
	if pc, ps, bc, bs := sums(exported[0]); pc != 3 || ps != 3 || bc != 410 || bs != 320 {
		t.Errorf("block close to export: %d/%d packets %d/%d bytes, want 3/3 and 410/320", pc, ps, bc, bs)
	}
	var all []store.FlowRecord
	for _, b := range stored {
		all = append(all, b...)
	}
	if pc, ps, bc, bs := sums(all); pc != 3 || ps != 3 || bc != 410 || bs != 320 {
		t.Errorf("store total %d/%d packets %d/%d bytes, want 3/3 and 410/320", pc, ps, bc, bs)
	}
	for _, r := range all {
		if store.BlockStart(r.LastSeen) != base/1e9 {
			t.Errorf("record filed outside the closed block: %+v", r)
		}
	}
	tb.Flush()
	if len(stored) != 3 || len(exported) != 1 {
		t.Errorf("Flush after the block close emitted more: %v %v", stored[3:], exported[1:])
	}
}

// TestExportWithoutCollectors: while no one collects (Exporting says no)
// a block close makes no export records, and once a collector is there
// the next block's records hold only what came after: what nobody
// collected is not sent late. The store's records are the same either way.
func TestExportWithoutCollectors(t *testing.T) {
	var stored, exported []store.FlowRecord
	collecting := false
	tb := New(Config{FlowIdle: time.Hour,
		OnRecords: func(r []store.FlowRecord) { stored = append(stored, r...) },
		OnExport:  func(r []store.FlowRecord) { exported = append(exported, r...) },
		Exporting: func() bool { return collecting }})
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixNano() // block aligned
	pkt := func(sec int64, wire uint32) {
		tb.HandlePacket(tcp(base+sec*1e9, local, remote, 1000, 443, decode.TCPAck, wire, nil), decode.ErrNone)
	}
	pkt(1, 100)
	pkt(2, 200)
	tb.Tick(base + 301e9) // the first block closes with no collector
	if len(exported) != 0 {
		t.Fatalf("export records made with no collector: %v", exported)
	}
	collecting = true
	pkt(302, 40)
	tb.Tick(base + 601e9)
	if pc, _, bc, _ := sums(exported); pc != 1 || bc != 40 {
		t.Errorf("exported %d packets %d bytes once a collector came, want the second block's 1 and 40", pc, bc)
	}
	if pc, _, bc, _ := sums(stored); pc != 3 || bc != 340 {
		t.Errorf("stored %d packets %d bytes, want 3 and 340", pc, bc)
	}
	collecting = false
	pkt(602, 7)
	tb.Flush()
	if len(exported) != 1 {
		t.Errorf("Flush exported with no collector: %v", exported[1:])
	}
}

// TestOfflineBlocksNotAnnounced: a capture file's table emits each block
// once and never asks for a merge.
func TestOfflineBlocksNotAnnounced(t *testing.T) {
	n := 0
	tb := New(Config{Offline: true, OnRecords: func([]store.FlowRecord) {},
		OnBlockClosed: func(uint16, int64) { n++ }})
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).UnixNano()
	tb.HandlePacket(tcp(base+1e9, local, remote, 1, 2, decode.TCPSyn, 100, nil), decode.ErrNone)
	tb.HandlePacket(tcp(base+400e9, local, remote, 1, 2, decode.TCPAck, 100, nil), decode.ErrNone)
	tb.Tick(base + 1000e9)
	if n != 0 {
		t.Errorf("offline table announced %d closed blocks", n)
	}
}

// TestFlushDeltasOnlyWhatMoved drives a live table with random traffic
// over flows that come, pause and expire, with interval flushes, block
// closes and ticks in between, and checks after every flush that the
// records handed to the store add up to every flow's counters exactly: the
// flush walks only the flows synced since the last one, and must still
// miss nothing and give nothing twice.
func TestFlushDeltasOnlyWhatMoved(t *testing.T) {
	type id struct {
		port  uint16
		first int64
	}
	got := map[id][2]uint64{}
	tb := New(Config{FlowIdle: 20 * time.Second, OnRecords: func(rs []store.FlowRecord) {
		for _, r := range rs {
			k := id{r.ClientPort, r.FirstSeen}
			if r.ClientPort == 4000 { // a flow first seen from the other side
				k.port = r.ServerPort
			}
			s := got[k]
			got[k] = [2]uint64{s[0] + r.PktsC2S, s[1] + r.PktsS2C}
		}
	}})
	rnd := rand.New(rand.NewPCG(3, 9))
	now := time.Date(2026, 1, 2, 3, 2, 0, 0, time.UTC).UnixNano() // a block closes three minutes in
	for sec := range 600 {
		for range rnd.IntN(40) {
			port := uint16(20000 + rnd.IntN(300))
			now += int64(time.Second) / 50
			p := udp(now, local, remote, port, 4000, nil)
			if rnd.IntN(3) == 0 {
				p = udp(now, remote, local, 4000, port, nil)
			}
			tb.HandlePacket(p, decode.ErrNone)
		}
		now = time.Date(2026, 1, 2, 3, 2, 0, 0, time.UTC).UnixNano() + int64(sec+1)*int64(time.Second)
		if sec%5 != 4 {
			tb.Tick(now)
			continue
		}
		tb.FlushDeltas() // with packets not synced yet: no tick since they came
		tb.Tick(now)
		tb.View(func(v View) {
			for _, f := range v.Flows() {
				k := id{f.ClientPort, f.FirstSeen / 1e9}
				if f.ClientPort == 4000 {
					k.port = f.ServerPort
				}
				if want := [2]uint64{f.PktsC2S, f.PktsS2C}; got[k] != want {
					t.Fatalf("second %d: flow %d: stored %v packets, it counted %v", sec, k.port, got[k], want)
				}
			}
		})
	}
}

// TestBlockCloseTakesEveryDelta: a block close looks only at the flows
// that moved since the last one (the change log), so across random
// traffic with interval flushes, idle flows and expiry, every block close
// must still leave no flow with a delta on either path, and the records
// of each path must add up to every flow's counters.
func TestBlockCloseTakesEveryDelta(t *testing.T) {
	type id struct {
		port  uint16
		first int64
	}
	var stored, exported map[id]uint64 = map[id]uint64{}, map[id]uint64{}
	add := func(m map[id]uint64) func([]store.FlowRecord) {
		return func(rs []store.FlowRecord) {
			for _, r := range rs {
				m[id{r.ClientPort, r.FirstSeen}] += r.PktsC2S + r.PktsS2C
			}
		}
	}
	tb := New(Config{FlowIdle: 400 * time.Second, OnRecords: add(stored), OnExport: add(exported)})
	rnd := rand.New(rand.NewPCG(5, 7))
	start := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC).UnixNano() // a block closes a minute in
	block := store.BlockStart(start / 1e9)
	for sec := range 1500 {
		now := start + int64(sec)*int64(time.Second)
		// Flows of three kinds: busy (a few ports), occasional, and ones
		// that take a packet once and stay idle for blocks.
		for range rnd.IntN(20) {
			port := uint16(20000 + rnd.IntN(8))
			switch rnd.IntN(10) {
			case 0:
				port = uint16(21000 + rnd.IntN(200))
			case 1:
				port = uint16(22000 + sec)
			}
			now += int64(time.Second) / 40
			tb.HandlePacket(udp(now, local, remote, port, 4000, nil), decode.ErrNone)
		}
		if sec%7 == 3 {
			tb.FlushDeltas()
		}
		tb.Tick(start + int64(sec+1)*int64(time.Second))
		if b := store.BlockStart((start + int64(sec+1)*int64(time.Second)) / 1e9); b == block {
			continue
		} else {
			block = b
		}
		tb.View(func(v View) {
			for _, f := range v.Flows() {
				k := id{f.ClientPort, f.FirstSeen / 1e9}
				n := f.PktsC2S + f.PktsS2C
				if f.flushed.pktsC2S != f.PktsC2S || f.exported.pktsC2S != f.PktsC2S {
					t.Fatalf("second %d: flow %d kept a delta past the block close: %d packets, %d stored, %d exported",
						sec, k.port, f.PktsC2S, f.flushed.pktsC2S, f.exported.pktsC2S)
				}
				if stored[k] != n || exported[k] != n {
					t.Fatalf("second %d: flow %d: %d packets, records of %d stored and %d exported", sec, k.port, n, stored[k], exported[k])
				}
			}
		})
	}
	if len(exported) < 1000 {
		t.Fatalf("only %d flows exported: the traffic did not cover what it should", len(exported))
	}
}
