package boottest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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
	out := mtools(t, "mdir", "-b", "-i", disk+"@@1M", "::/loader/entries")
	var names []string
	for _, l := range strings.Fields(string(out)) {
		names = append(names, filepath.Base(l))
	}
	slices.Sort(names)
	return names
}

func bootDisk(t *testing.T, disk string) *qemu.VM {
	t.Helper()
	return startVM(t, qemu.Config{DataDisk: disk, Reboots: true})
}

// mtools runs an mtools command on the disk's ESP (1 MiB in).
func mtools(t *testing.T, cmd string, args ...string) []byte {
	t.Helper()
	c := exec.Command(cmd, args...)
	c.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return out
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
	// Flashed onto a disk twice the image's size: the data partition grows.
	if err := os.Truncate(disk, 1<<30); err != nil {
		t.Fatal(err)
	}
	vm := bootDisk(t, disk)
	expect(t, vm, `slot "a"`, 3*time.Minute)
	// 1024 MiB disk - 1 MiB GPT - 192 MiB ESP - 1 MiB for the backup GPT.
	expect(t, vm, `PROBEDATA grown to the end of the disk: 830 MiB`, time.Minute)
	expect(t, vm, `first boot: creating ext4 PROBEDATA on /dev/vda2`, time.Minute)
	// The file system has the grown size (less ext4's journal and tables;
	// not grown it would be about 300 MiB).
	expect(t, vm, `mounted on /perm: (7[5-9][0-9]|8[0-2][0-9]) MiB file system`, time.Minute)
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
	mtools(t, "mcopy", "-o", "-i", disk+"@@1M", garbage, "::/a/initrd")
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

// A firmware update over REST: downloaded from a server by the appliance,
// checked, written into the other slot on trial; the box reboots into it
// and blesses it. A wrong checksum is refused and changes nothing.
func TestDiskUpdateOverREST(t *testing.T) {
	img := image(t)
	disk := flashDisk(t, img)
	vm := bootDisk(t, disk)
	expect(t, vm, `slot a blessed`, 3*time.Minute)

	// The update: this very image, the initramfs compressed as on the disk.
	files := t.TempDir()
	initrd := filepath.Join(files, "initrd")
	if out, err := exec.Command("zstd", "-q", "-3", "-f", filepath.Join(img, "probe.cpio"), "-o", initrd).CombinedOutput(); err != nil {
		t.Fatalf("zstd: %v %s", err, out)
	}
	if err := copyFile(filepath.Join(img, "vmlinuz"), filepath.Join(files, "vmlinuz")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(files))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// QEMU's user network shows the host's loopback to the guest as 10.0.2.2.
	url := fmt.Sprintf("http://10.0.2.2:%d/", ln.Addr().(*net.TCPAddr).Port)
	body := func(kernelSum string) string {
		b, _ := json.Marshal(map[string]string{
			"kernel_url": url + "vmlinuz", "kernel_sha256": kernelSum,
			"initrd_url": url + "initrd", "initrd_sha256": fileSum(t, initrd),
		})
		return string(b)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", vm.RESTPort)
	loginAdmin(t, base)

	st, b := call(base, "POST", "/appliance/v1/update", body(strings.Repeat("0", 64)), basicAuth)
	if st != 400 || !strings.Contains(string(b), "INVALID_ARGUMENTS") || !strings.Contains(string(b), "sha256 is") {
		t.Fatalf("update with a wrong checksum: %d %s", st, b)
	}
	if st, _ := call(base, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basicAuth); st != 200 {
		t.Fatalf("REST after a refused update: %d", st)
	}
	if st, b := call(base, "POST", "/appliance/v1/update", body(fileSum(t, filepath.Join(files, "vmlinuz"))), nil); st == 200 {
		t.Fatalf("update without credentials accepted: %s", b)
	}

	st, b = call(base, "POST", "/appliance/v1/update", body(fileSum(t, filepath.Join(files, "vmlinuz"))), basicAuth)
	if st != 200 || !strings.Contains(string(b), `"staged":true`) {
		t.Fatalf("update: %d %s", st, b)
	}
	expect(t, vm, `update installed into slot b`, time.Minute)
	expect(t, vm, `slot "b"`, 3*time.Minute)
	expect(t, vm, `slot b blessed`, 2*time.Minute)
	vm.Stop()
	if got := espEntries(t, disk); !slices.Equal(got, []string{"probe-a.conf", "probe-b.conf"}) {
		t.Errorf("entries after the update %v", got)
	}
	if out := mtools(t, "mtype", "-i", disk+"@@1M", "::/loader/entries/probe-b.conf"); !strings.Contains(string(out), "version 3\n") || !strings.Contains(string(out), "probe.slot=b") {
		t.Errorf("slot b entry:\n%s", out)
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

func copyFile(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, raw, 0o644)
}
