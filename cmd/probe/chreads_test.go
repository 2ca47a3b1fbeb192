package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/agent"
	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/goprobe"
)

// sortedRows prints rows in a fixed order: flows of equal LAST_SEEN and
// top-k groups of equal value may come in either store's order.
func sortedRows(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r)
	}
	slices.Sort(out)
	return out
}

// Probe a captures into Badger and ClickHouse; probe b, started with
// --history clickhouse on another capture, answers db/flows and
// db/topk_flows for probe=a exactly as a answers them from its own
// Badger, and without probe= for both probes' flows together.
func TestHistoryFromClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	chURL := "tcp://" + srv.Addr + "/fleet"
	dir := t.TempDir()
	c := chConn(t, srv.Addr)
	var allBytes uint64
	procs := map[string]*probeProc{}
	for i, name := range []string{"a", "b"} {
		pcap := filepath.Join(dir, name+".pcap")
		pk, by := ipTotals(writeCapture(t, pcap, 9+5*i))
		allBytes += by
		args := []string{"-i", pcap, "--data-dir", filepath.Join(dir, name), "--disable-login", "--clickhouse", chURL, "--clickhouse-probe", name}
		if name == "b" {
			args = append(args, "--history", "clickhouse")
		}
		procs[name] = startProbe(t, args...)
		waitTotals(t, c, name, pk, by)
	}
	all := url.Values{"ifid": {"0"}, "begin_time_clause": {"0"}, "end_time_clause": {"4000000000"}, "maxhits_clause": {"1000"}}
	get := func(p *probeProc, endpoint string, extra url.Values) json.RawMessage {
		t.Helper()
		q := url.Values{}
		for k, v := range all {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		a := p.call(t, "GET", "/lua/pro/rest/v1/get/db/"+endpoint+".lua?"+q.Encode(), "", nil)
		if a.status != 200 || a.env.RCStr != "OK" {
			t.Fatalf("%s %v: %d %s", endpoint, q, a.status, a.body)
		}
		return a.env.Rsp
	}
	shapes := []url.Values{
		{},
		{"where_clause": {"PROTOCOL = 6"}},
		{"where_clause": {"PROTOCOL=99"}},
		{"where_clause": {"IPV4_SRC_ADDR = '10.0.0.0/8' AND NOT (L4_DST_PORT IN (1,2) OR TOTAL_BYTES > 5000)"}},
		{"where_clause": {"L4_DST_PORT NOT IN (53)"}, "select_clause": {"IPV4_SRC_ADDR,IPV4_DST_ADDR,TOTAL_BYTES"}},
		{"select_keys_clause": {"IPV4_SRC_ADDR"}, "select_values_clause": {"BYTES"}, "topk_clause": {"SUM"}},
		{"select_keys_clause": {"IPV4_DST_ADDR,L4_DST_PORT"}, "select_values_clause": {"PACKETS"}, "topk_clause": {"COUNT"}},
	}
	rows := 0
	for _, sh := range shapes {
		for _, ep := range []string{"flows", "topk_flows"} {
			want := sortedRows(t, get(procs["a"], ep, sh))
			withProbe := url.Values{"probe": {"a"}}
			for k, v := range sh {
				withProbe[k] = v
			}
			got := sortedRows(t, get(procs["b"], ep, withProbe))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %v: probe b from ClickHouse\n%v\nprobe a from Badger\n%v", ep, sh, got, want)
			}
			rows += len(want)
		}
	}
	if rows < 20 {
		t.Fatalf("only %d rows compared", rows)
	}
	// Without probe=, the fleet: both captures' bytes.
	var top []map[string]any
	if err := json.Unmarshal(get(procs["b"], "topk_flows", url.Values{"select_keys_clause": {"PROTOCOL"}, "select_values_clause": {"BYTES"}}), &top); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, r := range top {
		sum += r["TOTAL_BYTES"].(float64)
	}
	if uint64(sum) != allBytes {
		t.Fatalf("fleet top-k: %v bytes, the two captures hold %d", sum, allBytes)
	}

	goQueryAsBadger(t, filepath.Join(dir, "a"), filepath.Join(dir, "b"), "a.pcap") // -i FILE: the interface is the file's name
}

