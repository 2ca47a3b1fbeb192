package recorder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

var base = time.Unix(1_700_000_000, 0)

// frame is an Ethernet-looking frame of n bytes carrying i at byte 14, so
// a reader can tell which packet it got.
func frame(i, n int) []byte {
	b := make([]byte, max(n, 18))
	b[12], b[13] = 0x88, 0xb5 // local experimental ethertype
	binary.BigEndian.PutUint32(b[14:], uint32(i))
	return b
}

type rec struct {
	id int
	ts int64
	n  int
}

func readPcap(t *testing.T, r io.Reader) []rec {
	t.Helper()
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		t.Fatalf("output is not a pcap: %v", err)
	}
	var out []rec
	for {
		d, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("read output: %v", err)
		}
		out = append(out, rec{int(binary.BigEndian.Uint32(d[14:])), ci.Timestamp.UnixNano(), len(d)})
	}
}

func extractAll(t *testing.T, r *Ring, from, to time.Time, m Matcher) []rec {
	t.Helper()
	x, err := r.Extract(from, to, m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return readPcap(t, &buf)
}

func dirBytes(t *testing.T, dir string) (int64, int) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range es {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += info.Size()
	}
	return n, len(es)
}

func tsOf(i int) int64 { return base.Add(time.Duration(i) * 10 * time.Millisecond).UnixNano() }

func TestRotationKeepsBudget(t *testing.T) {
	dir := t.TempDir()
	const budget = 256 << 10
	r, err := Open(Config{Dir: dir, MaxBytes: budget, FileBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const n = 3000 // 3000 x 216 bytes: about 2.5 budgets
	maxFiles := 0
	for i := range n {
		if err := r.Write(frame(i, 200), tsOf(i), 200); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			r.Flush()
			size, files := dirBytes(t, dir)
			if size > budget {
				t.Fatalf("after %d packets %d bytes on disk, budget %d", i+1, size, budget)
			}
			maxFiles = max(maxFiles, files)
		}
	}
	if maxFiles < 3 {
		t.Fatalf("at most %d files: no rotation", maxFiles)
	}
	got := extractAll(t, r, base, base.Add(time.Hour), nil)
	if len(got) == 0 || len(got) == n {
		t.Fatalf("extracted %d of %d packets; want the newest ones only", len(got), n)
	}
	// What is left is the newest packets, contiguous, up to the last one.
	first := n - len(got)
	for k, p := range got {
		if p.id != first+k || p.ts != tsOf(first+k) || p.n != 200 {
			t.Fatalf("packet %d: got id %d ts %d len %d, want id %d ts %d", k, p.id, p.ts, p.n, first+k, tsOf(first+k))
		}
	}
	if s := r.Stats(); s.FilesDeleted == 0 || s.Packets != n {
		t.Fatalf("stats %+v", s)
	}
}

func TestRestartKeepsRecording(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxBytes: 1 << 20, FileBytes: 64 << 10}
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		r.Write(frame(i, 300), tsOf(i), 300)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for i := 500; i < 700; i++ {
		r2.Write(frame(i, 300), tsOf(i), 300)
	}
	got := extractAll(t, r2, base, base.Add(time.Hour), nil)
	if len(got) != 700 {
		t.Fatalf("after restart %d packets, want 700", len(got))
	}
	for i, p := range got {
		if p.id != i {
			t.Fatalf("packet %d has id %d", i, p.id)
		}
	}
	// A smaller budget at the next start is enforced at once.
	r2.Close()
	small := Config{Dir: dir, MaxBytes: 128 << 10, FileBytes: 64 << 10}
	r3, err := Open(small)
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	if size, _ := dirBytes(t, dir); size > small.MaxBytes-small.FileBytes {
		t.Fatalf("%d bytes left after restart with budget %d", size, small.MaxBytes)
	}
}

