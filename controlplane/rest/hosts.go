package rest

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

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
	if h.Alias == "" && h.ServerNameHTTP && h.ServerName != "" {
		return l + " [" + shortenString(h.ServerName, 24) + "]"
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
	var data []activeHost
	ifc.Table.View(func(v flowtable.View) {
		// ntopng picks the page with its C sorter (by IP, ascending unless
		// desc was asked) and then the Lua handler re-sorts that page.
		var page []*flowtable.Host
		less := hostSortKeys[sortCol]
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
			data = append(data, activeHostEntry(h))
		}
	})
	sortEcho := []any{[]any{}}
	if hasSort {
		o := order
		if o == "" {
			o = "desc"
		}
		sortEcho = []any{[]any{sortCol, o}}
	}
	rsp := map[string]any{"perPage": perPage, "currentPage": currentPage, "data": data, "sort": sortEcho}
	if p.Has("all") {
		// v1 only rewrites what it reports; the page was cut all the same.
		rsp["perPage"], rsp["currentPage"] = 0, 0
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
		return h.Traffic.PktsSent == 0 || h.Traffic.PktsRcvd == 0
	case "bidirectional":
		return h.Traffic.PktsSent > 0 && h.Traffic.PktsRcvd > 0
	}
	return true
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
	currentPage = min(max(r.params.Int("currentPage", 1), 1), maxPaging)
	return min(s.rowsPref(r), maxPaging), currentPage
}

// rowsPref is ntopng's per-user page size: an explicit perPage becomes the
// user's default for later requests (its "rows_number" preference). It is
// kept in the store and cached, so reading it costs no disk access.
func (s *Server) rowsPref(r *request) int {
	key := r.user + ".rows_number"
	s.prefsMu.Lock()
	defer s.prefsMu.Unlock()
	if v, ok := r.params["perPage"]; ok {
		n, _ := strconv.Atoi(v)
		if cached, ok := s.rows[key]; !ok || cached != n {
			s.rows[key] = n
			if s.cfg.Store != nil {
				if err := s.cfg.Store.Put(nsPrefs, key, n); err != nil {
					s.cfg.Logger.Error("storing rows_number preference", "user", r.user, "err", err)
				}
			}
		}
		return n
	}
	if n, ok := s.rows[key]; ok {
		return n
	}
	n := 10
	if s.cfg.Store != nil {
		var stored int
		if found, err := s.cfg.Store.Get(nsPrefs, key, &stored); err == nil && found && stored > 0 {
			n = stored
		}
	}
	s.rows[key] = n
	return n
}

func (s *Server) getHostData(r *request) (RC, any) {
	ifc, key, rc := s.ifaceHostArgs(r, RCInvalidHost)
	if rc != RCOK {
		return rc, nil
	}
	if hs, ok := r.params["host_stats"]; ok && hs != "" && hs != "true" && hs != "1" {
		return RCOK, nil
	}
	var out map[string]any
	ifc.Table.View(func(v flowtable.View) {
		h := v.Host(key)
		if h == nil {
			return
		}
		out = hostData(ifc, h, s.cfg.LocalNets)
		addHostL7(out, h, v, ifc.Table.Config().L7)
		if s.cfg.Pools != nil {
			out["host_pool_id"], _ = s.cfg.Pools.HostPool(key.Addr, key.VLAN, h.MAC, h.HasMAC)
		}
	})
	if out != nil && s.cfg.Checks != nil {
		addHostAlerts(out, s.cfg.Checks.Host(int(ifc.StoreID), key))
	}
	if out == nil {
		return RCNotFound, nil
	}
	return RCOK, out
}

func dirFields(m map[string]any, prefix string, d flowtable.DirCounters) {
	m[prefix+"bytes.sent"] = d.BytesSent
	m[prefix+"bytes.rcvd"] = d.BytesRcvd
	m[prefix+"packets.sent"] = d.PktsSent
	m[prefix+"packets.rcvd"] = d.PktsRcvd
	m[prefix+"bytes.sent.anomaly_index"] = 0
	m[prefix+"bytes.rcvd.anomaly_index"] = 0
}

func ratio(sent, rcvd uint64) Num {
	if sent+rcvd == 0 {
		return 0
	}
	// ntopng computes the ratio in a C float; the widened value is what
	// its clients see (-0.2032 prints as -0.20319999754429).
	return Num(float32((float64(sent) - float64(rcvd)) / float64(sent+rcvd)))
}

