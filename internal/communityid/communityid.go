// Package communityid computes a flow's Community ID, version 1, as the
// public specification defines it (github.com/corelight/community-id-spec):
// "1:" and the base64 of the SHA-1 of seed, ordered endpoints, protocol
// and ports. Tools that share it (Zeek, Suricata, Wireshark, ntopng) name
// the same flow with the same string, so an alert of the probe can be
// looked up in their logs.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers the specification gives ports (or port equivalents).
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// Tuple is a flow's five-tuple as seen in its first packet. For ICMP and
// ICMPv6, SrcPort is the message type and DstPort its code.
type Tuple struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
}

// icmpPeers are the ICMP types with a reply type: the pair stands for a
// port pair, so request and reply hash alike. Types without a peer are one
// way: their endpoints are hashed in packet order.
var icmpPeers = map[uint16]uint16{
	8: 0, 0: 8, // echo
	13: 14, 14: 13, // timestamp
	15: 16, 16: 15, // information
	17: 18, 18: 17, // address mask
	10: 9, 9: 10, // router solicitation, advertisement
}

var icmp6Peers = map[uint16]uint16{
	128: 129, 129: 128, // echo
	133: 134, 134: 133, // router solicitation, advertisement
	135: 136, 136: 135, // neighbor solicitation, advertisement
	130: 131, 131: 130, // multicast listener query, report
	144: 145, 145: 144, // home agent address discovery
}

// ID is the tuple's Community ID v1 with the seed (0 unless the site
// agreed on another), e.g. "1:LQU9qZlK+B5F3KDmev6m5PMibrg=". It is "" for
// addresses of different families or invalid ones.
func ID(t Tuple, seed uint16) string {
	if !t.Src.IsValid() || !t.Dst.IsValid() || t.Src.Is4() != t.Dst.Is4() {
		return ""
	}
	src, dst := t.Src.Unmap(), t.Dst.Unmap()
	sport, dport := t.SrcPort, t.DstPort
	hasPorts, oneWay := false, false
	switch t.Proto {
	case protoTCP, protoUDP, protoSCTP:
		hasPorts = true
	case protoICMP, protoICMPv6:
		hasPorts = true
		peers := icmpPeers
		if t.Proto == protoICMPv6 {
			peers = icmp6Peers
		}
		if p, ok := peers[sport]; ok {
			dport = p
		} else {
			oneWay = true
		}
	}
	if !oneWay {
		if c := src.Compare(dst); c > 0 || (c == 0 && hasPorts && sport > dport) {
			src, dst = dst, src
			sport, dport = dport, sport
		}
	}
	buf := make([]byte, 0, 2+16+16+2+4)
	buf = binary.BigEndian.AppendUint16(buf, seed)
	buf = append(buf, src.AsSlice()...)
	buf = append(buf, dst.AsSlice()...)
	buf = append(buf, t.Proto, 0)
	if hasPorts {
		buf = binary.BigEndian.AppendUint16(buf, sport)
		buf = binary.BigEndian.AppendUint16(buf, dport)
	}
	sum := sha1.Sum(buf)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}
