package rest

import "strings"

// REST v2 (/lua/rest/v2/..., /lua/pro/rest/v2/...): ntopng 6's tree,
// beside v1, in the same route table and behind the same guard. Every path
// of ntopng 6.3's v2 table (../shared/spec/ntopng-v2-endpoints.tsv) is
// routed, so no v2 call gets the not_found redirect:
//
//   - v2Twins: the v2 paths whose answer has the shape of a v1 call the
//     probe serves are served by that v1 route: the same handler, methods,
//     role and capability (so state changes stay POST only, whatever the
//     v2 table lists). Most have the same relative path; the renamed ones
//     are listed among the choices below.
//   - connect/test.lua answers OK with an empty rsp, as ntopng 6's
//     connect/test.lua does: a client (ntop's Python API) only checks that
//     an authenticated call answers JSON. /lua/rest/version.lua lists
//     v1 and v2 with v2 current, as ntopng 6 does.
//   - v2NotEnabled: every other v2 path answers NOT_ENABLED (rc -2, HTTP
//     400, rsp.error saying the call is not enabled on this probe).
//
// Calls answered with ntopng 6's own shapes live in v2_*.go, routed by
// v2_routes.go; the choices made there without a recorded answer are
// written beside their code and summed up here:
//   - get/alert/list/alerts.lua (v2_alerts.go, v2_alertsql.go): each
//     family's table has the ntopng 6 columns the probe has data for;
//     values answer as text, aggregates keyed "count(*)" unless aliased;
//     maxhits 1..10000 (default 10); clauses are parsed and bounded
//     (2 KiB, depth 16, 64 terms), anything else INVALID_ARGUMENTS; the
//     system, user, snmp and active_monitoring families are read from the
//     system interface, for administrators; alert_category is 1
//     (cybersecurity) for alerts with an attacker or victim, 4 (system)
//     for system and user alerts, else 2 (network); community_id is the
//     flow's Community ID v1, seed 0, client as source.
//   - */alert/top.lua (v2_alerttop.go; get/alert/top.lua is not in the
//     table but ntop's Python API calls it): {"count", "top": {alert_id,
//     cli_ip/srv_ip or ip: top 10 by count}}; filters "value;op".
//   - Alert list records (v2_alertrecords.go): location local/remote,
//     country the GeoIP ISO code, vlan {value, label, title}; the v2 lists
//     take ntopng's "value;op" filters; get/{mac,network,system,user}/
//     alert/list, get/{am_host,mac,network,system,user}/alert/ts and acknowledge|delete/{am_host,mac,network,system,user}/
//     alerts (v2_alertactions.go) are v2's own, system families on the
//     system interface.
//   - historical_db_search.lua (v2_dbsearch.go): the top_conversations
//     preset only (others INVALID_ARGUMENTS), records {cli_ip, srv_ip,
//     bytes, packets, flows}, visible_columns ignored.
//   - get/interface/data (v2_iface.go): since-reset totals are the totals,
//     anomaly and dropped-alert counters 0, no download_upload_chart;
//     bcast_domains and arp answer what ARP taught (v2_arp.go).
//   - health/stats, health/interfaces (admin only), network/networks
//     (v2_system.go): shapes listed there.
//
// Choices made without a recorded answer for the rest of the tree:
//   - The not-enabled code is ntopng's own rest_utils not_enabled
//     (rc -2 NOT_ENABLED), which ntopng answers for features that are
//     off; v1 already answers it for parts not set up in the process. Its
//     rc number, -2, is the INVALID_INTERFACE code most v2 paths list; the
//     v2 table names no dedicated code.
//   - A not-enabled path that would change state is POST only and for
//     administrators (the v1 rule); one that reads takes GET/HEAD/POST and
//     any user with the capability v1 asks for such reads
//     (v2ReadCapability): it answers no data to anyone.
//   - Renamed twins: pro get/interface/top/{local,remote}/talkers is v1's
//     pro get/host/top/{local,remote}/talkers; pro get/snmp/device/list is
//     pro get/snmp/devices; get/host/pool/pools is get/host/pools;
//     get/recipient/pools is recipient/pools; {export,import,reset}/checks
//     are v1's "scripts" configuration module (ntopng 6 renamed user
//     scripts to checks); get/all/alert/ts is get/alert/ts.
//   - get/ntopng/interfaces adds each interface's "name" (ntopng 6's
//     alias, else its name: the probe has no aliases, so its name).
//   - get/l4/protocol/consts is ntopng 6's list, with L2TP and SCTP (v1
//     keeps the 2022 answer its conformance case records).
//   - pro get/db/flows also takes epoch_begin/epoch_end for its range
//     (ntop's Python API sends those; ntopng's table names
//     begin_time_clause/end_time_clause, which win when both are given).
//   - get/host/active with all=true answers every host (ntopng 6), not
//     v1's page; the answer still reports perPage and currentPage 0.
//   - Twins answer v1's shapes, except where ntopng 6's answer differs
//     and the v2_*.go files replace the handler: get/interface/data
//     (v2_iface.go), the alert lists' records (v2_alertrecords.go),
//     get/flow/l4/counters (ntopng 6 counts a TCP conversation first seen
//     from its server side once: v2_iface.go). v2_routes.go lists them.
const (
	restV2Prefix = "/lua/rest/v2/"
	proV2Prefix  = "/lua/pro/rest/v2/"
)

