package rest

import (
	"cmp"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/auth"
	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/l7"
)

func hostLabel(h *flowtable.Host) string { return h.Label() }

// activeHostName is get/host/active's "name": the label, and for a web
// server named by an HTTP Host header, that virtual host again, shortened,
// in brackets, as ntopng's v1 handler shows it.
func activeHostName(h *flowtable.Host) string {
	l := h.Label()
	if name, http := h.ServerName(); h.Alias() == "" && http && name != "" {
		return l + " [" + shortenString(name, 24) + "]"
	}
	return l
}

// shortenString is ntopng's lua_utils shortenString.
func shortenString(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "…"
}

// parseHostParam splits "ip@vlan"; a separate vlan parameter wins over
// none in the host string, as url2hostinfo does.
// hostArg reads the mandatory host parameter: a missing one is
// INVALID_ARGUMENTS, an unparsable one badHost (ntopng's answer differs
// between endpoints).
func hostArg(p Params, badHost RC) (flowtable.HostKey, RC) {
	if !p.Has("host") {
		return flowtable.HostKey{}, RCInvalidArguments
	}
	key, ok := parseHostParam(p)
	if !ok {
		return flowtable.HostKey{}, badHost
	}
	return key, RCOK
}

func parseHostParam(p Params) (flowtable.HostKey, bool) {
	h, vlanStr, _ := strings.Cut(p["host"], "@")
	addr, err := netip.ParseAddr(h)
	if err != nil {
		return flowtable.HostKey{}, false
	}
	vlan := 0
	if vlanStr != "" {
		vlan, _ = strconv.Atoi(vlanStr)
	}
	if v, ok := p["vlan"]; ok {
		vlan, _ = strconv.Atoi(v)
	}
	if vlan < 0 || vlan > 4095 {
		return flowtable.HostKey{}, false
	}
	return flowtable.HostKey{Addr: addr.Unmap(), VLAN: uint16(vlan)}, true
}

// hostSortKeys are get/host/active's sortColumn values.
var hostSortKeys = map[string]func(a, b *flowtable.Host) int{
	"column_ip":      func(a, b *flowtable.Host) int { return a.Key.Addr.Compare(b.Key.Addr) },
	"column_name":    func(a, b *flowtable.Host) int { return strings.Compare(hostLabel(a), hostLabel(b)) },
	"column_since":   func(a, b *flowtable.Host) int { return cmp.Compare(a.FirstSeen, b.FirstSeen) },
	"column_last":    func(a, b *flowtable.Host) int { return cmp.Compare(a.LastSeen, b.LastSeen) },
	"column_alerts":  func(a, b *flowtable.Host) int { return 0 },
	"column_country": func(a, b *flowtable.Host) int { return 0 },
	"column_vlan":    func(a, b *flowtable.Host) int { return int(a.Key.VLAN) - int(b.Key.VLAN) },
	"column_num_flows": func(a, b *flowtable.Host) int {
		return int(a.ActiveAsClient+a.ActiveAsServer) - int(b.ActiveAsClient+b.ActiveAsServer)
	},
	"column_traffic": func(a, b *flowtable.Host) int { return cmp.Compare(hostBytes(a), hostBytes(b)) },
	"column_thpt":    func(a, b *flowtable.Host) int { return cmp.Compare(a.ThptBps, b.ThptBps) },
}

func hostBytes(h *flowtable.Host) uint64 { return h.Traffic.BytesSent + h.Traffic.BytesRcvd }

func hostMatchesMode(h *flowtable.Host, mode string) bool {
	switch mode {
	case "local":
		return h.Local
	case "remote":
		return !h.Local
	case "broadcast_domain":
		return h.Local && h.HasMAC
	case "blacklisted", "dhcp":
		return false
	}
	return true
}

