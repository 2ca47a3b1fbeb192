package rest

import (
	"net/netip"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/pools"
)

// visibility is the one place that decides what a caller may see, as
// ntopng decides it for an unprivileged user:
//
//   - addresses and hosts: inside the user's allowed networks
//     (allowed_nets; 0.0.0.0/0 with ::/0 is every address);
//   - flows: either end inside them (ntopng's Flow::match: a flow between
//     an allowed host and an outside peer shows the peer's address, the
//     peer's own host rows stay hidden);
//   - interfaces: the allowed one (allowed_ifname), or all when unset; the
//     system interface (ifid -1: the probe's own alerts, active
//     monitoring) only to a user limited to neither;
//   - alerts: by their entity — host alerts by the host, flow alerts by
//     the flow's ends, interface alerts by the interface, network alerts
//     by the network (inside the allowed ones), the rest (SNMP devices,
//     MACs, users, measured hosts) only to a user unlimited in networks;
//   - capabilities: alerts (allow_alerts), historical flows
//     (allow_historical_flows) and pcap downloads (allow_pcap_download);
//     administrators have them all.
//
// Aggregates of an interface the user may see are shown as ntopng shows
// them: totals that name no host (packets, bytes, drops, throughput, the
// per-application, per-category and per-DSCP byte totals of the
// interface, its engaged_alerts and alerted_flows) stay whole; counts of
// hosts and flows (num_hosts, num_local_hosts, flows per L4/L7 protocol,
// the flow-count pie, /metrics' hosts and flows) count only what the user
// may see, and num_flows/num_devices are left out of get/interface/data
// for a user limited in networks, as ntopng does. SNMP devices and their
// time series are administrators' (NOT_GRANTED to others).
type visibility struct {
	nets   []netip.Prefix // nil: every address
	ifname string         // "": every interface

	alerts, historical, pcap bool // allow_alerts, allow_historical_flows, allow_pcap_download
}

// everything is an administrator's view.
var everything = visibility{alerts: true, historical: true, pcap: true}

// visibilityOf reads a user's limits; administrators see everything. An
// unknown user (deleted while its session lives) sees nothing.
func (s *Server) visibilityOf(user string, admin bool) visibility {
	if admin || s.cfg.Auth == nil {
		return everything
	}
	u, ok := s.cfg.Auth.User(user)
	if !ok {
		return visibility{nets: []netip.Prefix{}, ifname: "\x00none"}
	}
	v := visibility{ifname: u.AllowedIfname, alerts: u.AllowAlerts, historical: u.AllowHistoricalFlows, pcap: u.AllowPcapDownload}
	v.nets = parseAllowedNets(u.AllowedNets)
	return v
}

