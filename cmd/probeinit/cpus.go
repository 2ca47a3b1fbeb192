package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// onlineCPUs brings up the CPUs the kernel left offline at boot (a board's
// maxcpus=1): loading modules on one CPU needs no cross-CPU
// synchronisation, which under emulation on a busy host waits for the
// other vCPU's thread to be scheduled at every module's text patching.
// It returns the CPUs it brought up.
func onlineCPUs(sysCPU string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(sysCPU, "cpu[0-9]*", "online"))
	if err != nil {
		return nil, err
	}
	var up []string
	var errs []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil || strings.TrimSpace(string(raw)) != "0" {
			continue
		}
		cpu := filepath.Base(filepath.Dir(f))
		if err := os.WriteFile(f, []byte("1"), 0o644); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", cpu, err))
			continue
		}
		up = append(up, cpu)
	}
	if len(errs) > 0 {
		return up, fmt.Errorf("bringing CPUs online: %s", strings.Join(errs, "; "))
	}
	return up, nil
}
