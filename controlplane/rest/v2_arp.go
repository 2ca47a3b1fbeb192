package rest

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// get/interface/bcast_domains.lua and get/interface/arp.lua answer what
// the interface's table learnt from ARP (flowtable/arp.go).
//
// bcast_domains is ntopng's {"bcast_domains": {"<cidr>": {"ghost_network":
// bool, "hits": n}}}, written [] when no domain was learnt (ntopng's empty
// Lua table). Choices made without a recorded answer:
//   - ghost_network is ntopng's "not one of the interface's networks": true
//     when the domain holds none of the capture NIC's own addresses; a
//     capture file or an address-less monitor port has none, so all its
//     domains are ghost.
//   - A domain learnt in a VLAN other than 0 is keyed "<cidr>@<vlan>", as
//     ntopng keys hosts, so the same subnet in two VLANs stays two entries.
//
// arp answers the ARP table, one entry per IP↔MAC binding sorted by
// address then VLAN: {"ip", "mac" (upper case, as host data writes it),
// "vlan", "first_seen", "last_seen" (epoch s), "arp_requests.sent",
// "arp_requests.rcvd", "arp_replies.sent", "arp_replies.rcvd" (the MAC's
// ARP frames, ntopng's MAC counters)}; host= keeps the bindings of that IP
// or MAC (with "@vlan", of that VLAN). This shape is the probe's: the v2
// table lists the call and its parameters but no answer.
type bcastDomainEntry struct {
	GhostNetwork bool   `json:"ghost_network"`
	Hits         uint64 `json:"hits"`
}

func (s *Server) getInterfaceBcastDomains(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	var own []netip.Addr
	for _, a := range ifc.Addresses {
		if p, err := netip.ParsePrefix(a); err == nil {
			own = append(own, p.Addr())
		} else if ip, err := netip.ParseAddr(a); err == nil {
			own = append(own, ip)
		}
	}
	out := map[string]bcastDomainEntry{}
	ifc.Table.View(func(v flowtable.View) {
		v.BcastDomains(func(d flowtable.BcastDomain) {
			if !r.vis.allNets() && !r.vis.seesPrefix(d.Prefix) {
				return
			}
			key := d.Prefix.String()
			if d.VLAN != 0 {
				key += "@" + strconv.Itoa(int(d.VLAN))
			}
			ghost := !slices.ContainsFunc(own, d.Prefix.Contains)
			out[key] = bcastDomainEntry{GhostNetwork: ghost, Hits: d.Hits}
		})
	})
	if len(out) == 0 {
		return RCOK, map[string]any{"bcast_domains": []any{}}
	}
	return RCOK, map[string]any{"bcast_domains": out}
}

type arpEntry struct {
	IP           string `json:"ip"`
	MAC          string `json:"mac"`
	VLAN         uint16 `json:"vlan"`
	FirstSeen    int64  `json:"first_seen"`
	LastSeen     int64  `json:"last_seen"`
	RequestsSent uint64 `json:"arp_requests.sent"`
	RequestsRcvd uint64 `json:"arp_requests.rcvd"`
	RepliesSent  uint64 `json:"arp_replies.sent"`
	RepliesRcvd  uint64 `json:"arp_replies.rcvd"`

	addr netip.Addr
}

func (s *Server) getInterfaceARP(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	// host= is validated by params.go (vHost): an IP or a MAC, "@vlan" optional.
	var (
		wantIP  netip.Addr
		wantMAC net.HardwareAddr
		wantVL  = -1
	)
	if h := r.params["host"]; h != "" {
		name, vl, found := strings.Cut(h, "@")
		if found {
			n, err := strconv.Atoi(vl)
			if err != nil {
				return RCInvalidArguments, nil
			}
			wantVL = n
		}
		if ip, err := netip.ParseAddr(name); err == nil {
			wantIP = ip.Unmap()
		} else if mac, err := net.ParseMAC(name); err == nil {
			wantMAC = mac
		} else {
			return RCInvalidArguments, nil
		}
	}
	out := []arpEntry{}
	ifc.Table.View(func(v flowtable.View) {
		v.ARPBindings(func(b flowtable.ARPBinding) {
			switch {
			case !r.vis.sees(b.IP),
				wantIP.IsValid() && b.IP != wantIP,
				wantMAC != nil && string(wantMAC) != string(b.MAC[:]),
				wantVL >= 0 && int(b.VLAN) != wantVL:
				return
			}
			c := v.ARPCounters(b.MAC)
			out = append(out, arpEntry{
				IP: b.IP.String(), MAC: strings.ToUpper(net.HardwareAddr(b.MAC[:]).String()), VLAN: b.VLAN,
				FirstSeen: b.FirstSeen / 1e9, LastSeen: b.LastSeen / 1e9,
				RequestsSent: c.RequestsSent, RequestsRcvd: c.RequestsRcvd, RepliesSent: c.RepliesSent, RepliesRcvd: c.RepliesRcvd,
				addr: b.IP,
			})
		})
	})
	slices.SortFunc(out, func(a, b arpEntry) int {
		if c := a.addr.Compare(b.addr); c != 0 {
			return c
		}
		return cmp.Compare(a.VLAN, b.VLAN)
	})
	return RCOK, out
}
