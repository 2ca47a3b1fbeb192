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
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("slots: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("slots: sync %s: %w", dir, err)
	}
	return nil
}
