package rest

import (
	"cmp"
	"math"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
)

// flowSortKeys are get/flow/active's sortColumn values (after "column_").
var flowSortKeys = map[string]func(a, b *flowtable.Flow) int{
	"":           func(a, b *flowtable.Flow) int { return cmp.Compare(a.Bytes(), b.Bytes()) },
	"bytes":      func(a, b *flowtable.Flow) int { return cmp.Compare(a.Bytes(), b.Bytes()) },
	"client":     func(a, b *flowtable.Flow) int { return a.Client.Compare(b.Client) },
	"server":     func(a, b *flowtable.Flow) int { return a.Server.Compare(b.Server) },
	"vlan":       func(a, b *flowtable.Flow) int { return int(a.VLAN) - int(b.VLAN) },
	"proto_l4":   func(a, b *flowtable.Flow) int { return int(a.Proto) - int(b.Proto) },
	"ndpi":       func(a, b *flowtable.Flow) int { return strings.Compare(a.Protocol().Name(), b.Protocol().Name()) },
	"score":      func(a, b *flowtable.Flow) int { return 0 },
	"info":       func(a, b *flowtable.Flow) int { return 0 },
	"duration":   func(a, b *flowtable.Flow) int { return cmp.Compare(a.LastSeen-a.FirstSeen, b.LastSeen-b.FirstSeen) },
	"thpt":       func(a, b *flowtable.Flow) int { return cmp.Compare(a.ThptBps, b.ThptBps) },
	"first_seen": func(a, b *flowtable.Flow) int { return cmp.Compare(a.FirstSeen, b.FirstSeen) },
	"last_seen":  func(a, b *flowtable.Flow) int { return cmp.Compare(a.LastSeen, b.LastSeen) },
}

