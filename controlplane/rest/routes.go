package rest

func (s *Server) buildRoutes() map[string]handler {
	v1 := map[string]handler{
		"get/ntopng/interfaces.lua":     s.getNtopngInterfaces,
		"get/interface/data.lua":        s.getInterfaceData,
		"get/interface/address.lua":     s.getInterfaceAddress,
		"get/host/active.lua":           s.getHostActive,
		"get/host/data.lua":             s.getHostData,
		"get/host/interfaces.lua":       s.getHostInterfaces,
		"set/host/alias.lua":            s.setHostAlias,
		"get/flow/active.lua":           s.getFlowActive,
		"get/flow/l4/counters.lua":      s.getFlowL4Counters,
		"get/flow/l7/counters.lua":      s.getFlowL7Counters,
		"get/interface/l7/stats.lua":    s.getInterfaceL7Stats,
		"get/host/l7/stats.lua":         s.getHostL7Stats,
		"get/l4/protocol/consts.lua":    s.getL4ProtocolConsts,
		"get/l7/application/consts.lua": s.getL7ApplicationConsts,
		"get/l7/category/consts.lua":    s.getL7CategoryConsts,
		"create/ntopng/session.lua":     s.createSession,
		"get/ntopng/session.lua":        s.createSession,
		"create/ntopng/api_token.lua":   s.createAPIToken,
		"get/host/custom_data.lua":      s.getHostCustomData,
		"get/interface/dscp/stats.lua":  s.getInterfaceDSCPStats,
		"get/host/dscp/stats.lua":       s.getHostDSCPStats,
		"reset/all/config.lua":          s.resetAllConfig,
	}
	routes := make(map[string]handler, len(v1)+2)
	for p, h := range v1 {
		routes[restPrefix+p] = h
	}
	routes["/lua/toggle_all_checks.lua"] = s.toggleAllChecks
	routes["/lua/pro/rest/v1/get/db/flows.lua"] = s.getDBFlows
	routes["/lua/pro/rest/v1/get/db/topk_flows.lua"] = s.getDBTopKFlows
	return routes
}

// resetAllConfig is ntopng's factory reset: the answer goes out, then the
// probe wipes users, tokens, settings and stored flows and restarts.
func (s *Server) resetAllConfig(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	if s.cfg.FactoryReset == nil {
		return RCInternalError, map[string]string{"error": "factory reset is not available in this process"}
	}
	s.cfg.FactoryReset()
	return RCOK, nil
}
