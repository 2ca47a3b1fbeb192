package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoProbeAPIRefusesExposureWithoutKey: asked to serve the goProbe API
// beyond loopback without a key, the probe says why and exits 1 (it never
// listens there, so the test stays on loopback).
func TestGoProbeAPIRefusesExposureWithoutKey(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 1)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		cmd := exec.Command(probeBin, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
			"--http-addr", "127.0.0.1", "--http-port", fmt.Sprint(freePort(t)), "--goprobe-api", addr)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "without an API key") || !strings.Contains(string(out), "--goprobe-api-insecure") {
			t.Errorf("%s: got %v, output %q; want exit 1 naming the key and --goprobe-api-insecure", addr, err, out)
		}
	}
}
