package rest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/probe-appliance/probe/controlplane/store"
)

// pro get/db/historical_db_search.lua: ntopng 6's historical flow
// explorer. The probe answers its top_conversations preset (ntop's Python
// API, Historical.get_top_conversations): the stored flows of the time
// range grouped by client and server, ranked.
//
// Choices made without a recorded answer:
//   - rsp is {"records": [...]} with recordsTotal/recordsFiltered beside
//     it (ntopng's DataTables extended answer); a record is {"cli_ip":
//     {"value", "label"}, "srv_ip": {...}, "bytes", "packets", "flows"}.
//   - query_preset other than top_conversations is INVALID_ARGUMENTS
//     (the other presets read ClickHouse columns the probe does not
//     store); visible_columns is ignored: every column is answered.
//   - sort is bytes (default), packets or flows; order DESC (default) or
//     ASC; start/length page the ranking (length 1..1000, default 10).
//   - ip, cli_ip and srv_ip take ntopng's "address;eq" or "address;neq"
//     filters (ip: either end).
//   - The groups a query may hold are bounded (maxConversations); past
//     it the call answers INTERNAL_ERROR rather than grow.
const (
	maxConversations     = 200000
	maxConversationsPage = 1000
)

type convPeer struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type conversation struct {
	CliIP   convPeer `json:"cli_ip"`
	SrvIP   convPeer `json:"srv_ip"`
	Bytes   uint64   `json:"bytes"`
	Packets uint64   `json:"packets"`
	Flows   uint64   `json:"flows"`
}

type dbSearchRsp struct {
	Records []*conversation `json:"records"`
}

var errTooManyConversations = errors.New("more conversations than the query may hold")

// addrFilter is one "address;op" filter.
type addrFilter struct {
	addr netip.Addr
	neq  bool
}

func parseAddrFilter(v string) (*addrFilter, error) {
	if v == "" {
		return nil, nil
	}
	a, op, _ := strings.Cut(v, ";")
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return nil, fmt.Errorf("%q is not an address", a)
	}
	switch op {
	case "", "eq":
		return &addrFilter{addr: addr}, nil
	case "neq":
		return &addrFilter{addr: addr, neq: true}, nil
	}
	return nil, fmt.Errorf("unknown operator %q (eq or neq)", op)
}

func (f *addrFilter) match(addrs ...netip.Addr) bool {
	if f == nil {
		return true
	}
	for _, a := range addrs {
		if a == f.addr {
			return !f.neq
		}
	}
	return f.neq
}

func (s *Server) getDBHistoricalSearch(r *request) (RC, any) {
	h, rc, rsp, ok := s.parseHist(r)
	if !ok {
		return rc, rsp
	}
	if p := r.params["query_preset"]; p != "top_conversations" {
		return invalidArgs(fmt.Errorf("query_preset %q: only top_conversations is served", p))
	}
	var filters [3]*addrFilter
	for i, name := range []string{"ip", "cli_ip", "srv_ip"} {
		f, err := parseAddrFilter(r.params[name])
		if err != nil {
			return invalidArgs(fmt.Errorf("%s: %w", name, err))
		}
		filters[i] = f
	}
	sortBy := ifEmpty(r.params["sort"], "bytes")
	key := map[string]func(c *conversation) uint64{
		"bytes":   func(c *conversation) uint64 { return c.Bytes },
		"packets": func(c *conversation) uint64 { return c.Packets },
		"flows":   func(c *conversation) uint64 { return c.Flows },
	}[sortBy]
	if key == nil {
		return invalidArgs(fmt.Errorf("sort must be bytes, packets or flows"))
	}
	asc := strings.EqualFold(r.params["order"], "asc")
	start := max(r.params.Int("start", 0), 0)
	length := r.params.Int("length", 10)
	if length < 1 || length > maxConversationsPage {
		return invalidArgs(fmt.Errorf("length must be 1..%d", maxConversationsPage))
	}

	type pair struct{ cli, srv netip.Addr }
	groups := map[pair]*conversation{}
	var order []pair
	ctx, cancel := context.WithTimeout(context.Background(), histTimeout)
	defer cancel()
	n := 0
	err := s.cfg.Store.ScanFlows(h.ifid, h.begin, h.end+1, func(f *store.FlowRecord) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if f.LastSeen < h.begin || f.LastSeen > h.end || (h.visible != nil && !h.visible(f)) ||
			!filters[0].match(f.Client, f.Server) || !filters[1].match(f.Client) || !filters[2].match(f.Server) {
			return nil
		}
		k := pair{f.Client, f.Server}
		c := groups[k]
		if c == nil {
			if len(groups) >= maxConversations {
				return errTooManyConversations
			}
			c = &conversation{CliIP: convPeer{f.Client.String(), f.Client.String()}, SrvIP: convPeer{f.Server.String(), f.Server.String()}}
			groups[k] = c
			order = append(order, k)
		}
		c.Bytes += f.BytesC2S + f.BytesS2C
		c.Packets += f.PktsC2S + f.PktsS2C
		c.Flows++
		return nil
	})
	if err != nil {
		return RCInternalError, map[string]string{"error": "historical_db_search: " + err.Error()}
	}
	all := make([]*conversation, len(order))
	for i, k := range order {
		all[i] = groups[k]
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := key(all[i]), key(all[j])
		if asc {
			return a < b
		}
		return a > b
	})
	total := len(all)
	start = min(start, total)
	end := min(start+length, total)
	return RCOK, extended{
		rsp:   dbSearchRsp{Records: all[start:end]},
		extra: map[string]any{"recordsTotal": total, "recordsFiltered": total},
	}
}
