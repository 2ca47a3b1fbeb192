package store

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Damage outcomes. Anything else (a panic, a hang, an open store missing
// data without an error) fails the matrix.
const (
	outIntact     = "intact"      // opens, every record there
	outRefused    = "refused"     // Open fails with an error naming the file
	outReadError  = "read error"  // opens; reading the damaged record fails
	outSilentLoss = "SILENT LOSS" // always a failure
)

// damageCase damages one kind of file of a store image.
type damageCase struct {
	file string // "newest.sst", "older.sst", "vlog", "mem", "MANIFEST", "DISCARD", "KEYREGISTRY"
	how  string // "truncate", "garbage", "remove"
	want string
}

// damageMatrix is the documented outcome of each kind of damage (the
// table in the store's README section says the same).
var damageMatrix = []damageCase{
	{"newest.sst", "truncate", outRefused}, // footer/index unreadable
	{"newest.sst", "garbage", outRefused},  // block checksum (or index) fails at Open
	{"older.sst", "truncate", outRefused},  // footer/index unreadable
	{"older.sst", "garbage", outRefused},   // block checksum fails at Open
	{"vlog", "truncate", outReadError},     // the large record's read fails; the rest is there
	{"vlog", "garbage", outReadError},      // the large record's read fails; the rest is there
	{"mem", "truncate", outRefused},        // cut inside an entry
	{"mem", "garbage", outRefused},         // valid entries after the damaged one
	{"MANIFEST", "truncate", outRefused},   // lists fewer tables than on disk
	{"MANIFEST", "garbage", outRefused},    // bad magic / checksum
	{"MANIFEST", "remove", outRefused},     // data files without MANIFEST: never a new empty store
	{"DISCARD", "truncate", outIntact},     // GC hints only
	{"DISCARD", "garbage", outIntact},      // moved aside, Badger starts a new one
	{"DISCARD", "remove", outIntact},       // Badger starts a new one
	{"KEYREGISTRY", "truncate", outIntact}, // moved aside (no encryption: no keys in it)
	{"KEYREGISTRY", "garbage", outIntact},  // moved aside
	{"KEYREGISTRY", "remove", outIntact},   // Badger starts a new one
}

// storeImage is a store with configuration (one record large enough for
// the value log) and flows in several tables and the memtable log,
// copied while open: what a crash leaves.
type storeImage struct {
	dir     string
	config  map[string]int
	bigLen  int
	packets uint64
}

const damageIf = 3

func makeImage(t *testing.T) storeImage {
	t.Helper()
	live := t.TempDir()
	img := storeImage{dir: t.TempDir(), config: map[string]int{}, bigLen: 3 << 20}
	rng := rand.New(rand.NewPCG(7, 19))
	write := func(s *Store, round int) {
		for i := 0; i < 40; i++ {
			k := fmt.Sprintf("r%d-%d", round, i)
			img.config[k] = round*1000 + i
			if err := s.Put("cfg", k, img.config[k]); err != nil {
				t.Fatal(err)
			}
		}
		for b := 0; b < 4; b++ {
			recs := realisticFlows(rng, 5000, damageIf, 1_700_000_100+int64(round*4+b)*BlockSeconds)
			for _, r := range recs {
				img.packets += r.PktsC2S + r.PktsS2C
			}
			if err := s.WriteFlows(recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Closed rounds make tables (several, once compacted: more than a
	// table's 2 MiB); the last round stays in the memtable log.
	const rounds = 6
	for round := 0; round < rounds; round++ {
		s := openTest(t, live)
		if round == 0 {
			if err := s.Put("cfg", "big", strings.Repeat("x", img.bigLen)); err != nil {
				t.Fatal(err)
			}
		}
		write(s, round)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s := openTest(t, live)
	write(s, rounds)
	copyStable(t, live, img.dir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return img
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		src, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		dst.Close()
	}
}

// copyStable copies the open store's directory as a crash would leave it:
// Badger may be compacting in the background, and a copy that overlaps a
// compaction holds a MANIFEST naming a table the copy missed. It copies
// again until the listing (names and sizes) is the same before and after.
func copyStable(t *testing.T, from, to string) {
	t.Helper()
	listing := func() string {
		ents, err := os.ReadDir(from)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range ents {
			size := int64(-1) // removed since the listing
			if fi, err := e.Info(); err == nil {
				size = fi.Size()
			}
			fmt.Fprintf(&b, "%s:%d ", e.Name(), size)
		}
		return b.String()
	}
	copyOnce := func() error {
		ents, err := os.ReadDir(from)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err != nil {
				return err // removed by a compaction: copy again
			}
			if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return nil
	}
	for try := 0; try < 50; try++ {
		before := listing()
		if err := os.RemoveAll(to); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(to, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := copyOnce(); err == nil && listing() == before {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the store's files kept changing while copied (50 tries)")
}

// damageTarget is the path of the file a case damages.
func damageTarget(t *testing.T, dir, kind string) string {
	t.Helper()
	var ssts, vlogs, mems []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		switch filepath.Ext(e.Name()) {
		case ".sst":
			ssts = append(ssts, e.Name())
		case ".vlog":
			vlogs = append(vlogs, e.Name())
		case ".mem":
			mems = append(mems, e.Name())
		}
	}
	sort.Strings(ssts)
	pick := func(l []string, i int) string {
		if len(l) == 0 {
			t.Fatalf("no file for %s in %s", kind, dir)
		}
		return filepath.Join(dir, l[(i+len(l))%len(l)])
	}
	switch kind {
	case "newest.sst":
		return pick(ssts, -1)
	case "older.sst":
		if len(ssts) < 2 {
			t.Fatalf("want 2 tables, have %v", ssts)
		}
		return pick(ssts, 0)
	case "vlog":
		return pick(vlogs, 0) // the first, holding the large record
	case "mem":
		return pick(mems, -1)
	}
	return filepath.Join(dir, kind)
}

func filesize(t *testing.T, dir, name string) int64 {
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// allocated is the part of a file holding data: logs are sparse,
// zero-filled files written from the start.
func allocated(t *testing.T, dir, name string) int64 {
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	end := len(raw)
	for end > 0 && raw[end-1] == 0 {
		end--
	}
	return int64(end)
}

func damage(t *testing.T, path, how string) {
	t.Helper()
	used := allocated(t, filepath.Dir(path), filepath.Base(path))
	var err error
	switch how {
	case "truncate":
		err = os.Truncate(path, used/2)
	case "remove":
		err = os.Remove(path)
	case "garbage":
		// 4 KiB of random bytes in the middle (at the start of files too
		// small for a middle): where a bad sector or stray write lands.
		f, err2 := os.OpenFile(path, os.O_WRONLY, 0)
		if err2 != nil {
			t.Fatal(err2)
		}
		off := used/2 - 2048
		if off < 0 || strings.HasSuffix(path, "DISCARD") {
			off = 0 // DISCARD's used slots are at its start
		}
		g := make([]byte, 4096)
		r := rand.New(rand.NewPCG(uint64(used), 4))
		for i := range g {
			g[i] = byte(r.Uint32())
		}
		_, err = f.WriteAt(g, off)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// outcome opens the damaged store and reads everything back, each step
// bounded in time.
func (img storeImage) outcome(t *testing.T, dir, damaged string) (string, string) {
	type res struct{ out, detail string }
	ch := make(chan res, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- res{"PANIC", fmt.Sprint(r)}
			}
		}()
		s, err := Open(dir, Options{OpenTimeout: 10 * time.Second, CloseTimeout: 5 * time.Second})
		if err != nil {
			if !strings.Contains(strings.ReplaceAll(err.Error(), dir, ""), filepath.Base(damaged)) && !strings.Contains(err.Error(), damaged) {
				ch <- res{"refused without naming " + filepath.Base(damaged), err.Error()}
				return
			}
			ch <- res{outRefused, err.Error()}
			return
		}
		var readErrs []string
		missing := 0
		for k, want := range img.config {
			var v int
			found, err := s.Get("cfg", k, &v)
			if err != nil {
				readErrs = append(readErrs, err.Error())
				continue
			}
			if !found || v != want {
				missing++
			}
		}
		var big string
		if found, err := s.Get("cfg", "big", &big); err != nil {
			readErrs = append(readErrs, err.Error())
		} else if !found || len(big) != img.bigLen {
			missing++
		}
		var pkts uint64
		if err := s.ScanFlows(damageIf, 0, 1<<40, func(r *FlowRecord) error {
			pkts += r.PktsC2S + r.PktsS2C
			return nil
		}); err != nil {
			readErrs = append(readErrs, err.Error())
		}
		if err := s.Close(); err != nil {
			readErrs = append(readErrs, err.Error())
		}
		switch {
		case len(readErrs) > 0:
			ch <- res{outReadError, readErrs[0]}
		case missing > 0 || pkts != img.packets:
			ch <- res{outSilentLoss, fmt.Sprintf("%d config records missing, %d of %d packets", missing, pkts, img.packets)}
		default:
			ch <- res{outIntact, ""}
		}
	}()
	select {
	case r := <-ch:
		return r.out, r.detail
	case <-time.After(40 * time.Second):
		return "HANG", ""
	}
}

// TestDamageMatrix damages each kind of Badger file of a store holding
// configuration and flows in each way, and checks the documented outcome:
// never a panic, a hang or a store that opens without its data.
func TestDamageMatrix(t *testing.T) {
	img := makeImage(t)
	ents, _ := os.ReadDir(img.dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name()+":"+strconv.FormatInt(filesize(t, img.dir, e.Name()), 10))
	}
	t.Logf("image: %v", names)
	for _, c := range damageMatrix {
		t.Run(c.file+"/"+c.how, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, img.dir, dir)
			target := damageTarget(t, dir, c.file)
			damage(t, target, c.how)
			got, detail := img.outcome(t, dir, target)
			t.Logf("%s %s: %s %s", c.file, c.how, got, detail)
			if got != c.want {
				t.Errorf("%s %s of %s: got %q (%s), documented %q", c.how, c.file, filepath.Base(target), got, detail, c.want)
			}
		})
	}
}
