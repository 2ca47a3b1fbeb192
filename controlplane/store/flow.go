package store

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/probe-appliance/probe/controlplane/store/internal/flowcodec"
)

// FlowRecord is one flow's activity during one export interval: client
// and server (zones are not stored), ports, counters (deltas of this
// interval), first/last seen (unix seconds), TCP flags and the nDPI
// protocol id (0 unknown). It is the codec's record, so decoding hands it
// out without a copy.
type FlowRecord = flowcodec.Record

// FlowFields selects the fields ScanFlowColumns decodes.
type FlowFields = flowcodec.Fields

const (
	FieldProto    = flowcodec.FieldProto
	FieldClient   = flowcodec.FieldClient
	FieldServer   = flowcodec.FieldServer
	FieldPorts    = flowcodec.FieldPorts
	FieldPkts     = flowcodec.FieldPkts
	FieldBytes    = flowcodec.FieldBytes
	FieldTimes    = flowcodec.FieldTimes
	FieldVLAN     = flowcodec.FieldVLAN
	FieldTCPFlags = flowcodec.FieldTCPFlags
	FieldL7       = flowcodec.FieldL7
	FieldsAll     = flowcodec.FieldsAll
)

// BlockSeconds is the time-block granularity of flow storage.
const BlockSeconds = 300

// BlockStart floors unixSec to its block (also for negative times).
func BlockStart(unixSec int64) int64 {
	// The floor of the lowest few int64s would wrap around; clamp them
	// into the lowest representable block instead.
	if unixSec < math.MinInt64+BlockSeconds {
		return math.MinInt64 / BlockSeconds * BlockSeconds
	}
	b := unixSec - unixSec%BlockSeconds
	if b > unixSec {
		b -= BlockSeconds
	}
	return b
}

// maxChunkRecords caps records per Badger value. Many records per key keeps
// key overhead (~19 B key + Badger's per-entry metadata) negligible, while
// bounded chunks stay well below the value threshold so they live in the
// LSM tree (no value-log GC needed) and keep WriteBatch transactions small.
const maxChunkRecords = 512

// keyIterator walks the keys under prefix without prefetching values:
// flow chunks live inline in the LSM tree, so Value hands out the block's
// bytes directly and prefetching would only copy them.
func keyIterator(txn *badger.Txn, prefix []byte) *badger.Iterator {
	io := badger.DefaultIteratorOptions
	io.Prefix = prefix
	io.PrefetchValues = false
	return txn.NewIterator(io)
}

type flowGroup struct {
	ifid  uint16
	block int64
}

// WriteFlows stores recs, each in the block of its LastSeen. Records of one
// (interface, block) are packed into as few chunks as possible.
func (s *Store) WriteFlows(recs []FlowRecord) error {
	if len(recs) == 0 {
		return nil
	}
	if err := s.historyWritable(len(recs)); err != nil {
		return fmt.Errorf("store: write flows: %w", err)
	}
	groups := make(map[flowGroup][]*flowcodec.Record)
	var order []flowGroup // deterministic write order, cheap to keep
	for i := range recs {
		g := flowGroup{recs[i].IfID, BlockStart(recs[i].LastSeen)}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], &recs[i])
	}

	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, g := range order {
		rs := groups[g]
		for len(rs) > 0 {
			n := min(len(rs), maxChunkRecords)
			seq, err := s.flowSeq.Next()
			if err != nil {
				return fmt.Errorf("store: write flows: sequence: %w", err)
			}
			// Badger keeps a reference to key and value until Flush, so
			// each chunk needs its own buffer.
			val := flowcodec.AppendChunk(make([]byte, 0, n*48), rs[:n], g.block)
			if err := wb.Set(flowKey(g.ifid, g.block, seq), val); err != nil {
				return fmt.Errorf("store: write flows: if %d block %d: %w", g.ifid, g.block, err)
			}
			rs = rs[n:]
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("store: write flows: flush: %w", err)
	}
	return nil
}

