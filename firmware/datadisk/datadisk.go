// Package datadisk finds, creates and mounts the appliance's persistent data
// partition: an ext4 file system with a known label (PROBEDATA). The image
// itself lives in RAM and is read-only in spirit; configuration, users and
// the flow store live here.
//
// First boot creates the file system only where that cannot lose data: on a
// GPT partition named like the label that holds no file system yet, or on a
// whole disk that has no partitions and is blank. Anything else is left alone
// and the probe runs without persistence, saying so.
package datadisk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ext2/3/4 superblock: 1024 bytes in, magic at +56, volume name at +120.
const (
	sbOffset    = 1024
	magicOffset = 56
	labelOffset = 120
	ext4Magic   = 0xEF53
)

// blankBytes is how much of a disk must be zero to count as blank: enough to
// cover MBR/GPT headers and the superblocks of the usual file systems.
const blankBytes = 1 << 20

// Probe reads what is at the start of a block device.
type Probe struct {
	Ext   bool   // an ext2/3/4 superblock
	Label string // its volume name
	Blank bool   // the first MiB is all zeros
}

// Read inspects r (a block device or an image file).
func Read(r io.ReaderAt) (Probe, error) {
	buf := make([]byte, blankBytes)
	n, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Probe{}, fmt.Errorf("datadisk: read: %w", err)
	}
	buf = buf[:n]
	var p Probe
	p.Blank = n > 0 && bytes.Count(buf, []byte{0}) == n
	if n >= sbOffset+labelOffset+16 && binary.LittleEndian.Uint16(buf[sbOffset+magicOffset:]) == ext4Magic {
		p.Ext = true
		p.Label = string(bytes.TrimRight(buf[sbOffset+labelOffset:sbOffset+labelOffset+16], "\x00"))
	}
	return p, nil
}

// Device is one block device as sysfs describes it.
type Device struct {
	Name      string // vda, vda2, nvme0n1p3
	Partition bool
	PartName  string // GPT partition name, if any
	Parent    string // the whole disk of a partition
	Sectors   int64
	Removable bool
	Probe     Probe
}

// Path is the device node.
func (d Device) Path() string { return "/dev/" + d.Name }

// Scan lists block devices under sysBlock (/sys/class/block) and probes each
// through open (os.Open of the device node on a live system). Loop, RAM,
// optical and device-mapper devices are skipped: they are never the data disk.
func Scan(sysBlock string, open func(Device) (io.ReaderAt, func() error, error)) ([]Device, error) {
	ents, err := os.ReadDir(sysBlock)
	if err != nil {
		return nil, fmt.Errorf("datadisk: %w", err)
	}
	var devs []Device
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") ||
			strings.HasPrefix(name, "sr") || strings.HasPrefix(name, "dm-") || strings.HasPrefix(name, "zram") {
			continue
		}
		dir := filepath.Join(sysBlock, name)
		d := Device{Name: name}
		if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
			d.Partition = true
			// sysfs: class/block/vda2 -> ../../devices/.../vda/vda2
			if target, err := filepath.EvalSymlinks(dir); err == nil {
				d.Parent = filepath.Base(filepath.Dir(target))
			}
		}
		d.Sectors = readInt(filepath.Join(dir, "size"))
		d.Removable = readInt(filepath.Join(dir, "removable")) == 1
		if uevent, err := os.ReadFile(filepath.Join(dir, "uevent")); err == nil {
			for _, line := range strings.Split(string(uevent), "\n") {
				if v, ok := strings.CutPrefix(line, "PARTNAME="); ok {
					d.PartName = v
				}
			}
		}
		if d.Sectors == 0 {
			continue
		}
		r, closeFn, err := open(d)
		if err != nil {
			continue // not readable: not a candidate
		}
		d.Probe, err = Read(r)
		closeFn()
		if err != nil {
			continue
		}
		devs = append(devs, d)
	}
	sort.Slice(devs, func(i, j int) bool { return devs[i].Name < devs[j].Name })
	return devs, nil
}

func readInt(file string) int64 {
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return v
}

// Choice is what to do about the data partition.
type Choice struct {
	Device Device
	Format bool // create the file system first
}

// Choose picks the device: an ext file system with the label wins; then an
// empty GPT partition named like the label; then a blank whole disk without
// partitions. Removable disks (a USB stick the image was flashed from) are
// only used when they already carry the label.
func Choose(devs []Device, label string) (Choice, bool) {
	for _, d := range devs {
		if d.Probe.Ext && d.Probe.Label == label {
			return Choice{Device: d}, true
		}
	}
	for _, d := range devs {
		if d.Partition && d.PartName == label && !d.Probe.Ext && d.Probe.Blank {
			return Choice{Device: d, Format: true}, true
		}
	}
	hasParts := map[string]bool{}
	for _, d := range devs {
		if d.Partition {
			hasParts[d.Parent] = true
		}
	}
	for _, d := range devs {
		if !d.Partition && !d.Removable && !hasParts[d.Name] && d.Probe.Blank {
			return Choice{Device: d, Format: true}, true
		}
	}
	return Choice{}, false
}

// Format creates an ext4 file system with the label using mke2fs (shipped in
// the image: there is no well-kept ext4 writer in Go).
func Format(mke2fs, dev, label string) error {
	return FormatWith(func(c *exec.Cmd) error { return c.Run() }, mke2fs, dev, label)
}

// FormatWith is Format with run starting and waiting for mke2fs (process 1
// registers its children with its orphan reaper).
func FormatWith(run func(*exec.Cmd) error, mke2fs, dev, label string) error {
	var out strings.Builder
	c := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", "-L", label, "-m", "0", dev)
	c.Stdout, c.Stderr = &out, &out
	if err := run(c); err != nil {
		return fmt.Errorf("datadisk: mke2fs %s: %w: %s", dev, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// Mount mounts an ext4 device at dir.
func Mount(dev, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("datadisk: %w", err)
	}
	if err := unix.Mount(dev, dir, "ext4", unix.MS_NOATIME, ""); err != nil {
		return fmt.Errorf("datadisk: mount %s on %s: %w", dev, dir, err)
	}
	return nil
}

// OpenDevice opens a device node read-only for Scan.
func OpenDevice(d Device) (io.ReaderAt, func() error, error) {
	f, err := os.Open(d.Path())
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}
