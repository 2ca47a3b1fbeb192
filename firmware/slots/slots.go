// Package slots manages the A/B boot slots on the EFI system partition of a
// flashed appliance: systemd-boot loader entries probe-a.conf and
// probe-b.conf, with a boot counter in the file name (probe-a+3.conf, then
// probe-a+2-1.conf, ...) while a slot is on trial. systemd-boot decrements
// the counter at every boot of the slot and skips a slot with none left, so
// a slot that never comes up falls back to the other one. Blessing removes
// the counter once the probe is up: from then on the slot is trusted.
package slots

import (
	"errors"
	"fmt"
	"github.com/probe-appliance/probe/internal/atomicfile"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ESPLabel is the GPT name of the EFI system partition (firmware/disk.sh).
const ESPLabel = "PROBEBOOT"

// FromCmdline returns the probe.slot= value of a kernel command line.
func FromCmdline(cmdline string) string {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, "probe.slot="); ok && (v == "a" || v == "b") {
			return v
		}
	}
	return ""
}

// counted matches an entry with a boot counter: probe-a+2.conf, probe-a+0-3.conf.
var counted = regexp.MustCompile(`^probe-([ab])\+\d+(-\d+)?\.conf$`)

// Bless makes slot's entry permanent by dropping its boot counter. It
// reports whether there was a counter to drop.
func Bless(esp, slot string) (bool, error) {
	dir := filepath.Join(esp, "loader", "entries")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("slots: %w", err)
	}
	for _, e := range ents {
		m := counted.FindStringSubmatch(e.Name())
		if m == nil || m[1] != slot {
			continue
		}
		final := filepath.Join(dir, "probe-"+slot+".conf")
		if _, err := os.Stat(final); err == nil {
			return false, fmt.Errorf("slots: both %s and %s exist", e.Name(), filepath.Base(final))
		} else if !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("slots: %w", err)
		}
		if err := os.Rename(filepath.Join(dir, e.Name()), final); err != nil {
			return false, fmt.Errorf("slots: bless %s: %w", e.Name(), err)
		}
		return true, syncDir(dir)
	}
	return false, nil
}

// syncDir flushes a rename to the FAT before anyone pulls the power.
func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	return nil
}

// Other is the slot that is not s.
func Other(s string) string {
	if s == "a" {
		return "b"
	}
	return "a"
}

// entryName matches any entry of a slot, with or without a counter.
var entryName = regexp.MustCompile(`^probe-([ab])(\+\d+(-\d+)?)?\.conf$`)

// Install writes a new kernel and initramfs into slot (the inactive one)
// and gives it an entry that sorts before every other (a higher version)
// with tries boots on trial: the next boot tries it, and if it fails tries
// times systemd-boot goes back to the slot that works.
func Install(esp, slot, kernel, initrd string, tries int) error {
	if slot != "a" && slot != "b" {
		return fmt.Errorf("slots: no slot %q", slot)
	}
	for _, f := range []string{kernel, initrd} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			return fmt.Errorf("slots: %s missing or empty (%v): nothing changed", f, err)
		}
	}
	dir := filepath.Join(esp, "loader", "entries")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	version, options := 0, ""
	var old []string
	for _, e := range ents {
		m := entryName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return fmt.Errorf("slots: %w", err)
		}
		v, opts := parseEntry(string(raw))
		version = max(version, v)
		if m[1] == slot {
			old = append(old, e.Name())
		} else if opts != "" {
			options = opts // the running slot's command line, slot swapped below
		}
	}
	if options == "" {
		return fmt.Errorf("slots: no entry of slot %s to take the kernel command line from", Other(slot))
	}
	options = strings.ReplaceAll(options, "probe.slot="+Other(slot), "probe.slot="+slot)
	// The slot's old entry goes first: a half-copied slot must never be
	// bootable.
	for _, n := range old {
		if err := os.Remove(filepath.Join(dir, n)); err != nil {
			return fmt.Errorf("slots: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	sdir := filepath.Join(esp, slot)
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	for _, f := range [][2]string{{kernel, "vmlinuz"}, {initrd, "initrd"}} {
		if err := copySync(f[0], filepath.Join(sdir, f[1])); err != nil {
			return err
		}
	}
	entry := fmt.Sprintf("title Probe appliance (slot %s)\nsort-key probe\nversion %d\nlinux /%s/vmlinuz\ninitrd /%s/initrd\noptions %s\n",
		slot, version+1, slot, slot, options)
	name := fmt.Sprintf("probe-%s+%d.conf", slot, tries)
	if err := writeSync(filepath.Join(dir, name), []byte(entry)); err != nil {
		return err
	}
	return syncDir(dir)
}

// parseEntry reads a loader entry's version (integers only: ours) and
// options line.
func parseEntry(s string) (version int, options string) {
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch k {
		case "version":
			fmt.Sscanf(strings.TrimSpace(v), "%d", &version)
		case "options":
			options = strings.TrimSpace(v)
		}
	}
	return version, options
}

func copySync(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	return writeSync(dst, raw)
}

// writeSync replaces path's content durably (the old content or the new
// one after a power cut, never a torn file).
func writeSync(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	return nil
}