// goQueryAsBadger: goProbe's _query asked of probe a (its Badger) and of
// probe b (--history clickhouse) for probe a's flows ("Probe": "a") gives
// the same status and body, for the recorded goProbe requests' shapes
// and more.
func goQueryAsBadger(t *testing.T, dirA, dirB, ifc string) {
	t.Helper()
	shapes := []string{
		`{"Query":"sip,dip","Ifaces":"IF","First":"0"}`,
		`{"Query":"sip,dip","Ifaces":"IF","First":"-24h"}`,
		`{"Query":"dport,proto","Ifaces":"IF","Condition":"proto=TCP","SortBy":"packets","First":"0"}`,
		`{"Query":"sip","Ifaces":"IF","Sum":true,"First":"0"}`,
		`{"Query":"talk_conv","Ifaces":"IF","NumResults":5,"First":"0"}`,
		`{"Query":"sip","Ifaces":"IF","Format":"csv","First":"0"}`,
		`{"Query":"sip","Ifaces":"IF","Last":"","First":"0"}`,
		`{"Query":"sip","Ifaces":"eth9"}`,
		`{"Query":"sip","Ifaces":"IF","Condition":"dport=notaport"}`,
		`{}`,
		`{"Query":"raw","Ifaces":"any","First":"0","Condition":"dport = 53 | (sip = 192.168.1.12 & proto = TCP)"}`,
		`{"Query":"time","Ifaces":"any","First":"0","SortBy":"time"}`,
		`{"Query":"agg_talk_port","Ifaces":"any","First":"0","In":true,"NumResults":3}`,
		`{"Query":"apps_port","Ifaces":"IF","First":"0","Condition":"!(dport > 1024) & dnet != 192.168.0.0/16","SortAscending":true}`,
		`{"Query":"talk_src","Ifaces":"IF","First":"0","Out":true,"Format":"csv"}`,
		`{"Query":"dip,iface","Ifaces":"IF","First":"0","SortBy":"packets","Condition":"host = 192.168.1.1 | net = 203.0.113.0/30"}`,
	}
	okBodies := 0
	for _, sh := range shapes {
		body := strings.Replace(sh, `"Ifaces":"IF"`, `"Ifaces":`+strconv.Quote(ifc), 1)
		body = strings.Replace(body, "{", `{"Probe":"a",`, 1)
		body = strings.Replace(body, ",}", "}", 1)
		wantStatus, want := goQueryPost(t, dirA, body)
		gotStatus, got := goQueryPost(t, dirB, body)
		if gotStatus != wantStatus || !bytes.Equal(got, want) {
			t.Errorf("_query %s: probe b from ClickHouse %d\n%s\nprobe a from Badger %d\n%s", body, gotStatus, got, wantStatus, want)
		}
		if wantStatus == 200 && len(want) > 100 {
			okBodies++
		}
	}
	if okBodies < 10 {
		t.Fatalf("only %d shapes answered rows", okBodies)
	}
}

