package rest

// v2Params are the parameters of the v2 calls served in v2_*.go that v1's
// whitelist (knownParams) lacks. They are added at start up, in this file,
// so that the v2 work stays out of the shared table; a name the table
// already has keeps its validator.
var v2Params = map[string]validator{
	// get/alert/list/alerts.lua (parsed and bounded by v2_alertsql.go).
	"alert_family":    vWord,
	"group_by_clause": vAny,
	"order_by_clause": vAny,
	// ntopng's "value;op" filters of the */alert/top.lua and
	// historical_db_search.lua calls (v2_alerttop.go checks them).
	"ip":       vAny,
	"cli_ip":   vAny,
	"srv_ip":   vAny,
	"alert_id": vAny,
	"severity": vAny,
	"score":    vAny,
	"vlan_id":  vAny,
	"cli_port": vAny,
	"srv_port": vAny,
	"l4proto":  vAny,
	// historical_db_search.lua's table options.
	"query_preset":    vWord,
	"order":           vEnum("ASC", "DESC", "asc", "desc"),
	"sort":            vWord,
	"visible_columns": vAny,
	"format":          vWord,
}

func init() {
	for k, v := range v2Params {
		if _, ok := knownParams[k]; !ok {
			knownParams[k] = v
		}
	}
}