func (s *Server) getHostActive(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	p := r.params
	perPage, currentPage := s.paging(r)
	sortCol, hasSort := p["sortColumn"]
	if hasSort && !strings.HasPrefix(sortCol, "column_") {
		sortCol = "column_" + sortCol
	}
	order := p["sortOrder"]
	desc := order == "desc"
	filter := newHostFilter(p)
	filter.vis = r.vis
	filter.geo = newGeoFilter(s.cfg.GeoIP, p)
	var data []activeHost
	ifc.Table.View(func(v flowtable.View) {
		// ntopng picks the page with its C sorter (by IP, ascending unless
		// desc was asked) and then the Lua handler re-sorts that page.
		var page []*flowtable.Host
		less := s.hostSortKey(sortCol)
		if less == nil || sortCol == "column_ip" {
			page = hostPageByIP(v, filter, currentPage, perPage, desc)
		} else {
			var hosts []*flowtable.Host
			for _, h := range v.Hosts() {
				if filter.match(h) {
					hosts = append(hosts, h)
				}
			}
			page = pageOf(hosts, currentPage, perPage, func(a, b *flowtable.Host) int {
				c := less(a, b)
				if c == 0 {
					c = a.Key.Addr.Compare(b.Key.Addr)
					if c == 0 {
						c = int(a.Key.VLAN) - int(b.Key.VLAN)
					}
				}
				if desc {
					return -c
				}
				return c
			})
		}
		if !hasSort {
			// Without a sort column the page is re-sorted by host key
			// string, descending unless asc was asked.
			sort.SliceStable(page, func(i, j int) bool {
				a, b := page[i].Key.String(), page[j].Key.String()
				if order == "asc" {
					return a < b
				}
				return a > b
			})
		}
		data = make([]activeHost, 0, len(page))
		for _, h := range page {
			e := activeHostEntry(h)
			e.Country = s.geo(h.Key.Addr).CountryISO
			data = append(data, e)
		}
	})
	rsp := hostList{PerPage: perPage, CurrentPage: currentPage, Data: data, Sort: noSortEcho}
	if hasSort {
		o := order
		if o == "" {
			o = "desc"
		}
		rsp.Sort = sortEchoOf(sortCol, o)
	}
	if p.Has("all") {
		// v1 only rewrites what it reports; the page was cut all the same.
		rsp.PerPage, rsp.CurrentPage = 0, 0
	}
	return RCOK, rsp
}

// hostPageByIP walks the table's address index: the default order costs
// the page, not the table.
func hostPageByIP(v flowtable.View, f hostFilter, currentPage, perPage int, desc bool) []*flowtable.Host {
	skip := (currentPage - 1) * perPage
	var page []*flowtable.Host
	visit := func(h *flowtable.Host) bool {
		if !f.match(h) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		page = append(page, h)
		return perPage <= 0 || len(page) < perPage
	}
	if desc {
		v.DescendHosts(visit)
	} else {
		v.AscendHosts(visit)
	}
	return page
}

// hostFilter is get/host/active's filter parameters, parsed once.
type hostFilter struct {
	mode        string
	version     int // 0: any
	vlan        int // -1: any
	mac         []byte
	macSet      bool
	cidr        netip.Prefix
	cidrSet     bool
	trafficType string
	vis         visibility
	geo         geoFilter // asn, country
}

func newHostFilter(p Params) hostFilter {
	f := hostFilter{mode: p["mode"], vlan: -1, trafficType: p["traffic_type"]}
	switch p["version"] {
	case "4":
		f.version = 4
	case "6":
		f.version = 6
	}
	if v, ok := p["vlan"]; ok {
		f.vlan, _ = strconv.Atoi(v)
	}
	if v, ok := p["mac"]; ok {
		m, err := net.ParseMAC(strings.SplitN(v, "@", 2)[0])
		f.mac, f.macSet = m, true
		if err != nil {
			f.mac = nil
		}
	}
	if v, ok := p["network_cidr"]; ok {
		pf, err := netip.ParsePrefix(strings.Split(v, ",")[0])
		f.cidr, f.cidrSet = pf, true
		if err != nil {
			f.cidr = netip.Prefix{}
		}
	}
	return f
}

func (f hostFilter) match(h *flowtable.Host) bool {
	if !f.vis.sees(h.Key.Addr) {
		return false
	}
	if f.mode != "" && !hostMatchesMode(h, f.mode) {
		return false
	}
	if f.version == 4 && !h.Key.Addr.Is4() || f.version == 6 && h.Key.Addr.Is4() {
		return false
	}
	if f.vlan >= 0 && int(h.Key.VLAN) != f.vlan {
		return false
	}
	if f.macSet && (f.mac == nil || !h.HasMAC || string(f.mac) != string(h.MAC[:])) {
		return false
	}
	if f.cidrSet && (!f.cidr.IsValid() || !f.cidr.Contains(h.Key.Addr)) {
		return false
	}
	switch f.trafficType {
	case "one_way":
		if h.Traffic.PktsSent > 0 && h.Traffic.PktsRcvd > 0 {
			return false
		}
	case "bidirectional":
		if h.Traffic.PktsSent == 0 || h.Traffic.PktsRcvd == 0 {
			return false
		}
	}
	return f.geo.match(h) // last: the only test that may read a database
}

