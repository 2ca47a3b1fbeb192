package pcapfilter

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// node is the match tree: and, or, not over atoms.
type node interface{ isNode() }

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }

func (andNode) isNode() {}
func (orNode) isNode()  {}
func (notNode) isNode() {}
func (atom) isNode()    {}

func and(a, b node) node { return andNode{a, b} }
func or(a, b node) node  { return orNode{a, b} }

type loadKind uint8

const (
	ldAbs  loadKind = iota // [off:size]
	ldIPv4                 // [x + off:size], x = IPv4 header length of the IP header at link
	ldLen                  // packet length
)

type testKind uint8

const (
	jeq testKind = iota
	jge
	jgt
	jset
)

// atom is one load and one test, i.e. one conditional jump.
type atom struct {
	ld   loadKind
	off  uint32 // for ldIPv4, relative to the IPv4 header
	size int
	link uint32 // for ldIPv4: where the IPv4 header starts
	mask uint32 // 0: none
	test testKind
	val  uint32
}

func etherType(link, t uint32) node {
	return atom{ld: ldAbs, off: link - 2, size: 2, test: jeq, val: t}
}

func lenAtom(t testKind, v uint32) node { return atom{ld: ldLen, test: t, val: v} }

func byteAt(off, v uint32) node { return atom{ld: ldAbs, off: off, size: 1, test: jeq, val: v} }

