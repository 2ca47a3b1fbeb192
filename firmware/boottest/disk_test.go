package boottest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
// and blesses it. A wrong checksum, a missing signature and a signature by
// a key the image does not trust are refused and change nothing.
func TestDiskUpdateOverREST(t *testing.T) {
	img := image(t)
	disk := flashDisk(t, img)
	vm := bootDisk(t, disk)
	expect(t, vm, `slot a blessed`, 3*time.Minute)

	// The update: this very image as the build signed it (vmlinuz and the
	// zstd initramfs, each with its .sig, in update/).
	files := filepath.Join(img, "update")
	sig := func(name string) string {
		raw, err := os.ReadFile(filepath.Join(files, name+".sig"))
		if err != nil {
			t.Fatalf("%v (firmware/build.sh signs the update)", err)
		}
		return strings.TrimSpace(string(raw))
	}
	// A key the image does not trust signs the same files.
	_, stranger, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	strangerSig := func(name string) string {
		raw, err := os.ReadFile(filepath.Join(files, name))
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(ed25519.Sign(stranger, raw))
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
	body := func(kernelSum, kernelSig, initrdSig string) string {
		b, _ := json.Marshal(map[string]string{
			"kernel_url": url + "vmlinuz", "kernel_sha256": kernelSum, "kernel_sig": kernelSig,
			"initrd_url": url + "initrd", "initrd_sha256": fileSum(t, filepath.Join(files, "initrd")), "initrd_sig": initrdSig,
		})
		return string(b)
	}
	kernelSum := fileSum(t, filepath.Join(files, "vmlinuz"))
	pinConsole(t, vm)
	base := restBase(vm)
	loginAdmin(t, base)

	for _, tc := range []struct {
		name, body, says string
	}{
		{"wrong checksum", body(strings.Repeat("0", 64), sig("vmlinuz"), sig("initrd")), "sha256 is"},
		{"no signature", body(kernelSum, "", sig("initrd")), "signature missing"},
		{"wrong signature", body(kernelSum, sig("vmlinuz"), strangerSig("initrd")), "not by a key this appliance trusts"},
	} {
		st, b := callWithin(3*time.Minute, base, "POST", "/appliance/v1/update", tc.body, basicAuth)
		if st != 400 || !strings.Contains(string(b), "INVALID_ARGUMENTS") || !strings.Contains(string(b), tc.says) {
			t.Fatalf("update with a %s: %d %s", tc.name, st, b)
		}
		t.Logf("update with a %s refused: %s", tc.name, b)
	}
	if st, _ := call(base, "GET", "/lua/rest/v1/get/ntopng/interfaces.lua", "", basicAuth); st != 200 {
		t.Fatalf("REST after refused updates: %d", st)
	}
	if strings.Contains(vm.ConsoleText(), "update installed") {
		t.Fatal("a refused update was installed")
	}
	if st, b := call(base, "POST", "/appliance/v1/update", body(kernelSum, sig("vmlinuz"), sig("initrd")), nil); st == 200 {
		t.Fatalf("update without credentials accepted: %s", b)
	}

	// Under emulation the download and the signature checks take seconds.
	began := time.Now()
	st, b := callWithin(3*time.Minute, base, "POST", "/appliance/v1/update", body(kernelSum, sig("vmlinuz"), sig("initrd")), basicAuth)
	t.Logf("update staged (downloaded, sha256 and signatures checked) in %.1f s", time.Since(began).Seconds())
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
