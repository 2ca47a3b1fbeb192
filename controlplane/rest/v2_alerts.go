package rest

import (
	"net/netip"
	"sort"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/internal/communityid"
)

// ntopng 6's alert database queries: get/alert/list/alerts.lua (one
// alert family's table, with the caller's select, where, group by, order
// by and maxhits clauses) and the */alert/top.lua statistics.
//
// Choices made without a recorded answer:
//   - Each family's columns are the ntopng 6 alert-table columns the probe
//     has data for (v2AlertColumns); a clause naming any other column is
//     INVALID_ARGUMENTS, as ntopng's database refuses unknown columns.
//     Values are answered as text, as ntopng's database layer hands them
//     to Lua; aggregates are keyed by their lower-case text ("count(*)")
//     unless aliased.
//   - maxhits_clause defaults to 10 (as pro get/db/flows does here) and
//     must be 1..10000.
//   - The system, user, snmp and active_monitoring families live on
//     ntopng's system interface: they are read from it whatever ifid
//     names, and only an administrator may (NOT_GRANTED otherwise).
//   - alert_category is ntopng's category of the alert's definition:
//     1 (cybersecurity) for alerts that mark an attacker or a victim,
//     4 (system) for system and user alerts, 2 (network) for the others.
//   - A flow alert's community_id is its five-tuple's Community ID v1
//     (seed 0; internal/communityid), client as source.
//   - alert_status is 1 for an acknowledged alert, else 0; cli_location
//     and srv_location are "local" or "remote"; description is the
//     alert's text as the alert lists show it.
var v2AlertFamilies = map[string]struct {
	match  func(a *alert.Alert) bool
	system bool // kept on the system interface
}{
	"flow":              {func(a *alert.Alert) bool { return a.Family == alert.FamilyFlow }, false},
	"host":              {entityIs(alert.EntityHost), false},
	"interface":         {entityIs(alert.EntityInterface), false},
	"network":           {entityIs(alert.EntityNetwork), false},
	"mac":               {entityIs(alert.EntityMAC), false},
	"active_monitoring": {entityIs(alert.EntityAMHost), true},
	"snmp":              {entityIs(alert.EntitySNMPDevice), true},
	"system":            {entityIs(alert.EntitySystem), true},
	"user":              {entityIs(alert.EntityUser), true},
}

func entityIs(e alert.Entity) func(a *alert.Alert) bool {
	return func(a *alert.Alert) bool { return a.Family != alert.FamilyFlow && a.Entity == e }
}

// Alert categories (ntopng 6's alert_categories).
const (
	alertCategoryOther    = 0
	alertCategorySecurity = 1
	alertCategoryNetwork  = 2
	alertCategorySystem   = 4
)

func alertCategory(a *alert.Alert) int {
	switch {
	case a.Entity == alert.EntitySystem || a.Entity == alert.EntityUser:
		return alertCategorySystem
	case a.Flow != nil && (a.Flow.CliAttacker || a.Flow.SrvVictim),
		a.Host != nil && (a.Host.IsAttacker || a.Host.IsVictim):
		return alertCategorySecurity
	}
	return alertCategoryNetwork
}

// flowCommunityID is a flow alert's Community ID ("" when its addresses
// do not parse).
func flowCommunityID(f *alert.FlowAlert) string {
	cli, err1 := netip.ParseAddr(f.CliIP)
	srv, err2 := netip.ParseAddr(f.SrvIP)
	if err1 != nil || err2 != nil {
		return ""
	}
	return communityid.ID(communityid.Tuple{Src: cli, Dst: srv, Proto: f.Proto, SrcPort: f.CliPort, DstPort: f.SrvPort}, 0)
}

// alertColumn is one column of an alert family's table.
type alertColumn struct {
	name string
	cell func(s *Server, a *alert.Alert) sqlCell
}

