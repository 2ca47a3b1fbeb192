package datadisk

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// sfdiskTable is what `sfdisk -J` says of an image: the real tool judges
// the GPT we wrote.
type sfdiskTable struct {
	PartitionTable struct {
		LastLBA    int64 `json:"lastlba"`
		Partitions []struct {
			Start int64  `json:"start"`
			Size  int64  `json:"size"`
			Name  string `json:"name"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

func sfdisk(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("sfdisk", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sfdisk %v: %v\n%s", args, err, out)
	}
	return out
}

func TestGrow(t *testing.T) {
	img := gptImage(t, 64<<20, "label: gpt\nstart=1MiB, size=16MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=PROBEBOOT\nstart=17MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=PROBEDATA\n")
	// Flashed onto a disk twice the image's size.
	if err := os.Truncate(img, 128<<20); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	grown, err := Grow(f, 128<<20, "PROBEDATA")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(128-17-1) << 20; grown != want {
		t.Errorf("grown to %d bytes, want %d (to the last whole MiB)", grown, want)
	}
	sfdisk(t, "--verify", img)
	var tab sfdiskTable
	if err := json.Unmarshal(sfdisk(t, "-J", img), &tab); err != nil {
		t.Fatal(err)
	}
	pt := tab.PartitionTable
	if len(pt.Partitions) != 2 || pt.Partitions[0].Size != 16<<11 || pt.Partitions[1].Start != 17<<11 ||
		pt.Partitions[1].Size != grown/512 || pt.LastLBA != 128<<11-34 {
		t.Errorf("table after growing: %+v", pt)
	}
	// Twice is once.
	if again, err := Grow(f, 128<<20, "PROBEDATA"); err != nil || again != 0 {
		t.Errorf("second grow: %d %v", again, err)
	}
	if _, err := Grow(f, 128<<20, "PROBEBOOT"); err == nil {
		t.Error("grew a partition that is not the last one")
	}
	if _, err := Grow(f, 32<<20, "PROBEDATA"); err == nil {
		t.Error("accepted a disk smaller than its GPT")
	}
}

// gptImage is a disk image of size bytes partitioned by sfdisk's script.
func gptImage(tb testing.TB, size int64, script string) string {
	tb.Helper()
	img := filepath.Join(tb.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("sfdisk", "-q", img)
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("sfdisk: %v %s", err, out)
	}
	return img
}

// memDisk is a disk image in memory for the fuzzer.
type memDisk []byte

func (m memDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memDisk) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, io.ErrShortWrite
	}
	return copy(m[off:], p), nil
}

// FuzzGrow: whatever the first sectors of a disk hold, Grow answers with an
// error or a change, never a panic or a huge allocation.
func FuzzGrow(f *testing.F) {
	img := gptImage(f, 4<<20, "label: gpt\nstart=1MiB, size=1MiB, name=PROBEBOOT\nstart=2MiB, name=PROBEDATA\n")
	raw, err := os.ReadFile(img)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw[:34*512])
	f.Fuzz(func(t *testing.T, head []byte) {
		disk := make(memDisk, 4<<20)
		copy(disk, head)
		_, _ = Grow(disk, int64(len(disk)), "PROBEDATA")
	})
}
