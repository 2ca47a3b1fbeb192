package l7

import (
	"encoding/binary"
	"strconv"
)

// dnsMaxUDP is the classic UDP message limit (RFC 1035 §2.3.4) beyond
// which nDPI calls a DNS packet large.
const dnsMaxUDP = 512

// DNSRisks raises the risks nDPI finds in one DNS message already read by
// ParseDNS as info: a UDP message over 512 bytes, a response with an error
// code, an answer record with a zero TTL. Only a response with answers is
// walked past its header.
func DNSRisks(msg []byte, info DNSInfo, udp bool, ri *RiskInfo) {
	if udp && len(msg) > dnsMaxUDP {
		ri.Set(RiskDNSLargePacket, strconv.Itoa(len(msg))+" Bytes DNS Packet")
	}
	if !info.Response {
		return
	}
	if info.RCode != 0 {
		ri.Set(RiskErrorCodeDetected, "DNS Error Code "+DNSRCodeName(info.RCode))
		return
	}
	if info.NumAnswers > 0 && !ri.Has(RiskDNSSuspiciousTraffic) && dnsZeroTTL(msg) {
		ri.Set(RiskDNSSuspiciousTraffic, "DNS Record with zero TTL")
	}
}

// dnsZeroTTL reports an answer record with TTL 0 among those that can be
// read; a malformed record ends the walk.
func dnsZeroTTL(msg []byte) bool {
	if len(msg) < dnsHeaderLen {
		return false
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	an := int(binary.BigEndian.Uint16(msg[6:]))
	off := dnsHeaderLen
	var err error
	for range qd {
		if off, err = skipName(msg, off); err != nil || off+4 > len(msg) {
			return false
		}
		off += 4
	}
	for range an {
		if off, err = skipName(msg, off); err != nil || off+10 > len(msg) {
			return false
		}
		if binary.BigEndian.Uint32(msg[off+4:]) == 0 {
			return true
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	}
	return false
}

// rcodeNames are the DNS RCODE names nDPI prints (dns_error_code2string).
var rcodeNames = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "XRRSET", "NOTAUTH", "NOTZONE"}

// DNSRCodeName is the name of a DNS response code, its number if unnamed.
func DNSRCodeName(rc uint8) string {
	if int(rc) < len(rcodeNames) {
		return rcodeNames[rc]
	}
	return strconv.Itoa(int(rc))
}
