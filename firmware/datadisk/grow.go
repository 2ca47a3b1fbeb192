package datadisk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf16"

	"github.com/u-root/u-root/pkg/mount/gpt"
	"golang.org/x/sys/unix"
)

// alignSectors is 1 MiB: partitions end on a MiB boundary.
const alignSectors = 2048

// Grow makes the GPT of a disk image written onto a larger disk span the
// disk: the backup GPT moves to the disk's end, and the partition named
// name grows to it when it is the last partition. It is for first boot, on a
// partition about to be formatted (no file system is resized). It returns
// the partition's new size in bytes, or 0 when nothing had to change.
func Grow(disk interface {
	ReadAt([]byte, int64) (int, error)
	WriteAt([]byte, int64) (int, error)
}, sizeBytes int64, name string) (int64, error) {
	sectors := uint64(sizeBytes / gpt.BlockSize)
	// u-root's reader allocates NPart×PartSize before any checksum is
	// checked: a corrupt header could ask for gigabytes (FuzzGrow).
	var hdr gpt.Header
	if err := binary.Read(io.NewSectionReader(disk, gpt.HeaderOff, gpt.HeaderSize), binary.LittleEndian, &hdr); err != nil {
		return 0, fmt.Errorf("datadisk: reading the GPT header: %w", err)
	}
	if hdr.Signature != gpt.Signature || hdr.PartSize != 128 || hdr.NPart == 0 || hdr.NPart > gpt.MaxNPart {
		return 0, fmt.Errorf("datadisk: no GPT with 128-byte entries on the disk")
	}
	primary, err := gpt.Table(disk, gpt.HeaderOff)
	if err != nil {
		return 0, fmt.Errorf("datadisk: reading the GPT: %w", err)
	}
	arraySectors := (uint64(primary.NPart)*uint64(primary.PartSize) + gpt.BlockSize - 1) / gpt.BlockSize
	lastUsable := sectors - 1 - arraySectors - 1
	if primary.BackupLBA >= sectors || primary.LastLBA > lastUsable {
		return 0, fmt.Errorf("datadisk: the GPT says the disk is larger than its %d sectors", sectors)
	}
	idx, last := -1, uint64(0)
	for i, p := range primary.Parts {
		if p.FirstLBA == 0 && p.LastLBA == 0 {
			continue
		}
		if p.LastLBA > last {
			idx, last = i, p.LastLBA
		}
	}
	if idx < 0 || partName(primary.Parts[idx].Name) != name {
		return 0, fmt.Errorf("datadisk: %s is not the last partition", name)
	}
	p := &primary.Parts[idx]
	newLast := (lastUsable+1)/alignSectors*alignSectors - 1
	if primary.BackupLBA == sectors-1 && p.LastLBA >= newLast {
		return 0, nil // already spans the disk
	}
	oldBackup := primary.BackupLBA
	if newLast > p.LastLBA {
		p.LastLBA = newLast
	}
	primary.BackupLBA = sectors - 1
	primary.LastLBA = lastUsable
	backup := &gpt.GPT{Header: primary.Header, Parts: primary.Parts}
	backup.CurrentLBA, backup.BackupLBA = sectors-1, 1
	backup.PartStart = sectors - 1 - arraySectors

	var mbr gpt.MBR
	if _, err := disk.ReadAt(mbr[:], 0); err != nil {
		return 0, fmt.Errorf("datadisk: reading the protective MBR: %w", err)
	}
	// The protective MBR's one partition covers the disk (or 2 TiB).
	binary.LittleEndian.PutUint32(mbr[446+12:], uint32(min(sectors-1, 0xffffffff)))
	if err := gpt.Write(disk, &gpt.PartitionTable{MasterBootRecord: &mbr, Primary: primary, Backup: backup}); err != nil {
		return 0, fmt.Errorf("datadisk: writing the GPT: %w", err)
	}
	// The old backup header now sits inside the grown partition: clear it so
	// nothing mistakes it for a GPT.
	if oldBackup != sectors-1 {
		if _, err := disk.WriteAt(make([]byte, gpt.BlockSize), int64(oldBackup)*gpt.BlockSize); err != nil {
			return 0, fmt.Errorf("datadisk: clearing the old backup GPT: %w", err)
		}
	}
	return int64(p.LastLBA-p.FirstLBA+1) * gpt.BlockSize, nil
}

func partName(n gpt.PartName) string {
	u := make([]uint16, 0, len(n)/2)
	for i := 0; i+1 < len(n); i += 2 {
		c := binary.LittleEndian.Uint16(n[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// GrowDevice grows the partition on a live disk (/dev/vda) and makes the
// kernel re-read the partition table.
func GrowDevice(dev, name string) (int64, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_EXCL, 0)
	if err != nil {
		return 0, fmt.Errorf("datadisk: %w", err)
	}
	defer f.Close()
	size, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKGETSIZE64)
	if err != nil {
		return 0, fmt.Errorf("datadisk: size of %s: %w", dev, err)
	}
	grown, err := Grow(f, int64(size), name)
	if err != nil || grown == 0 {
		return grown, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("datadisk: %w", err)
	}
	if _, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKRRPART); err != nil && !errors.Is(err, unix.EINVAL) {
		return 0, fmt.Errorf("datadisk: re-reading the partitions of %s: %w", dev, err)
	}
	return grown, nil
}