// ScanFlows calls fn for every record of ifid in the blocks whose start is
// in [BlockStart(from), to), in block order and, within a block, in write
// order. r is reused between calls. An error from fn stops the scan and is
// returned unchanged.
func (s *Store) ScanFlows(ifid uint16, from, to int64, fn func(r *FlowRecord) error) error {
	return s.ScanFlowColumns(ifid, from, to, FieldsAll, func(recs []FlowRecord) error {
		for i := range recs {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ScanFlowColumns is ScanFlows for readers of a few fields: fn gets the
// records of one chunk at a time with only the fields of want decoded (the
// rest zero; stores written before the columnar encoding decode whole).
// recs is reused between calls.
func (s *Store) ScanFlowColumns(ifid uint16, from, to int64, want FlowFields, fn func(recs []FlowRecord) error) error {
	first := BlockStart(from)
	if to <= first {
		return nil
	}
	prefix := flowIfPrefix(ifid)
	var fnErr error
	var recs []FlowRecord
	err := s.db.View(func(txn *badger.Txn) error {
		it := keyIterator(txn, prefix)
		defer it.Close()
		for it.Seek(flowBlockPrefix(ifid, first)); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			block, ok := flowKeyBlock(item.Key())
			if !ok {
				return fmt.Errorf("malformed flow key %x", item.Key())
			}
			if block >= to {
				break
			}
			err := item.Value(func(v []byte) error {
				var err error
				if recs, err = flowcodec.DecodeColumns(v, ifid, block, want, recs); err != nil {
					return err
				}
				fnErr = fn(recs)
				return fnErr
			})
			if err != nil {
				if fnErr != nil {
					return fnErr
				}
				return fmt.Errorf("key %x: %w", item.Key(), err)
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: scan flows if %d [%d,%d): %w", ifid, from, to, err)
	}
	return nil
}

// FlowBlocks returns the start of every block of ifid holding records,
// ascending. It seeks past each block instead of walking its chunks.
func (s *Store) FlowBlocks(ifid uint16) ([]int64, error) {
	prefix := flowIfPrefix(ifid)
	var blocks []int64
	err := s.db.View(func(txn *badger.Txn) error {
		it := keyIterator(txn, prefix)
		defer it.Close()
		it.Seek(prefix)
		for it.ValidForPrefix(prefix) {
			k := it.Item().Key()
			block, ok := flowKeyBlock(k)
			if !ok {
				return fmt.Errorf("malformed flow key %x", k)
			}
			blocks = append(blocks, block)
			// Block starts are multiples of 300 (or the clamped minimum),
			// so block+1 sorts after every chunk of this block and before
			// the next one.
			next := flowBlockPrefix(ifid, block+1)
			if bytes.Compare(next, k) <= 0 { // cannot happen; guards a loop
				return fmt.Errorf("flow key order broken at %x", k)
			}
			it.Seek(next)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: flow blocks if %d: %w", ifid, err)
	}
	return blocks, nil
}

// flowID tells apart the flows of one block: a live table flushes a flow's
// deltas as several partial records that share it (the flow's first-seen
// second included, so a flow that expired and came back, or a DNS query on
// the same ports a while later, stays a record of its own).
type flowID struct {
	vlan                   uint16
	proto                  uint8
	client, server         netip.Addr
	clientPort, serverPort uint16
	firstSeen              int64
}

// CompactBlock merges the records of one block of ifid that belong to the
// same flow (the partial records a live table flushes every interval) into
// one record each and rewrites the block as full chunks, in one Badger
// transaction: readers and a crash see either the partial chunks or the
// merged ones, never both, so nothing is lost or counted twice. Counters
// are summed, LastSeen and the TCP flags take the widest values and
// L7 the last one known. A block with nothing to merge is left alone.
// before and after are its record counts. A block too large for one
// transaction is left as it is (its records are exact) with an error.
func (s *Store) CompactBlock(ifid uint16, block int64) (before, after int, err error) {
	err = s.db.Update(func(txn *badger.Txn) error {
		var keys [][]byte
		index := map[flowID]int{}
		var merged []FlowRecord
		var recs []FlowRecord
		it := keyIterator(txn, flowBlockPrefix(ifid, block))
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			keys = append(keys, item.KeyCopy(nil))
			err := item.Value(func(v []byte) error {
				var err error
				recs, err = flowcodec.DecodeColumns(v, ifid, block, FieldsAll, recs)
				return err
			})
			if err != nil {
				it.Close()
				return fmt.Errorf("key %x: %w", item.Key(), err)
			}
			before += len(recs)
			for i := range recs {
				mergeRecord(&merged, index, &recs[i])
			}
		}
		it.Close()
		after = len(merged)
		chunks := (after + maxChunkRecords - 1) / maxChunkRecords
		if after == before && len(keys) <= chunks {
			return nil // nothing to merge, chunks already full
		}
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		ptrs := make([]*flowcodec.Record, len(merged))
		for i := range merged {
			ptrs[i] = &merged[i]
		}
		for len(ptrs) > 0 {
			n := min(len(ptrs), maxChunkRecords)
			seq, err := s.flowSeq.Next()
			if err != nil {
				return fmt.Errorf("sequence: %w", err)
			}
			val := flowcodec.AppendChunk(make([]byte, 0, n*48), ptrs[:n], block)
			if err := txn.Set(flowKey(ifid, block, seq), val); err != nil {
				return err
			}
			ptrs = ptrs[n:]
		}
		return nil
	})
	if err != nil {
		return before, before, fmt.Errorf("store: compact flows if %d block %d: %w", ifid, block, err)
	}
	return before, after, nil
}

// mergeRecord adds r to the merged records of its flow (or starts one),
// keeping the first record's position so the merged block keeps write order.
func mergeRecord(merged *[]FlowRecord, index map[flowID]int, r *FlowRecord) {
	id := flowID{r.VLAN, r.Proto, r.Client, r.Server, r.ClientPort, r.ServerPort, r.FirstSeen}
	i, ok := index[id]
	if !ok {
		index[id] = len(*merged)
		*merged = append(*merged, *r)
		return
	}
	m := &(*merged)[i]
	m.PktsC2S += r.PktsC2S
	m.PktsS2C += r.PktsS2C
	m.BytesC2S += r.BytesC2S
	m.BytesS2C += r.BytesS2C
	m.LastSeen = max(m.LastSeen, r.LastSeen)
	m.TCPFlagsC2S |= r.TCPFlagsC2S
	m.TCPFlagsS2C |= r.TCPFlagsS2C
	if r.L7 != 0 {
		m.L7 = r.L7 // later records know more of the application
	}
}

// LatestFlowBlock is the newest block of ifid that starts before before
// and holds records (ok false: none).
func (s *Store) LatestFlowBlock(ifid uint16, before int64) (block int64, ok bool, err error) {
	prefix := flowIfPrefix(ifid)
	err = s.db.View(func(txn *badger.Txn) error {
		io := badger.DefaultIteratorOptions
		io.Prefix = prefix
		io.PrefetchValues = false
		io.Reverse = true
		it := txn.NewIterator(io)
		defer it.Close()
		// Reverse Seek lands on the largest key <= the target: the last
		// chunk of the newest block before before (the block prefix sorts
		// ahead of all its own chunks).
		it.Seek(flowBlockPrefix(ifid, before))
		if !it.ValidForPrefix(prefix) {
			return nil
		}
		b, valid := flowKeyBlock(it.Item().Key())
		if !valid {
			return fmt.Errorf("malformed flow key %x", it.Item().Key())
		}
		block, ok = b, b < before
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: latest flow block if %d: %w", ifid, err)
	}
	return block, ok, nil
}

// SyncFlows puts what WriteFlows wrote on stable storage (flow writes are
// batched without a sync each; the flush interval syncs once).
func (s *Store) SyncFlows() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("store: sync flows: %w", err)
	}
	return nil
}
