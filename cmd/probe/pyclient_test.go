package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/internal/communityid"
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

// TestNtopPythonAPI runs ntop's Python API, unchanged
// (../shared/clients/ntopng-python), against a probe that read a capture
// the test wrote (writeCapture, and one unanswered SYN that raises a flow
// alert), with Basic and with Token credentials, through
// testdata/ntopng_client.py: it connects (connect/test.lua must answer
// JSON), then calls every public method of its Ntopng, Interface, Host
// and Historical classes as the library's own code calls them, and the
// answers must be the capture's.
//
// Left to pyclient_ts_test.go (the time-series engineer's): Historical's
// get_timeseries*, get_*_timeseries*, get_timeseries_metadata,
// timeseries_to_pandas, get_host_top_protocols (pro
// get/host/top/ts_stats.lua) and self_test (it draws time series).
// Interface.self_test cannot pass against any server (see below); the
// internals issue_request, request, post_request... run in every call.
func TestNtopPythonAPI(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "demo.pcap")
	tr := writeCapture(t, pcap, 20)
	synLen := appendUnanswered(t, pcap, &tr)
	p := startProbe(t, "-i", pcap, "-m", "192.168.1.0/24", "--data-dir", filepath.Join(dir, "db"))
	url := fmt.Sprintf("http://127.0.0.1:%d", p.port)
	// The capture starts at 2026-03-01 10:00 UTC and lasts under a second.
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Unix()
	span := []string{fmt.Sprint(start - 3600), fmt.Sprint(start + 3600)}
	runNtopPythonAPI(t, p, "testdata/ntopng_client.py", span, func(t *testing.T, out map[string]pyAnswer) {
		if len(out) != driverCalls {
			t.Errorf("%d calls answered, the driver makes %d", len(out), driverCalls)
		}
		for name, r := range out {
			if r.Error != "" && name != "interface.self_test" {
				t.Errorf("%s: %s", name, r.Error)
			}
		}
		// Interface.self_test calls get_active_hosts() without the
		// argument its second definition (which replaces the first)
		// takes: a TypeError the library turns into "Invalid interface
		// ID specified", whatever the server answers. Every call it
		// makes before that one must have passed.
		if e := out["interface.self_test"].Error; !strings.Contains(e, "Invalid interface ID specified") || !strings.Contains(e, "Active Hosts ----") {
			t.Errorf("interface.self_test: %s", e)
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
		if flows.TotalRows != 6 { // 192.168.1.10: 4 TCP connections, the DNS flow, the unanswered SYN
			t.Errorf("active flows of 192.168.1.10: %d, want 6", flows.TotalRows)
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
		checkPythonAPIv2(t, out, url, tr, synLen)
	})
}

// runNtopPythonAPI runs a driver of ntop's Python API (under testdata,
// with Debian's python3 and the unchanged library of
// ../shared/clients/ntopng-python) against the probe, as
// "driver URL args... basic admin PASSWORD" and "driver URL args... token
// TOKEN" (admin's v2 API token, made here), each in a subtest, and hands
// check each run's answers by call name.
func runNtopPythonAPI(t *testing.T, p *probeProc, driver string, args []string, check func(t *testing.T, out map[string]pyAnswer)) {
	t.Helper()
	py := pythonWithModules(t, "requests", "pandas")
	client := fixture.Shared(t, "clients/ntopng-python")
	driver, err := filepath.Abs(driver)
	if err != nil {
		t.Fatal(err)
	}
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
	for _, c := range []struct {
		name string
		auth []string
	}{
		{"basic", []string{"basic", "admin", testAdminPassword}},
		{"token", []string{"token", tok.Token}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			argv := append(append([]string{driver, url}, args...), c.auth...)
			cmd := exec.CommandContext(ctx, py, argv...)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+client, "PYTHONDONTWRITEBYTECODE=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("the Python API: %v\n%s", err, stderr.String())
			}
			var out map[string]pyAnswer
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("driver output: %v: %s", err, stdout.Bytes())
			}
			check(t, out)
		})
	}
}

// driverCalls is the number of calls testdata/ntopng_client.py makes.
const driverCalls = 59

// pyAnswer is one call of the driver: its rsp, or the error it raised.
type pyAnswer = struct {
	Rsp   json.RawMessage `json:"rsp"`
	Error string          `json:"error"`
}