// A crash leaves the open file behind, maybe with a torn last record: the
// next start keeps the whole packets.
func TestRecoverAfterCrash(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxBytes: 1 << 20, FileBytes: 512 << 10}
	r, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		r.Write(frame(i, 100), tsOf(i), 100)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "*"+openSuffix))
	if len(parts) != 1 {
		t.Fatalf("open files: %v", parts)
	}
	// Half a record header and a record cut short.
	f, err := os.OpenFile(parts[0], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{1, 2, 3, 4, 5, 6, 7, 8, 100, 0, 0, 0, 100, 0, 0, 0, 9, 9})
	f.Close()
	// An empty leftover goes away.
	os.WriteFile(filepath.Join(dir, "0000000000000099"+openSuffix), nil, 0o640)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not ours"), 0o640)

	r2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	got := extractAll(t, r2, base, base.Add(time.Hour), nil)
	if len(got) != 100 || got[99].id != 99 {
		t.Fatalf("recovered %d packets", len(got))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+openSuffix)); len(left) != 0 {
		t.Fatalf("unfinished files left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Fatalf("a file not ours was touched: %v", err)
	}
	// New files do not reuse the recovered file's number.
	r2.Write(frame(100, 100), tsOf(100), 100)
	if got := extractAll(t, r2, base, base.Add(time.Hour), nil); len(got) != 101 || got[100].id != 100 {
		t.Fatalf("after recovery and a write: %d packets", len(got))
	}
}

func TestTimeWindow(t *testing.T) {
	r, err := Open(Config{Dir: t.TempDir(), MaxBytes: 16 << 20, FileBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const n = 2000 // 10 ms apart: 20 s, about 7 files
	for i := range n {
		r.Write(frame(i, 100), tsOf(i), 100)
	}
	r.Flush()
	cases := []struct {
		name     string
		from, to time.Time
	}{
		{"all", base, base.Add(20 * time.Second)},
		{"middle second", base.Add(7 * time.Second), base.Add(8 * time.Second)},
		{"one instant", time.Unix(0, tsOf(1234)), time.Unix(0, tsOf(1234))},
		{"before", base.Add(-time.Hour), base.Add(-time.Nanosecond)},
		{"after", base.Add(time.Hour), base.Add(2 * time.Hour)},
		{"reaches the open file", base.Add(19 * time.Second), base.Add(time.Hour)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []int
			for i := range n {
				if ts := tsOf(i); ts >= c.from.UnixNano() && ts <= c.to.UnixNano() {
					want = append(want, i)
				}
			}
			x, err := r.Extract(c.from, c.to, nil)
			if err != nil {
				t.Fatal(err)
			}
			opened := len(x.parts)
			var buf bytes.Buffer
			if _, err := x.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			got := readPcap(t, &buf)
			if len(got) != len(want) {
				t.Fatalf("%d packets, want %d", len(got), len(want))
			}
			for k := range got {
				if got[k].id != want[k] {
					t.Fatalf("packet %d is %d, want %d", k, got[k].id, want[k])
				}
			}
			if len(want) == 0 && opened != 0 {
				t.Fatalf("opened %d files for an empty window", opened)
			}
			if c.name == "middle second" && opened > 2 {
				t.Fatalf("opened %d files for one second of 64 KiB files", opened)
			}
		})
	}
}

// Extractions run while the writer writes and rotates: every answer is a
// whole pcap of consecutive packets (go test -race checks the locking).
func TestExtractWhileWriting(t *testing.T) {
	r, err := Open(Config{Dir: t.TempDir(), MaxBytes: 64 << 20, FileBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var wg sync.WaitGroup
	const n = 10000
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			if err := r.Write(frame(i, 60+i%200), tsOf(i), 60+i%200); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 10 {
		got := extractAll(t, r, base, base.Add(1000*time.Hour), nil)
		for k := range got {
			if got[k].id != k {
				t.Fatalf("packet %d has id %d", k, got[k].id)
			}
		}
	}
	wg.Wait()
	if got := extractAll(t, r, base, base.Add(1000*time.Hour), nil); len(got) != n {
		t.Fatalf("%d packets at the end, want %d", len(got), n)
	}
}

func TestConfigChecks(t *testing.T) {
	if _, err := Open(Config{}); err == nil {
		t.Fatal("no directory accepted")
	}
	_, err := Open(Config{Dir: t.TempDir(), MaxBytes: 100 << 10, FileBytes: 64 << 10})
	if err == nil || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("budget below two files: %v", err)
	}
	r, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if err := r.Write(frame(0, 60), 0, 60); err == nil {
		t.Fatal("write after Close accepted")
	}
}
