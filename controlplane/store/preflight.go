package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/ristretto/v2/z"
	"google.golang.org/protobuf/proto"
)

// ErrDamaged is wrapped by every error preflight returns: the store's
// files are damaged and Open refused them. The message names the file.
var ErrDamaged = errors.New("store damaged")

// preflight looks at the files of an existing store before Badger does,
// because Badger answers some damage with a panic in one of its own
// goroutines (a truncated table), an endless loop (garbage in DISCARD),
// or by starting afresh (MANIFEST gone: Badger deletes the tables it no
// longer knows, and the probe would recreate admin/admin).
//
// Outcomes, by file (see TestDamageMatrix):
//   - MANIFEST missing while tables or logs exist: refused.
//   - MANIFEST unreadable, or tables on disk it does not list (a lost
//     tail): refused, naming the file.
//   - a table whose footer or index does not parse, or a block fails its
//     checksum: refused, naming it.
//   - a memtable log cut inside an entry, or with valid entries after a
//     damaged one: refused, naming it (see memlog.go).
//   - DISCARD (value-log GC hints only) naming value logs that never
//     existed, and KEYREGISTRY (the store is not encrypted: no keys) not
//     Badger's empty registry: moved aside as <name>.damaged-<time>;
//     Badger starts a new one.
func preflight(dir string, log *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", dir, err)
	}
	var tables, data, mems []string
	var vlogs []uint64
	hasManifest := false
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == "MANIFEST":
			hasManifest = true
		case strings.HasSuffix(name, ".sst"):
			tables = append(tables, name)
			data = append(data, name)
		case strings.HasSuffix(name, ".vlog"):
			data = append(data, name)
			if id, err := strconv.ParseUint(strings.TrimSuffix(name, ".vlog"), 10, 32); err == nil {
				vlogs = append(vlogs, id)
			}
		case strings.HasSuffix(name, ".mem"):
			data = append(data, name)
			mems = append(mems, name)
		}
	}
	if !hasManifest {
		if len(data) > 0 {
			return fmt.Errorf("%w: %s has no MANIFEST but %d data files (%s): refusing to start an empty store over them; restore a backup (probe store restore) or move the directory away",
				ErrDamaged, dir, len(data), strings.Join(first(data, 4), ", "))
		}
		return nil // a new store
	}
	listed, err := checkManifest(dir, tables)
	if err != nil {
		return err
	}
	for _, name := range tables {
		// Unlisted ones are a crash's leftovers (possibly empty), which
		// Badger deletes.
		if id, ok := table.ParseFileID(name); !ok || !listed[id] {
			continue
		}
		if err := checkTable(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("%w: table %s: %v; run `probe store check`, restore a backup or move the file away", ErrDamaged, filepath.Join(dir, name), err)
		}
	}
	for _, name := range mems {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
			// A crash between Badger creating a memtable log and sizing it
			// (kill -9, power cut): it holds no entry, and Badger refuses
			// to open it ("Create a new file"), so it goes.
			log.Warn("store: removing an empty memtable log left by a crash", "file", path)
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("store: removing the empty memtable log %s: %w", path, err)
			}
			continue
		}
		if err := checkMemLog(path); err != nil {
			return err
		}
	}
	if err := checkKeyRegistry(dir, log); err != nil {
		return err
	}
	return checkDiscard(dir, vlogs, log)
}

// checkKeyRegistry: the store is not encrypted, so KEYREGISTRY holds no
// keys, only a 16-byte IV and Badger's plain sanity text. A damaged one
// (Badger refuses it) is moved aside; Badger writes a new one.
func checkKeyRegistry(dir string, log *slog.Logger) error {
	path := filepath.Join(dir, "KEYREGISTRY")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read %s: %w", path, err)
	}
	if len(raw) == 16+len("Hello Badger") && string(raw[16:]) == "Hello Badger" {
		return nil
	}
	return moveAside(path, fmt.Sprintf("%d bytes, not an empty key registry", len(raw)), log)
}

