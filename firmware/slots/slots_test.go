package slots

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFromCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"console=ttyS0 probe.slot=b quiet": "b",
		"probe.slot=a":                     "a",
		"probe.slot=c":                     "",
		"console=ttyS0":                    "",
		"xprobe.slot=a":                    "",
	} {
		if got := FromCmdline(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestBless(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   []string
		slot    string
		changed bool
		after   []string
	}{
		{"fresh counter", []string{"probe-a+3.conf", "probe-b.conf"}, "a", true, []string{"probe-a.conf", "probe-b.conf"}},
		{"partly used counter", []string{"probe-a+1-2.conf", "probe-b.conf"}, "a", true, []string{"probe-a.conf", "probe-b.conf"}},
		{"the other slot is left alone", []string{"probe-a+0-3.conf", "probe-b+2-1.conf"}, "b", true, []string{"probe-a+0-3.conf", "probe-b.conf"}},
		{"already blessed", []string{"probe-a.conf", "probe-b.conf"}, "a", false, []string{"probe-a.conf", "probe-b.conf"}},
	} {
		esp := t.TempDir()
		dir := filepath.Join(esp, "loader", "entries")
		os.MkdirAll(dir, 0o755)
		for _, f := range tc.files {
			os.WriteFile(filepath.Join(dir, f), []byte("title "+f), 0o644)
		}
		changed, err := Bless(esp, tc.slot)
		if err != nil || changed != tc.changed {
			t.Errorf("%s: changed=%v err=%v", tc.name, changed, err)
		}
		ents, _ := os.ReadDir(dir)
		var got []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		if !slices.Equal(got, tc.after) {
			t.Errorf("%s: entries %v, want %v", tc.name, got, tc.after)
		}
	}
	if _, err := Bless(t.TempDir(), "a"); err == nil {
		t.Error("no loader directory: no error")
	}
}

func TestInstall(t *testing.T) {
	esp := t.TempDir()
	dir := filepath.Join(esp, "loader", "entries")
	os.MkdirAll(dir, 0o755)
	os.MkdirAll(filepath.Join(esp, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "probe-a.conf"), []byte("title A\nsort-key probe\nversion 2\nlinux /a/vmlinuz\ninitrd /a/initrd\noptions console=ttyS0 panic=5 probe.slot=a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "probe-b+0-1.conf"), []byte("title B\nsort-key probe\nversion 1\noptions console=ttyS0 probe.slot=b\n"), 0o644)
	os.WriteFile(filepath.Join(esp, "b", "vmlinuz"), []byte("old kernel"), 0o644)
	src := t.TempDir()
	k, i := filepath.Join(src, "k"), filepath.Join(src, "i")
	os.WriteFile(k, []byte("new kernel"), 0o644)
	os.WriteFile(i, []byte("new initrd"), 0o644)

	if err := Install(esp, "b", k, i, 3); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"probe-a.conf", "probe-b+3.conf"}) {
		t.Fatalf("entries %v", names)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "probe-b+3.conf"))
	want := "title Probe appliance (slot b)\nsort-key probe\nversion 3\nlinux /b/vmlinuz\ninitrd /b/initrd\noptions console=ttyS0 panic=5 probe.slot=b\n"
	if string(raw) != want {
		t.Errorf("entry:\n%s\nwant:\n%s", raw, want)
	}
	for f, w := range map[string]string{"b/vmlinuz": "new kernel", "b/initrd": "new initrd"} {
		if got, _ := os.ReadFile(filepath.Join(esp, f)); string(got) != w {
			t.Errorf("%s = %q", f, got)
		}
	}
	if err := Install(esp, "c", k, i, 3); err == nil {
		t.Error("slot c accepted")
	}
	if err := Install(esp, "a", filepath.Join(src, "missing"), i, 3); err == nil {
		t.Error("a missing kernel accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "probe-a.conf")); err != nil {
		t.Errorf("a failed install removed the slot's entry: %v", err)
	}
}