// goQueryPost posts a _query body to the goProbe API of the probe holding
// dataDir, as its local CLI.
func goQueryPost(t *testing.T, dataDir, body string) (int, []byte) {
	t.Helper()
	l, err := agent.ReadLocalAPI(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", "http://"+l.Addr+"/api/v1/_query", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(goprobe.LocalTokenHeader, l.Token)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// Probe a raises alerts on a SYN flood capture into its archive and
// ClickHouse; probe b (--history clickhouse) lists a's historical alerts
// (probe=a) with the same answers as a from its archive, v1 and v2, for
// the administrator and for a user restricted to the attacker's network.
func TestAlertListsFromClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	chURL := "tcp://" + srv.Addr + "/fleet"
	dir := t.TempDir()
	flood := filepath.Join(dir, "a.pcap")
	attacker, _ := writeSYNFlood(t, flood, 300, 4)
	other := filepath.Join(dir, "b.pcap")
	writeCapture(t, other, 5)
	aArgs := []string{"-i", flood, "--data-dir", filepath.Join(dir, "a"), "--clickhouse", chURL, "--clickhouse-probe", "a"}
	a := startProbe(t, aArgs...)
	b := startProbe(t, "-i", other, "--data-dir", filepath.Join(dir, "b"), "--clickhouse", chURL, "--clickhouse-probe", "b", "--history", "clickhouse")
	admin := basic("admin", testAdminPassword)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": admin["Authorization"]}
	for _, p := range []*probeProc{a, b} {
		r := p.call(t, "POST", "/lua/rest/v1/add/ntopng/user.lua", url.Values{"username": {"scoped"}, "full_name": {"scoped"},
			"password": {"pw-scoped"}, "confirm_password": {"pw-scoped"}, "user_role": {"unprivileged"},
			"allowed_networks": {attacker + "/32"}, "allowed_interface": {""}, "allow_alerts": {"1"}}.Encode(), form)
		if r.env.RCStr != "OK" {
			t.Fatalf("add user: %d %s", r.status, r.body)
		}
	}
	scoped := basic("scoped", "pw-scoped")
	// Stopping a releases its alerts (they become historical), and the
	// release goes to ClickHouse, now or from the spool at the next start.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(string(a.call(t, "GET", "/lua/rest/v1/get/host/alert/list.lua?ifid=0&status=engaged", "", admin).body), attacker) {
		if time.Now().After(deadline) {
			t.Fatalf("no engaged alert on %s", attacker)
		}
		time.Sleep(100 * time.Millisecond)
	}
	a.stop(t)
	a = startProbe(t, aArgs...)
	lists := []string{
		"/lua/rest/v1/get/alert/data.lua?status=historical",
		"/lua/rest/v1/get/host/alert/list.lua?status=historical",
		"/lua/rest/v1/get/flow/alert/list.lua?status=historical-flows",
		"/lua/rest/v1/get/interface/alert/list.lua?status=historical",
		"/lua/rest/v1/get/all/alert/list.lua?status=historical",
		"/lua/rest/v2/get/host/alert/list.lua?status=historical",
		"/lua/rest/v2/get/flow/alert/list.lua?status=historical-flows",
		"/lua/rest/v2/get/all/alert/list.lua?status=historical",
		"/lua/rest/v2/get/host/alert/list.lua?status=historical&alert_severity=5",
		"/lua/rest/v2/get/alert/list/alerts.lua?alert_family=host&select_clause=*",
		"/lua/rest/v2/get/alert/list/alerts.lua?alert_family=flow&select_clause=*",
	}
	get := func(p *probeProc, path string, auth map[string]string) string {
		t.Helper()
		r := p.call(t, "GET", path+"&ifid=0&epoch_begin=0&epoch_end=4102444800&probe=a", "", auth)
		if r.status != 200 || r.env.RCStr != "OK" {
			return fmt.Sprintf("%d %s", r.status, r.body) // refused: both must refuse alike
		}
		return string(r.env.Rsp)
	}
	// The sink sends a batch a second: wait until ClickHouse answers the
	// host list as the archive does.
	deadline = time.Now().Add(30 * time.Second)
	for {
		want := get(a, lists[1], admin)
		if len(want) > 50 && get(b, lists[1], admin) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("historical host alerts: probe b from ClickHouse\n%s\nprobe a from its archive\n%s", get(b, lists[1], admin), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rows := 0
	for _, path := range lists {
		for _, auth := range []map[string]string{admin, scoped} {
			// The sink sends a batch a second, so the last alerts of a
			// list may still be on their way; answers also show times
			// relative to now (a second boundary between the two calls).
			// Both are asked again until they agree, for 30 s at most.
			var got, want string
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				if want, got = get(a, path, auth), get(b, path, auth); got == want || time.Now().After(deadline) {
					break
				}
			}
			if got != want {
				t.Errorf("%s as %s: probe b from ClickHouse\n%s\nprobe a from its archive\n%s", path, auth["Authorization"], got, want)
			}
			rows += strings.Count(want, `"tstamp"`) + strings.Count(want, `"row_id"`)
		}
	}
	if rows < 10 {
		t.Fatalf("only %d alert rows compared", rows)
	}
	// The scope bites: the restricted user sees the attacker's host
	// alerts, not the victim's.
	if all, mine := get(b, lists[1], admin), get(b, lists[1], scoped); !strings.Contains(mine, attacker) || len(mine) >= len(all) {
		t.Errorf("restricted host alerts from ClickHouse (%d bytes) are not a part of the administrator's (%d bytes)", len(mine), len(all))
	}

	// Deleting acts where the list was read: on a, its archive (its sink
	// writes the tombstones, so the fleet's lists drop them too); through
	// b, the fleet (a's archive keeps its own).
	alertsIn := func(p *probeProc, path string) int {
		return strings.Count(get(p, path, admin), `"row_id"`)
	}
	remove := func(p *probeProc, path string) int {
		t.Helper()
		r := p.call(t, "POST", path, url.Values{"ifid": {"0"}, "epoch_begin": {"0"}, "epoch_end": {"4102444800"}, "probe": {"a"}}.Encode(), form)
		var n struct {
			Count int `json:"count"`
		}
		if r.env.RCStr != "OK" || json.Unmarshal(r.env.Rsp, &n) != nil {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return n.Count
	}
	flows, hosts := lists[6], lists[5]
	if alertsIn(a, flows) == 0 || alertsIn(a, hosts) == 0 {
		t.Fatalf("a has %d flow and %d host alerts: nothing to delete", alertsIn(a, flows), alertsIn(a, hosts))
	}
	if n := remove(a, "/lua/rest/v2/delete/flow/alerts.lua"); n == 0 || alertsIn(a, flows) != 0 {
		t.Fatalf("a deleted %d flow alerts and still lists %d", n, alertsIn(a, flows))
	}
	for deadline := time.Now().Add(30 * time.Second); alertsIn(b, flows) != 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the fleet still lists %d of the flow alerts a deleted", alertsIn(b, flows))
		}
	}
	hostsOfA := alertsIn(a, hosts)
	if n := remove(b, "/lua/rest/v2/delete/host/alerts.lua"); n != hostsOfA || alertsIn(b, hosts) != 0 {
		t.Fatalf("the fleet deleted %d of a's %d host alerts and still lists %d", n, hostsOfA, alertsIn(b, hosts))
	}
	if alertsIn(a, hosts) != hostsOfA {
		t.Fatalf("a deletion through the fleet changed a's own archive: %d host alerts, were %d", alertsIn(a, hosts), hostsOfA)
	}
}