// v2Twins maps each v2 path to the v1 route that serves it.
var v2Twins = func() []struct{ v2, v1 string } {
	const v2, pro2, v1, pro1 = restV2Prefix, proV2Prefix, restPrefix, "/lua/pro/rest/v1/"
	return []struct{ v2, v1 string }{
		{pro2 + "add/infrastructure/instance.lua", pro1 + "add/infrastructure/instance.lua"},
		{pro2 + "add/snmp/device.lua", pro1 + "add/snmp/device.lua"},
		{pro2 + "change/snmp/device/interface/status.lua", pro1 + "change/snmp/device/interface/status.lua"},
		{pro2 + "check/infrastructure/config.lua", pro1 + "check/infrastructure/config.lua"},
		{pro2 + "delete/infrastructure/instance.lua", pro1 + "delete/infrastructure/instance.lua"},
		{pro2 + "delete/snmp/device.lua", pro1 + "delete/snmp/device.lua"},
		{pro2 + "edit/infrastructure/instance.lua", pro1 + "edit/infrastructure/instance.lua"},
		{pro2 + "edit/snmp/device/device.lua", pro1 + "edit/snmp/device/device.lua"},
		{pro2 + "get/db/flows.lua", pro1 + "get/db/flows.lua"},
		{pro2 + "get/db/topk_flows.lua", pro1 + "get/db/topk_flows.lua"},
		{pro2 + "get/infrastructure/instance.lua", pro1 + "get/infrastructure/instance.lua"},
		{pro2 + "get/interface/top/local/talkers.lua", pro1 + "get/host/top/local/talkers.lua"},
		{pro2 + "get/interface/top/remote/talkers.lua", pro1 + "get/host/top/remote/talkers.lua"},
		{pro2 + "get/snmp/device/interfaces.lua", pro1 + "get/snmp/device/interfaces.lua"},
		{pro2 + "get/snmp/device/list.lua", pro1 + "get/snmp/devices.lua"},
		{v2 + "acknowledge/flow/alerts.lua", v1 + "acknowledge/flow/alerts.lua"},
		{v2 + "acknowledge/host/alerts.lua", v1 + "acknowledge/host/alerts.lua"},
		{v2 + "acknowledge/interface/alerts.lua", v1 + "acknowledge/interface/alerts.lua"},
		{v2 + "add/host/pool.lua", v1 + "add/host/pool.lua"},
		{v2 + "add/ntopng/user.lua", v1 + "add/ntopng/user.lua"},
		{v2 + "bind/host/pool/member.lua", v1 + "bind/host/pool/member.lua"},
		{v2 + "create/ntopng/api_token.lua", v1 + "create/ntopng/api_token.lua"},
		{v2 + "create/ntopng/session.lua", v1 + "create/ntopng/session.lua"},
		{v2 + "delete/all/alerts.lua", v1 + "delete/all/alerts.lua"},
		{v2 + "delete/endpoints.lua", v1 + "delete/endpoints.lua"},
		{v2 + "delete/flow/alerts.lua", v1 + "delete/flow/alerts.lua"},
		{v2 + "delete/host/alerts.lua", v1 + "delete/host/alerts.lua"},
		{v2 + "delete/host/pool.lua", v1 + "delete/host/pool.lua"},
		{v2 + "delete/interface/alerts.lua", v1 + "delete/interface/alerts.lua"},
		{v2 + "delete/ntopng/user.lua", v1 + "delete/ntopng/user.lua"},
		{v2 + "delete/pools.lua", v1 + "delete/pools.lua"},
		{v2 + "delete/recipients.lua", v1 + "delete/recipients.lua"},
		{v2 + "disable/check.lua", v1 + "disable/check.lua"},
		{v2 + "edit/host/pool.lua", v1 + "edit/host/pool.lua"},
		{v2 + "edit/host_pool/pool.lua", v1 + "edit/host_pool/pool.lua"},
		{v2 + "edit/ntopng/user.lua", v1 + "edit/ntopng/user.lua"},
		{v2 + "enable/check.lua", v1 + "enable/check.lua"},
		{v2 + "export/active_monitoring/config.lua", v1 + "export/active_monitoring/config.lua"},
		{v2 + "export/all/config.lua", v1 + "export/all/config.lua"},
		{v2 + "export/checks/config.lua", v1 + "export/scripts/config.lua"},
		{v2 + "export/infrastructure/config.lua", v1 + "export/infrastructure/config.lua"},
		{v2 + "export/notifications/config.lua", v1 + "export/notifications/config.lua"},
		{v2 + "export/pool/config.lua", v1 + "export/pool/config.lua"},
		{v2 + "export/scripts/config.lua", v1 + "export/scripts/config.lua"},
		{v2 + "export/snmp/config.lua", v1 + "export/snmp/config.lua"},
		{v2 + "get/alert/severity/consts.lua", v1 + "get/alert/severity/consts.lua"},
		{v2 + "get/alert/severity/counters.lua", v1 + "get/alert/severity/counters.lua"},
		{v2 + "get/alert/type/consts.lua", v1 + "get/alert/type/consts.lua"},
		{v2 + "get/alert/type/counters.lua", v1 + "get/alert/type/counters.lua"},
		{v2 + "get/all/alert/list.lua", v1 + "get/all/alert/list.lua"},
		{v2 + "get/all/alert/ts.lua", v1 + "get/alert/ts.lua"},
		{v2 + "get/am_host/alert/list.lua", v1 + "get/am_host/alert/list.lua"},
		{v2 + "get/checks/config.lua", v1 + "get/checks/config.lua"},
		{v2 + "get/flow/active.lua", v1 + "get/flow/active.lua"},
		{v2 + "get/flow/alert/list.lua", v1 + "get/flow/alert/list.lua"},
		{v2 + "get/flow/alert/ts.lua", v1 + "get/flow/alert/ts.lua"},
		{v2 + "get/flow/l4/counters.lua", v1 + "get/flow/l4/counters.lua"},
		{v2 + "get/flow/l7/counters.lua", v1 + "get/flow/l7/counters.lua"},
		{v2 + "get/host/active.lua", v1 + "get/host/active.lua"},
		{v2 + "get/host/alert/list.lua", v1 + "get/host/alert/list.lua"},
		{v2 + "get/host/alert/ts.lua", v1 + "get/host/alert/ts.lua"},
		{v2 + "get/host/custom_data.lua", v1 + "get/host/custom_data.lua"},
		{v2 + "get/host/data.lua", v1 + "get/host/data.lua"},
		{v2 + "get/host/dscp/stats.lua", v1 + "get/host/dscp/stats.lua"},
		{v2 + "get/host/interfaces.lua", v1 + "get/host/interfaces.lua"},
		{v2 + "get/host/l7/stats.lua", v1 + "get/host/l7/stats.lua"},
		{v2 + "get/host/pool/members.lua", v1 + "get/host/pool/members.lua"},
		{v2 + "get/host/pool/pools.lua", v1 + "get/host/pools.lua"},
		{v2 + "get/host/pool_by_member.lua", v1 + "get/host/pool_by_member.lua"},
		{v2 + "get/interface/address.lua", v1 + "get/interface/address.lua"},
		{v2 + "get/interface/alert/list.lua", v1 + "get/interface/alert/list.lua"},
		{v2 + "get/interface/alert/ts.lua", v1 + "get/interface/alert/ts.lua"},
		{v2 + "get/interface/data.lua", v1 + "get/interface/data.lua"},
		{v2 + "get/interface/dscp/stats.lua", v1 + "get/interface/dscp/stats.lua"},
		{v2 + "get/interface/l7/stats.lua", v1 + "get/interface/l7/stats.lua"},
		{v2 + "get/l4/protocol/consts.lua", v1 + "get/l4/protocol/consts.lua"},
		{v2 + "get/l7/application/consts.lua", v1 + "get/l7/application/consts.lua"},
		{v2 + "get/l7/category/consts.lua", v1 + "get/l7/category/consts.lua"},
		{v2 + "get/ntopng/interfaces.lua", v1 + "get/ntopng/interfaces.lua"},
		{v2 + "get/ntopng/users.lua", v1 + "get/ntopng/users.lua"},
		{v2 + "get/pcap/live_extraction.lua", v1 + "get/pcap/live_extraction.lua"},
		{v2 + "get/pools.lua", v1 + "get/pools.lua"},
		{v2 + "get/recipient/pools.lua", v1 + "recipient/pools.lua"},
		{v2 + "import/active_monitoring/config.lua", v1 + "import/active_monitoring/config.lua"},
		{v2 + "import/all/config.lua", v1 + "import/all/config.lua"},
		{v2 + "import/checks/config.lua", v1 + "import/scripts/config.lua"},
		{v2 + "import/infrastructure/config.lua", v1 + "import/infrastructure/config.lua"},
		{v2 + "import/notifications/config.lua", v1 + "import/notifications/config.lua"},
		{v2 + "import/pool/config.lua", v1 + "import/pool/config.lua"},
		{v2 + "import/scripts/config.lua", v1 + "import/scripts/config.lua"},
		{v2 + "import/snmp/config.lua", v1 + "import/snmp/config.lua"},
		{v2 + "reset/active_monitoring/config.lua", v1 + "reset/active_monitoring/config.lua"},
		{v2 + "reset/all/config.lua", v1 + "reset/all/config.lua"},
		{v2 + "reset/checks/config.lua", v1 + "reset/scripts/config.lua"},
		{v2 + "reset/infrastructure/config.lua", v1 + "reset/infrastructure/config.lua"},
		{v2 + "reset/notifications/config.lua", v1 + "reset/notifications/config.lua"},
		{v2 + "reset/snmp/config.lua", v1 + "reset/snmp/config.lua"},
		{v2 + "set/checks/config.lua", v1 + "set/checks/config.lua"},
		{v2 + "set/host/alias.lua", v1 + "set/host/alias.lua"},
	}
}()

