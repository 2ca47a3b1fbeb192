package rest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/internal/fixture"
)

// updateGolden regenerates testdata/golden from the code as it is: run it
// only on code whose answers are known good (the files were first written
// before the answers became typed structs, to prove the bytes kept).
var updateGolden = flag.Bool("update", false, "rewrite testdata/golden from the current answers")

// goldenNow is the wall clock of the golden server: epoch, localtime,
// uptime and alert durations depend on it, so it is fixed.
var goldenNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newGoldenServer serves ntopng's two test captures (ifid 0: test_01,
// ifid 1: test_02, as the conformance suite replays them) and the
// synthetic SYN table of the alert tests (ifid 2), with the checks engine
// run over each, host pools, a store, and two users: admin and carol, who
// may see 192.168.1.0/24 only (and its alerts).
func newGoldenServer(t *testing.T) *Server {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	au, err := auth.New(st)
	if err != nil {
		t.Fatal(err)
	}
	local := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	var ifaces []Interface
	for i, name := range []string{"test_01.pcap", "test_02.pcap"} {
		src, err := capture.OpenFile(fixture.Shared(t, "conformance/ntopng-e2e/pcap/"+name))
		if err != nil {
			t.Fatal(err)
		}
		tb := flowtable.New(flowtable.Config{Offline: true, LocalNets: local, StoreID: ptr(uint16(i))})
		err = capture.Run(context.Background(), src, tb)
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
		ifaces = append(ifaces, Interface{ID: i, StoreID: uint16(i), Name: name, Table: tb, SpeedMbps: 1000, CaptureMode: "file"})
	}
	syn := flowtable.New(flowtable.Config{Offline: true, LocalNets: local, StoreID: ptr(uint16(2))})
	fillTable(syn, 30)
	ifaces = append(ifaces, Interface{ID: 2, StoreID: 2, Name: "syn0", Table: syn, SpeedMbps: 1000,
		Addresses: []string{"192.168.1.1/32"}, CaptureMode: "xdp-native", Drops: func() uint64 { return 7 }})
	eng, err := checks.New(checks.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := pools.New(st)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{
		Interfaces: ifaces, Auth: au, Store: st, Checks: eng, Pools: pl, HTTPPort: 3000,
		LocalNets: local, Now: func() time.Time { return goldenNow },
	})
	if err := au.SetPassword(auth.AdminUser, "golden-pw"); err != nil {
		t.Fatal(err)
	}
	if err := au.AddUser(auth.User{Username: "carol", AllowedNets: "192.168.1.0/24", AllowAlerts: true}, "pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.Add(pools.Host, "lab", []string{"192.168.1.93/32"}); err != nil {
		t.Fatal(err)
	}
	// Thresholds low enough for the SYN table's host to raise host alerts.
	for _, q := range []string{"script_key=syn_scan&threshold=5&enabled=true", "script_key=score_threshold&threshold=100"} {
		ctx := do(s, "/lua/rest/v1/edit/check/config.lua?check_subdir=host&"+q, basic("admin", "golden-pw"))
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("%s: %s", q, ctx.Response.Body())
		}
	}
	for _, ifc := range ifaces {
		eng.Run(checks.Iface{ID: int(ifc.StoreID), Table: ifc.Table}, 0, true)
	}
	// The SYN table for four more minutes of its clock: its hosts' series
	// get values (the behaviour sections), and its drops grow (an
	// interface alert).
	var clock int64
	syn.View(func(v flowtable.View) { clock = v.Clock() })
	drops := uint64(0)
	grow := func() uint64 { drops += 1000; return drops }
	for k := int64(1); k <= 4; k++ {
		eng.Run(checks.Iface{ID: 2, Table: syn, Drops: grow}, clock+k*60e9, false)
	}
	return s
}

func basic(user, pw string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))}
}

