package rest

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// flowSortKeys are get/flow/active's sortColumn values (after "column_").
var flowSortKeys = map[string]func(a, b *flowtable.Flow) int{
	"":           func(a, b *flowtable.Flow) int { return cmpU64(a.Bytes(), b.Bytes()) },
	"bytes":      func(a, b *flowtable.Flow) int { return cmpU64(a.Bytes(), b.Bytes()) },
	"client":     func(a, b *flowtable.Flow) int { return a.Client.Compare(b.Client) },
	"server":     func(a, b *flowtable.Flow) int { return a.Server.Compare(b.Server) },
	"vlan":       func(a, b *flowtable.Flow) int { return int(a.VLAN) - int(b.VLAN) },
	"proto_l4":   func(a, b *flowtable.Flow) int { return int(a.Proto) - int(b.Proto) },
	"ndpi":       func(a, b *flowtable.Flow) int { return 0 },
	"score":      func(a, b *flowtable.Flow) int { return 0 },
	"info":       func(a, b *flowtable.Flow) int { return 0 },
	"duration":   func(a, b *flowtable.Flow) int { return cmp64(a.LastSeen-a.FirstSeen, b.LastSeen-b.FirstSeen) },
	"thpt":       func(a, b *flowtable.Flow) int { return cmpF(a.ThptBps, b.ThptBps) },
	"first_seen": func(a, b *flowtable.Flow) int { return cmp64(a.FirstSeen, b.FirstSeen) },
	"last_seen":  func(a, b *flowtable.Flow) int { return cmp64(a.LastSeen, b.LastSeen) },
}

func (s *Server) getFlowActive(r *request) (RC, any) {
	ifc, ok := s.iface(r.params)
	if !ok {
		return RCInvalidInterface, nil
	}
	p := r.params
	perPage := s.rowsPref(r)
	currentPage := p.Int("currentPage", 1)
	if currentPage < 1 {
		currentPage = 1
	}
	col := strings.TrimPrefix(p["sortColumn"], "column_")
	cmp := flowSortKeys[col]
	if cmp == nil {
		col, cmp = "", flowSortKeys[""]
	}
	order := p["sortOrder"]
	if order == "" {
		order = "desc"
	}
	var hostFilter *flowtable.HostKey
	if p.Has("host") {
		k, ok := parseHostParam(p)
		if !ok {
			return RCInvalidArguments, nil
		}
		hostFilter = &k
	}
	var data []map[string]any
	total := 0
	ifc.Table.View(func(v flowtable.View) {
		flows := v.Flows()
		out := flows[:0]
		for _, f := range flows {
			if hostFilter != nil && f.VLAN != hostFilter.VLAN {
				continue
			}
			if hostFilter != nil && f.Client != hostFilter.Addr && f.Server != hostFilter.Addr {
				continue
			}
			if vl, ok := p["vlan"]; ok && vl != strconv.Itoa(int(f.VLAN)) {
				continue
			}
			if l4, ok := p["l4proto"]; ok && l4 != strconv.Itoa(int(f.Proto)) {
				continue
			}
			if port, ok := p["port"]; ok && port != strconv.Itoa(int(f.ClientPort)) && port != strconv.Itoa(int(f.ServerPort)) {
				continue
			}
			out = append(out, f)
		}
		total = len(out)
		sort.SliceStable(out, func(i, j int) bool {
			c := cmp(out[i], out[j])
			if c == 0 {
				c = int(out[i].HashID) - int(out[j].HashID)
			}
			if order == "asc" {
				return c < 0
			}
			return c > 0
		})
		page := pageOf(out, currentPage, perPage)
		data = make([]map[string]any, 0, len(page))
		verbose := p["verbose"] == "true"
		for _, f := range page {
			data = append(data, activeFlowEntry(f, verbose))
		}
	})
	return RCOK, map[string]any{
		"perPage": perPage, "currentPage": currentPage, "totalRows": total,
		"sort": []any{[]any{"column_" + col, order}}, "data": data,
	}
}

func activeFlowEntry(f *flowtable.Flow, verbose bool) map[string]any {
	cli, srv := f.ClientHost(), f.ServerHost()
	bytes := f.Bytes()
	c2s := 0
	if bytes > 0 {
		c2s = int(math.Round(float64(f.BytesC2S) * 100 / float64(bytes)))
	}
	e := map[string]any{
		"key":        strconv.FormatUint(uint64(f.Key()), 10),
		"hash_id":    strconv.FormatUint(uint64(f.HashID), 10),
		"first_seen": f.FirstSeen / 1e9,
		"last_seen":  f.LastSeen / 1e9,
		"client": map[string]any{
			"name": hostLabel(cli), "ip": f.Client.String(), "port": f.ClientPort,
			"is_broadcast_domain": false, "is_dhcp": false, "is_blacklisted": false,
		},
		// ntopng takes the server's flags from the client host (a bug real
		// clients live with); they are all false here either way.
		"server": map[string]any{
			"name": hostLabel(srv), "ip": f.Server.String(), "port": f.ServerPort,
			"is_broadcast": false, "is_dhcp": false, "is_blacklisted": false,
		},
		"vlan":      f.VLAN,
		"protocol":  map[string]any{"l4": l4Name(f.Proto), "l7": "Unknown"},
		"duration":  (f.LastSeen - f.FirstSeen) / 1e9,
		"bytes":     bytes,
		"thpt":      map[string]any{"pps": Num(f.ThptPps), "bps": Num(f.ThptBps)},
		"breakdown": map[string]any{"cli2srv": c2s, "srv2cli": 100 - c2s},
		"score":     "0",
	}
	if verbose {
		e["packets"] = f.Packets()
	}
	return e
}