// v2NotEnabled are the v2 paths without an answer on this probe yet.
var v2NotEnabled = func() []string {
	const v2, pro2 = restV2Prefix, proV2Prefix
	return []string{
		pro2 + "acknowledge/snmp/device/alerts.lua",
		pro2 + "add/device/exclusion.lua",
		pro2 + "add/interface/host_rules/add_host_rule.lua",
		pro2 + "delete/device/exclusion.lua",
		pro2 + "delete/interface/host_rules/add_host_rule.lua",
		pro2 + "delete/observation_point/stats.lua",
		pro2 + "delete/observation_points/stats.lua",
		pro2 + "delete/snmp/device/alerts.lua",
		pro2 + "delete/vs/report.lua",
		pro2 + "edit/device/exclusion.lua",
		pro2 + "edit/vs/report.lua",
		pro2 + "export/pool/policy.lua",
		pro2 + "get/db/columns_info.lua",
		pro2 + "get/db/filter/bpf.lua",
		pro2 + "get/db/ts.lua",
		pro2 + "get/device/exclusion.lua",
		pro2 + "get/flowdevice/stats.lua",
		pro2 + "get/flowdevices/stats.lua",
		pro2 + "get/geo_map/hosts.lua",
		pro2 + "get/host/flows/data.lua",
		pro2 + "get/host/no_tx_peers.lua",
		pro2 + "get/host/top/local/sites.lua",
		pro2 + "get/infrastructure/data.lua",
		pro2 + "get/interface/host_rules/host_rules_data.lua",
		pro2 + "get/interface/host_rules/host_rules_metric.lua",
		pro2 + "get/interface/top/l7_stats.lua",
		pro2 + "get/interface/top/realtime_traffic.lua",
		pro2 + "get/interface/top/score.lua",
		pro2 + "get/interface/top/sites.lua",
		pro2 + "get/maps/periodicity_map.lua",
		pro2 + "get/maps/service_map.lua",
		pro2 + "get/observation_points/alias.lua",
		pro2 + "get/observation_points/stats.lua",
		pro2 + "get/sflowdevice/stats.lua",
		pro2 + "get/sflowdevices/stats.lua",
		pro2 + "get/snmp/device/alert/list.lua",
		pro2 + "get/snmp/device/alert/ts.lua",
		pro2 + "get/snmp/device/bridge.lua",
		pro2 + "get/snmp/device/lldp.lua",
		pro2 + "get/snmp/device/system.lua",
		pro2 + "get/system/data.lua",
		pro2 + "get/system/health/clickhouse.lua",
		pro2 + "get/vs/report_list.lua",
		pro2 + "set/observation_points/alias.lua",
		pro2 + "set/pool/policy.lua",
		pro2 + "set/pool/policy_autoconf.lua",
		v2 + "add/host/to_scan.lua",
		v2 + "create/pcap/extraction/task.lua",
		v2 + "delete/application/application.lua",
		v2 + "delete/host/inactive_host.lua",
		v2 + "delete/host/new_devices.lua",
		v2 + "edit/application/application.lua",
		v2 + "edit/category/category.lua",
		v2 + "edit/host/update_va_scan_period.lua",
		v2 + "edit/ntopng/incr_flows.lua",
		v2 + "edit/ntopng/incr_hosts.lua",
		v2 + "exec/host/schedule_vulnerability_scan.lua",
		v2 + "get/alert/filter/consts.lua",
		v2 + "get/category/list.lua",
		v2 + "get/dns/resolve.lua",
		v2 + "get/flow/traffic_stats.lua",
		v2 + "get/host/fingerprint/data.lua",
		v2 + "get/host/l4/data.lua",
		v2 + "get/host/processes/listening_ports.lua",
		v2 + "get/host/to_scan_list.lua",
		v2 + "get/host/vulnerability_scan_type_list.lua",
		v2 + "get/interface/nprobes/data.lua",
		v2 + "get/network/discovery/discover.lua",
		v2 + "get/pcap/extraction/data.lua",
		v2 + "get/pcap/extraction/tasks.lua",
		v2 + "get/pcap/live_traffic.lua",
		v2 + "get/system/configurations/download_backup.lua",
		v2 + "get/system/configurations/list_availabled_backups.lua",
		v2 + "get/system/health/influxdb.lua",
		v2 + "get/system/health/redis.lua",
		v2 + "get/system/status.lua",
		v2 + "import/pool/host_pool/members.lua",
		v2 + "set/device/alias.lua",
		v2 + "set/host/notes.lua",
		v2 + "set/interface/alias.lua",
		v2 + "set/network/alias.lua",
		v2 + "trigger/host/alert.lua",
	}
}()