// goldenCases are the answers recorded byte for byte: host data, host and
// flow lists, interface data, the counters and constants, alert records
// and lists, each with several parameter sets.
var goldenCases = []struct {
	name, uri, user string
}{
	{"ntopng_interfaces", "get/ntopng/interfaces.lua", ""},
	{"ntopng_interfaces_carol", "get/ntopng/interfaces.lua", "carol"},
	{"interface_data_0", "get/interface/data.lua?ifid=0", ""},
	{"interface_data_1", "get/interface/data.lua?ifid=1", ""},
	{"interface_data_2_live", "get/interface/data.lua?ifid=2", ""},
	{"interface_data_iffilter", "get/interface/data.lua?iffilter=1", ""},
	{"interface_data_all", "get/interface/data.lua?iffilter=all", ""},
	{"interface_data_1_carol", "get/interface/data.lua?ifid=1", "carol"},
	{"interface_data_bad", "get/interface/data.lua?ifid=9", ""},
	{"interface_address_0", "get/interface/address.lua?ifid=0", ""},
	{"interface_address_2", "get/interface/address.lua?ifid=2", ""},
	{"host_active_0", "get/host/active.lua?ifid=0&perPage=1000", ""},
	{"host_active_1", "get/host/active.lua?ifid=1&perPage=1000", ""},
	{"host_active_1_asc", "get/host/active.lua?ifid=1&perPage=20&sortOrder=asc", ""},
	{"host_active_1_page3", "get/host/active.lua?ifid=1&perPage=7&currentPage=3&sortColumn=ip&sortOrder=desc", ""},
	{"host_active_1_traffic", "get/host/active.lua?ifid=1&perPage=15&sortColumn=column_traffic&sortOrder=desc", ""},
	{"host_active_1_name", "get/host/active.lua?ifid=1&perPage=15&sortColumn=name", ""},
	{"host_active_1_flows", "get/host/active.lua?ifid=1&perPage=15&sortColumn=column_num_flows&sortOrder=asc", ""},
	{"host_active_1_local", "get/host/active.lua?ifid=1&mode=local&perPage=100", ""},
	{"host_active_1_remote_v4", "get/host/active.lua?ifid=1&mode=remote&version=4&perPage=10", ""},
	{"host_active_1_v6", "get/host/active.lua?ifid=1&version=6&perPage=100", ""},
	{"host_active_1_all", "get/host/active.lua?ifid=1&all=true&perPage=5", ""},
	{"host_active_1_oneway", "get/host/active.lua?ifid=1&traffic_type=one_way&perPage=10", ""},
	{"host_active_1_cidr", "get/host/active.lua?ifid=1&network_cidr=192.168.1.0/24&perPage=50", ""},
	{"host_active_1_carol", "get/host/active.lua?ifid=1&perPage=50", "carol"},
	{"host_active_2", "get/host/active.lua?ifid=2&perPage=8&sortColumn=thpt", ""},
	{"host_data_0_93", "get/host/data.lua?ifid=0&host=192.168.1.93", ""},
	{"host_data_1_93", "get/host/data.lua?ifid=1&host=192.168.1.93", ""},
	{"host_data_2_local", "get/host/data.lua?ifid=2&host=192.168.1.10", ""},
	{"host_data_2_remote", "get/host/data.lua?ifid=2&host=10.0.0.3", ""},
	{"host_data_nostats", "get/host/data.lua?ifid=1&host=192.168.1.93&host_stats=false", ""},
	{"host_data_missing", "get/host/data.lua?ifid=1&host=203.0.113.9", ""},
	{"host_data_bad", "get/host/data.lua?ifid=1&host=nohost", ""},
	{"host_data_carol_out", "get/host/data.lua?ifid=2&host=10.0.0.3", "carol"},
	{"host_custom_data_1_93", "get/host/custom_data.lua?ifid=1&host=192.168.1.93", ""},
	{"host_custom_data_1_fields", "get/host/custom_data.lua?ifid=1&field_alias=ip,bytes.sent=tx,names,ndpi=apps,score_behaviour,local_network_id,nothing=x", ""},
	{"host_custom_data_2_all", "get/host/custom_data.lua?ifid=2", ""},
	{"host_interfaces_93", "get/host/interfaces.lua?host=192.168.1.93", ""},
	{"host_interfaces_none", "get/host/interfaces.lua?host=203.0.113.9", ""},
	{"flow_active_0", "get/flow/active.lua?ifid=0&perPage=1000", ""},
	{"flow_active_1", "get/flow/active.lua?ifid=1&perPage=1000", ""},
	{"flow_active_1_verbose", "get/flow/active.lua?ifid=1&perPage=1000&verbose=true", ""},
	{"flow_active_1_client_asc", "get/flow/active.lua?ifid=1&perPage=25&sortColumn=column_client&sortOrder=asc", ""},
	{"flow_active_1_thpt_p2", "get/flow/active.lua?ifid=1&perPage=10&currentPage=2&sortColumn=thpt", ""},
	{"flow_active_1_host", "get/flow/active.lua?ifid=1&perPage=100&host=192.168.1.93&verbose=true", ""},
	{"flow_active_1_tcp_443", "get/flow/active.lua?ifid=1&perPage=100&l4proto=6&port=443", ""},
	{"flow_active_1_app_tls", "get/flow/active.lua?ifid=1&perPage=100&application=TLS", ""},
	{"flow_active_1_app_pair", "get/flow/active.lua?ifid=1&perPage=100&application=DNS.Google", ""},
	{"flow_active_1_carol", "get/flow/active.lua?ifid=1&perPage=30", "carol"},
	{"flow_active_bad_host", "get/flow/active.lua?ifid=1&host=x", ""},
	{"flow_l4_counters_1", "get/flow/l4/counters.lua?ifid=1", ""},
	{"flow_l7_counters_1", "get/flow/l7/counters.lua?ifid=1", ""},
	{"l4_protocol_consts", "get/l4/protocol/consts.lua", ""},
	{"l7_application_consts", "get/l7/application/consts.lua", ""},
	{"l7_category_consts", "get/l7/category/consts.lua", ""},
	{"interface_l7_stats_1_count", "get/interface/l7/stats.lua?ifid=1&ndpistats_mode=count", ""},
	{"interface_l7_stats_1", "get/interface/l7/stats.lua?ifid=1&ndpistats_mode=sinceStartup", ""},
	{"interface_l7_stats_1_breed", "get/interface/l7/stats.lua?ifid=1&ndpistats_mode=sinceStartup&breed=true", ""},
	{"interface_l7_stats_1_category", "get/interface/l7/stats.lua?ifid=1&ndpistats_mode=sinceStartup&ndpi_category=true", ""},
	{"host_l7_stats_1_93", "get/host/l7/stats.lua?ifid=1&host=192.168.1.93", ""},
	{"host_l7_stats_1_93_breed", "get/host/l7/stats.lua?ifid=1&host=192.168.1.93&breed=true", ""},
	{"host_l7_stats_1_93_category", "get/host/l7/stats.lua?ifid=1&host=192.168.1.93&ndpi_category=true", ""},
	{"interface_dscp_stats_1", "get/interface/dscp/stats.lua?ifid=1", ""},
	{"host_dscp_stats_1_93", "get/host/dscp/stats.lua?ifid=1&host=192.168.1.93", ""},
	{"host_dscp_stats_1_93_recv", "get/host/dscp/stats.lua?ifid=1&host=192.168.1.93&direction=recv", ""},
	{"top_local_talkers_1", "/lua/pro/rest/v1/get/host/top/local/talkers.lua?ifid=1", ""},
	{"top_remote_talkers_1", "/lua/pro/rest/v1/get/host/top/remote/talkers.lua?ifid=1", ""},
	{"alert_type_consts", "get/alert/type/consts.lua", ""},
	{"alert_severity_consts", "get/alert/severity/consts.lua", ""},
	{"alert_data_1_flows", "get/alert/data.lua?ifid=1&status=historical-flows", ""},
	{"alert_data_2_flows", "get/alert/data.lua?ifid=2&status=historical-flows", ""},
	{"alert_data_1_engaged", "get/alert/data.lua?ifid=1&status=engaged", ""},
	{"alert_data_bad_status", "get/alert/data.lua?ifid=1&status=nope", ""},
	{"alert_ts_1", "get/alert/ts.lua?ifid=1&status=historical-flows", ""},
	{"alert_type_counters_1", "get/alert/type/counters.lua?ifid=1&status=historical-flows", ""},
	{"alert_severity_counters_1", "get/alert/severity/counters.lua?ifid=1&status=historical-flows", ""},
	{"flow_alert_list_1", "get/flow/alert/list.lua?ifid=1", ""},
	{"flow_alert_list_1_past_end", "get/flow/alert/list.lua?ifid=1&start=100&length=4", ""},
	{"flow_alert_list_2", "get/flow/alert/list.lua?ifid=2", ""},
	{"flow_alert_list_1_carol", "get/flow/alert/list.lua?ifid=1", "carol"},
	{"host_alert_list_1", "get/host/alert/list.lua?ifid=1", ""},
	{"host_alert_list_2_engaged", "get/host/alert/list.lua?ifid=2&status=engaged", ""},
	{"host_alert_list_2", "get/host/alert/list.lua?ifid=2", ""},
	{"interface_alert_list_1", "get/interface/alert/list.lua?ifid=1", ""},
	{"interface_alert_list_2", "get/interface/alert/list.lua?ifid=2", ""},
	{"interface_alert_list_2_engaged", "get/interface/alert/list.lua?ifid=2&status=engaged", ""},
	{"alert_data_2_engaged", "get/alert/data.lua?ifid=2&status=engaged", ""},
	{"all_alert_list_1", "get/all/alert/list.lua?ifid=1", ""},
	{"all_alert_list_2", "get/all/alert/list.lua?ifid=2", ""},
	{"flow_alert_ts_1", "get/flow/alert/ts.lua?ifid=1", ""},
}