// activeHost is one entry of get/host/active (a struct: encoding it is
// the bulk of the request's cost).
type activeHost struct {
	Key               string       `json:"key"`
	IP                string       `json:"ip"`
	VLAN              uint16       `json:"vlan"`
	FirstSeen         int64        `json:"first_seen"`
	LastSeen          int64        `json:"last_seen"`
	OS                int          `json:"os"`
	NumAlerts         int          `json:"num_alerts"`
	Country           string       `json:"country"`
	IsBlacklisted     bool         `json:"is_blacklisted"`
	Name              string       `json:"name"`
	Thpt              thpt         `json:"thpt"`
	Bytes             hostBytesOut `json:"bytes"`
	IsLocalhost       bool         `json:"is_localhost"`
	IsMulticast       bool         `json:"is_multicast"`
	IsBroadcast       bool         `json:"is_broadcast"`
	IsBroadcastDomain bool         `json:"is_broadcast_domain"`
	NumFlows          numFlows     `json:"num_flows"`
}

type thpt struct {
	Pps Num `json:"pps"`
	Bps Num `json:"bps"`
}

type hostBytesOut struct {
	Total uint64 `json:"total"`
	Sent  uint64 `json:"sent"`
	Recvd uint64 `json:"recvd"`
}

type numFlows struct {
	Total    uint32 `json:"total"`
	AsClient uint32 `json:"as_client"`
	AsServer uint32 `json:"as_server"`
}

func activeHostEntry(h *flowtable.Host) activeHost {
	return activeHost{
		Key:         h.Key.JQueryKey(),
		IP:          h.Key.Addr.String(),
		VLAN:        h.Key.VLAN,
		FirstSeen:   h.FirstSeen / 1e9,
		LastSeen:    h.LastSeen / 1e9,
		Name:        activeHostName(h),
		Thpt:        thpt{Pps: Num(h.ThptPps), Bps: Num(h.ThptBps)},
		Bytes:       hostBytesOut{Total: hostBytes(h), Sent: h.Traffic.BytesSent, Recvd: h.Traffic.BytesRcvd},
		IsLocalhost: h.Local,
		IsMulticast: h.Multicast,
		IsBroadcast: h.Broadcast,
		NumFlows: numFlows{
			Total:    h.ActiveAsClient + h.ActiveAsServer,
			AsClient: h.ActiveAsClient,
			AsServer: h.ActiveAsServer,
		},
	}
}

// maxPaging bounds page size and number so that (page−1)×size can never
// overflow, whatever a client sends.
const maxPaging = 1 << 30

// paging is a list request's page size (see rowsPref) and page number.
func (s *Server) paging(r *request) (perPage, currentPage int) {
	if r.allRows {
		return maxPaging, 1
	}
	currentPage = min(max(r.params.Int("currentPage", 1), 1), maxPaging)
	return min(s.rowsPref(r), maxPaging), currentPage
}

// rowsPref is ntopng's per-user page size: an explicit perPage becomes the
// user's default for later requests (its "rows_number" preference). It is
// kept in the store and cached, so reading it costs no disk access.
func (s *Server) rowsPref(r *request) int {
	if s.cfg.Auth == nil {
		return r.params.Int("perPage", auth.DefaultRowsPerPage)
	}
	if v, ok := r.params["perPage"]; ok {
		n, _ := strconv.Atoi(v)
		if err := s.cfg.Auth.SetRowsPerPage(r.user, n); err != nil {
			s.cfg.Logger.Error("storing rows_number preference", "user", r.user, "err", err)
		}
		return n
	}
	return s.cfg.Auth.RowsPerPage(r.user)
}

func (s *Server) getHostData(r *request) (RC, any) {
	ifc, key, rc := s.ifaceHostArgs(r, RCInvalidHost)
	if rc != RCOK {
		return rc, nil
	}
	if hs, ok := r.params["host_stats"]; ok && hs != "" && hs != "true" && hs != "1" {
		return RCOK, nil
	}
	var out *hostDataAnswer
	ifc.Table.View(func(v flowtable.View) {
		h := v.Host(key)
		if h == nil {
			return
		}
		out = hostData(ifc, h, v, s.cfg.LocalNets)
		if s.cfg.Pools != nil {
			out.HostPoolID, _ = s.cfg.Pools.HostPool(key.Addr, key.VLAN, h.MAC, h.HasMAC)
		}
	})
	if out == nil {
		return RCNotFound, nil
	}
	out.setGeo(s.geo(key.Addr))
	if s.cfg.Checks != nil {
		out.setAlerts(s.cfg.Checks.Host(int(ifc.StoreID), key))
	}
	return RCOK, out
}

