package main

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/firmware/appliance"
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

// TestApplianceDefaultsKeepGoProbeOnLoopback runs the probe with the
// command line the appliance builds from its settings (an old stored
// "0.0.0.0" address, no key): the goProbe API answers on 127.0.0.1 and not
// on 127.0.0.2, so it is bound to loopback alone, not to every address.
func TestApplianceDefaultsKeepGoProbeOnLoopback(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 1)
	port := freePort(t)
	c := appliance.Default()
	c.GoProbeAPI = fmt.Sprintf("0.0.0.0:%d", port)
	c.HTTPPlain, c.HTTPPort = true, freePort(t) // no certificate needed here
	args := append([]string{"-i", pcap, "--disable-login"}, c.CommandLine(filepath.Join(dir, "db"), nil, appliance.TLSFiles{})...)
	startProbe(t, args...)
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/stats/packets", port))
	if err != nil {
		t.Fatalf("goProbe API on 127.0.0.1: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("goProbe API on 127.0.0.1: %d", resp.StatusCode)
	}
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.2:%d", port), 2*time.Second); err == nil {
		conn.Close()
		t.Errorf("goProbe API accepts connections on 127.0.0.2: bound beyond 127.0.0.1")
	}
}