// Protocol numbers and ether types by name.
var ipProtos = map[string]uint32{"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "icmp6": 58, "sctp": 132}
var etherTypes = map[string]uint32{"ip": 0x0800, "ip6": 0x86dd, "arp": 0x0806, "rarp": 0x8035}

const (
	ipv4Type = 0x0800
	ipv6Type = 0x86dd
	arpType  = 0x0806
	rarpType = 0x8035
	ipv6Frag = 44
)

// ipv4Proto: the IPv4 protocol field (no fragment check, as libpcap).
func ipv4Proto(link, p uint32) node {
	return and(etherType(link, ipv4Type), byteAt(link+9, p))
}

// ipv6Proto: the next header, or the one after a fragment header, as
// libpcap's "tcp", "ip6 proto N" do.
func ipv6Proto(link, p uint32) node {
	nh := link + 6
	return and(etherType(link, ipv6Type), or(byteAt(nh, p), and(byteAt(nh, ipv6Frag), byteAt(link+40, p))))
}

func protoOnly(proto string, link uint32) (node, error) {
	switch proto {
	case "ip", "ip6", "arp", "rarp":
		return etherType(link, etherTypes[proto]), nil
	case "tcp", "udp", "sctp":
		p := ipProtos[proto]
		return or(ipv4Proto(link, p), ipv6Proto(link, p)), nil
	case "icmp", "igmp":
		return ipv4Proto(link, ipProtos[proto]), nil
	case "icmp6":
		return ipv6Proto(link, 58), nil
	}
	return nil, fmt.Errorf("%q alone is not a filter", proto)
}

// protoNum is "[ip|ip6|ether] proto N".
func protoNum(proto, id string, link uint32) (node, error) {
	id = strings.TrimPrefix(id, "\\")
	if proto == "ether" {
		v, ok := etherTypes[id]
		if !ok {
			n, err := strconv.ParseUint(id, 0, 16)
			if err != nil {
				return nil, fmt.Errorf("unknown ether proto %q", id)
			}
			v = uint32(n)
		}
		return etherType(link, v), nil
	}
	v, ok := ipProtos[id]
	if !ok {
		n, err := strconv.ParseUint(id, 0, 8)
		if err != nil {
			return nil, fmt.Errorf("unknown ip proto %q", id)
		}
		v = uint32(n)
	}
	switch proto {
	case "ip":
		return ipv4Proto(link, v), nil
	case "ip6":
		return ipv6Proto(link, v), nil
	case "":
		return or(ipv4Proto(link, v), ipv6Proto(link, v)), nil
	}
	return nil, fmt.Errorf("'%s' modifier applied to proto", proto)
}

func dirNode(dir string, src, dst node) node {
	switch dir {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return and(src, dst)
	}
	return or(src, dst)
}

func etherHost(dir string, mac net.HardwareAddr) node {
	at := func(off uint32) node {
		return and(atom{ld: ldAbs, off: off + 2, size: 4, test: jeq, val: be32(mac[2:])},
			atom{ld: ldAbs, off: off, size: 2, test: jeq, val: uint32(mac[0])<<8 | uint32(mac[1])})
	}
	return dirNode(dir, at(6), at(0))
}

func etherCast(kind string) node {
	if kind == "multicast" {
		return atom{ld: ldAbs, off: 0, size: 1, test: jset, val: 1}
	}
	return and(atom{ld: ldAbs, off: 2, size: 4, test: jeq, val: 0xffffffff}, atom{ld: ldAbs, off: 0, size: 2, test: jeq, val: 0xffff})
}

// addrAt compares the address at off with addr under a prefix of bits.
func addrAt(off uint32, addr netip.Addr, bits int) node {
	b := addr.AsSlice()
	var n node
	for w := 0; w < len(b)/4; w++ {
		wb := bits - 32*w
		if wb <= 0 {
			break
		}
		mask := uint32(0xffffffff)
		if wb < 32 {
			mask = ^(mask >> wb)
		}
		a := atom{ld: ldAbs, off: off + uint32(4*w), size: 4, test: jeq, val: be32(b[4*w:]) & mask}
		if mask != 0xffffffff {
			a.mask = mask
		}
		if n == nil {
			n = a
		} else {
			n = and(n, a)
		}
	}
	if n == nil { // a /0 network: any address
		n = atom{ld: ldLen, test: jge, val: 0}
	}
	return n
}

// hostNet is [ip|ip6|arp|rarp] [dir] host|net addr.
func hostNet(proto, dir string, addr netip.Addr, bits int, link uint32) (node, error) {
	if addr.Is6() {
		if proto != "" && proto != "ip6" {
			return nil, fmt.Errorf("'%s' modifier applied to IPv6 address %s", proto, addr)
		}
		return and(etherType(link, ipv6Type), dirNode(dir, addrAt(link+8, addr, bits), addrAt(link+24, addr, bits))), nil
	}
	if proto == "ip6" {
		return nil, fmt.Errorf("'ip6' modifier applied to IPv4 address %s", addr)
	}
	ip := and(etherType(link, ipv4Type), dirNode(dir, addrAt(link+12, addr, bits), addrAt(link+16, addr, bits)))
	// ARP/RARP sender and target protocol addresses (Ethernet/IPv4 layout).
	arpAddrs := dirNode(dir, addrAt(link+14, addr, bits), addrAt(link+24, addr, bits))
	switch proto {
	case "ip":
		return ip, nil
	case "arp":
		return and(etherType(link, arpType), arpAddrs), nil
	case "rarp":
		return and(etherType(link, rarpType), arpAddrs), nil
	}
	return or(ip, and(or(etherType(link, arpType), etherType(link, rarpType)), arpAddrs)), nil
}

// ports is [tcp|udp|sctp] [dir] port|portrange lo[-hi]: libpcap checks the
// IPv6 next header directly (no extension headers) and only the first
// fragment of IPv4.
func ports(proto, dir string, lo, hi, link uint32) node {
	var protos []uint32
	switch proto {
	case "tcp", "udp", "sctp":
		protos = []uint32{ipProtos[proto]}
	default:
		protos = []uint32{132, 6, 17}
	}
	anyOf := func(off uint32) node {
		var n node
		for _, p := range protos {
			if n == nil {
				n = byteAt(off, p)
			} else {
				n = or(n, byteAt(off, p))
			}
		}
		return n
	}
	portIs := func(a atom) node {
		a.size = 2
		if lo == hi {
			a.test, a.val = jeq, lo
			return a
		}
		ge, gt := a, a
		ge.test, ge.val = jge, lo
		gt.test, gt.val = jgt, hi
		return and(ge, notNode{gt})
	}
	v6 := and(and(etherType(link, ipv6Type), anyOf(link+6)),
		dirNode(dir, portIs(atom{ld: ldAbs, off: link + 40}), portIs(atom{ld: ldAbs, off: link + 42})))
	notFrag := notNode{atom{ld: ldAbs, off: link + 6, size: 2, test: jset, val: 0x1fff}}
	v4 := and(and(and(etherType(link, ipv4Type), anyOf(link+9)), notFrag),
		dirNode(dir, portIs(atom{ld: ldIPv4, link: link, off: 0}), portIs(atom{ld: ldIPv4, link: link, off: 2})))
	switch proto {
	case "ip":
		return v4
	case "ip6":
		return v6
	}
	return or(v6, v4)
}
