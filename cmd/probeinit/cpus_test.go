package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestOnlineCPUs(t *testing.T) {
	sys := t.TempDir()
	for cpu, state := range map[string]string{"cpu1": "0\n", "cpu2": "1\n", "cpu3": "0\n"} {
		if err := os.MkdirAll(filepath.Join(sys, cpu), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, cpu, "online"), []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// cpu0 has no online file (the boot CPU cannot go offline); cpufreq is
	// no CPU.
	os.MkdirAll(filepath.Join(sys, "cpu0"), 0o755)
	os.MkdirAll(filepath.Join(sys, "cpufreq"), 0o755)
	up, err := onlineCPUs(sys)
	if err != nil || !slices.Equal(up, []string{"cpu1", "cpu3"}) {
		t.Fatalf("onlineCPUs = %v %v, want cpu1 cpu3", up, err)
	}
	for _, cpu := range []string{"cpu1", "cpu2", "cpu3"} {
		if raw, _ := os.ReadFile(filepath.Join(sys, cpu, "online")); string(raw)[0] != '1' {
			t.Errorf("%s online = %q", cpu, raw)
		}
	}
	if up, err := onlineCPUs(sys); err != nil || len(up) != 0 {
		t.Errorf("second call: %v %v, want nothing to do", up, err)
	}
}