// moveAside renames a damaged file that holds nothing the store needs, so
// Badger starts a new one; the original stays for inspection.
func moveAside(path, why string, log *slog.Logger) error {
	aside := path + ".damaged-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("%w: %s: %s, and moving it aside failed: %v", ErrDamaged, path, why, err)
	}
	log.Warn("store: damaged file holds no data: moved aside, Badger starts a new one", "path", path, "why", why, "moved_to", aside)
	return nil
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// checkManifest replays MANIFEST as Badger will and compares it with the
// tables on disk. Badger would delete tables MANIFEST does not list; a
// crash between writing a table and recording it leaves at most the newest
// tables unlisted, so unlisted tables older than a listed one mean a lost
// part of MANIFEST.
func checkManifest(dir string, tables []string) (listed map[uint64]bool, err error) {
	path := filepath.Join(dir, "MANIFEST")
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: unreadable: %v", ErrDamaged, path, r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	mf, validEnd, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	mentioned, maxMentioned, err := manifestTableIDs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDamaged, path, err)
	}
	// Unlisted tables are normal after a crash: ones a compaction deleted
	// from MANIFEST before removing the files, and new ones written just
	// before the crash (ids above any MANIFEST mentions). An unlisted table
	// MANIFEST never mentions although it mentions newer ones, or any
	// unlisted table next to a torn MANIFEST tail, means lost records.
	var lost []string
	torn := validEnd < fi.Size()
	for _, name := range tables {
		id, ok := table.ParseFileID(name)
		if !ok {
			continue
		}
		if _, listed := mf.Tables[id]; listed || mentioned[id] {
			continue
		}
		if id < maxMentioned || torn {
			lost = append(lost, name)
		}
	}
	if len(lost) > 0 {
		return nil, fmt.Errorf("%w: %s does not list %d tables on disk (%s): it lost records; refusing to open (Badger would delete them)",
			ErrDamaged, path, len(lost), strings.Join(first(lost, 4), ", "))
	}
	listed = map[uint64]bool{}
	for id := range mf.Tables {
		listed[id] = true
	}
	return listed, nil
}

// manifestTableIDs walks MANIFEST's change sets (Badger's format: 8 bytes
// magic, then length, CRC-32C and a protobuf ManifestChangeSet per record)
// and returns every table id any record mentions, up to the first bad
// record.
func manifestTableIDs(path string) (map[uint64]bool, uint64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	ids := map[uint64]bool{}
	var maxID uint64
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for off := 8; off+8 <= len(raw); {
		n := int(binary.BigEndian.Uint32(raw[off:]))
		sum := binary.BigEndian.Uint32(raw[off+4:])
		if n > len(raw)-off-8 {
			break
		}
		buf := raw[off+8 : off+8+n]
		if crc32.Checksum(buf, castagnoli) != sum {
			break
		}
		var cs pb.ManifestChangeSet
		if err := proto.Unmarshal(buf, &cs); err != nil {
			break
		}
		for _, c := range cs.Changes {
			ids[c.Id] = true
			maxID = max(maxID, c.Id)
		}
		off += 8 + n
	}
	return ids, maxID, nil
}

// checkTable parses a table's footer and index (what Badger does at
// Open, where a damaged one panics in a goroutine nobody can recover) and
// verifies its blocks' checksums.
func checkTable(path string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("footer or index unreadable (truncated or overwritten): %v", lastLine(fmt.Sprint(r)))
		}
	}()
	mf, err := z.OpenMmapFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	// Not Table.DecrRef: the last reference deletes the file.
	defer func() {
		_ = z.Munmap(mf.Data)
		_ = mf.Fd.Close()
	}()
	// Every block's checksum: Badger's iterators end quietly at a block
	// that fails its checksum, so damage found later reads as fewer
	// records, not as an error. This reads every table once per start.
	_, err = table.OpenTable(mf, table.Options{
		ChkMode:     options.OnTableRead,
		BlockSize:   4 << 10,
		Compression: options.Snappy,
		ReadOnly:    true,
	})
	return err
}

// lastLine is the panic's own message under Badger's debug dump.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "==") {
			return l
		}
	}
	return ""
}

// checkDiscard validates DISCARD: 16-byte slots (value-log id, discarded
// bytes), the used ones first, ids of existing value logs. Garbage made
// Badger spin; the file only steers value-log GC, so a damaged one is
// moved aside and Badger starts a fresh one.
func checkDiscard(dir string, vlogs []uint64, log *slog.Logger) error {
	path := filepath.Join(dir, "DISCARD")
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read %s: %w", path, err)
	}
	sort.Slice(vlogs, func(i, j int) bool { return vlogs[i] < vlogs[j] })
	known := map[uint64]bool{}
	for _, id := range vlogs {
		known[id] = true
	}
	why := ""
	if len(raw)%16 != 0 || len(raw) == 0 {
		why = fmt.Sprintf("size %d is not a positive multiple of 16", len(raw))
	}
	for off := 0; why == "" && off+16 <= len(raw); off += 16 {
		fid := binary.BigEndian.Uint64(raw[off:])
		if fid == 0 {
			break
		}
		if !known[fid] && (len(vlogs) == 0 || fid > vlogs[len(vlogs)-1]) {
			// GC'd logs may keep their slot; ids beyond the newest log
			// were never handed out.
			why = fmt.Sprintf("slot %d names value log %d, which never existed", off/16, fid)
		}
		if d := binary.BigEndian.Uint64(raw[off+8:]); d > 1<<40 {
			why = fmt.Sprintf("slot %d claims %d discarded bytes", off/16, d)
		}
	}
	if why == "" {
		return nil
	}
	return moveAside(path, why, log)
}