func pktStatsJSON(ps flowtable.PktStats) map[string]any {
	size := map[string]any{}
	for i, n := range flowtable.SizeBucketNames {
		size[n] = ps.Size[i]
	}
	return map[string]any{
		"size":      size,
		"tcp_flags": map[string]any{"syn": ps.Syn, "synack": ps.SynAck, "finack": ps.FinAck, "rst": ps.Rst},
	}
}

func dnsJSON(d flowtable.DNSStats) map[string]any {
	q := map[string]any{}
	for i, n := range flowtable.DNSQTypeNames {
		q[n] = d.QueryTypes[i]
	}
	return map[string]any{"num_queries": d.Queries, "num_replies_ok": d.RepliesOK, "num_replies_error": d.RepliesError, "queries": q}
}

// hostData is get/host/data's answer: the fields this probe measures, with
// ntopng's names and types.
func hostData(ifc *Interface, h *flowtable.Host, localNets []netip.Prefix) map[string]any {
	m := map[string]any{}
	dirFields(m, "", h.Traffic)
	m["packets.sent.anomaly_index"] = 0
	m["packets.rcvd.anomaly_index"] = 0
	dirFields(m, "tcp.", h.TCP)
	dirFields(m, "udp.", h.UDP)
	dirFields(m, "icmp.", h.ICMP)
	dirFields(m, "other_ip.", h.OtherIP)
	m["udpBytesSent.unicast"] = h.UDPSentUnicast
	m["udpBytesSent.non_unicast"] = h.UDPSentNonU
	m["bytes_ratio"] = ratio(h.Traffic.BytesSent, h.Traffic.BytesRcvd)
	m["pkts_ratio"] = ratio(h.Traffic.PktsSent, h.Traffic.PktsRcvd)
	m["total_activity_time"] = h.ActivityTime()

	m["active_flows.as_client"] = h.ActiveAsClient
	m["active_flows.as_server"] = h.ActiveAsServer
	m["flows.as_client"] = h.ActiveAsClient
	m["flows.as_server"] = h.ActiveAsServer
	m["total_flows.as_client"] = h.TotalAsClient
	m["total_flows.as_server"] = h.TotalAsServer
	m["contacts.as_client"] = h.ContactsAsClient()
	m["contacts.as_server"] = h.ContactsAsServer()
	m["ja3_fingerprint"] = fingerprints(h.EachJA3)
	m["hassh_fingerprint"] = fingerprints(h.EachHASSH)
	c := h.Cardinality()
	m["cardinality"] = map[string]any{
		"num_contacted_hosts_as_client":      c.HostsAsClient,
		"num_contacted_ports_as_client":      c.PortsAsClient,
		"num_contacted_services_as_client":   c.ServicesAsClient,
		"num_host_contacted_ports_as_server": c.PortsAsServer,
		"num_host_contacts_as_server":        c.HostsAsServer,
	}
	addHostAlerts(m, checks.HostAlerts{})
	addBehaviours(m, h)
	u := h.Unreachable
	m["unreachable_flows.as_client"], m["unreachable_flows.as_server"] = u.PortAsClient, u.PortAsServer
	m["host_unreachable_flows.as_client"], m["host_unreachable_flows.as_server"] = u.HostAsClient, u.HostAsServer
	m["hits.flow_flood_attacker"] = h.FlowFloodPeak
	// Services the host offers (DNS, DHCP, NTP, SMTP... server bits) are
	// not tracked: no bit is ever set.
	m["host_services_bitmap"] = 0

	ip := h.Key.Addr.String()
	m["ip"] = ip
	m["tskey"] = ip
	m["ipkey"] = flowtable.IPKey(h.Key.Addr)
	if h.HasMAC {
		m["mac"] = strings.ToUpper(net.HardwareAddr(h.MAC[:]).String())
	} else {
		m["mac"] = "00:00:00:00:00:00"
	}
	m["name"] = hostLabel(h)
	names := obj{}
	if h.Name != "" {
		names["resolved"] = h.Name
	}
	if h.MDNSName != "" {
		names["mdns"] = h.MDNSName
	}
	if h.DHCPName != "" {
		names["dhcp"] = h.DHCPName
	}
	if h.ServerName != "" {
		if h.ServerNameHTTP {
			names["http"] = h.ServerName
		} else {
			names["tls"] = h.ServerName
		}
	}
	m["names"] = names
	m["vlan"] = h.Key.VLAN
	m["ifid"] = ifc.ID
	m["observation_point_id"] = 0
	m["host_pool_id"] = 0
	m["localhost"] = h.Local
	m["systemhost"] = false
	m["privatehost"] = h.Key.Addr.IsPrivate()
	m["is_broadcast"] = h.Broadcast
	m["is_multicast"] = h.Multicast
	m["broadcast_domain_host"] = false
	m["dhcpHost"] = false
	m["is_blacklisted"] = false
	m["hiddenFromTop"] = false
	m["crawlerBotScannerHost"] = false
	if h.Local && h.LocalNetwork >= 0 && h.LocalNetwork < len(localNets) {
		m["local_network_id"] = h.LocalNetwork
		m["local_network_name"] = localNets[h.LocalNetwork].String()
	}
	m["devtype"] = 0
	m["os"] = 0
	m["os_detail"] = ""
	m["asn"] = 0
	m["asname"] = ""
	m["country"] = ""
	m["city"] = ""
	m["continent"] = ""
	m["latitude"] = 0
	m["longitude"] = 0

	first, last := h.FirstSeen/1e9, h.LastSeen/1e9
	m["seen.first"] = first
	m["seen.last"] = last
	m["duration"] = last - first + 1
	m["throughput_bps"] = Num(h.ThptBps / 8)
	m["throughput_pps"] = Num(h.ThptPps)

	dscp := obj{}
	for cls, c := range h.DSCP {
		if c.PktsSent+c.PktsRcvd == 0 {
			continue
		}
		dscp[flowtable.DSCPClassNames[cls]] = map[string]any{
			"bytes.sent": c.BytesSent, "bytes.rcvd": c.BytesRcvd,
			"packets.sent": c.PktsSent, "packets.rcvd": c.PktsRcvd,
		}
	}
	m["dscp"] = dscp
	m["pktStats.sent"] = pktStatsJSON(h.PktSent)
	m["pktStats.recv"] = pktStatsJSON(h.PktRcvd)
	m["dns"] = map[string]any{"sent": dnsJSON(h.DNSSent), "rcvd": dnsJSON(h.DNSRcvd)}
	m["ICMPv4"] = emptyRsp
	vhosts := map[string]any{}
	h.EachVirtualHost(func(name string, v flowtable.VirtualHost) {
		vhosts[name] = map[string]any{"bytes.sent": v.BytesSent, "bytes.rcvd": v.BytesRcvd, "http.requests": v.Requests}
	})
	m["active_http_hosts"] = len(vhosts)
	m["http"] = map[string]any{"sender": httpJSON(h.HTTPSent, h.HTTPSentRate), "receiver": httpJSON(h.HTTPRcvd, h.HTTPRcvdRate),
		"virtual_hosts": luaTable(vhosts)}
	dnsN, ntpN, smtpN, domains := h.ServerContacts()
	m["server_contacts"] = map[string]any{"dns": dnsN, "ntp": ntpN, "smtp": smtpN, "domain_names": domains}
	tcpStats := func(h flowtable.TCPHealth) map[string]any {
		return map[string]any{"retransmissions": h.Retransmissions, "out_of_order": h.OutOfOrder, "lost": h.Lost, "keep_alive": h.KeepAlive}
	}
	m["tcpPacketStats.sent"] = tcpStats(h.TCPSent)
	m["tcpPacketStats.rcvd"] = tcpStats(h.TCPRcvd)
	m["tcp.packets.seq_problems"] = h.TCPSent != (flowtable.TCPHealth{}) || h.TCPRcvd != (flowtable.TCPHealth{})
	return m
}