// goldenBody is an answer with what truly depends on the machine masked:
// get/interface/data's system_host_stats (this machine's CPU and memory,
// sampled live).
func goldenBody(b []byte) []byte {
	const key = `"system_host_stats":`
	out := append([]byte(nil), b...)
	for from := 0; ; {
		i := bytes.Index(out[from:], []byte(key))
		if i < 0 {
			return out
		}
		start := from + i + len(key)
		end := jsonValueEnd(out, start)
		out = append(out[:start:start], append([]byte(`"<masked>"`), out[end:]...)...)
		from = start
	}
}

// unorderedAlerts sorts the rows of an alert answer (the rsp array, or
// rsp.records) by their bytes and masks their row_id: the checks engine
// numbers and orders alerts of the same second as it walks its flow map,
// which differs from run to run. Each row's bytes are still compared.
func unorderedAlerts(b []byte) []byte {
	i := bytes.Index(b, []byte(`"records":[`))
	if i >= 0 {
		i += len(`"records":`)
	} else if i = bytes.Index(b, []byte(`"rsp":[`)); i >= 0 {
		i += len(`"rsp":`)
	} else {
		return b
	}
	end := jsonValueEnd(b, i)
	var rows [][]byte
	for j := i + 1; j < end-1; {
		e := jsonValueEnd(b, j)
		row := rowID.ReplaceAll(b[j:e], []byte(`"row_id":"<run-dependent>"`))
		rows = append(rows, row)
		j = e + 1 // the comma
	}
	slices.SortFunc(rows, bytes.Compare)
	out := append([]byte(nil), b[:i+1]...)
	out = append(out, bytes.Join(rows, []byte(","))...)
	return append(out, b[end-1:]...)
}

