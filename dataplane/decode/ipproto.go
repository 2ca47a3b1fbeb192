package decode

// ipProtoNames are the IANA keywords of IP protocol numbers as goProbe
// prints them (its GetIPProto table): the one list every API names
// protocols from.
var ipProtoNames = map[uint8]string{
	0: "HOPOPT", 1: "ICMP", 2: "IGMP", 3: "GGP", 4: "IPv4", 5: "ST", 6: "TCP",
	7: "CBT", 8: "EGP", 9: "IGP", 12: "PUP", 17: "UDP", 20: "HMP", 22: "XNS-IDP",
	27: "RDP", 29: "ISO-TP4", 33: "DCCP", 36: "XTP", 37: "DDP", 41: "IPv6",
	43: "IPv6-Route", 44: "IPv6-Frag", 45: "IDRP", 46: "RSVP", 47: "GRE",
	50: "ESP", 51: "AH", 55: "MOBILE", 57: "SKIP", 58: "IPv6-ICMP",
	59: "IPv6-NoNxt", 60: "IPv6-Opts", 73: "RSPF", 81: "VMTP", 88: "EIGRP",
	89: "OSPFIGP", 93: "AX.25", 94: "IPIP", 97: "ETHERIP", 98: "ENCAP",
	103: "PIM", 108: "IPComp", 112: "VRRP", 115: "L2TP", 124: "ISIS",
	132: "SCTP", 133: "FC", 135: "Mobility Header", 136: "UDPLite",
	137: "MPLS-in-IP", 138: "manet", 139: "HIP", 140: "Shim6", 141: "WESP",
	142: "ROHC", 143: "Ethernet",
}

// IPProtoName is the IANA keyword of an IP protocol number; ok is false
// for numbers the list does not name.
func IPProtoName(p uint8) (name string, ok bool) {
	name, ok = ipProtoNames[p]
	return name, ok
}

// EachIPProto calls fn for every named IP protocol.
func EachIPProto(fn func(p uint8, name string)) {
	for p, n := range ipProtoNames {
		fn(p, n)
	}
}
