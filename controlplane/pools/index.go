package pools

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// hostIndex answers HostPool without locks or allocations: it is rebuilt
// on every host pool change (rare) and read for every host shown and every
// alert (often).
type hostIndex struct {
	macs  map[[6]byte]*poolRef
	vlans map[uint16]*vlanNets
}

type poolRef struct {
	id   int
	name string
}

var defaultRef = &poolRef{DefaultID, DefaultName}

// vlanNets are one VLAN's prefixes, looked up by trying each prefix length
// present, longest first: at most 33 (IPv4) or 129 (IPv6) map probes, in
// practice a handful since pools use few distinct lengths.
type vlanNets struct {
	v4Lens, v6Lens []int                     // descending
	v4             map[uint64]*poolRef       // bits<<32 | masked address
	v6             map[netip.Prefix]*poolRef // masked
}

func v4Key(a uint32, bits int) uint64 {
	// A shift by 32 yields 0 in Go, which is the /0 mask.
	return uint64(bits)<<32 | uint64(a&(^uint32(0)<<(32-bits)))
}

func buildHostIndex(pools []Pool) *hostIndex {
	ix := &hostIndex{macs: map[[6]byte]*poolRef{}, vlans: map[uint16]*vlanNets{}}
	for _, p := range pools {
		ref := &poolRef{p.ID, p.Name}
		for _, s := range p.Members {
			m, err := parseHostMember(s)
			if err != nil {
				continue // stored members were validated; never happens
			}
			if m.isMAC {
				ix.macs[m.mac] = ref
				continue
			}
			v := ix.vlans[m.vlan]
			if v == nil {
				v = &vlanNets{v4: map[uint64]*poolRef{}, v6: map[netip.Prefix]*poolRef{}}
				ix.vlans[m.vlan] = v
			}
			bits := m.prefix.Bits()
			if a := m.prefix.Addr(); a.Is4() {
				b := a.As4()
				v.v4[v4Key(binary.BigEndian.Uint32(b[:]), bits)] = ref
				if !slices.Contains(v.v4Lens, bits) {
					v.v4Lens = append(v.v4Lens, bits)
				}
			} else {
				v.v6[m.prefix] = ref
				if !slices.Contains(v.v6Lens, bits) {
					v.v6Lens = append(v.v6Lens, bits)
				}
			}
		}
	}
	for _, v := range ix.vlans {
		slices.SortFunc(v.v4Lens, func(a, b int) int { return b - a })
		slices.SortFunc(v.v6Lens, func(a, b int) int { return b - a })
	}
	return ix
}

// HostPool is the host pool of a host: a MAC member wins over IP members,
// then the longest prefix on the host's VLAN; the default pool when no
// member matches.
func (p *Pools) HostPool(addr netip.Addr, vlan uint16, mac [6]byte, hasMAC bool) (id int, name string) {
	r := p.index.Load().lookup(addr, vlan, mac, hasMAC)
	return r.id, r.name
}

func (ix *hostIndex) lookup(addr netip.Addr, vlan uint16, mac [6]byte, hasMAC bool) *poolRef {
	if ix == nil {
		return defaultRef
	}
	if hasMAC {
		if r, ok := ix.macs[mac]; ok {
			return r
		}
	}
	v := ix.vlans[vlan]
	if v == nil {
		return defaultRef
	}
	addr = addr.Unmap()
	if addr.Is4() {
		b := addr.As4()
		a := binary.BigEndian.Uint32(b[:])
		for _, bits := range v.v4Lens {
			if r, ok := v.v4[v4Key(a, bits)]; ok {
				return r
			}
		}
		return defaultRef
	}
	if !addr.Is6() {
		return defaultRef
	}
	addr = addr.WithZone("")
	for _, bits := range v.v6Lens {
		pfx, _ := addr.Prefix(bits)
		if r, ok := v.v6[pfx]; ok {
			return r
		}
	}
	return defaultRef
}