// parseAllowedNets reads allowed_nets ("10.0.0.0/8,192.168.1.1"); nil means
// every address (0.0.0.0/0 and ::/0 both among them). Nothing valid means
// no address: a user record that names no network must not become one
// that sees all.
func parseAllowedNets(s string) []netip.Prefix {
	nets := []netip.Prefix{}
	all4, all6 := false, false
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if p, err := netip.ParsePrefix(n); err == nil {
			p = normPrefix(p)
			all4 = all4 || p.Bits() == 0 && p.Addr().Is4()
			all6 = all6 || p.Bits() == 0 && p.Addr().Is6()
			nets = append(nets, p)
		} else if a, err := netip.ParseAddr(n); err == nil {
			a = a.Unmap()
			nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if all4 && all6 {
		return nil
	}
	return nets
}

// normPrefix is p masked, a v4-mapped v6 prefix as the v4 one.
func normPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// allNets tells whether the user sees every address.
func (v visibility) allNets() bool { return v.nets == nil }

// unrestricted tells whether the user is limited in neither networks nor
// interface (such a user may see the system interface).
func (v visibility) unrestricted() bool { return v.nets == nil && v.ifname == "" }

// sees tells whether an address is visible.
func (v visibility) sees(a netip.Addr) bool {
	if v.nets == nil {
		return true
	}
	a = a.Unmap()
	for _, p := range v.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// seesHost tells whether a host is visible (its address; VLANs do not
// limit users).
func (v visibility) seesHost(k flowtable.HostKey) bool { return v.sees(k.Addr) }

// seesIP is sees for an address as text ("ip" or "ip@vlan"); text that is
// no address is visible only to a user who sees every address.
func (v visibility) seesIP(s string) bool {
	if v.nets == nil {
		return true
	}
	if k, ok := flowtable.ParseHostKey(s); ok {
		return v.sees(k.Addr)
	}
	return false
}

// seesFlow tells whether a flow is visible: either end in scope, as
// ntopng's Flow::match. get/db/flows and get/db/topk_flows must apply it
// to stored flows (before maxhits), as the live handlers do.
func (v visibility) seesFlow(client, server netip.Addr) bool {
	return v.sees(client) || v.sees(server)
}

// flowFilter is seesFlow for a scan of stored flows, nil when every flow
// is visible (the scan then needs no test per record).
func (v visibility) flowFilter() func(client, server netip.Addr) bool {
	if v.nets == nil {
		return nil
	}
	return v.seesFlow
}

// seesPrefix tells whether a whole network is inside the allowed ones.
func (v visibility) seesPrefix(p netip.Prefix) bool {
	if v.nets == nil {
		return true
	}
	p = normPrefix(p)
	for _, n := range v.nets {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// seesIface tells whether an interface is visible.
func (v visibility) seesIface(name string) bool { return v.ifname == "" || v.ifname == name }

// seesSystem tells whether the system interface (ifid -1) is visible.
func (v visibility) seesSystem() bool { return v.unrestricted() }

// mayAlerts, mayHistorical and mayDownloadPcap are the capabilities.
func (v visibility) mayAlerts() bool       { return v.alerts }
func (v visibility) mayHistorical() bool   { return v.historical }
func (v visibility) mayDownloadPcap() bool { return v.pcap }

// seesAlert tells whether an alert is visible by its entity. The
// interface it belongs to is the caller's to check (alerts are read per
// interface).
func (v visibility) seesAlert(a *alert.Alert) bool {
	if v.nets == nil {
		return true
	}
	switch {
	case a.Flow != nil:
		cli, err1 := netip.ParseAddr(a.Flow.CliIP)
		srv, err2 := netip.ParseAddr(a.Flow.SrvIP)
		return err1 == nil && v.sees(cli) || err2 == nil && v.sees(srv)
	case a.Host != nil:
		return v.seesIP(a.Host.IP) && (a.EntityVal == "" || v.seesIP(a.EntityVal))
	}
	switch a.Entity {
	case alert.EntityInterface:
		return true
	case alert.EntityHost:
		return v.seesIP(a.EntityVal)
	case alert.EntityNetwork:
		p, err := netip.ParsePrefix(a.EntityVal)
		return err == nil && v.seesPrefix(p)
	}
	return false
}

// pcapScope is the tcpdump expression that keeps a packet extraction to
// the user's networks ("" for every address): packets from or to them.
func (v visibility) pcapScope() string {
	if v.nets == nil {
		return ""
	}
	if len(v.nets) == 0 {
		return "less 0" // no packet is shorter than nothing
	}
	parts := make([]string, 0, len(v.nets))
	for _, p := range v.nets {
		parts = append(parts, "net "+p.String())
	}
	return "(" + strings.Join(parts, " or ") + ")"
}

// seesPoolMember tells whether a pool member is visible: host and network
// pool members (addresses, networks) by the allowed networks, a MAC by a
// user who sees every address, interface pool members by the interface,
// the other pools' members (SNMP devices, measured hosts...) by a user
// limited in nothing.
func (s *Server) seesPoolMember(v visibility, inst, m string) bool {
	if v.unrestricted() {
		return true
	}
	switch inst {
	case pools.Interface:
		ifc, ok := s.iface(Params{"ifid": m})
		return ok && v.seesIface(ifc.Name)
	case pools.Host, pools.Network:
		addr, _, _ := strings.Cut(m, "@")
		if p, err := netip.ParsePrefix(addr); err == nil {
			return v.seesPrefix(p)
		}
		if a, err := netip.ParseAddr(addr); err == nil {
			return v.sees(a)
		}
		return v.allNets() // a MAC
	case pools.HostPools, pools.Flow:
		return true // pool ids, no address
	}
	return false
}

// visibleIfaces are the interfaces the caller may see, in order.
func (s *Server) visibleIfaces(v visibility) []Interface {
	all := s.interfaces()
	out := make([]Interface, 0, len(all))
	for _, ifc := range all {
		if v.seesIface(ifc.Name) {
			out = append(out, ifc)
		}
	}
	return out
}

// ifaceFor resolves ifid for the caller: INVALID_INTERFACE when there is
// no such interface, NOT_GRANTED when the caller may not see it.
func (s *Server) ifaceFor(r *request, p Params) (*Interface, RC) {
	ifc, ok := s.iface(p)
	if !ok {
		return nil, RCInvalidInterface
	}
	if !r.vis.seesIface(ifc.Name) {
		return nil, RCNotGranted
	}
	return ifc, RCOK
}

// ifaceHostArgs reads ifid and host, checked in ntopng's order, then
// whether the caller may see them (NOT_GRANTED: no echo of the address).
func (s *Server) ifaceHostArgs(r *request, badHost RC) (*Interface, flowtable.HostKey, RC) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return nil, flowtable.HostKey{}, rc
	}
	key, rc := hostArg(r.params, badHost)
	if rc == RCOK && !r.vis.seesHost(key) {
		rc = RCNotGranted
	}
	return ifc, key, rc
}
