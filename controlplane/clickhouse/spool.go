package clickhouse

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// batch is what one spool file holds: rows of one table.
type batch struct {
	Flows  []FlowRow
	Alerts []AlertRow
}

func (b *batch) rows() int { return len(b.Flows) + len(b.Alerts) }

// errSpoolFull is a batch refused because the spool would pass its cap.
var errSpoolFull = errors.New("clickhouse spool full")

// spool is a directory of batch files named by a sequence number, replayed
// oldest first. It holds only what ClickHouse could not take when it was
// sealed (see Sink): while the server is up batches go straight from
// memory and the spool costs no disk write. A file is whole or absent (written aside, synced, renamed),
// so a crash leaves only batches that can be sent again; its size on disk
// is bounded by max, and a batch that does not fit is refused, not queued.
type spool struct {
	dir string
	max int64

	mu    sync.Mutex
	seqs  []uint64         // files present, ascending
	sizes map[uint64]int64 // their sizes
	bytes int64
	next  uint64
}

const spoolExt = ".batch"

func openSpool(dir string, max int64) (*spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("clickhouse spool: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("clickhouse spool: %w", err)
	}
	s := &spool{dir: dir, max: max, sizes: map[uint64]int64{}, next: 1}
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name)) // a write a crash cut short: never acknowledged
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, spoolExt), 10, 64)
		if err != nil || !strings.HasSuffix(name, spoolExt) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("clickhouse spool: %w", err)
		}
		s.seqs = append(s.seqs, n)
		s.sizes[n] = info.Size()
		s.bytes += info.Size()
		s.next = max64(s.next, n+1)
	}
	slices.Sort(s.seqs)
	return s, nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

func (s *spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, spoolExt))
}

// reserve hands out the next batch sequence number. Every sealed batch
// gets one, whether it is sent from memory or spooled, so a batch spooled
// late (its direct insert failed) still takes its place in the order.
func (s *spool) reserve() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.next
	s.next++
	return seq
}

// put writes batch seq (from reserve), or refuses it with errSpoolFull.
func (s *spool) put(seq uint64, b *batch) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		return fmt.Errorf("clickhouse spool: encoding: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	size := int64(buf.Len())
	if s.bytes+size > s.max {
		return errSpoolFull
	}
	p := s.path(seq)
	if err := writeSynced(p+".tmp", buf.Bytes()); err != nil {
		return err
	}
	if err := os.Rename(p+".tmp", p); err != nil {
		return fmt.Errorf("clickhouse spool: %w", err)
	}
	i, _ := slices.BinarySearch(s.seqs, seq)
	s.seqs = slices.Insert(s.seqs, i, seq)
	s.sizes[seq] = size
	s.bytes += size
	return nil
}

func writeSynced(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("clickhouse spool: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return fmt.Errorf("clickhouse spool: writing %s: %w", p, err)
	}
	return nil
}

// oldest reads the oldest batch (ok false: spool empty). A file that does
// not decode is reported with its sequence so the caller can drop it.
func (s *spool) oldest() (seq uint64, b *batch, ok bool, err error) {
	s.mu.Lock()
	if len(s.seqs) == 0 {
		s.mu.Unlock()
		return 0, nil, false, nil
	}
	seq = s.seqs[0]
	s.mu.Unlock()
	data, err := os.ReadFile(s.path(seq))
	if err != nil {
		return seq, nil, true, fmt.Errorf("clickhouse spool: %w", err)
	}
	b = new(batch)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(b); err != nil {
		return seq, nil, true, fmt.Errorf("clickhouse spool: batch %d: %w", seq, err)
	}
	return seq, b, true, nil
}

// oldestSeq is the oldest spooled batch's sequence (false: none).
func (s *spool) oldestSeq() (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seqs) == 0 {
		return 0, false
	}
	return s.seqs[0], true
}

// done removes batch seq (sent, or unreadable).
func (s *spool) done(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := slices.BinarySearch(s.seqs, seq)
	if !ok {
		return fmt.Errorf("clickhouse spool: no batch %d", seq)
	}
	if err := os.Remove(s.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("clickhouse spool: %w", err)
	}
	s.seqs = slices.Delete(s.seqs, i, i+1)
	s.bytes -= s.sizes[seq]
	delete(s.sizes, seq)
	return nil
}

// usage is the spool's batches and bytes.
func (s *spool) usage() (batches int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seqs), s.bytes
}
