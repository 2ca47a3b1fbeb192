package boottest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/firmware/qemu"
)

// flashDisk builds the flashable disk (firmware/disk.sh) with one boot try
// per slot, so a broken slot falls back at its first failure.
func flashDisk(t *testing.T, img string) string {
	t.Helper()
	disk := filepath.Join(t.TempDir(), "disk.img")
	img, err := filepath.Abs(img)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "firmware/disk.sh", img, "qemu-x86_64", disk, "512", "1")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("disk.sh: %v\n%s", err, out)
	}
	return disk
}

// espEntries lists the loader entries on the disk's ESP (1 MiB in).
func espEntries(t *testing.T, disk string) []string {
	t.Helper()
	cmd := exec.Command("mdir", "-b", "-i", disk+"@@1M", "::/loader/entries")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mdir: %v", err)
	}
	var names []string
	for _, l := range strings.Fields(string(out)) {
		names = append(names, filepath.Base(l))
	}
	slices.Sort(names)
	return names
}

func bootDisk(t *testing.T, disk string) *qemu.VM {
	t.Helper()
	vm, err := qemu.Start(qemu.Config{DataDisk: disk, Reboots: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		vm.Stop()
		if t.Failed() {
			t.Logf("console:\n%s", vm.ConsoleText())
		}
	})
	return vm
}

func expect(t *testing.T, vm *qemu.VM, re string, max time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	defer cancel()
	if _, _, err := vm.Expect(ctx, regexp.MustCompile(re), 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("%q after %.1f s", re, time.Since(vm.Started()).Seconds())
}

// A freshly flashed disk boots slot A through UEFI and systemd-boot, the
// data partition is created, and slot A is blessed once the probe answers.
func TestDiskBootsAndBlessesSlotA(t *testing.T) {
	img := image(t)
	disk := flashDisk(t, img)
	if got := espEntries(t, disk); !slices.Equal(got, []string{"probe-a+1.conf", "probe-b.conf"}) {
		t.Fatalf("flashed entries %v", got)
	}
	vm := bootDisk(t, disk)
	expect(t, vm, `slot "a"`, 3*time.Minute)
	expect(t, vm, `first boot: creating ext4 PROBEDATA on /dev/vda2`, time.Minute)
	expect(t, vm, `PROBE READY`, time.Minute)
	expect(t, vm, `slot a blessed`, time.Minute)
	vm.Stop()
	if got := espEntries(t, disk); !slices.Equal(got, []string{"probe-a.conf", "probe-b.conf"}) {
		t.Errorf("entries after a good boot %v, want slot A blessed", got)
	}
}

// Slot A broken (as by a bad update): its one try fails, the kernel panics
// and reboots, systemd-boot skips A and slot B comes up.
func TestDiskFallsBackToSlotB(t *testing.T) {
	img := image(t)
	disk := flashDisk(t, img)
	garbage := filepath.Join(t.TempDir(), "initrd")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not an initramfs\n", 4096)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("mcopy", "-o", "-i", disk+"@@1M", garbage, "::/a/initrd")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("corrupting slot A: %v %s", err, out)
	}
	vm := bootDisk(t, disk)
	expect(t, vm, `Kernel panic`, 3*time.Minute)
	expect(t, vm, `slot "b"`, 3*time.Minute)
	expect(t, vm, `PROBE READY`, time.Minute)
	expect(t, vm, `slot b already trusted`, time.Minute)
	vm.Stop()
	if got := espEntries(t, disk); !slices.Equal(got, []string{"probe-a+0-1.conf", "probe-b.conf"}) {
		t.Errorf("entries after the fallback %v, want A out of tries", got)
	}
}