func ratio(sent, rcvd uint64) Num {
	if sent+rcvd == 0 {
		return 0
	}
	// ntopng computes the ratio in a C float; the widened value is what
	// its clients see (-0.2032 prints as -0.20319999754429).
	return Num(float32((float64(sent) - float64(rcvd)) / float64(sent+rcvd)))
}

func pktStatsOf(ps flowtable.PktStats) pktStats {
	size := make(map[string]uint64, len(ps.Size))
	for i, n := range flowtable.SizeBucketNames {
		size[n] = ps.Size[i]
	}
	return pktStats{Size: size, TCPFlags: tcpFlags{Syn: ps.Syn, SynAck: ps.SynAck, FinAck: ps.FinAck, Rst: ps.Rst}}
}

func dnsStatsOf(d flowtable.DNSStats) dnsStats {
	q := make(map[string]uint64, len(d.QueryTypes))
	for i, n := range flowtable.DNSQTypeNames {
		q[n] = d.QueryTypes[i]
	}
	return dnsStats{NumQueries: d.Queries, NumRepliesOK: d.RepliesOK, NumRepliesError: d.RepliesError, Queries: q}
}

func tcpPacketStatsOf(h flowtable.TCPHealth) tcpPacketStats {
	return tcpPacketStats{Retransmissions: h.Retransmissions, OutOfOrder: h.OutOfOrder, Lost: h.Lost, KeepAlive: h.KeepAlive}
}

