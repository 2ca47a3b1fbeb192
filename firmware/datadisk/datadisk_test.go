package datadisk

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func mke2fs(t *testing.T) string {
	p, err := exec.LookPath("mke2fs")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/mke2fs"); err != nil {
			t.Fatal("mke2fs not installed (scripts/install-deps.sh installs e2fsprogs)")
		}
		p = "/usr/sbin/mke2fs"
	}
	return p
}

func sparse(t *testing.T, size int64) string {
	f := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, size); err != nil {
		t.Fatal(err)
	}
	return f
}

func probeFile(t *testing.T, path string) Probe {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Format makes a file system that Read recognises by its label, with the
// real mke2fs the image carries.
func TestFormatAndRead(t *testing.T) {
	img := sparse(t, 64<<20)
	if p := probeFile(t, img); !p.Blank || p.Ext {
		t.Fatalf("new image: %+v", p)
	}
	if err := Format(mke2fs(t), img, "PROBEDATA"); err != nil {
		t.Fatal(err)
	}
	if p := probeFile(t, img); p.Blank || !p.Ext || p.Label != "PROBEDATA" {
		t.Errorf("formatted image: %+v", p)
	}
	other := sparse(t, 64<<20)
	if err := Format(mke2fs(t), other, "SOMETHING"); err != nil {
		t.Fatal(err)
	}
	if p := probeFile(t, other); p.Label != "SOMETHING" {
		t.Errorf("other label: %+v", p)
	}
	if err := Format(mke2fs(t), filepath.Join(t.TempDir(), "no", "such"), "X"); err == nil {
		t.Error("formatting a missing device succeeded")
	}
}

func TestChoose(t *testing.T) {
	blank := Probe{Blank: true}
	data := Probe{Ext: true, Label: "PROBEDATA"}
	used := Probe{Ext: true, Label: "home"}
	for _, tc := range []struct {
		name   string
		devs   []Device
		want   string
		format bool
	}{
		{"labelled partition wins over a blank disk", []Device{
			{Name: "vda", Probe: blank}, {Name: "vdb"}, {Name: "vdb2", Partition: true, Parent: "vdb", Probe: data}}, "vdb2", false},
		{"labelled whole disk", []Device{{Name: "vda", Probe: data}}, "vda", false},
		{"empty GPT partition named like the label", []Device{
			{Name: "sda"}, {Name: "sda1", Partition: true, Parent: "sda", PartName: "ESP", Probe: Probe{}},
			{Name: "sda3", Partition: true, Parent: "sda", PartName: "PROBEDATA", Probe: blank}}, "sda3", true},
		{"blank whole disk", []Device{{Name: "vda", Probe: blank}}, "vda", true},
		{"a disk with a foreign file system is never formatted", []Device{{Name: "vda", Probe: used}}, "", false},
		{"a blank-looking disk with partitions is left alone", []Device{
			{Name: "sda", Probe: blank}, {Name: "sda1", Partition: true, Parent: "sda", Probe: used}}, "", false},
		{"a removable blank stick is left alone", []Device{{Name: "sdb", Removable: true, Probe: blank}}, "", false},
		{"partition named like the label but holding data", []Device{
			{Name: "sda"}, {Name: "sda2", Partition: true, Parent: "sda", PartName: "PROBEDATA", Probe: Probe{}}}, "", false},
	} {
		c, ok := Choose(tc.devs, "PROBEDATA")
		if ok != (tc.want != "") || c.Device.Name != tc.want || c.Format != tc.format {
			t.Errorf("%s: got %+v %v, want %q format=%v", tc.name, c, ok, tc.want, tc.format)
		}
	}
}

// Scan reads sysfs as the kernel lays it out (class/block entries are
// symlinks into the device tree; partitions sit under their disk).
func TestScan(t *testing.T) {
	root := t.TempDir()
	devices := filepath.Join(root, "devices", "virtio0", "block")
	class := filepath.Join(root, "class", "block")
	mk := func(rel string, files map[string]string) {
		dir := filepath.Join(devices, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for k, v := range files {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(class, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(dir, filepath.Join(class, filepath.Base(rel))); err != nil {
			t.Fatal(err)
		}
	}
	mk("vda", map[string]string{"size": "2097152\n", "removable": "0\n", "uevent": "DEVTYPE=disk\n"})
	mk("vda/vda1", map[string]string{"size": "1024\n", "partition": "1\n", "uevent": "DEVTYPE=partition\nPARTNAME=PROBEDATA\n"})
	mk("loop0", map[string]string{"size": "100\n"})
	mk("sr0", map[string]string{"size": "100\n"})
	mk("vdz", map[string]string{"size": "0\n"})

	img := sparse(t, 4<<20)
	opened := map[string]bool{}
	devs, err := Scan(class, func(d Device) (io.ReaderAt, func() error, error) {
		opened[d.Name] = true
		f, err := os.Open(img)
		if err != nil {
			return nil, nil, err
		}
		return f, f.Close, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || opened["loop0"] || opened["sr0"] || opened["vdz"] {
		t.Fatalf("scan: %+v (opened %v)", devs, opened)
	}
	if d := devs[0]; d.Name != "vda" || d.Partition || d.Sectors != 2097152 || !d.Probe.Blank {
		t.Errorf("disk: %+v", d)
	}
	if d := devs[1]; d.Name != "vda1" || !d.Partition || d.Parent != "vda" || d.PartName != "PROBEDATA" {
		t.Errorf("partition: %+v", d)
	}
	// Which, with the partition blank, is what first boot formats.
	if c, ok := Choose(devs, "PROBEDATA"); !ok || c.Device.Name != "vda1" || !c.Format {
		t.Errorf("choice: %+v %v", c, ok)
	}
}

func TestReadShort(t *testing.T) {
	f := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(f, []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := probeFile(t, f); p.Blank || p.Ext {
		t.Errorf("3 bytes: %+v", p)
	}
}
