package rest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowsql"
)

// defaultHistory is the time range of a historical query without
// begin/end clauses: the last hour, as ntopng's pages default to.
const defaultHistory = 3600

func (s *Server) timeRange(p Params) (begin, end int64) {
	end = s.cfg.Now().Unix()
	if v, ok := p["end_time_clause"]; ok {
		end, _ = strconv.ParseInt(v, 10, 64)
	}
	begin = end - defaultHistory
	if v, ok := p["begin_time_clause"]; ok {
		begin, _ = strconv.ParseInt(v, 10, 64)
	}
	return begin, end
}

func invalidArgs(err error) (RC, any) {
	return RCInvalidArguments, map[string]string{"error": err.Error()}
}

// getDBFlows is /lua/pro/rest/v1/get/db/flows.lua.
func (s *Server) getDBFlows(r *request) (RC, any) {
	ifc, ok := s.iface(r.params)
	if !ok {
		return RCInvalidInterface, nil
	}
	if s.cfg.Store == nil {
		return RCInternalError, nil
	}
	sel, err := flowsql.ParseSelect(r.params["select_clause"])
	if err != nil {
		return invalidArgs(err)
	}
	where, err := flowsql.ParseWhere(r.params["where_clause"])
	if err != nil {
		return invalidArgs(err)
	}
	begin, end := s.timeRange(r.params)
	rows, err := flowsql.Flows(s.cfg.Store, flowsql.FlowsQuery{
		IfID: uint16(ifc.ID), Begin: begin, End: end, Select: sel, Where: where,
		MaxHits: r.params.Int("maxhits_clause", 10),
	})
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, rows
}

// getDBTopKFlows is /lua/pro/rest/v1/get/db/topk_flows.lua.
func (s *Server) getDBTopKFlows(r *request) (RC, any) {
	ifc, ok := s.iface(r.params)
	if !ok {
		return RCInvalidInterface, nil
	}
	if s.cfg.Store == nil {
		return RCInternalError, nil
	}
	keysClause := r.params["select_keys_clause"]
	if keysClause == "" {
		keysClause = "IPV4_SRC_ADDR,IPV4_DST_ADDR,L7_PROTO"
	}
	var keys []*flowsql.Column
	for _, k := range strings.Split(keysClause, ",") {
		c, ok := flowsql.Lookup(k)
		if !ok {
			return invalidArgs(fmt.Errorf("unknown key column %q", strings.TrimSpace(k)))
		}
		keys = append(keys, c)
	}
	valName := r.params["select_values_clause"]
	if valName == "" {
		valName = "BYTES"
	}
	val, ok := flowsql.Lookup(valName)
	if !ok || val.Number == nil {
		return invalidArgs(fmt.Errorf("%q is not a numeric column", valName))
	}
	agg, err := flowsql.ParseAgg(r.params["topk_clause"])
	if err != nil {
		return invalidArgs(err)
	}
	where, err := flowsql.ParseWhere(r.params["where_clause"])
	if err != nil {
		return invalidArgs(err)
	}
	begin, end := s.timeRange(r.params)
	rows, err := flowsql.TopK(s.cfg.Store, flowsql.TopKQuery{
		IfID: uint16(ifc.ID), Begin: begin, End: end, Keys: keys, Value: val, Agg: agg, Where: where,
		MaxHits: r.params.Int("maxhits_clause", 10),
	})
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, rows
}
