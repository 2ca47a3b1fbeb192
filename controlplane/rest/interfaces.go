package rest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
)

func (s *Server) getNtopngInterfaces(r *request) (RC, any) {
	ifaces := s.visibleIfaces(r.vis)
	out := make([]ifaceRef, 0, len(ifaces))
	for _, i := range ifaces {
		out = append(out, ifaceRef{IfID: i.ID, IfName: i.Name})
	}
	return RCOK, out
}

func (s *Server) getInterfaceData(r *request) (RC, any) {
	return interfaceDataOf(s, r, s.interfaceData)
}

// interfaceDataOf answers get/interface/data (v1 or v2 answer): for the
// interface ifid (or iffilter) names, or by id for each one the user sees
// with ifid=all.
func interfaceDataOf[T any](s *Server, r *request, answer func(r *request, ifc *Interface, ifid string) T) (RC, any) {
	if r.params["iffilter"] == "all" || r.params["ifid"] == "all" {
		out := map[string]T{}
		ifaces := s.visibleIfaces(r.vis)
		for i := range ifaces {
			id := strconv.Itoa(ifaces[i].ID)
			out[id] = answer(r, &ifaces[i], id)
		}
		return RCOK, out
	}
	p := r.params
	if f, ok := p["iffilter"]; ok && !p.Has("ifid") {
		p = Params{"ifid": f}
	}
	ifc, rc := s.ifaceFor(r, p)
	if rc != RCOK {
		return rc, nil
	}
	return RCOK, answer(r, ifc, p["ifid"])
}

// interfaceData is get/interface/data's answer for one interface. ifid is
// echoed as the string it came in as, as ntopng does.
func (s *Server) interfaceData(r *request, ifc *Interface, ifid string) *ifaceDataAnswer {
	var st flowtable.IfaceStats
	var numFlows, numHosts, numLocal, numMACs int
	var rates flowtable.Rates
	ifc.Table.View(func(v flowtable.View) {
		st = v.Stats()
		numFlows, numHosts, numMACs = v.NumFlows(), v.NumHosts(), v.NumMACs()
		numLocal = v.NumLocalHosts()
		rates = v.Rates()
		if !r.vis.allNets() {
			numHosts, numLocal = countHosts(v, r.vis)
		}
	})
	cfg := ifc.Table.Config()
	now := s.cfg.Now()
	var drops uint64
	if ifc.Drops != nil {
		drops = ifc.Drops()
	}
	engaged, alerted := 0, 0
	if s.cfg.Checks != nil {
		engaged = len(s.cfg.Checks.Engaged(int(ifc.StoreID)))
		for _, n := range s.cfg.Checks.AlertedFlows(int(ifc.StoreID)) {
			alerted += n
		}
	}
	out := &ifaceDataAnswer{
		IfID:            ifid,
		IfName:          ifc.Name,
		Speed:           ifc.SpeedMbps,
		StatsUpdateSecs: 5,
		Packets:         st.Packets,
		Bytes:           st.Bytes,
		Drops:           drops,
		ThroughputBps:   Num(rates.Bps),
		ThroughputPps:   Num(rates.Pps),
		EngagedAlerts:   engaged,
		AlertedFlows:    alerted,
		TSAlerts:        emptyRsp,
		NumHosts:        numHosts,
		NumLocalHosts:   numLocal,
		Epoch:           now.Unix(),
		Localtime:       now.Format("15:04:05 -0700"),
		Uptime:          secondsToUptime(int64(now.Sub(s.started) / time.Second)),
		SystemHostStats: s.sys.sample(),
		HostsPctg:       pctg(numHosts, cfg.MaxHosts),
		FlowsPctg:       pctg(numFlows, cfg.MaxFlows),
		MACsPctg:        pctg(numMACs, cfg.MaxHosts),
		Local2Remote:    st.Local2Remote,
		Remote2Local:    st.Remote2Local,
		BytesDownload:   st.Bytes,
		PacketsDownload: st.Packets,
		Throughput:      ifaceThroughput{Download: rate{Bps: Num(rates.Bps), Pps: Num(rates.Pps)}},
		TCPPacketStats:  ifaceTCPStats{Retransmissions: st.TCP.Retransmissions, OutOfOrder: st.TCP.OutOfOrder, Lost: st.TCP.Lost},
		Profiles:        emptyRsp,
	}
	if ifc.SlowPathNoCredit != nil {
		n := ifc.SlowPathNoCredit()
		out.SlowPathNoCredit = &n
	}
	// As ntopng for a user limited in networks: hosts counted in scope,
	// no flow or device totals.
	if r.vis.allNets() {
		out.NumFlows, out.NumDevices = &numFlows, &numMACs
	}
	// Not in ntopng: how this probe captures a live interface (xdp-native,
	// xdp-generic, afpacket). Absent for capture files, whose answers stay
	// ntopng's exactly.
	if ifc.CaptureMode != "file" {
		out.CaptureMode = ifc.CaptureMode
	}
	return out
}

