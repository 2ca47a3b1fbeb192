package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Badger writes its memtable write-ahead logs, value logs, DISCARD file
// and new tables through mmaps of sparse files: a store on a full file
// system does not get ENOSPC but SIGBUS, which kills the process. So the
// store checks free space (statfs) before each write and keeps a reserve
// large enough for everything Badger's mmaps can still grow into:
//
//   - configFloor: below it no write is accepted. It covers the rest of
//     the current memtable log and the next one (2 x 2 memtables), the
//     table a memtable flush writes, the value log (2 x its file size),
//     DISCARD (1 MiB) and a margin.
//   - historyFloor: below it flow history is not written (config still
//     is). It adds what compactions write before deleting their inputs:
//     the stalled level-0 tables plus the base level.
//
// Both grow with the memtable size, which is sized from the file system
// (sizingFor) so that small data partitions still keep most of their room
// for history.

// numL0Stall is Badger's NumLevelZeroTablesStall: how many level-0 tables
// (one memtable each) a compaction may have to merge at once.
const numL0Stall = 8

// sizing is what Badger's file sizes are derived from.
type sizing struct {
	memTable  int64
	vlogFile  int64
	baseTable int64
	baseLevel int64
}

// defaultSizing is for partitions of 1 GiB and more (and in-memory
// stores): 16 MiB memtables.
var defaultSizing = sizing{memTable: 16 << 20, vlogFile: 16 << 20, baseTable: 2 << 20, baseLevel: 10 << 20}

// sizingFor scales memtables down on small file systems: 1/64 of the
// partition, between 1 MiB and 16 MiB.
func sizingFor(total int64) sizing {
	m := min(max(total/64, 1<<20), defaultSizing.memTable)
	m &^= 1<<20 - 1 // whole MiB
	sz := sizing{memTable: m, vlogFile: m, baseTable: min(2<<20, m), baseLevel: min(10<<20, 4*m)}
	return sz
}

const mib = 1 << 20

func (sz sizing) configFloor() int64 {
	return 2*2*sz.memTable + sz.memTable + 2*sz.vlogFile + 1*mib + 2*mib
}

func (sz sizing) historyFloor() int64 {
	return sz.configFloor() + numL0Stall*sz.memTable + sz.baseLevel + 2*sz.baseTable
}

// ErrDiskFull is returned by writes refused because free space is below
// the store's reserve (see space.go).
var ErrDiskFull = errors.New("store: disk full")

// space tracks the free space of the store's file system.
type space struct {
	dir               string
	total             int64
	configF, historyF int64
	mu                sync.Mutex
	checked           time.Time
	free              int64
	historyOff        atomic.Bool   // history refused until free >= historyF + hysteresis()
	log               *slog.Logger  // the transitions of historyOff; nil: not logged
	historyDropped    atomic.Uint64 // flow records refused
	historyRefusals   atomic.Uint64 // WriteFlows calls refused
	statfs            func(dir string) (total, free int64, err error)
}

// spaceRecheck is how long a free-space reading is trusted: writes come in
// bursts, statfs is cheap but not free, and the floors have room for far
// more than a few milliseconds of writes.
const spaceRecheck = 100 * time.Millisecond

func statfs(dir string) (total, free int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("store: statfs %s: %w", dir, err)
	}
	return int64(st.Blocks) * st.Bsize, int64(st.Bavail) * st.Bsize, nil
}

func newSpace(dir string) (*space, error) {
	sp := &space{dir: dir, statfs: statfs}
	total, free, err := sp.statfs(dir)
	if err != nil {
		return nil, err
	}
	sp.total, sp.free, sp.checked = total, free, time.Now()
	return sp, nil
}

func (sp *space) setFloors(sz sizing) {
	sp.configF, sp.historyF = sz.configFloor(), sz.historyFloor()
}

