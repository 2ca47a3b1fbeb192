package rest

// v2BeyondTable are v2 paths ntopng's published table does not list but
// ntopng 6 serves and a client calls: get/alert/top.lua and pro
// get/host/top/ts_stats.lua (ntop's Python API, Historical.get_alerts_stats
// and get_host_top_protocols).
var v2BeyondTable = []string{restV2Prefix + "get/alert/top.lua", proV2Prefix + "get/host/top/ts_stats.lua"}

// addV2Answers adds the v2 calls the v2_*.go files answer (moved out of
// v2NotEnabled) and puts ntopng 6's handlers on the twins whose answers
// differ from v1's.
func (s *Server) addV2Answers(t routeTable) {
	t.read(restV2Prefix+"get/alert/list/alerts.lua", roleUser, capAlerts, s.getAlertListAlerts)
	// The v1 twins of the alert lists answer v2's records.
	for _, e := range []string{"flow", "host", "interface", "all"} {
		t[restV2Prefix+"get/"+e+"/alert/list.lua"].h = s.v2AlertList(e)
	}
	t.read(restV2Prefix+"get/alert/top.lua", roleUser, capAlerts, s.alertTop(""))
	t.read(restV2Prefix+"get/interface/bcast_domains.lua", roleUser, capNone, s.getInterfaceBcastDomains)
	t[restV2Prefix+"get/interface/data.lua"].h = s.getInterfaceDataV2
	t[restV2Prefix+"get/flow/l4/counters.lua"].h = s.getFlowL4CountersV2
	// ntopng's health pages are the administrator's.
	t.read(restV2Prefix+"get/system/health/stats.lua", roleAdmin, capNone, s.getSystemHealthStats)
	t.read(restV2Prefix+"get/system/health/interfaces.lua", roleAdmin, capNone, s.getSystemHealthInterfaces)
	t.read(restV2Prefix+"get/network/networks.lua", roleUser, capNone, s.getNetworkNetworks)
	t.read(restV2Prefix+"get/interface/arp.lua", roleUser, capNone, s.getInterfaceARP)
	t.read(proV2Prefix+"get/db/historical_db_search.lua", roleUser, capHistoricalFlows, v2EpochAliases(s.getDBHistoricalSearch))
	for _, family := range []string{"mac", "network", "system", "user"} {
		t.read(restV2Prefix+"get/"+family+"/alert/list.lua", roleUser, capAlerts, s.v2FamilyList(family))
	}
	for path, family := range map[string]string{"am_host": "active_monitoring", "mac": "mac", "network": "network", "system": "system", "user": "user"} {
		t.read(restV2Prefix+"get/"+path+"/alert/ts.lua", roleUser, capAlerts, s.v2FamilyTS(family))
	}
	for family := range v2ActionFamilies {
		t.write(restV2Prefix+"acknowledge/"+family+"/alerts.lua", roleAdmin, capNone, s.v2AlertAction(family, false))
		t.write(restV2Prefix+"delete/"+family+"/alerts.lua", roleAdmin, capNone, s.v2AlertAction(family, true))
	}
	for path, family := range map[string]string{
		"all": "", "am_host": "active_monitoring", "flow": "flow", "host": "host", "interface": "interface",
		"mac": "mac", "network": "network", "snmp/device": "snmp", "system": "system", "user": "user",
	} {
		t.read(proV2Prefix+"get/"+path+"/alert/top.lua", roleUser, capAlerts, s.alertTop(family))
	}
}
