package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/fixture"
)

// debianPython is Debian's interpreter, whose python3-requests and
// python3-pandas scripts/install-deps.sh installs (a python3 earlier on
// PATH, such as a pyenv shim, may not have them).
const debianPython = "/usr/bin/python3"

// pythonWithModules is Debian's python3 if it imports every module, else
// the test is skipped (failed under CI).
func pythonWithModules(t *testing.T, mods ...string) string {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		fixture.Missing(t, "%s is not installed (scripts/install-deps.sh installs python3-requests and python3-pandas): %v", debianPython, err)
	}
	for _, m := range mods {
		if out, err := exec.Command(debianPython, "-c", "import "+m).CombinedOutput(); err != nil {
			fixture.Missing(t, "python module %s is missing (scripts/install-deps.sh installs it): %v %s", m, err, out)
		}
	}
	return debianPython
}

// TestNtopPythonAPI runs ntop's own Python API, unchanged
// (../shared/clients/ntopng-python), against a probe that read a capture
// the test wrote, with Basic and with Token credentials, through
// testdata/ntopng_client.py: it connects (connect/test.lua must answer
// JSON), then every method of its Ntopng, Interface and Host classes that
// the probe serves must return data, and the numbers must be the
// capture's; so must its Historical class's alert counters and stored
// flow queries (time series and alert lists are not served yet).
func TestNtopPythonAPI(t *testing.T) {
	py := pythonWithModules(t, "requests", "pandas")
	client := fixture.Shared(t, "clients/ntopng-python")
	driver, err := filepath.Abs("testdata/ntopng_client.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pcap := filepath.Join(dir, "demo.pcap")
	tr := writeCapture(t, pcap, 20)
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(dir, "db"))
	admin := basic("admin", testAdminPassword)

	a := p.call(t, "POST", "/lua/rest/v2/create/ntopng/api_token.lua", `{"username":"admin"}`,
		map[string]string{"Content-Type": "application/json", "Authorization": admin["Authorization"]})
	var tok struct {
		Token string `json:"api_token"`
	}
	if err := json.Unmarshal(a.env.Rsp, &tok); err != nil || tok.Token == "" {
		t.Fatalf("v2 api_token: %d %s", a.status, a.body)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", p.port)
	// The capture starts at 2026-03-01 10:00 UTC and lasts under a second.
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Unix()
	span := []string{fmt.Sprint(start - 3600), fmt.Sprint(start + 3600)}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"basic", []string{"basic", "admin", testAdminPassword}},
		{"token", []string{"token", tok.Token}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, append([]string{driver, url, span[0], span[1]}, c.args...)...)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+client, "PYTHONDONTWRITEBYTECODE=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("the Python API: %v\n%s", err, stderr.String())
			}
			var out map[string]struct {
				Rsp   json.RawMessage `json:"rsp"`
				Error string          `json:"error"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("driver output: %v: %s", err, stdout.Bytes())
			}
			if len(out) != 31 {
				t.Errorf("%d calls answered, the driver makes 31", len(out))
			}
			for name, r := range out {
				if r.Error != "" {
					t.Errorf("%s: %s", name, r.Error)
				}
			}
			rsp := func(name string, v any) {
				t.Helper()
				if err := json.Unmarshal(out[name].Rsp, v); err != nil {
					t.Errorf("%s: %v in %s", name, err, out[name].Rsp)
				}
			}

			var ifs []map[string]any
			rsp("ntopng.get_interfaces_list", &ifs)
			if len(ifs) != 1 || ifs[0]["ifid"] != float64(0) || ifs[0]["ifname"] != "demo.pcap" {
				t.Errorf("interfaces: %v", ifs)
			}
			var ifd map[string]any
			rsp("interface.get_data", &ifd)
			if ifd["packets"] != float64(tr.packets) || ifd["num_flows"] != float64(tr.flows) || ifd["num_hosts"] != float64(len(tr.hostBytes)) {
				t.Errorf("interface data: packets %v flows %v hosts %v, want %d %d %d", ifd["packets"], ifd["num_flows"], ifd["num_hosts"], tr.packets, tr.flows, len(tr.hostBytes))
			}
			var hosts struct {
				Data []struct {
					IP    string `json:"ip"`
					Bytes struct {
						Sent  int `json:"sent"`
						Recvd int `json:"recvd"`
					} `json:"bytes"`
				} `json:"data"`
			}
			rsp("interface.get_active_hosts_paginated", &hosts)
			if len(hosts.Data) != len(tr.hostBytes) {
				t.Errorf("active hosts: %d, want %d", len(hosts.Data), len(tr.hostBytes))
			}
			for _, h := range hosts.Data {
				if w := tr.hostBytes[h.IP]; h.Bytes.Sent != w[0] || h.Bytes.Recvd != w[1] {
					t.Errorf("host %s bytes %d/%d, want %d/%d", h.IP, h.Bytes.Sent, h.Bytes.Recvd, w[0], w[1])
				}
			}
			var flows struct {
				TotalRows int `json:"totalRows"`
			}
			rsp("interface.get_active_flows_paginated", &flows)
			if flows.TotalRows != tr.flows {
				t.Errorf("active flows: %d, want %d", flows.TotalRows, tr.flows)
			}
			rsp("host.get_active_flows_paginated", &flows)
			if flows.TotalRows != 5 { // 192.168.1.10: 4 TCP connections and the DNS flow
				t.Errorf("active flows of 192.168.1.10: %d, want 5", flows.TotalRows)
			}
			var l4 []struct{ ID, Count int }
			rsp("interface.get_active_l4_proto_flow_counters", &l4)
			got := map[int]int{}
			for _, x := range l4 {
				got[x.ID] = x.Count
			}
			if len(got) != 2 || got[6] != tr.tcpFlows || got[17] != tr.udpFlows {
				t.Errorf("l4 counters %v, want TCP %d UDP %d", got, tr.tcpFlows, tr.udpFlows)
			}
			w := tr.hostBytes["192.168.1.10"]
			for _, name := range []string{"interface.get_host_data", "host.get_host_data"} {
				var hd map[string]any
				rsp(name, &hd)
				if hd["bytes.sent"] != float64(w[0]) || hd["bytes.rcvd"] != float64(w[1]) {
					t.Errorf("%s: bytes %v/%v, want %d/%d", name, hd["bytes.sent"], hd["bytes.rcvd"], w[0], w[1])
				}
			}
			if s := normJSON(t, out["ntopng.get_host_interfaces_list"].Rsp); s != `{"192.168.1.10":[{"ifid":0}]}` {
				t.Errorf("host interfaces: %s", s)
			}
			for _, name := range []string{"ntopng.get_alert_types", "ntopng.get_alert_severities", "interface.get_l7_application_proto_enum",
				"interface.get_l7_application_category_enum", "interface.get_l4_protocols_enum"} {
				var list []any
				rsp(name, &list)
				if len(list) < 5 {
					t.Errorf("%s: %d entries: %.200s", name, len(list), out[name].Rsp)
				}
			}
			var stored []map[string]any
			rsp("historical.get_flows", &stored)
			var total float64
			for _, r := range stored {
				b, _ := r["TOTAL_BYTES"].(float64)
				total += b
			}
			if len(stored) != tr.flows || int(total) != tr.wireBytes-tr.nonIP[1] {
				t.Errorf("stored flows: %d rows, %v bytes; want %d, %d: %.300s", len(stored), total, tr.flows, tr.wireBytes-tr.nonIP[1], out["historical.get_flows"].Rsp)
			}
			var topk []any
			rsp("historical.get_topk_flows", &topk)
			if len(topk) == 0 {
				t.Errorf("top-k of stored TCP flows: empty: %s", out["historical.get_topk_flows"].Rsp)
			}
			if s := string(out["interface.get_l4_protocols_enum"].Rsp); !strings.Contains(s, `"TCP"`) || !strings.Contains(s, `"UDP"`) {
				t.Errorf("l4 protocols: %.300s", s)
			}
		})
	}
}