// freeBytes is the file system's free space, at most spaceRecheck old. A
// failing statfs counts as no space: writing blind is what crashes.
func (sp *space) freeBytes() int64 {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if time.Since(sp.checked) >= spaceRecheck {
		_, free, err := sp.statfs(sp.dir)
		if err != nil {
			free = 0
		}
		sp.free, sp.checked = free, time.Now()
	}
	return sp.free
}

// hysteresis is how far above historyF free space must be before history
// is written again: Badger's flushes and compactions move free space by a
// few memtables, which would otherwise toggle history (and its alert) on
// and off.
func (sp *space) hysteresis() int64 { return sp.historyF / 4 }

// historyRefused updates and returns whether flow history is refused.
func (sp *space) historyRefused(free int64) bool {
	if sp.historyOff.Load() {
		if free >= sp.historyF+sp.hysteresis() && sp.historyOff.CompareAndSwap(true, false) && sp.log != nil {
			sp.log.Info("store: flow history written again", "free_mib", free/mib, "dir", sp.dir)
		}
	} else if free < sp.historyF && sp.historyOff.CompareAndSwap(false, true) && sp.log != nil {
		// Logged once per episode; the refused writes only count (Health).
		sp.log.Error("store: disk almost full: flow history is not written until space returns (configuration still is)",
			"free_mib", free/mib, "history_reserve_mib", sp.historyF/mib, "config_reserve_mib", sp.configF/mib, "dir", sp.dir)
	}
	return sp.historyOff.Load()
}

// writable says whether a write of the given class may go to Badger now.
func (s *Store) writable(history bool) error {
	if s.space == nil {
		return nil
	}
	free := s.space.freeBytes()
	floor := s.space.configF
	what := "configuration"
	refused := free < floor
	if history {
		floor, what = s.space.historyF, "flow history"
		refused = s.space.historyRefused(free)
	}
	if refused {
		return fmt.Errorf("%w: %s not written: %d MiB free in %s, %d MiB kept in reserve",
			ErrDiskFull, what, free/mib, s.dir, floor/mib)
	}
	return nil
}

// historyWritable is writable(true) that also counts the refused records
// for Health.
func (s *Store) historyWritable(records int) error {
	err := s.writable(true)
	if err != nil {
		s.space.historyDropped.Add(uint64(records))
		s.space.historyRefusals.Add(1)
	}
	return err
}

// Health is the store's state for alerts and REST.
type Health struct {
	// Degraded: flow history is not being written (Reason says why).
	Degraded bool
	Reason   string
	// HistoryDropped counts the flow records refused since Open.
	HistoryDropped uint64
	// FreeBytes is the free space of the data directory's file system;
	// HistoryFloor and ConfigFloor the reserves below which history,
	// then configuration, is refused.
	FreeBytes, HistoryFloor, ConfigFloor int64
}

// Health reports whether flow history is being written. It clears by
// itself once space returns (retention, an operator deleting files): free
// space a quarter of the history reserve above that reserve.
func (s *Store) Health() Health {
	if s.space == nil {
		return Health{}
	}
	h := Health{
		FreeBytes:      s.space.freeBytes(),
		HistoryFloor:   s.space.historyF,
		ConfigFloor:    s.space.configF,
		HistoryDropped: s.space.historyDropped.Load(),
	}
	if s.space.historyRefused(h.FreeBytes) {
		h.Degraded = true
		h.Reason = fmt.Sprintf("disk almost full: %d MiB free in %s, flow history needs %d MiB in reserve", h.FreeBytes/mib, s.dir, h.HistoryFloor/mib)
	}
	return h
}

// DefaultFlowBudget is the flow-history size retention keeps when no
// --max-disk is given: half of what the file system holds beyond the
// store's reserve, so retention frees space long before writes stop.
// 0 for in-memory stores.
func (s *Store) DefaultFlowBudget() int64 {
	if s.space == nil {
		return 0
	}
	return max((s.space.total-s.space.historyF)/2, 1*mib)
}
