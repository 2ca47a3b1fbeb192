package rest

// get/interface/bcast_domains.lua: the broadcast domains (subnets) ntopng
// learns from the ARP requests it sees, {"bcast_domains": {"<cidr>":
// {"ghost_network": bool, "hits": n}}}.
//
// Choice made without a recorded answer: the probe's dataplane does not
// decode ARP, so it learns no domain and answers an empty set for every
// interface it has, written as ntopng writes an empty table ([]).
func (s *Server) getInterfaceBcastDomains(r *request) (RC, any) {
	if _, rc := s.ifaceFor(r, r.params); rc != RCOK {
		return rc, nil
	}
	return RCOK, map[string]any{"bcast_domains": []any{}}
}