// v2Writes are the first path elements of v2 calls that change state.
var v2Writes = map[string]bool{
	"acknowledge": true, "add": true, "bind": true, "change": true, "check": true,
	"create": true, "delete": true, "disable": true, "edit": true, "enable": true,
	"exec": true, "import": true, "reset": true, "set": true, "trigger": true,
}

// addV2Routes adds the v2 tree; it runs after every v1 route is in t.
func (s *Server) addV2Routes(t routeTable) {
	for _, tw := range v2Twins {
		rt, ok := t[tw.v1]
		if !ok {
			panic("rest: v2 route " + tw.v2 + " names a v1 route that is not in the table: " + tw.v1)
		}
		t.add(tw.v2, rt.methods, rt.role, rt.cap, rt.h)
		t[tw.v2].postChanges = rt.postChanges
	}
	// Where ntopng 6 answers more than v1, the twin's handler is replaced.
	t[restV2Prefix+"get/ntopng/interfaces.lua"].h = s.getNtopngInterfacesV2
	t[restV2Prefix+"get/l4/protocol/consts.lua"].h = s.getL4ProtocolConstsV2
	t[proV2Prefix+"get/db/flows.lua"].h = v2EpochAliases(s.getDBFlows)
	// v2's all=true means every host (v1 cut the page all the same).
	t[restV2Prefix+"get/host/active.lua"].h = s.getHostActiveV2
	t.read(restV2Prefix+"connect/test.lua", roleUser, capNone, s.connectTest)
	s.addV2Answers(t)
	t.read("/lua/rest/version.lua", roleUser, capNone, s.restVersion)
	s.addTimeSeriesRoutes(t) // timeseries.go
	for _, p := range v2NotEnabled {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, restV2Prefix), proV2Prefix)
		verb, _, _ := strings.Cut(rel, "/")
		if v2Writes[verb] {
			t.write(p, roleAdmin, capNone, notEnabledV2(p))
		} else {
			t.read(p, roleUser, v2ReadCapability(rel), notEnabledV2(p))
		}
	}
}

