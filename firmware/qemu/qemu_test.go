package qemu

import (
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// A real line's shape: the command name may hold spaces and ')'.
	line := "4242 (qemu-system-x86 (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 5 0 123 0 0"
	got, err := statCPU(line)
	if err != nil || got != 2810*time.Millisecond {
		t.Errorf("statCPU = %v %v, want 2.81s", got, err)
	}
	if _, err := statCPU("4242 qemu S 1"); err == nil {
		t.Error("no error for a line without a command name")
	}
	if _, err := statCPU("4242 (q) S 1 2 3"); err == nil {
		t.Error("no error for a short line")
	}
}
