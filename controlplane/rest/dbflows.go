package rest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse"
	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/store"
)

// histTimeout is the whole-query deadline of a historical query: past it
// the scan stops and the caller gets INTERNAL_ERROR rather than an answer
// that never comes.
const histTimeout = 60 * time.Second

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

// histRequest is what both historical endpoints read first: the
// interface, the where clause and the time range. ok false means rc/rsp
// are the answer.
type histRequest struct {
	ifid       uint16
	where      flowsql.Expr
	begin, end int64
	maxHits    int
	// visible is nil for a user who sees every address, else it keeps
	// the flows with an end in the user's networks.
	visible func(r *store.FlowRecord) bool
	// scope is the same for ClickHouse, with the probe parameter (one
	// probe of the fleet; empty: all).
	scope clickhouse.Scope
}

// parseHist also enforces the user's rights: stored flows need
// allow_historical_flows (ntopng: NOT_GRANTED) and a restricted user gets
// only the flows with an end in the allowed networks.
func (s *Server) parseHist(r *request) (h histRequest, rc RC, rsp any, ok bool) {
	if !r.vis.mayHistorical() {
		return h, RCNotGranted, nil, false
	}
	ifc, found := s.iface(r.params)
	if !found {
		return h, RCInvalidInterface, nil, false
	}
	if !r.vis.seesIface(ifc.Name) {
		return h, RCNotGranted, nil, false
	}
	if s.cfg.Store == nil && s.cfg.History == nil {
		return h, RCInternalError, nil, false
	}
	if sees := r.vis.flowFilter(); sees != nil {
		h.visible = func(f *store.FlowRecord) bool { return sees(f.Client, f.Server) }
	}
	h.scope = clickhouse.Scope{Probe: r.params["probe"], Nets: r.vis.nets}
	where, err := flowsql.ParseWhere(r.params["where_clause"])
	if err != nil {
		rc, rsp = invalidArgs(err)
		return h, rc, rsp, false
	}
	h.ifid, h.where, h.maxHits = ifc.StoreID, where, r.params.Int("maxhits_clause", 10)
	h.begin, h.end = s.timeRange(r.params)
	return h, RCOK, nil, true
}

// getDBFlows is /lua/pro/rest/v1/get/db/flows.lua.
func (s *Server) getDBFlows(r *request) (RC, any) {
	h, rc, rsp, ok := s.parseHist(r)
	if !ok {
		return rc, rsp
	}
	sel, err := flowsql.ParseSelect(r.params["select_clause"])
	if err != nil {
		return invalidArgs(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), histTimeout)
	defer cancel()
	q := flowsql.FlowsQuery{
		IfID: h.ifid, Begin: h.begin, End: h.end, Select: sel, Where: h.where, MaxHits: h.maxHits, Visible: h.visible,
	}
	var rows []map[string]any
	if s.cfg.History != nil {
		rows, err = s.cfg.History.Flows(ctx, q, h.scope)
	} else {
		rows, err = flowsql.Flows(ctx, s.cfg.Store, q)
	}
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, rows
}

// getDBTopKFlows is /lua/pro/rest/v1/get/db/topk_flows.lua.
func (s *Server) getDBTopKFlows(r *request) (RC, any) {
	h, rc, rsp, ok := s.parseHist(r)
	if !ok {
		return rc, rsp
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
	ctx, cancel := context.WithTimeout(context.Background(), histTimeout)
	defer cancel()
	q := flowsql.TopKQuery{
		IfID: h.ifid, Begin: h.begin, End: h.end, Keys: keys, Value: val, Agg: agg, Where: h.where, MaxHits: h.maxHits, Visible: h.visible,
	}
	var rows []map[string]any
	if s.cfg.History != nil {
		rows, err = s.cfg.History.TopK(ctx, q, h.scope)
	} else {
		rows, err = flowsql.TopK(ctx, s.cfg.Store, q)
	}
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, rows
}