func (s *Server) getHostInterfaces(r *request) (RC, any) {
	key, rc := hostArg(r.params, RCInvalidArguments)
	if rc != RCOK {
		return rc, nil
	}
	if !r.vis.seesHost(key) {
		return RCNotGranted, nil
	}
	list := []map[string]any{}
	ifaces := s.visibleIfaces(r.vis)
	for i := range ifaces {
		ifc := &ifaces[i]
		found := false
		ifc.Table.View(func(v flowtable.View) { found = v.Host(key) != nil })
		if found {
			list = append(list, map[string]any{"ifid": ifc.ID})
		}
	}
	return RCOK, map[string]any{key.String(): list}
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
	name := r.params["custom_name"]
	if s.cfg.Store != nil {
		var err error
		if name == "" {
			err = s.cfg.Store.Delete(nsAliases, key.String())
		} else {
			err = s.cfg.Store.Put(nsAliases, key.String(), name)
		}
		if err != nil {
			return RCInternalError, map[string]string{"error": fmt.Sprintf("storing alias: %v", err)}
		}
	}
	for _, ifc := range s.interfaces() {
		ifc.Table.SetAlias(key, name)
	}
	return RCOK, nil
}

// fingerprints is ntopng's JA3/HASSH table: per fingerprint its uses (no
// blacklist is loaded, so no application name and never malicious).
func fingerprints(each func(func(string, uint32))) any {
	out := map[string]any{}
	each(func(fp string, uses uint32) {
		out[fp] = map[string]any{"app_name": "", "is_malicious": false, "num_uses": uses}
	})
	return luaTable(out)
}