// v2ReadCapability is the user capability a v2 read needs, as for v1:
// alerts (but their constants) need allow_alerts, stored flows
// allow_historical_flows, packets allow_pcap_download. A user without it
// gets NOT_GRANTED before learning whether the call is enabled.
func v2ReadCapability(rel string) capability {
	switch {
	case strings.Contains(rel, "alert") && !strings.HasSuffix(rel, "/consts.lua"):
		return capAlerts
	case strings.HasPrefix(rel, "get/db/"):
		return capHistoricalFlows
	case strings.HasPrefix(rel, "get/pcap/"):
		return capPcapDownload
	}
	return capNone
}

// ifaceRefV2 is one interface of v2's get/ntopng/interfaces: v1's pair
// and its human-readable name (ntopng 6: the alias, else the interface
// name; the probe has no interface aliases).
type ifaceRefV2 struct {
	IfID   int    `json:"ifid"`
	IfName string `json:"ifname"`
	Name   string `json:"name"`
}

func (s *Server) getNtopngInterfacesV2(r *request) (RC, any) {
	ifaces := s.visibleIfaces(r.vis)
	out := make([]ifaceRefV2, 0, len(ifaces))
	for _, i := range ifaces {
		out = append(out, ifaceRefV2{IfID: i.ID, IfName: i.Name, Name: i.Name})
	}
	return RCOK, out
}

