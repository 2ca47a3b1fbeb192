package kmod

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A module tree in depmod's format (the real one comes from Debian's
// package at image build time; this one pins the resolution rules).
func tree(t *testing.T) *Tree {
	dir := t.TempDir()
	dep := `kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/net/core/failover.ko:
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/lib/crc16.ko:
kernel/fs/mbcache.ko:
kernel/fs/jbd2/jbd2.ko:
`
	for name, body := range map[string]string{"modules.dep": dep, "modules.builtin": "kernel/drivers/block/loop.ko\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(dep), "\n") {
		mod, _, _ := strings.Cut(line, ":")
		p := filepath.Join(dir, mod)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("ko:"+mod), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestResolve(t *testing.T) {
	tr := tree(t)
	got, err := tr.Resolve([]string{"virtio_net", "virtio-rng", "virtio_rng", "loop"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko",
		"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko",
		"kernel/drivers/net/virtio_net.ko", "kernel/drivers/char/hw_random/virtio-rng.ko",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if _, err := tr.Resolve([]string{"virtio_net", "no_such_module"}); err == nil || !strings.Contains(err.Error(), `"no_such_module"`) {
		t.Errorf("unknown module: %v", err)
	}
}

func TestStage(t *testing.T) {
	tr := tree(t)
	mods, err := tr.Resolve([]string{"ext4"})
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "lib", "modules", "6.1.0-test")
	if err := tr.Stage(dst, mods); err != nil {
		t.Fatal(err)
	}
	dep, err := os.ReadFile(filepath.Join(dst, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	wantDep := "kernel/lib/crc16.ko:\nkernel/fs/mbcache.ko:\nkernel/fs/jbd2/jbd2.ko:\nkernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
	if string(dep) != wantDep {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", dep, wantDep)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "kernel/fs/jbd2/jbd2.ko")); err != nil || string(b) != "ko:kernel/fs/jbd2/jbd2.ko" {
		t.Errorf("copied module: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dst, "kernel/drivers/net/virtio_net.ko")); err == nil {
		t.Error("a module nobody asked for was staged")
	}
	// The staged tree opens again and resolves the same way (what the
	// image's loader does with it).
	staged, err := Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	again, err := staged.Resolve([]string{"ext4"})
	if err != nil || !slices.Equal(again, mods) {
		t.Errorf("staged tree resolves %v %v, want %v", again, err, mods)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "depmod") {
		t.Errorf("no modules.dep: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(": nothing\n"), 0o644)
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad modules.dep: %v", err)
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/char/hw_random/virtio-rng.ko": "virtio_rng",
		"ext4.ko.xz": "ext4", "virtio-net": "virtio_net", "veth": "veth",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
