package rest

import (
	"net/netip"
	"strings"
)

// What an unprivileged user may see: ntopng limits such users to their
// allowed networks (hosts, flows) and, if set, one interface.
type visibility struct {
	nets   []netip.Prefix // nil: every address
	ifname string         // "": every interface
}

// visibilityOf reads a user's limits; administrators see everything.
func (s *Server) visibilityOf(user string, admin bool) visibility {
	if admin || s.cfg.Auth == nil {
		return visibility{}
	}
	u, ok := s.cfg.Auth.User(user)
	if !ok {
		return visibility{}
	}
	v := visibility{ifname: u.AllowedIfname}
	for _, n := range strings.Split(u.AllowedNets, ",") {
		n = strings.TrimSpace(n)
		if p, err := netip.ParsePrefix(n); err == nil {
			if p.Bits() == 0 {
				return visibility{ifname: v.ifname} // 0.0.0.0/0 or ::/0: everything
			}
			v.nets = append(v.nets, p.Masked())
		} else if a, err := netip.ParseAddr(n); err == nil {
			v.nets = append(v.nets, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return v
}

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

// seesIface tells whether an interface is visible.
func (v visibility) seesIface(name string) bool { return v.ifname == "" || v.ifname == name }