// getL4ProtocolConstsV2 is ntopng 6's list (l4_protocol_list.lua as of
// 2024): v1's, whose answer is the 2022 one, with L2TP after VRRP and SCTP
// after HIP.
func (s *Server) getL4ProtocolConstsV2(*request) (RC, any) {
	out := make([]l4Const, 0, len(l4Protocols)+2)
	for _, p := range l4Protocols {
		out = append(out, l4Const{Name: p.Name, Other: p.Other, ID: p.ID})
		switch p.Name {
		case "VRRP":
			out = append(out, l4Const{Name: "L2TP", Other: "l2tp", ID: 115})
		case "HIP":
			out = append(out, l4Const{Name: "SCTP", Other: "sctp", ID: 132})
		}
	}
	return RCOK, out
}

// v2EpochAliases lets a v2 historical query name its time range
// epoch_begin/epoch_end, as ntop's Python API does for get/db/flows (its
// Historical.get_flows), where the v2 table names begin_time_clause and
// end_time_clause; the table's names win when both are given.
func v2EpochAliases(h handler) handler {
	return func(r *request) (RC, any) {
		for alias, name := range map[string]string{"epoch_begin": "begin_time_clause", "epoch_end": "end_time_clause"} {
			if v, ok := r.params[alias]; ok && !r.params.Has(name) {
				r.params[name] = v
			}
		}
		return h(r)
	}
}

// getHostActiveV2 is v1's get/host/active, except that all=true returns
// every matching host in one page, as ntopng 6 does (it sets perPage to -1
// before the query; v1 only rewrote what it reported). The user's page
// size preference is left as it was.
func (s *Server) getHostActiveV2(r *request) (RC, any) {
	r.allRows = r.params.Has("all")
	return s.getHostActive(r)
}

// connectTest is v2's connect/test.lua: an authenticated caller gets OK.
func (s *Server) connectTest(*request) (RC, any) { return RCOK, nil }

// restVersion is /lua/rest/version.lua: the REST versions served.
func (s *Server) restVersion(*request) (RC, any) {
	return RCOK, map[string]any{
		"supported_versions": []map[string]string{
			{"version": "1", "root": "/lua/rest/v1"},
			{"version": "2", "root": "/lua/rest/v2"},
		},
		"current_version": "2",
	}
}

// notEnabledV2 answers a v2 call the probe does not serve.
func notEnabledV2(path string) handler {
	msg := path + ": this REST v2 call is not enabled on this probe"
	return func(*request) (RC, any) {
		return RCNotEnabled, map[string]string{"error": msg}
	}
}