func (s *Server) getFlowActive(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	p := r.params
	perPage, currentPage := s.paging(r)
	col := strings.TrimPrefix(p["sortColumn"], "column_")
	byCol := flowSortKeys[col]
	if byCol == nil {
		col, byCol = "", flowSortKeys[""]
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
	cat := ifc.Table.Config().L7
	appFilter, hasApp := flowAppFilter(cat, p["application"])
	asn := newGeoFilter(s.cfg.GeoIP, Params{"asn": p["asn"]})
	var data []activeFlow
	total := 0
	ifc.Table.View(func(v flowtable.View) {
		flows := v.Flows()
		out := flows[:0]
		for _, f := range flows {
			if !r.vis.seesFlow(f.Client, f.Server) {
				continue
			}
			if hostFilter != nil && f.VLAN != hostFilter.VLAN {
				continue
			}
			if hostFilter != nil && f.Client != hostFilter.Addr && f.Server != hostFilter.Addr {
				continue
			}
			if vl, ok := p["vlan"]; ok && vl != strconv.Itoa(int(f.VLAN)) {
				continue
			}
			if l4, ok := p["l4proto"]; ok {
				// A v2 client may write ntopng 6's "6;eq" or "6;neq".
				n, op, _ := strings.Cut(l4, ";")
				if (n == strconv.Itoa(int(f.Proto))) == (op == "neq") {
					continue
				}
			}
			if port, ok := p["port"]; ok && port != strconv.Itoa(int(f.ClientPort)) && port != strconv.Itoa(int(f.ServerPort)) {
				continue
			}
			if hasApp && !appFilter(f.Protocol()) {
				continue
			}
			if asn.active() && !asn.matchAddr(f.Client) && !asn.matchAddr(f.Server) {
				continue // ntopng: either side in the AS
			}
			out = append(out, f)
		}
		total = len(out)
		page := pageOf(out, currentPage, perPage, func(a, b *flowtable.Flow) int {
			c := byCol(a, b)
			if c == 0 {
				c = cmp.Compare(uint64(a.HashID), uint64(b.HashID))
			}
			if order == "asc" {
				return c
			}
			return -c
		})
		data = make([]activeFlow, 0, len(page))
		verbose := p["verbose"] == "true"
		for _, f := range page {
			e := activeFlowEntry(f, cat, verbose)
			e.Client.Country, e.Server.Country = s.geo(f.Client).CountryISO, s.geo(f.Server).CountryISO
			data = append(data, e)
		}
	})
	return RCOK, flowList{
		PerPage: perPage, CurrentPage: currentPage, TotalRows: total,
		Sort: sortEchoOf("column_"+col, order), Data: data,
	}
}

// flowList is get/flow/active's answer.
type flowList struct {
	CurrentPage int          `json:"currentPage"`
	Data        []activeFlow `json:"data"`
	PerPage     int          `json:"perPage"`
	Sort        sortEcho     `json:"sort"`
	TotalRows   int          `json:"totalRows"`
}

type flowPeer struct {
	Name              string `json:"name"`
	IP                string `json:"ip"`
	Port              uint16 `json:"port"`
	IsBroadcastDomain *bool  `json:"is_broadcast_domain,omitempty"`
	IsBroadcast       *bool  `json:"is_broadcast,omitempty"`
	IsDHCP            bool   `json:"is_dhcp"`
	IsBlacklisted     bool   `json:"is_blacklisted"`
	Country           string `json:"country,omitempty"` // ISO code, when the GeoIP databases place the address
}

type flowProto struct {
	L4 string `json:"l4"`
	L7 string `json:"l7"`
}

type flowBreakdown struct {
	Cli2Srv int `json:"cli2srv"`
	Srv2Cli int `json:"srv2cli"`
}

// activeFlow is one entry of get/flow/active.
type activeFlow struct {
	Key       string        `json:"key"`
	HashID    string        `json:"hash_id"`
	FirstSeen int64         `json:"first_seen"`
	LastSeen  int64         `json:"last_seen"`
	Client    flowPeer      `json:"client"`
	Server    flowPeer      `json:"server"`
	VLAN      uint16        `json:"vlan"`
	Protocol  flowProto     `json:"protocol"`
	Duration  int64         `json:"duration"`
	Bytes     uint64        `json:"bytes"`
	Thpt      thpt          `json:"thpt"`
	Breakdown flowBreakdown `json:"breakdown"`
	Score     string        `json:"score"`
	Packets   *uint64       `json:"packets,omitempty"`
	TCP       *flowTCP      `json:"tcp,omitempty"`
}

// flowTCP is get/flow/active's verbose "tcp" section.
type flowTCP struct {
	NwLatency       *latency `json:"nw_latency,omitempty"`
	Retransmissions c2sPair  `json:"retransmissions"`
	OutOfOrder      c2sPair  `json:"out_of_order"`
	Lost            c2sPair  `json:"lost"`
}

// latency is ntopng's nw_latency: milliseconds on each side.
type latency struct {
	Cli Num `json:"cli"`
	Srv Num `json:"srv"`
}

type c2sPair struct {
	Cli2Srv uint64 `json:"cli2srv"`
	Srv2Cli uint64 `json:"srv2cli"`
}

var falseVal = false

// flowAppFilter is get/flow/active's application filter, as ntopng reads
// it: "Master.App" (names or ids) selects exactly that pair, one name or
// id any flow whose master or application it is. A name nDPI does not
// know matches no flow. ok is false when no filter was given.
func flowAppFilter(cat *l7.Catalog, v string) (match func(l7.Result) bool, ok bool) {
	if v == "" {
		return nil, false
	}
	none := func(l7.Result) bool { return false }
	if m, a, pair := strings.Cut(v, "."); pair {
		mp, ok1 := cat.ProtocolID(m)
		ap, ok2 := cat.ProtocolID(a)
		if !ok1 || !ok2 {
			return none, true
		}
		return func(r l7.Result) bool { return r.Master == mp && r.App == ap }, true
	}
	id, known := cat.ProtocolID(v)
	if !known {
		return none, true
	}
	return func(r l7.Result) bool {
		return r.Master == id || r.App == id || r.Master == l7.Unknown && r.App == l7.Unknown && id == l7.Unknown
	}, true
}

func activeFlowEntry(f *flowtable.Flow, cat *l7.Catalog, verbose bool) activeFlow {
	cli, srv := f.ClientHost(), f.ServerHost()
	bytes := f.Bytes()
	c2s := 0
	if bytes > 0 {
		c2s = int(math.Round(float64(f.BytesC2S) * 100 / float64(bytes)))
	}
	e := activeFlow{
		Key:       strconv.FormatUint(uint64(f.Key()), 10),
		HashID:    strconv.FormatUint(uint64(f.HashID), 10),
		FirstSeen: f.FirstSeen / 1e9,
		LastSeen:  f.LastSeen / 1e9,
		Client:    flowPeer{Name: hostLabel(cli), IP: f.Client.String(), Port: f.ClientPort, IsBroadcastDomain: &falseVal},
		// ntopng takes the server's flags from the client host (a bug real
		// clients live with); they are all false here either way.
		Server:    flowPeer{Name: hostLabel(srv), IP: f.Server.String(), Port: f.ServerPort, IsBroadcast: &falseVal},
		VLAN:      f.VLAN,
		Protocol:  flowProto{L4: l4Name(f.Proto), L7: cat.Name(f.Protocol())},
		Duration:  (f.LastSeen - f.FirstSeen) / 1e9,
		Bytes:     bytes,
		Thpt:      thpt{Pps: Num(f.ThptPps), Bps: Num(f.ThptBps)},
		Breakdown: flowBreakdown{Cli2Srv: c2s, Srv2Cli: 100 - c2s},
		Score:     "0",
	}
	if verbose {
		n := f.Packets()
		e.Packets = &n
		if f.Proto == 6 {
			tcp := f.TCP()
			e.TCP = &flowTCP{
				Retransmissions: c2sPair{tcp[0].Retransmissions, tcp[1].Retransmissions},
				OutOfOrder:      c2sPair{tcp[0].OutOfOrder, tcp[1].OutOfOrder},
				Lost:            c2sPair{tcp[0].Lost, tcp[1].Lost},
			}
			if cli, srv, ok := f.Latency(); ok {
				e.TCP.NwLatency = &latency{Cli: Num(float64(cli) / 1e6), Srv: Num(float64(srv) / 1e6)}
			}
		}
	}
	return e
}
