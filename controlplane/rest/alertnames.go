package rest

import (
	"net/netip"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// alertName is how an alert record names one of its hosts: the host's
// alias now, as ntopng's Lua labels put it first, else the name the alert
// was stored with (alert.PeerName's).
func (s *Server) alertName(ip string, vlan uint16, stored string) string {
	if a, err := netip.ParseAddr(ip); err == nil {
		if alias := s.aliases.Of(flowtable.HostKey{Addr: a, VLAN: vlan}); alias != "" {
			return alias
		}
	}
	return stored
}
