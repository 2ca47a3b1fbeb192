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