// countHosts counts the hosts (and the local ones) a user may see.
func countHosts(v flowtable.View, vis visibility) (hosts, local int) {
	v.AscendHosts(func(h *flowtable.Host) bool {
		if vis.seesHost(h.Key) {
			hosts++
			if h.Local {
				local++
			}
		}
		return true
	})
	return hosts, local
}

// pctg is ntopng's table fill level: floor(1 + used*100/max).
func pctg(used, max int) int {
	if max <= 0 {
		return 1
	}
	return 1 + used*100/max
}

// secondsToUptime formats like ntopng's secondsToTime: "00:25 sec",
// "01:24" (mm:ss), "1:02:03" (h:mm:ss), "2 days, 01:02:03".
func secondsToUptime(sec int64) string {
	if sec < 0 {
		sec = 0
	}
	days := sec / 86400
	h := (sec % 86400) / 3600
	m := (sec % 3600) / 60
	sc := sec % 60
	switch {
	case days > 0:
		unit := "days"
		if days == 1 {
			unit = "day"
		}
		return fmt.Sprintf("%d %s, %02d:%02d:%02d", days, unit, h, m, sc)
	case h > 0:
		return fmt.Sprintf("%d:%02d:%02d", h, m, sc)
	case m > 0:
		return fmt.Sprintf("%02d:%02d", m, sc)
	}
	return fmt.Sprintf("00:%02d sec", sc)
}

func (s *Server) getInterfaceAddress(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	addrs := ifc.Addresses
	if addrs == nil {
		addrs = []string{}
	}
	return RCOK, ifaceAddresses{Addresses: addrs}
}

func (s *Server) getFlowL4Counters(r *request) (RC, any) { return s.flowL4Counters(r, true) }

// flowL4Counters counts the active flows per IP protocol; withRetired
// counts the flows a role swap left behind too (ntopng 5's count, v1's).
func (s *Server) flowL4Counters(r *request, withRetired bool) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	counts := map[uint8]int{}
	ifc.Table.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			if r.vis.seesFlow(f.Client, f.Server) && (withRetired || !f.Retired()) {
				counts[f.Proto]++
			}
		})
	})
	ids := make([]int, 0, len(counts))
	for id := range counts {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	out := make([]l4Count, 0, len(ids))
	for _, id := range ids {
		out = append(out, l4Count{ID: id, Count: counts[uint8(id)]})
	}
	return RCOK, out
}

// getFlowL7Counters is get/flow/l7/counters: active flows per application
// (the app part of "TLS.Google" counts under Google), by name in byte
// order as ntopng sorts them.
func (s *Server) getFlowL7Counters(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	counts := map[string]int{}
	cat := ifc.Table.Config().L7
	ifc.Table.View(func(v flowtable.View) {
		v.EachFlow(func(f *flowtable.Flow) {
			if r.vis.seesFlow(f.Client, f.Server) {
				counts[cat.Info(f.Protocol().AppID()).Name]++
			}
		})
	})
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]l7Count, 0, len(names))
	for _, n := range names {
		out = append(out, l7Count{Name: n, Count: counts[n]})
	}
	return RCOK, out
}

