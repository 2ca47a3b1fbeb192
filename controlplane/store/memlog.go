package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
)

// Badger replays a memtable log (.mem: its write-ahead log) up to the first
// entry that does not decode or fails its CRC, and silently drops the rest:
// right for the torn last write of a crash, silent loss for damage in the
// middle. Every write is synced before it is acknowledged (SyncWrites), so
// only the last, unacknowledged write can be torn; checkMemLog tells the
// two apart before Badger replays the log:
//   - the log ends inside an entry (the file was cut: Badger only ever
//     shortens a log at an entry boundary), or
//   - valid entries follow the bad one (garbage in the middle),
// are damage; a bad entry followed only by zeros or by bytes that hold no
// valid entry is the torn tail Badger drops.

// memLogHeader is Badger's vlogHeaderSize: key id and IV before the entries.
const memLogHeader = 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// memEntry decodes the entry at off: its length, and whether it is valid
// (ok), the zero end of the log (end), or runs past the data (short).
func memEntry(raw []byte, off int) (n int, ok, end, short bool) {
	if off >= len(raw) {
		return 0, false, true, false
	}
	p := off + 2 // meta, user meta
	if p > len(raw) {
		return 0, false, false, true
	}
	var vals [3]uint64
	for i := range vals {
		v, c := binary.Uvarint(raw[min(p, len(raw)):])
		if c == 0 {
			return 0, false, false, true
		}
		if c < 0 {
			return 0, false, false, false
		}
		vals[i], p = v, p+c
	}
	klen, vlen := vals[0], vals[1]
	if klen == 0 {
		return 0, false, true, false // Badger's "zero entry": the end
	}
	// Keys are below 64 KiB; values above the value threshold (at most
	// 1 MiB) go to the value log, the memtable log holds their pointers.
	if klen > 1<<16 || vlen > 1<<20 {
		return 0, false, false, false
	}
	total := p - off + int(klen) + int(vlen) + crc32.Size
	if off+total > len(raw) {
		return 0, false, false, true
	}
	body := raw[off : off+total-crc32.Size]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(raw[off+total-crc32.Size:]) {
		return 0, false, false, false
	}
	return total, true, false, false
}

// memResyncWindow bounds the search for valid entries after a bad one.
const memResyncWindow = 8 << 20

func checkMemLog(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", path, err)
	}
	if len(raw) == 0 {
		return nil // created and never sized (a crash): no entry in it
	}
	// A log Badger truncated at replay ends at an entry boundary; a new
	// one is zeros after the last entry.
	off := memLogHeader
	for {
		n, ok, end, short := memEntry(raw, off)
		switch {
		case ok:
			off += n
			continue
		case end:
			return nil
		case short && allZero(raw[off:]):
			return nil
		case short:
			return fmt.Errorf("%w: memtable log %s ends inside the entry at offset %d (%d of its bytes present): the file was cut; the entries after it are lost",
				ErrDamaged, path, off, len(raw)-off)
		}
		// A bad entry: a torn tail, unless valid entries follow.
		limit := min(len(raw), off+memResyncWindow)
		for p := off + 1; p < limit; p++ {
			if raw[p] == 0 && raw[p+min(1, len(raw)-p-1)] == 0 {
				continue // entries start with meta bytes, rarely two zeros; zeros are the unwritten rest
			}
			if _, ok, _, _ := memEntry(raw, p); ok {
				return fmt.Errorf("%w: memtable log %s: the entry at offset %d is damaged and valid entries follow at %d: replaying would drop them",
					ErrDamaged, path, off, p)
			}
		}
		return nil
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
