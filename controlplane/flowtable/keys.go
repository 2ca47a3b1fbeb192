package flowtable

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// flowKey identifies a flow in both directions: the endpoint that sorts
// lower is always "a", so a reply finds the same entry as its request.
// Addresses are plain 16-byte arrays (IPv4 mapped) so the key has no
// pointers and the map hashes it as flat memory: this is the per-packet
// lookup.
type flowKey struct {
	a, b         [16]byte
	aPort, bPort uint16
	vlan         uint16
	priv         uint16 // ntopng's privateFlowId: the DNS transaction id
	proto        uint8
	retired      uint32 // non-zero: a flow replaced by a role swap (HashID+1)
}

func makeFlowKey(src, dst netip.Addr, sport, dport, vlan uint16, proto uint8, priv uint16) flowKey {
	a, b := src.As16(), dst.As16()
	c := cmp16(&a, &b)
	if c > 0 || (c == 0 && sport > dport) {
		a, b, sport, dport = b, a, dport, sport
	}
	return flowKey{a: a, b: b, aPort: sport, bPort: dport, vlan: vlan, proto: proto, priv: priv}
}

// cmp16 is bytes.Compare of two addresses as two big-endian words each:
// the per-packet key's ordering without a call into the byte loop.
func cmp16(a, b *[16]byte) int {
	a0, b0 := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if a0 == b0 {
		a0, b0 = binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	}
	switch {
	case a0 < b0:
		return -1
	case a0 > b0:
		return 1
	}
	return 0
}

// HostKey identifies a host: ntopng keys hosts by IP and VLAN.
type HostKey struct {
	Addr netip.Addr
	VLAN uint16
}

// hostID is HostKey as flat memory: the map and index key (no pointers,
// so it hashes and compares as bytes). v6 first makes IPv4 sort before
// IPv6, as netip does.
type hostID struct {
	v6   bool
	addr [16]byte
	vlan uint16
}

func (k HostKey) id() hostID {
	return hostID{v6: !k.Addr.Is4(), addr: k.Addr.As16(), vlan: k.VLAN}
}

func (a hostID) less(b hostID) bool {
	if a.v6 != b.v6 {
		return !a.v6
	}
	if c := bytes.Compare(a.addr[:], b.addr[:]); c != 0 {
		return c < 0
	}
	return a.vlan < b.vlan
}

// String is ntopng's host key: ip, with "@vlan" when the VLAN is not 0.
func (k HostKey) String() string {
	if k.VLAN == 0 {
		return k.Addr.String()
	}
	return k.Addr.String() + "@" + strconv.Itoa(int(k.VLAN))
}

// JQueryKey is the "key" field of get/host/active: the host key with the
// characters jQuery selectors dislike replaced (ntopng's hostinfo2jqueryid).
func (k HostKey) JQueryKey() string {
	s := k.Addr.String()
	s = strings.ReplaceAll(s, ".", "__")
	s = strings.ReplaceAll(s, ":", "____")
	s = strings.ReplaceAll(s, "/", "___")
	if k.VLAN != 0 {
		s += "@" + strconv.Itoa(int(k.VLAN))
	}
	return s
}

// IPKey is ntopng's 32-bit address key (IpAddress::compute_key): an IPv4
// address as a big-endian number; for IPv6 the four 32-bit words read in
// host (little-endian) order, shifted and summed.
func IPKey(a netip.Addr) uint32 {
	if a.Is4() || a.Is4In6() {
		b := a.Unmap().As4()
		return binary.BigEndian.Uint32(b[:])
	}
	b := a.As16()
	var k uint32
	for i := 0; i < 4; i++ {
		w := binary.LittleEndian.Uint32(b[i*4:])
		k += w << (2 * uint(i))
	}
	return k
}

// ntopngFlowKey is the "key" of get/flow/active (Flow::key): a wrapping sum
// of the address keys, the ports as a little-endian host reads them from
// the wire, the VLAN and the L4 protocol. The private flow id (a DNS
// transaction id) tells flows apart in ntopng's hash but is not in the
// key: its recorded alert list links test_01's DNS flow 192.168.1.93:51409
// -> 192.168.1.1:53 (transaction 49999) with flow_key 2169571639, the sum
// without it.
func ntopngFlowKey(f *Flow) uint32 {
	return IPKey(f.Client) + IPKey(f.Server) +
		uint32(bits.ReverseBytes16(f.ClientPort)) + uint32(bits.ReverseBytes16(f.ServerPort)) +
		uint32(f.VLAN) + uint32(f.Proto)
}

// ParseHostKey parses "ip" or "ip@vlan".
func ParseHostKey(s string) (HostKey, bool) {
	ip, vlanStr, hasVLAN := strings.Cut(s, "@")
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return HostKey{}, false
	}
	var vlan uint64
	if hasVLAN {
		if vlan, err = strconv.ParseUint(vlanStr, 10, 12); err != nil {
			return HostKey{}, false
		}
	}
	return HostKey{Addr: addr.Unmap(), VLAN: uint16(vlan)}, true
}