// hostData is get/host/data's answer: the fields this probe measures, with
// ntopng's names and types (score and alert fields at zero: see setAlerts).
func hostData(ifc *Interface, h *flowtable.Host, v flowtable.View, localNets []netip.Prefix) *hostDataAnswer {
	t, tcp, udp, icmp, oth := h.Traffic, h.TCP, h.UDP, h.ICMP(), h.OtherIP()
	u := h.Unreachable()
	c := h.Cardinality()
	ip := h.Key.Addr.String()
	first, last := h.FirstSeen/1e9, h.LastSeen/1e9
	d := &hostDataAnswer{
		ICMPv4:              emptyRsp,
		ActiveFlowsAsClient: h.ActiveAsClient,
		ActiveFlowsAsServer: h.ActiveAsServer,
		BytesRcvd:           t.BytesRcvd,
		BytesSent:           t.BytesSent,
		BytesRatio:          ratio(t.BytesSent, t.BytesRcvd),
		Cardinality: hostCardinality{
			HostsAsClient: c.HostsAsClient, PortsAsClient: c.PortsAsClient, ServicesAsClient: c.ServicesAsClient,
			PortsAsServer: c.PortsAsServer, HostsAsServer: c.HostsAsServer,
		},
		ContactsAsClient:       h.ContactsAsClient(),
		ContactsAsServer:       h.ContactsAsServer(),
		DNS:                    hostDNS{Sent: dnsStatsOf(h.DNSSent()), Rcvd: dnsStatsOf(h.DNSRcvd())},
		DSCP:                   luaObject[dirTotals]{},
		Duration:               last - first + 1,
		FlowsAsClient:          h.ActiveAsClient,
		FlowsAsServer:          h.ActiveAsServer,
		HASSHFingerprint:       fingerprints(h.EachHASSH),
		HitsFlowFloodAttacker:  h.FlowFloodPeak,
		HostUnreachAsClient:    u.HostAsClient,
		HostUnreachAsServer:    u.HostAsServer,
		ICMPBytesRcvd:          icmp.BytesRcvd,
		ICMPBytesSent:          icmp.BytesSent,
		ICMPPacketsRcvd:        icmp.PktsRcvd,
		ICMPPacketsSent:        icmp.PktsSent,
		IfID:                   ifc.ID,
		IP:                     ip,
		IPKey:                  flowtable.IPKey(h.Key.Addr),
		IsBroadcast:            h.Broadcast,
		IsMulticast:            h.Multicast,
		JA3Fingerprint:         fingerprints(h.EachJA3),
		Localhost:              h.Local,
		MAC:                    "00:00:00:00:00:00",
		Name:                   hostLabel(h),
		Names:                  namesOf(h),
		OtherIPBytesRcvd:       oth.BytesRcvd,
		OtherIPBytesSent:       oth.BytesSent,
		OtherIPPacketsRcvd:     oth.PktsRcvd,
		OtherIPPacketsSent:     oth.PktsSent,
		PacketsRcvd:            t.PktsRcvd,
		PacketsSent:            t.PktsSent,
		PktStatsRecv:           pktStatsOf(h.PktRcvd),
		PktStatsSent:           pktStatsOf(h.PktSent),
		PktsRatio:              ratio(t.PktsSent, t.PktsRcvd),
		PrivateHost:            h.Key.Addr.IsPrivate(),
		SeenFirst:              first,
		SeenLast:               last,
		TCPBytesRcvd:           tcp.BytesRcvd,
		TCPBytesSent:           tcp.BytesSent,
		TCPPacketsRcvd:         tcp.PktsRcvd,
		TCPPacketsSent:         tcp.PktsSent,
		TCPSeqProblems:         h.TCPSent() != (flowtable.TCPHealth{}) || h.TCPRcvd() != (flowtable.TCPHealth{}),
		TCPPacketStatsRcvd:     tcpPacketStatsOf(h.TCPRcvd()),
		TCPPacketStatsSent:     tcpPacketStatsOf(h.TCPSent()),
		ThroughputBps:          Num(h.ThptBps / 8),
		ThroughputPps:          Num(h.ThptPps),
		TotalActivityTime:      h.ActivityTime(),
		TotalFlowsAsClient:     h.TotalAsClient,
		TotalFlowsAsServer:     h.TotalAsServer,
		TSKey:                  ip,
		UDPBytesRcvd:           udp.BytesRcvd,
		UDPBytesSent:           udp.BytesSent,
		UDPPacketsRcvd:         udp.PktsRcvd,
		UDPPacketsSent:         udp.PktsSent,
		UDPBytesSentNonUnicast: h.UDPSentNonU,
		UDPBytesSentUnicast:    h.UDPSentUnicast,
		UnreachAsClient:        u.PortAsClient,
		UnreachAsServer:        u.PortAsServer,
		VLAN:                   h.Key.VLAN,
	}
	if h.HasMAC {
		d.MAC = strings.ToUpper(net.HardwareAddr(h.MAC[:]).String())
	}
	if h.Local && h.LocalNetwork >= 0 && int(h.LocalNetwork) < len(localNets) {
		id := int(h.LocalNetwork)
		d.LocalNetworkID = &id
		d.LocalNetworkName = localNets[h.LocalNetwork].String()
	}
	for cls, c := range h.DSCP() {
		if c.PktsSent+c.PktsRcvd == 0 {
			continue
		}
		d.DSCP[flowtable.DSCPClassNames[cls]] = dirTotals{BytesSent: c.BytesSent, BytesRcvd: c.BytesRcvd, PacketsSent: c.PktsSent, PacketsRcvd: c.PktsRcvd}
	}
	vhosts := luaTable[virtualHost]{}
	h.EachVirtualHost(func(name string, v flowtable.VirtualHost) {
		vhosts[name] = virtualHost{BytesSent: v.BytesSent, BytesRcvd: v.BytesRcvd, HTTPRequests: v.Requests}
	})
	d.ActiveHTTPHosts = len(vhosts)
	d.HTTP = hostHTTP{Sender: httpSideOf(h.HTTPSent(), h.HTTPSentRate()), Receiver: httpSideOf(h.HTTPRcvd(), h.HTTPRcvdRate()), VirtualHosts: vhosts}
	dnsN, ntpN, smtpN, domains := h.ServerContacts()
	d.ServerContacts = serverContacts{DNS: dnsN, NTP: ntpN, SMTP: smtpN, DomainNames: domains}
	d.setAlerts(checks.HostAlerts{})
	d.setBehaviours(h)
	d.setL7(h, v, ifc.Table.Config().L7)
	return d
}

// namesOf is a host's names by source (the label is one of them).
func namesOf(h *flowtable.Host) hostNames {
	n := hostNames{Resolved: h.Name, MDNS: h.MDNSName(), DHCP: h.DHCPName()}
	if name, http := h.ServerName(); http {
		n.HTTP = name
	} else {
		n.TLS = name
	}
	return n
}