var commonAlertColumns = []alertColumn{
	{"rowid", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(a.RowID)) }},
	{"alert_id", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(a.TypeID)) }},
	{"alert_category", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(alertCategory(a))) }},
	{"interface_id", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(ifaceIDOf(a))) }},
	{"tstamp", func(_ *Server, a *alert.Alert) sqlCell { return numCell(a.Tstamp) }},
	{"tstamp_end", func(_ *Server, a *alert.Alert) sqlCell { return numCell(a.TstampEnd) }},
	{"severity", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(a.Severity)) }},
	{"score", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(a.Score)) }},
	{"counter", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(a.Count)) }},
	{"alert_status", func(_ *Server, a *alert.Alert) sqlCell { return boolCell(a.Acknowledged) }},
	{"description", func(_ *Server, a *alert.Alert) sqlCell { return textCell(alert.Describe(a.Type(), a.Info)) }},
	{"json", func(_ *Server, a *alert.Alert) sqlCell { return textCell(string(a.Detail)) }},
}

// ifaceIDOf is the ifid an alert is answered under: -1 for the system
// interface, as ntopng.
func ifaceIDOf(a *alert.Alert) int {
	if a.IfID == checks.SystemIfID {
		return -1
	}
	return a.IfID
}

func flowCol(name string, f func(s *Server, fa *alert.FlowAlert) sqlCell) alertColumn {
	return alertColumn{name, func(s *Server, a *alert.Alert) sqlCell {
		if a.Flow == nil {
			return sqlCell{}
		}
		return f(s, a.Flow)
	}}
}

func hostCol(name string, f func(h *alert.HostAlert) sqlCell) alertColumn {
	return alertColumn{name, func(_ *Server, a *alert.Alert) sqlCell {
		if a.Host == nil {
			return sqlCell{}
		}
		return f(a.Host)
	}}
}

func entityValCol(name string) alertColumn {
	return alertColumn{name, func(_ *Server, a *alert.Alert) sqlCell { return textCell(a.EntityVal) }}
}

func (s *Server) country(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	return s.cfg.GeoIP.Lookup(a).CountryISO
}

var v2FlowColumns = []alertColumn{
	flowCol("cli_ip", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.CliIP) }),
	flowCol("srv_ip", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.SrvIP) }),
	flowCol("cli_port", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.CliPort)) }),
	flowCol("srv_port", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.SrvPort)) }),
	flowCol("vlan_id", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.VLAN)) }),
	flowCol("proto", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.Proto)) }),
	flowCol("l7_master_proto", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.L7Master)) }),
	flowCol("l7_proto", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.L7App)) }),
	flowCol("cli_name", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.CliName) }),
	flowCol("srv_name", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.SrvName) }),
	flowCol("cli_country", func(s *Server, f *alert.FlowAlert) sqlCell { return textCell(s.country(f.CliIP)) }),
	flowCol("srv_country", func(s *Server, f *alert.FlowAlert) sqlCell { return textCell(s.country(f.SrvIP)) }),
	flowCol("cli_location", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(location(f.CliLocal)) }),
	flowCol("srv_location", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(location(f.SrvLocal)) }),
	flowCol("cli_network", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.CliNetwork) }),
	flowCol("srv_network", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.SrvNetwork) }),
	flowCol("is_cli_attacker", func(_ *Server, f *alert.FlowAlert) sqlCell { return boolCell(f.CliAttacker) }),
	flowCol("is_srv_victim", func(_ *Server, f *alert.FlowAlert) sqlCell { return boolCell(f.SrvVictim) }),
	flowCol("cli2srv_bytes", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.Bytes[0])) }),
	flowCol("srv2cli_bytes", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.Bytes[1])) }),
	flowCol("cli2srv_pkts", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.Packets[0])) }),
	flowCol("srv2cli_pkts", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(int64(f.Packets[1])) }),
	flowCol("first_seen", func(_ *Server, f *alert.FlowAlert) sqlCell { return numCell(f.FirstSeen) }),
	flowCol("info", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(f.ServerName) }),
	flowCol("community_id", func(_ *Server, f *alert.FlowAlert) sqlCell { return textCell(flowCommunityID(f)) }),
}

// location is ntopng 6's location of a flow peer: local or remote.
func location(local bool) string {
	if local {
		return "local"
	}
	return "remote"
}

