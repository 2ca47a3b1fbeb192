package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNDPIProtocolsFile reads a generated capture with --ndpi-protocols
// and checks over real HTTP that the file's custom protocols label the
// flows (get/flow/l7/counters) and are listed (get/l7/application/consts).
// writeCapture's connections go to 203.0.113.(1+i%7) on port 80 with Host
// web<i%7>.example, so the expected counts follow from how it was written.
func TestNDPIProtocolsFile(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "labs.pcap")
	const nConn = 21
	writeCapture(t, pcap, nConn)
	protos := writeFile(t, dir, "protos.txt", `# test file
ip:203.0.113.0/29@LabWeb
host:"web3.example"@WebThree
`)
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login", "--ndpi-protocols", protos)

	a := p.call(t, "GET", "/lua/rest/v1/get/flow/l7/counters.lua?ifid=0", "", nil)
	if a.status != 200 || a.env.RC != 0 {
		t.Fatalf("counters: %d %s", a.status, a.body)
	}
	var counters []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(a.env.Rsp, &counters); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range counters {
		got[c.Name] = c.Count
	}
	// Every 7th connection (i%7 == 3) names web3.example: the name's app
	// beats the address list's.
	want := map[string]int{"LabWeb": nConn - nConn/7, "WebThree": nConn / 7, "DNS": 1}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s: %d flows, want %d (all: %s)", name, got[name], n, a.env.Rsp)
		}
	}
	if len(got) != len(want) {
		t.Errorf("counters %s, want only %v", a.env.Rsp, want)
	}

	a = p.call(t, "GET", "/lua/rest/v1/get/l7/application/consts.lua", "", nil)
	var consts []struct {
		Name  string `json:"name"`
		ID    int    `json:"appl_id"`
		CatID int    `json:"cat_id"`
	}
	if err := json.Unmarshal(a.env.Rsp, &consts); err != nil {
		t.Fatal(err)
	}
	ids := map[string][2]int{}
	for _, c := range consts {
		ids[c.Name] = [2]int{c.ID, c.CatID}
	}
	// nDPI numbers new protocols after its last one (305), in file order.
	if ids["LabWeb"] != [2]int{306, 0} || ids["WebThree"] != [2]int{307, 0} || ids["TLS"] != [2]int{91, 5} {
		t.Errorf("consts: LabWeb %v WebThree %v TLS %v", ids["LabWeb"], ids["WebThree"], ids["TLS"])
	}

	// Flow lists and host data name the custom protocols too, and the
	// application filter finds them.
	a = p.call(t, "GET", "/lua/rest/v1/get/flow/active.lua?ifid=0&perPage=100&application=WebThree", "", nil)
	var fa struct {
		TotalRows int `json:"totalRows"`
		Data      []struct {
			Protocol struct {
				L7 string `json:"l7"`
			} `json:"protocol"`
			Server struct {
				IP string `json:"ip"`
			} `json:"server"`
		} `json:"data"`
	}
	if err := json.Unmarshal(a.env.Rsp, &fa); err != nil || fa.TotalRows != nConn/7 || len(fa.Data) == 0 {
		t.Fatalf("flow/active application=WebThree: %v %s", err, a.env.Rsp)
	}
	for _, f := range fa.Data {
		if !strings.HasSuffix(f.Protocol.L7, ".WebThree") && f.Protocol.L7 != "WebThree" {
			t.Errorf("flow to %s named %q, want WebThree", f.Server.IP, f.Protocol.L7)
		}
	}
	a = p.call(t, "GET", "/lua/rest/v1/get/host/data.lua?ifid=0&host="+fa.Data[0].Server.IP, "", nil)
	var hd struct {
		NDPI map[string]any `json:"ndpi"`
	}
	if err := json.Unmarshal(a.env.Rsp, &hd); err != nil || hd.NDPI["WebThree"] == nil {
		t.Errorf("host data ndpi of %s lacks WebThree: %s", fa.Data[0].Server.IP, a.env.Rsp)
	}
}

func TestNDPIProtocolsFileErrorStopsStart(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeCapture(t, pcap, 1)
	bad := writeFile(t, dir, "bad.txt", "tcp:81@HTTP\n\nip:10.0.0.1/40@X\n")
	cmd := exec.Command(probeBin, "-i", pcap, "--ndpi-protocols", bad, "--data-dir", filepath.Join(dir, "db"),
		"--http-port", fmt.Sprint(freePort(t)), "--goprobe-api", "")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), bad+":3:12:") {
		t.Errorf("got %v, output %q; want exit 1 naming %s:3:12", err, out, bad)
	}
}

// TestNoDPI: with --no-dpi payloads are not inspected, so the file's
// host-name rule (web3.example, from the HTTP Host header) labels nothing
// while its address rule, which needs no payload, labels every connection.
func TestNoDPI(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "labs.pcap")
	const nConn = 21
	writeCapture(t, pcap, nConn)
	protos := writeFile(t, dir, "protos.txt", "ip:203.0.113.0/29@LabWeb\nhost:\"web3.example\"@WebThree\n")
	p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login", "--ndpi-protocols", protos, "--no-dpi")
	a := p.call(t, "GET", "/lua/rest/v1/get/flow/l7/counters.lua?ifid=0", "", nil)
	var counters []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(a.env.Rsp, &counters); err != nil {
		t.Fatalf("counters %d %s: %v", a.status, a.body, err)
	}
	got := map[string]int{}
	for _, c := range counters {
		got[c.Name] = c.Count
	}
	if got["LabWeb"] != nConn || got["WebThree"] != 0 {
		t.Errorf("counters %s: want LabWeb %d, WebThree 0", a.env.Rsp, nConn)
	}
}
