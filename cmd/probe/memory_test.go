package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The memory limit comes from the flag, else from the machine's memory or
// its cgroup's limit, whichever is lower; odd files mean "unknown".
func TestMemoryLimitSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	meminfo := write("meminfo", "MemFree:  1000 kB\nMemTotal:       24576000 kB\nBuffers: 1 kB\n")
	cases := []struct {
		name string
		got  int64
		want int64
	}{
		{"meminfo", memTotal(meminfo), 24576000 * 1024},
		{"meminfo without MemTotal", memTotal(write("m2", "MemFree: 5 kB\n")), 0},
		{"meminfo garbage", memTotal(write("m3", "MemTotal: lots kB\n")), 0},
		{"no meminfo", memTotal(filepath.Join(dir, "none")), 0},
		{"cgroup limit", cgroupLimit(write("c1", "2147483648\n")), 2 << 30},
		{"cgroup without limit", cgroupLimit(write("c2", "max\n")), 0},
		{"no cgroup", cgroupLimit(filepath.Join(dir, "none")), 0},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		flag string
		want int64
	}{{"2GiB", 2 << 30}, {"512MB", 512e6}, {"0", 0}} {
		if n, err := memoryLimit(c.flag); err != nil || n != c.want {
			t.Errorf("--memory-limit %s: %d, %v; want %d", c.flag, n, err, c.want)
		}
	}
	if _, err := memoryLimit("lots"); err == nil {
		t.Error("--memory-limit lots: no error")
	}
	if n, err := memoryLimit(""); err != nil || n <= 0 {
		t.Errorf("automatic limit on this machine: %d, %v; want half its memory", n, err)
	}
}