// checkPythonAPIv2 checks the answers of the v2-only calls against the
// capture: the methods of the four classes that read alerts, broadcast
// domains and conversations, and the ones that only build objects.
func checkPythonAPIv2(t *testing.T, out map[string]pyAnswer, url string, tr truth, synLen int) {
	t.Helper()
	rsp := func(name string, v any) {
		t.Helper()
		if err := json.Unmarshal(out[name].Rsp, v); err != nil {
			t.Errorf("%s: %v in %.300s", name, err, out[name].Rsp)
		}
	}
	for name, want := range map[string]string{
		"ntopng.get_url": strconv.Quote(url), "ntopng.get_interface": "0", "ntopng.get_historical_interface": "0",
		"interface.get_historical": "0", "interface.get_host": `"192.168.1.10"`, "ntopng.self_test": "true", "host.self_test": "true",
	} {
		if got := string(out[name].Rsp); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	u := unansweredFlow
	cli, srv := u.cli.String(), u.srv.String()
	cid := communityid.ID(communityid.Tuple{Src: netip.MustParseAddr(cli), Dst: netip.MustParseAddr(srv), Proto: 6, SrcPort: u.cliPort, DstPort: u.srvPort}, 0)

	// The one alert of the capture: the unanswered SYN (nDPI's
	// unidirectional traffic, alert 26).
	var rows []map[string]string
	rsp("historical.get_flow_alerts", &rows)
	if len(rows) != 1 {
		t.Fatalf("flow alerts: %d rows, want 1: %s", len(rows), out["historical.get_flow_alerts"].Rsp)
	}
	r := rows[0]
	for k, want := range map[string]string{
		"alert_id": "26", "cli_ip": cli, "srv_ip": srv, "cli_port": fmt.Sprint(u.cliPort), "srv_port": fmt.Sprint(u.srvPort), "proto": "6",
		"cli2srv_bytes": fmt.Sprint(synLen), "srv2cli_bytes": "0", "cli2srv_pkts": "1", "srv2cli_pkts": "0", "community_id": cid,
		"cli_location": "local", "srv_location": "remote", "interface_id": "0", "vlan_id": "0",
	} {
		if r[k] != want {
			t.Errorf("flow alert %s: %q, want %q", k, r[k], want)
		}
	}
	rsp("historical.get_alerts", &rows)
	if len(rows) != 1 || rows[0]["alert_id"] != "26" || rows[0]["n"] != "1" {
		t.Errorf("flow alerts per id: %v", rows)
	}
	for _, fam := range []string{"active_monitoring", "host", "interface", "mac", "network", "snmp", "system", "user"} {
		name := "historical.get_" + fam + "_alerts"
		if got := string(out[name].Rsp); got != "[]" {
			t.Errorf("%s: %s, want none: the capture raises no such alert", name, got)
		}
	}
	type top struct {
		Count int
		Top   map[string][]struct {
			Value string
			Count int
		}
	}
	values := func(es []struct {
		Value string
		Count int
	}) string {
		var v []string
		for _, e := range es {
			v = append(v, fmt.Sprintf("%s=%d", e.Value, e.Count))
		}
		sort.Strings(v)
		return strings.Join(v, " ")
	}
	for _, name := range []string{"historical.get_alerts_stats", "historical.get_alerts_stats_host"} {
		var st top
		rsp(name, &st)
		if st.Count != 1 || values(st.Top["alert_id"]) != "26=1" || values(st.Top["ip"]) != cli+"=1 "+srv+"=1" {
			t.Errorf("%s: %+v", name, st)
		}
	}
	var ft top
	rsp("historical.get_flow_alerts_stats", &ft)
	if ft.Count != 1 || values(ft.Top["alert_id"]) != "26=1" || values(ft.Top["cli_ip"]) != cli+"=1" || values(ft.Top["srv_ip"]) != srv+"=1" {
		t.Errorf("flow alert stats: %+v", ft)
	}
	type peer struct{ Value, Location string }
	var list struct {
		Records []struct {
			AlertID     struct{ Value string } `json:"alert_id"`
			CommunityID string                 `json:"community_id"`
			Flow        struct {
				CliIP peer `json:"cli_ip"`
				SrvIP peer `json:"srv_ip"`
				VLAN  struct{ Value int }
			}
		}
	}
	for _, name := range []string{"interface.get_all_alerts", "interface.get_all_alerts_ip"} {
		rsp(name, &list)
		if len(list.Records) != 1 {
			t.Errorf("%s: %d records, want 1", name, len(list.Records))
			continue
		}
		rec := list.Records[0]
		if rec.AlertID.Value != "26" || rec.CommunityID != cid || rec.Flow.CliIP.Value != cli || rec.Flow.CliIP.Location != "local" ||
			rec.Flow.SrvIP.Value != srv || rec.Flow.SrvIP.Location != "remote" {
			t.Errorf("%s: %+v", name, rec)
		}
	}
	// 192.168.1.11 is in no alert (the Python API filters with cli_ip).
	if rsp("interface.get_all_alerts_other_ip", &list); len(list.Records) != 0 {
		t.Errorf("alerts of 192.168.1.11: %+v", list.Records)
	}
	// The capture has one ARP request (192.168.1.10 asking for
	// 192.168.1.1): ntopng's rule makes it the domain 192.168.1.0/28
	// (difference 9, 4 bits), one hit, ghost (a file has no addresses).
	var bd struct {
		Domains map[string]struct {
			Ghost bool `json:"ghost_network"`
			Hits  int  `json:"hits"`
		} `json:"bcast_domains"`
	}
	rsp("interface.get_broadcast_domains", &bd)
	if d, ok := bd.Domains["192.168.1.0/28"]; len(bd.Domains) != 1 || !ok || !d.Ghost || d.Hits != 1 {
		t.Errorf("broadcast domains: %s", out["interface.get_broadcast_domains"].Rsp)
	}
	// Conversations: the page of 10 of 22 (one per flow), largest first;
	// those of 192.168.1.10 add up to its traffic.
	type conv struct {
		CliIP struct{ Value string } `json:"cli_ip"`
		SrvIP struct{ Value string } `json:"srv_ip"`
		Bytes int
		Flows int
	}
	var convs []conv
	rsp("historical.get_top_conversations", &convs)
	if len(convs) != 10 {
		t.Errorf("top conversations: %d, want a page of 10", len(convs))
	}
	for i := 1; i < len(convs); i++ {
		if convs[i].Bytes > convs[i-1].Bytes {
			t.Errorf("top conversations not largest first: %+v", convs)
			break
		}
	}
	rsp("historical.get_top_conversations_host", &convs)
	sum := 0
	for _, c := range convs {
		sum += c.Bytes
		if c.CliIP.Value != "192.168.1.10" && c.SrvIP.Value != "192.168.1.10" {
			t.Errorf("conversation of 192.168.1.10: %+v", c)
		}
	}
	if w := tr.hostBytes["192.168.1.10"]; len(convs) != 6 || sum != w[0]+w[1] {
		t.Errorf("conversations of 192.168.1.10: %d, %d bytes; want 6, %d", len(convs), sum, w[0]+w[1])
	}
}

// unansweredFlow is the connection appendUnanswered adds: a SYN from a
// local host that nobody answers, which ntopng (nDPI's unidirectional
// traffic risk) and the probe alert on.
var unansweredFlow = struct {
	cli, srv         net.IP
	cliPort, srvPort uint16
}{net.IPv4(192, 168, 1, 10).To4(), net.IPv4(198, 51, 100, 9).To4(), 41000, 443}

// appendUnanswered appends unansweredFlow's SYN to the capture at path
// (pcap records follow the file header one after the other) and counts
// it in tr; it returns the frame's length.
func appendUnanswered(t *testing.T, path string, tr *truth) int {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unansweredFlow
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: u.cli, DstIP: u.srv}
	tc := &layers.TCP{SrcPort: layers.TCPPort(u.cliPort), DstPort: layers.TCPPort(u.srvPort), SYN: true, Window: 1024}
	_ = tc.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tc); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// After the last packet writeCapture wrote (its clock starts at
	// 10:00 and ticks a millisecond a packet).
	ts := time.Date(2026, 3, 1, 10, 0, 1, 0, time.UTC)
	if err := pcapgo.NewWriter(f).WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}, data); err != nil {
		t.Fatal(err)
	}
	tr.packets++
	tr.wireBytes += len(data)
	tr.flows++
	tr.tcpFlows++
	s, d := tr.hostBytes[u.cli.String()], tr.hostBytes[u.srv.String()]
	s[0] += len(data)
	d[1] += len(data)
	tr.hostBytes[u.cli.String()], tr.hostBytes[u.srv.String()] = s, d
	return len(data)
}
