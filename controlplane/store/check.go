package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	badger "github.com/dgraph-io/badger/v4"

	"github.com/probe-appliance/probe/controlplane/store/internal/flowcodec"

	"golang.org/x/sys/unix"
)

// Problem is one piece of damage Check found.
type Problem struct {
	File  string // the damaged file, if known
	Range string // the damaged records ("flow chunks of if 3, block 1700000100"), if known
	Err   string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString("damaged:")
	if p.File != "" {
		b.WriteString(" file " + p.File)
	}
	if p.Range != "" {
		b.WriteString(" records " + p.Range)
	}
	b.WriteString(": " + p.Err)
	return b.String()
}

// CheckReport is what Check found.
type CheckReport struct {
	Problems []Problem
	Config   int // config records decoded
	Chunks   int // flow chunks decoded
	Records  int // flow records in them
	Alerts   int
}

// Check verifies the store in dir (which no process may have open):
// MANIFEST against the tables on disk, the footer, index and every block
// checksum of each table, then, if Badger opens it, every record: config
// records must be JSON, flow chunks must decode. An error means Check
// could not run; damage is in the report.
func Check(dir string, log *slog.Logger) (*CheckReport, error) {
	if log == nil {
		log = slog.Default()
	}
	rep := &CheckReport{}
	// A running probe's files change under the check (compactions remove
	// tables the MANIFEST listed a moment ago): that is no damage.
	if busy, err := InUse(dir); err != nil {
		return nil, fmt.Errorf("store: %s: %w", dir, err)
	} else if busy {
		return nil, fmt.Errorf("store: %s is in use (stop the probe first)", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		if err := preflight(dir, log); err != nil {
			rep.Problems = append(rep.Problems, Problem{File: filepath.Join(dir, "MANIFEST"), Err: err.Error()})
			return rep, nil
		}
		return nil, fmt.Errorf("store: %s holds no store", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", dir, err)
	}
	var tables []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") {
			tables = append(tables, e.Name())
		}
		if strings.HasSuffix(e.Name(), ".mem") {
			if err := checkMemLog(filepath.Join(dir, e.Name())); err != nil {
				rep.Problems = append(rep.Problems, Problem{File: filepath.Join(dir, e.Name()), Err: err.Error()})
			}
		}
	}
	if _, err := checkManifest(dir, tables); err != nil {
		rep.Problems = append(rep.Problems, Problem{File: filepath.Join(dir, "MANIFEST"), Err: err.Error()})
	}
	for _, name := range tables {
		path := filepath.Join(dir, name)
		if err := checkTable(path); err != nil {
			rep.Problems = append(rep.Problems, Problem{File: path, Err: err.Error()})
		}
	}
	if len(rep.Problems) > 0 {
		return rep, nil // Badger would refuse (or be refused) anyway
	}
	s, err := Open(dir, Options{Logger: log})
	if err != nil {
		if strings.Contains(err.Error(), "directory lock") {
			return nil, fmt.Errorf("store: %s is in use (stop the probe first): %w", dir, err)
		}
		rep.Problems = append(rep.Problems, Problem{Err: err.Error()})
		return rep, nil
	}
	defer s.Close()
	if err := s.db.VerifyChecksum(); err != nil {
		rep.Problems = append(rep.Problems, Problem{Err: "table checksums: " + err.Error()})
	}
	s.checkRecords(rep)
	return rep, nil
}

// checkRecords decodes every record, reporting damaged ones by range: runs
// of bad flow chunks of one block are one problem.
func (s *Store) checkRecords(rep *CheckReport) {
	var recs []FlowRecord
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: false})
		defer it.Close()
		lastBad := ""
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			var rng string
			var derr error
			err := item.Value(func(v []byte) error {
				switch k[0] {
				case prefixKV:
					ns, key, _ := strings.Cut(string(k[1:]), "\x00")
					rng = "config " + ns + "/" + key
					if !json.Valid(v) {
						derr = fmt.Errorf("not JSON (%d bytes)", len(v))
					} else {
						rep.Config++
					}
				case prefixFlow:
					block, ok := flowKeyBlock(k)
					if !ok {
						rng, derr = fmt.Sprintf("key %x", k), fmt.Errorf("malformed flow key")
						return nil
					}
					ifid := uint16(k[1])<<8 | uint16(k[2])
					rng = fmt.Sprintf("flow chunks of if %d, block %d", ifid, block)
					var err error
					if recs, err = flowcodec.DecodeColumns(v, ifid, block, FieldsAll, recs); err != nil {
						derr = err
					} else {
						rep.Chunks++
						rep.Records += len(recs)
					}
				case prefixAlert:
					if _, ok := parseAlertKey(k); !ok {
						rng, derr = fmt.Sprintf("key %x", k), fmt.Errorf("malformed alert key")
					} else {
						rep.Alerts++
					}
				}
				return nil
			})
			if err != nil {
				derr = fmt.Errorf("value unreadable: %w", err)
				if rng == "" {
					rng = fmt.Sprintf("key %x", k)
				}
			}
			if derr != nil && rng != lastBad {
				rep.Problems = append(rep.Problems, Problem{Range: rng, Err: derr.Error()})
				lastBad = rng
			}
		}
		return nil
	})
	if err != nil {
		rep.Problems = append(rep.Problems, Problem{Err: "walking records: " + err.Error()})
	}
}

// Backup writes every live record (configuration, flows, alerts) to w in
// Badger's backup format; Restore loads it.
func (s *Store) Backup(w io.Writer) error {
	if _, err := s.db.Backup(w, 0); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// ErrNotEmpty: Restore only writes into a directory without a store.
var ErrNotEmpty = errors.New("store: data directory already holds a store")

// Restore creates the store in dir from a Backup. dir must not hold a
// store: loading into one would mix the two, and the running store's
// sequence leases would overwrite the restored ones.
func Restore(dir string, r io.Reader, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: restore: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); n == "MANIFEST" || strings.HasSuffix(n, ".sst") || strings.HasSuffix(n, ".vlog") || strings.HasSuffix(n, ".mem") {
			return fmt.Errorf("%w: %s (%s); move it away first", ErrNotEmpty, dir, n)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	sp, err := newSpace(dir)
	if err != nil {
		return err
	}
	bo := badgerOptions(dir, Options{}, log, sizingFor(sp.total))
	db, err := openBounded(func() (*badger.DB, error) { return badger.Open(bo) }, DefaultOpenTimeout)
	if err != nil {
		return fmt.Errorf("store: restore: open %s: %w", dir, err)
	}
	if err := db.Load(r, 256); err != nil {
		db.Close()
		return fmt.Errorf("store: restore: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("store: restore: close: %w", err)
	}
	// A backup of another layout must not pass as this one.
	s, err := Open(dir, Options{Logger: log})
	if err != nil {
		return fmt.Errorf("store: restore: reopen: %w", err)
	}
	return s.Close()
}

// InUse tells whether a process holds the store in dir, by trying
// Badger's own directory lock (an exclusive flock on the directory) and
// releasing it at once.
func InUse(dir string) (bool, error) {
	d, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer d.Close()
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true, nil
		}
		return false, fmt.Errorf("directory lock of %s: %w", dir, err)
	}
	return false, unix.Flock(int(d.Fd()), unix.LOCK_UN)
}