// l4Protocols is ntopng's l4_protocol_list.lua as the v1 API returns it,
// in its order, duplicates included.
var l4Protocols = []struct {
	Name, Other string
	ID          int
}{
	{"IP", "ip", 0}, {"ICMP", "icmp", 1}, {"IGMP", "igmp", 2}, {"TCP", "tcp", 6},
	{"UDP", "udp", 17}, {"IPv6", "ipv6", 41}, {"RSVP", "rsvp", 46}, {"GRE", "gre", 47},
	{"ESP", "esp", 50}, {"IPv6-ICMP", "ipv6icmp", 58}, {"EIGRP", "eigrp", 88},
	{"OSPF", "ospf", 89}, {"PIM", "pim", 103}, {"VRRP", "vrrp", 112}, {"HIP", "hip", 139},
	{"ICMPv6", "icmpv6", 58}, {"IGMP", "igmp", 2}, {"Other IP", "other_ip", -1},
}

func (s *Server) getL4ProtocolConsts(r *request) (RC, any) {
	out := make([]l4Const, 0, len(l4Protocols))
	for _, p := range l4Protocols {
		out = append(out, l4Const{Name: p.Name, Other: p.Other, ID: p.ID})
	}
	return RCOK, out
}

// l4Name is ntopng's Utils::l4proto2name.
func l4Name(proto uint8) string {
	switch proto {
	case 0:
		return "IP"
	case 1:
		return "ICMP"
	case 2:
		return "IGMP"
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 41:
		return "IPv6"
	case 46:
		return "RSVP"
	case 47:
		return "GRE"
	case 50:
		return "ESP"
	case 58:
		return "ICMPv6"
	case 88:
		return "EIGRP"
	case 89:
		return "OSPF"
	case 103:
		return "PIM"
	case 112:
		return "VRRP"
	case 132:
		return "SCTP"
	case 139:
		return "HIP"
	}
	return "Other IP"
}

// l7Catalog is the protocol catalog of --ndpi-protocols, which every
// interface shares: the consts list its custom protocols too, as ntopng
// lists a -p file's. nil (nDPI's built-in table) without interfaces.
func (s *Server) l7Catalog() *l7.Catalog {
	if ifs := s.interfaces(); len(ifs) > 0 && ifs[0].Table != nil {
		return ifs[0].Table.Config().L7
	}
	return nil
}

// getL7ApplicationConsts is get/l7/application/consts: every nDPI protocol.
func (s *Server) getL7ApplicationConsts(r *request) (RC, any) {
	var out []l7AppConst
	s.l7Catalog().Protocols(func(p l7.Protocol, i l7.Info) {
		out = append(out, l7AppConst{Name: i.Name, ApplID: p, CatID: i.Category})
	})
	return RCOK, out
}

// getL7CategoryConsts is get/l7/category/consts: every nDPI category with
// its protocols (ids as strings, names sorted case-insensitively).
func (s *Server) getL7CategoryConsts(r *request) (RC, any) {
	apps := map[uint8][]l7CategoryApp{}
	s.l7Catalog().Protocols(func(p l7.Protocol, i l7.Info) {
		apps[i.Category] = append(apps[i.Category], l7CategoryApp{Name: i.Name, ID: strconv.Itoa(int(p))})
	})
	var out []l7CategoryConst
	for _, id := range l7.CategoryIDs() {
		list := apps[id]
		sort.SliceStable(list, func(a, b int) bool {
			return strings.ToLower(list[a].Name) < strings.ToLower(list[b].Name)
		})
		if list == nil {
			list = []l7CategoryApp{}
		}
		out = append(out, l7CategoryConst{Name: l7.CategoryName(id), CatID: id, AppList: list})
	}
	return RCOK, out
}