func (s *Server) getHostInterfaces(r *request) (RC, any) {
	key, rc := hostArg(r.params, RCInvalidArguments)
	if rc != RCOK {
		return rc, nil
	}
	if !r.vis.seesHost(key) {
		return RCNotGranted, nil
	}
	list := []hostIface{}
	ifaces := s.visibleIfaces(r.vis)
	for i := range ifaces {
		ifc := &ifaces[i]
		found := false
		ifc.Table.View(func(v flowtable.View) { found = v.Host(key) != nil })
		if found {
			list = append(list, hostIface{IfID: ifc.ID})
		}
	}
	// Keyed by the host asked for, as ntopng answers.
	return RCOK, map[string][]hostIface{key.String(): list}
}

// setHostAlias stores an operator-given name for a host (admins only).
func (s *Server) setHostAlias(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	if !r.params.Has("custom_name") {
		return RCInvalidArguments, nil
	}
	key, rc := hostArg(r.params, RCInvalidArguments)
	if rc != RCOK {
		return rc, nil
	}
	var tables []*flowtable.Table
	for _, ifc := range s.interfaces() {
		tables = append(tables, ifc.Table)
	}
	if err := s.aliases.Set(key, r.params["custom_name"], tables); err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, nil
}

// fingerprints is ntopng's JA3/HASSH table: per fingerprint its uses.
func fingerprints(each func(func(string, uint32))) luaTable[fingerprint] {
	out := luaTable[fingerprint]{}
	each(func(fp string, uses uint32) {
		out[fp] = fingerprint{NumUses: uses}
	})
	return out
}

// setL7 fills get/host/data's "ndpi" and "ndpi_categories" sections: per
// application and per category, bytes and packets each way and the
// active duration; per application also the host's active flows.
func (d *hostDataAnswer) setL7(h *flowtable.Host, v flowtable.View, cat *l7.Catalog) {
	flows := map[l7.Protocol]int{}
	v.EachFlow(func(f *flowtable.Flow) {
		if f.ClientHost() == h || f.ServerHost() == h {
			flows[f.Protocol().AppID()]++
		}
	})
	d.NDPI, d.NDPICategories = luaObject[hostApp]{}, luaObject[hostCategory]{}
	for app, c := range h.L7.All() {
		info := cat.Info(app) // custom protocols of a --ndpi-protocols file too
		d.NDPI[info.Name] = hostApp{
			Breed: info.Breed, BytesSent: c.BytesSent, BytesRcvd: c.BytesRcvd,
			PacketsSent: c.PktsSent, PacketsRcvd: c.PktsRcvd,
			Duration: c.Duration(), NumFlows: flows[app],
		}
	}
	// Each flow counts under its own category (a host pattern's, e.g.
	// Advertisement for an ad server of a Web application's).
	for id, c := range h.Categories.All() {
		d.NDPICategories[l7.CategoryName(id)] = hostCategory{Category: id, Bytes: c.BytesSent + c.BytesRcvd,
			BytesSent: c.BytesSent, BytesRcvd: c.BytesRcvd, Duration: c.Duration()}
	}
	if u := h.L7.Get(l7.Unknown); u != nil {
		d.BytesNDPIUnknown = u.BytesSent + u.BytesRcvd
	}
}

// httpSideOf is one side of get/host/data's "http" section, with the
// per-second rates of the last rate period.
func httpSideOf(c, rt flowtable.HTTPCounts) httpSide {
	qr, rr := rt.Queries, rt.Responses
	q, r := c.Queries, c.Responses
	return httpSide{
		Query: httpQueries{Total: q[0] + q[1] + q[2] + q[3] + q[4], NumGet: q[l7.HTTPGet], NumPost: q[l7.HTTPPost],
			NumHead: q[l7.HTTPHead], NumPut: q[l7.HTTPPut], NumOther: q[l7.HTTPOther]},
		Response: httpResponses{Total: r[1] + r[2] + r[3] + r[4] + r[5], Num1xx: r[1], Num2xx: r[2],
			Num3xx: r[3], Num4xx: r[4], Num5xx: r[5]},
		Rate: httpRate{
			Query: httpQueryRate{Get: qr[l7.HTTPGet], Post: qr[l7.HTTPPost], Head: qr[l7.HTTPHead],
				Put: qr[l7.HTTPPut], Other: qr[l7.HTTPOther]},
			Response: httpResponseRate{R1xx: rr[1], R2xx: rr[2], R3xx: rr[3], R4xx: rr[4], R5xx: rr[5]},
		},
	}
}