var v2HostColumns = []alertColumn{
	hostCol("ip", func(h *alert.HostAlert) sqlCell { return textCell(h.IP) }),
	hostCol("ip_version", func(h *alert.HostAlert) sqlCell {
		if strings.Contains(h.IP, ":") {
			return numCell(6)
		}
		return numCell(4)
	}),
	hostCol("vlan_id", func(h *alert.HostAlert) sqlCell { return numCell(int64(h.VLAN)) }),
	hostCol("name", func(h *alert.HostAlert) sqlCell { return textCell(h.Name) }),
	hostCol("is_attacker", func(h *alert.HostAlert) sqlCell { return boolCell(h.IsAttacker) }),
	hostCol("is_victim", func(h *alert.HostAlert) sqlCell { return boolCell(h.IsVictim) }),
	{"country", func(s *Server, a *alert.Alert) sqlCell {
		if a.Host == nil {
			return sqlCell{}
		}
		return textCell(s.country(a.Host.IP))
	}},
}

// v2AlertColumns are the columns of each family's table, in answer order
// (select *): the common ones, then the family's own. The entity value
// takes the name ntopng's table gives it.
var v2AlertColumns = func() map[string][]alertColumn {
	with := func(cols ...alertColumn) []alertColumn {
		return append(append([]alertColumn{}, commonAlertColumns...), cols...)
	}
	return map[string][]alertColumn{
		"flow":              with(v2FlowColumns...),
		"host":              with(v2HostColumns...),
		"interface":         with(entityValCol("name"), alertColumn{"ifid", func(_ *Server, a *alert.Alert) sqlCell { return numCell(int64(ifaceIDOf(a))) }}),
		"network":           with(entityValCol("name")),
		"mac":               with(entityValCol("address")),
		"active_monitoring": with(entityValCol("resolved_name")),
		"snmp":              with(entityValCol("ip")),
		"system":            with(entityValCol("name")),
		"user":              with(entityValCol("user_name")),
	}
}()

// v2AlertScan reads the stored alerts of a query that the family
// selects, newest first.
func (s *Server) v2AlertScan(r *request, family string) ([]alert.Alert, RC, any) {
	fam, ok := v2AlertFamilies[family]
	if !ok {
		names := make([]string, 0, len(v2AlertFamilies))
		for n := range v2AlertFamilies {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, RCInvalidArguments, map[string]string{"error": "alert_family must be one of " + strings.Join(names, ", ")}
	}
	q, rc, rsp := s.parseAlertQuery(r, "historical")
	if rc != RCOK {
		return nil, rc, rsp
	}
	if fam.system {
		if !r.vis.seesSystem() {
			return nil, RCNotGranted, nil
		}
		q.ifc = &Interface{ID: -1, StoreID: checks.SystemIfID, Name: "system"}
	}
	var out []alert.Alert
	for _, st := range []string{"historical", "historical-flows"} {
		q.status = st
		list, err := s.alerts(q)
		if err != nil {
			return nil, RCInternalError, map[string]string{"error": err.Error()}
		}
		for _, a := range list {
			if fam.match(&a) {
				out = append(out, a)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tstamp != out[j].Tstamp {
			return out[i].Tstamp > out[j].Tstamp
		}
		return out[i].RowID > out[j].RowID
	})
	return out, RCOK, nil
}

// getAlertListAlerts serves get/alert/list/alerts.lua.
func (s *Server) getAlertListAlerts(r *request) (RC, any) {
	family := r.params["alert_family"]
	cols, ok := v2AlertColumns[family]
	if !ok {
		_, rc, rsp := s.v2AlertScan(r, family)
		return rc, rsp
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	q, err := parseAlertSQL(r.params, names)
	if err != nil {
		return invalidArgs(err)
	}
	list, rc, rsp := s.v2AlertScan(r, family)
	if rc != RCOK {
		return rc, rsp
	}
	// Only the columns the clauses read are computed (the description,
	// the Community ID and the countries cost more than the rest).
	need := q.columns()
	rows := make([]sqlRow, len(list))
	for i := range list {
		row := make(sqlRow, len(need))
		for _, c := range cols {
			if need[c.name] {
				row[c.name] = c.cell(s, &list[i])
			}
		}
		rows[i] = row
	}
	out, err := q.run(rows)
	if err != nil {
		return invalidArgs(err)
	}
	return RCOK, out
}
