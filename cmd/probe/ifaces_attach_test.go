package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/testnet"
)

// TestInterfacesListedWhileAttaching: from the first answer of the REST API
// on, the interface list names the live interface, and get/interface/data
// says "attaching" until XDP is attached, then the attach mode. A client that
// polls the API right after "PROBE READY" never sees an empty list.
func TestInterfacesListedWhileAttaching(t *testing.T) {
	pair := testnet.VethPair(t)
	port := freePort(t)
	cmd := exec.Command(probeBin, "-i", pair.Capture, "--capture-mode", "xdp", "--disable-login",
		"--data-dir", filepath.Join(t.TempDir(), "db"), "--http-port", fmt.Sprint(port), "--http-addr", "127.0.0.1",
		"--goprobe-api", "")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	base := fmt.Sprintf("http://127.0.0.1:%d/lua/rest/v1/", port)
	cli := &http.Client{Timeout: 2 * time.Second}
	get := func(path string, v any) bool {
		resp, err := cli.Get(base + path)
		if err != nil {
			return false // not listening yet
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var env struct {
			Rc  int             `json:"rc"`
			Rsp json.RawMessage `json:"rsp"`
		}
		if err := json.Unmarshal(b, &env); err != nil || env.Rc != 0 {
			t.Fatalf("GET %s: rc or body not ntopng's: %s", path, b)
		}
		if err := json.Unmarshal(env.Rsp, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, env.Rsp)
		}
		return true
	}
	var modes []string // capture modes seen, in order, without repeats
	answered := false
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var list []struct {
			IfID   int    `json:"ifid"`
			IfName string `json:"ifname"`
		}
		if !get("get/ntopng/interfaces.lua", &list) {
			if answered {
				t.Fatalf("REST stopped answering; probe output:\n%s", out)
			}
			time.Sleep(5 * time.Millisecond)
			continue
		}
		answered = true
		if len(list) != 1 || list[0].IfName != pair.Capture || list[0].IfID != 0 {
			t.Fatalf("interface list %+v once REST answers, want only %s as ifid 0", list, pair.Capture)
		}
		var data struct {
			CaptureMode string `json:"capture_mode"`
		}
		if !get("get/interface/data.lua?ifid=0", &data) {
			t.Fatalf("REST stopped answering; probe output:\n%s", out)
		}
		if len(modes) == 0 || modes[len(modes)-1] != data.CaptureMode {
			modes = append(modes, data.CaptureMode)
		}
		if strings.HasPrefix(data.CaptureMode, "xdp-") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("capture modes seen: %v", modes)
	if len(modes) == 0 || !strings.HasPrefix(modes[len(modes)-1], "xdp-") {
		t.Fatalf("XDP never attached within 30 s (modes %v); probe output:\n%s", modes, out)
	}
	for _, m := range modes[:len(modes)-1] {
		if m != "attaching" {
			t.Errorf("capture mode %q before XDP attached, want attaching (modes %v)", m, modes)
		}
	}
}