var rowID = regexp.MustCompile(`"row_id":"[0-9]+"`)

// jsonValueEnd is where the JSON object or array starting at b[i] ends.
func jsonValueEnd(b []byte, i int) int {
	depth, inStr := 0, false
	for j := i; j < len(b); j++ {
		c := b[j]
		switch {
		case inStr && c == '\\':
			j++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(b)
}

// TestGoldenAnswers compares the answers of goldenCases, and get/host/data
// of every host of each interface (as SHA-256 digests), with the bytes
// recorded in testdata/golden.
func TestGoldenAnswers(t *testing.T) {
	saved := time.Local
	time.Local = time.UTC // alert lists format dates in local time
	t.Cleanup(func() { time.Local = saved })
	s := newGoldenServer(t)
	users := map[string]map[string]string{"": basic("admin", "golden-pw"), "carol": basic("carol", "pw")}
	dir := filepath.Join("testdata", "golden")
	if *updateGolden {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, got []byte) {
		t.Helper()
		path := filepath.Join(dir, name+".json")
		if *updateGolden {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run with -update on known-good code)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: answer changed\n%s", name, firstDiff(want, got))
		}
	}
	for _, c := range goldenCases {
		uri := c.uri
		if !strings.HasPrefix(uri, "/") {
			uri = "/lua/rest/v1/" + uri
		}
		ctx := do(s, uri, users[c.user])
		body := goldenBody(ctx.Response.Body())
		if strings.Contains(c.uri, "/alert/") {
			body = unorderedAlerts(body)
		}
		check(c.name, []byte(fmt.Sprintf("HTTP %d\n%s\n", ctx.Response.StatusCode(), body)))
	}
	for _, ifc := range s.cfg.Interfaces {
		var keys []string
		ifc.Table.View(func(v flowtable.View) {
			v.AscendHosts(func(h *flowtable.Host) bool {
				keys = append(keys, h.Key.String())
				return true
			})
		})
		var sums strings.Builder
		for _, k := range keys {
			body := do(s, fmt.Sprintf("/lua/rest/v1/get/host/data.lua?ifid=%d&host=%s", ifc.ID, url.QueryEscape(k)), users[""]).Response.Body()
			fmt.Fprintf(&sums, "%s %x\n", k, sha256.Sum256(body))
		}
		check(fmt.Sprintf("host_data_every_host_%d", ifc.ID), []byte(sums.String()))
	}
}

// firstDiff shows where two answers part.
func firstDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := max(i-80, 0)
	return fmt.Sprintf("at byte %d:\nwant …%s…\ngot  …%s…", i, want[lo:min(i+80, len(want))], got[lo:min(i+80, len(got))])
}