// luaTable is m as ntopng's JSON shows a Lua table: an empty one is [].
func luaTable(m map[string]any) any {
	if len(m) == 0 {
		return emptyRsp
	}
	return m
}

// addHostL7 adds get/host/data's "ndpi" and "ndpi_categories" sections:
// per application and per category, bytes and packets each way and the
// active duration; per application also the host's active flows.
func addHostL7(m map[string]any, h *flowtable.Host, v flowtable.View, cat *l7.Catalog) {
	flows := map[l7.Protocol]int{}
	v.EachFlow(func(f *flowtable.Flow) {
		if f.ClientHost() == h || f.ServerHost() == h {
			flows[f.Protocol().AppID()]++
		}
	})
	ndpi, cats := obj{}, obj{}
	for app, c := range h.L7 {
		info := cat.Info(app) // custom protocols of a --ndpi-protocols file too
		ndpi[info.Name] = map[string]any{
			"breed": info.Breed, "bytes.sent": c.BytesSent, "bytes.rcvd": c.BytesRcvd,
			"packets.sent": c.PktsSent, "packets.rcvd": c.PktsRcvd,
			"duration": c.Duration(), "num_flows": flows[app],
		}
	}
	// Each flow counts under its own category (a host pattern's, e.g.
	// Advertisement for an ad server of a Web application's).
	for id, c := range h.Categories {
		cats[l7.CategoryName(id)] = map[string]any{"category": id, "bytes": c.BytesSent + c.BytesRcvd,
			"bytes.sent": c.BytesSent, "bytes.rcvd": c.BytesRcvd, "duration": c.Duration()}
	}
	m["ndpi"] = ndpi
	m["ndpi_categories"] = cats
	if u := h.L7[l7.Unknown]; u != nil {
		m["bytes.ndpi.unknown"] = u.BytesSent + u.BytesRcvd
	} else {
		m["bytes.ndpi.unknown"] = uint64(0)
	}
}

// httpJSON is one side of get/host/data's "http" section, with the
// per-second rates of the last rate period.
func httpJSON(c, rt flowtable.HTTPCounts) map[string]any {
	qr, rr := rt.Queries, rt.Responses
	q, r := c.Queries, c.Responses
	return map[string]any{
		"query": map[string]any{"total": q[0] + q[1] + q[2] + q[3] + q[4], "num_get": q[l7.HTTPGet], "num_post": q[l7.HTTPPost],
			"num_head": q[l7.HTTPHead], "num_put": q[l7.HTTPPut], "num_other": q[l7.HTTPOther]},
		"response": map[string]any{"total": r[1] + r[2] + r[3] + r[4] + r[5], "num_1xx": r[1], "num_2xx": r[2],
			"num_3xx": r[3], "num_4xx": r[4], "num_5xx": r[5]},
		"rate": map[string]any{
			"query": map[string]any{"get": qr[l7.HTTPGet], "post": qr[l7.HTTPPost], "head": qr[l7.HTTPHead],
				"put": qr[l7.HTTPPut], "other": qr[l7.HTTPOther]},
			"response": map[string]any{"1xx": rr[1], "2xx": rr[2], "3xx": rr[3], "4xx": rr[4], "5xx": rr[5]},
		},
	}
}
