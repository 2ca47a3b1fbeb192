package query

import (
	"strconv"
	"strings"
)

// protoNames holds the IANA keywords goProbe prints for IP protocol numbers
// (its GetIPProto table). Numbers missing here are printed in decimal.
var protoNames = map[uint8]string{
	0: "HOPOPT", 1: "ICMP", 2: "IGMP", 3: "GGP", 4: "IPv4", 5: "ST", 6: "TCP",
	7: "CBT", 8: "EGP", 9: "IGP", 12: "PUP", 17: "UDP", 27: "RDP", 29: "ISO-TP4",
	33: "DCCP", 41: "IPv6", 43: "IPv6-Route", 44: "IPv6-Frag", 45: "IDRP",
	46: "RSVP", 47: "GRE", 50: "ESP", 51: "AH", 55: "MOBILE", 58: "IPv6-ICMP",
	59: "IPv6-NoNxt", 60: "IPv6-Opts", 88: "EIGRP", 89: "OSPFIGP", 94: "IPIP",
	97: "ETHERIP", 98: "ENCAP", 103: "PIM", 108: "IPComp", 112: "VRRP",
	115: "L2TP", 124: "ISIS", 132: "SCTP", 133: "FC", 135: "Mobility Header",
	136: "UDPLite", 137: "MPLS-in-IP", 139: "HIP", 140: "Shim6", 141: "WESP",
	142: "ROHC", 143: "Ethernet",
}

// protoByName is the case-insensitive reverse of protoNames, plus the
// aliases people type in conditions.
var protoByName = func() map[string]uint8 {
	m := make(map[string]uint8, len(protoNames)+4)
	for n, s := range protoNames {
		m[strings.ToLower(s)] = n
	}
	m["icmpv6"] = 58
	m["icmp6"] = 58
	m["ospf"] = 89
	m["udp-lite"] = 136
	return m
}()

// ProtoName returns goProbe's name of an IP protocol number.
func ProtoName(p uint8) string {
	if s, ok := protoNames[p]; ok {
		return s
	}
	return strconv.Itoa(int(p))
}

// parseProto accepts a protocol name (case-insensitive) or a number 0-255.
func parseProto(s string) (uint8, bool) {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return uint8(n), true
	}
	p, ok := protoByName[strings.ToLower(s)]
	return p, ok
}
