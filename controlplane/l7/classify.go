package l7

import (
	"encoding/binary"
)

// Protocol is an nDPI protocol id (ntopng shows nDPI's ids and names).
type Protocol uint16

// The nDPI protocols this classifier knows, with nDPI's ids.
const (
	Unknown    Protocol = 0
	DNS        Protocol = 5
	HTTP       Protocol = 7
	MDNS       Protocol = 8
	NTP        Protocol = 9
	NetBIOS    Protocol = 10
	SMBv1      Protocol = 16
	SMBv23     Protocol = 41
	SSDP       Protocol = 12
	SNMP       Protocol = 14
	DHCP       Protocol = 18
	ICMP       Protocol = 81
	TLS        Protocol = 91
	SSH        Protocol = 92
	ICMPV6     Protocol = 102
	Facebook   Protocol = 119
	YouTube    Protocol = 124
	Google     Protocol = 126
	NetFlix    Protocol = 133
	Apple      Protocol = 140
	Amazon     Protocol = 178
	QUIC       Protocol = 188
	Microsoft  Protocol = 212
	Mining     Protocol = 42
	Tor        Protocol = 163
	Cloudflare Protocol = 220
	AmazonAWS  Protocol = 265
)

// renamed44 are nDPI 4.2's protocol names that nDPI 4.4 (our table) kept
// under the same id with another name: 4.2 name → 4.4 name. The host
// tables and ndpiReader come from 4.2.
var renamed44 = map[string]string{
	"Hotmail": "Outlook", "SkypeCall": "Skype_TeamsCall", "IPsec": "IPSec",
	"DCE_RPC": "RPC", "Z39.50": "Z3950",
}

// Name44 is nDPI 4.4's name of the protocol nDPI 4.2 calls name.
func Name44(name string) string {
	if n, ok := renamed44[name]; ok {
		return n
	}
	return name
}

// Info is what nDPI says of a protocol: name, category id, breed.
type Info struct {
	Name     string
	Category uint8
	Breed    string
}

// InfoOf returns nDPI's facts about p (Unknown's for ids it does not know).
func InfoOf(p Protocol) Info {
	if i, ok := ndpiProtocols[p]; ok {
		return i
	}
	return ndpiProtocols[Unknown]
}

// Protocols calls fn for every nDPI protocol, in id order.
func Protocols(fn func(p Protocol, i Info)) {
	for id := Protocol(0); id < 1024; id++ {
		if i, ok := ndpiProtocols[id]; ok {
			fn(id, i)
		}
	}
}

// Result is a flow's classification: Master is the protocol (TLS, DNS,
// HTTP...), App the service on top of it when known (Google, Facebook...).
// ntopng shows "Master.App", or just one of them.
type Result struct {
	Master, App Protocol
	Guessed     bool // from the port only: no payload confirmed it
	// Category is the flow's own nDPI category when a server name matched
	// a host pattern or the category list (HasCategory): Google's ad hosts
	// are Advertisement, not their application's Web. See Catalog.Category.
	Category    uint8
	HasCategory bool
}

// Name is ntopng's l7 label: "TLS.Google", "DNS", "Unknown".
func (r Result) Name() string { return (*Catalog)(nil).Name(r) }

// AppID is the protocol ntopng counts the flow under: the app when known.
func (r Result) AppID() Protocol {
	if r.App != Unknown {
		return r.App
	}
	return r.Master
}

// GuessByPort is nDPI's last resort for a flow no payload identified: the
// protocol registered for its server port. Callers mark the result Guessed.
func GuessByPort(proto uint8, serverPort uint16) Protocol {
	switch proto {
	case 1:
		return ICMP
	case 58:
		return ICMPV6
	case 6:
		switch serverPort {
		case 443, 8443:
			return TLS
		case 80, 8080:
			return HTTP
		case 53:
			return DNS
		case 22:
			return SSH
		case 445:
			return SMBv23
		case 139:
			return NetBIOS
		case 8333, 30303: // Mining's default ports (Bitcoin, Ethereum)
			return Mining
		}
	case 17:
		switch serverPort {
		case 53:
			return DNS
		case 5353:
			return MDNS
		case 123:
			return NTP
		case 67, 68:
			return DHCP
		case 1900:
			return SSDP
		case 137:
			return NetBIOS
		case 161, 162:
			return SNMP
		case 443:
			return QUIC
		}
	}
	return Unknown
}

// Classify looks at one payload of a flow (either direction) and says
// which protocol it proves, or Unknown. It never trusts a port alone: a
// port only narrows which parsers are tried, and each parser checks the
// bytes. proto is the IP protocol, sport/dport the packet's ports.
func Classify(proto uint8, sport, dport uint16, payload []byte) Protocol {
	switch proto {
	case 1:
		return ICMP
	case 58:
		return ICMPV6
	case 6:
		return classifyTCP(sport, dport, payload)
	case 17:
		return classifyUDP(sport, dport, payload)
	}
	return Unknown
}

func either(sport, dport, p uint16) bool { return sport == p || dport == p }

func classifyTCP(sport, dport uint16, p []byte) Protocol {
	if len(p) == 0 {
		return Unknown
	}
	// The cheap record checks first: a ClientHello with a name is almost
	// always a well-formed handshake record already.
	if isTLSRecord(p) || isTLSMidStream(p) || helloHasServerName(p) {
		return TLS
	}
	if looksLikeHTTPRequest(p) || len(p) >= 9 && string(p[:7]) == "HTTP/1." {
		return HTTP
	}
	if len(p) >= 8 && string(p[:4]) == "SSH-" && (string(p[4:8]) == "2.0-" || string(p[4:8]) == "1.99") {
		return SSH
	}
	if either(sport, dport, 53) {
		if isDNS(StripTCPLength(p)) {
			return DNS
		}
	}
	if either(sport, dport, 445) {
		return smbVersion(p)
	}
	return Unknown
}

// smbVersion is nDPI's SMB test: on port 445 a NetBIOS session message
// whose length field covers the rest of the segment, holding an SMB1
// ("\xffSMB") or SMB2/3 ("\xfeSMB") header (at least its 32 bytes).
func smbVersion(p []byte) Protocol {
	if len(p) < 4+32 || binary.BigEndian.Uint32(p) != uint32(len(p)-4) {
		return Unknown
	}
	switch string(p[4:8]) {
	case "\xffSMB":
		return SMBv1
	case "\xfeSMB":
		return SMBv23
	}
	return Unknown
}

// isTLSMidStream accepts a segment of a TLS connection whose handshake was
// not seen (the capture began mid-stream), as nDPI 4.4 does: it opens with
// an application data or alert record, and every record header in it is
// TLS's (content type 20–23, version 3.0–3.4, length at most 2^14+2048),
// one after the other to the segment's end, where the last record may go
// on in the next segment. A random payload passes that only by chance of
// about 2^-21 per header.
func isTLSMidStream(p []byte) bool {
	if len(p) < 6 || (p[0] != 0x17 && p[0] != 0x15) {
		return false
	}
	for len(p) > 0 {
		if len(p) < 5 || p[0] < 0x14 || p[0] > 0x17 || p[1] != 3 || p[2] > 4 {
			return false
		}
		n := int(binary.BigEndian.Uint16(p[3:5]))
		if n == 0 || n > 1<<14+2048 {
			return false
		}
		if 5+n >= len(p) {
			return true // this record ends here or in a later segment
		}
		p = p[5+n:]
	}
	return true
}

// isTLSRecord accepts a TLS handshake record header (ClientHello or
// ServerHello), so both directions of a TLS flow classify.
func isTLSRecord(p []byte) bool {
	if len(p) < 6 || p[0] != 0x16 || p[1] != 3 || p[2] > 4 {
		return false
	}
	n := int(binary.BigEndian.Uint16(p[3:5]))
	return n >= 4 && n <= 1<<14+2048 && (p[5] == 1 || p[5] == 2)
}

func classifyUDP(sport, dport uint16, p []byte) Protocol {
	switch {
	case either(sport, dport, 5353):
		if isDNS(p) {
			return MDNS
		}
	case either(sport, dport, 53):
		if isDNS(p) {
			return DNS
		}
	case either(sport, dport, 123):
		// Version 1–4 and a mode in the LI/VN/Mode byte, 48-byte header.
		if len(p) >= 48 {
			vn, mode := p[0]>>3&7, p[0]&7
			if vn >= 1 && vn <= 4 && mode >= 1 && mode <= 5 {
				return NTP
			}
		}
	case either(sport, dport, 67) || either(sport, dport, 68):
		// BOOTP op 1/2 and the DHCP magic cookie at offset 236.
		if len(p) >= 240 && (p[0] == 1 || p[0] == 2) && binary.BigEndian.Uint32(p[236:240]) == 0x63825363 {
			return DHCP
		}
	case either(sport, dport, 1900):
		if hasAnyPrefix(p, "M-SEARCH * HTTP/1.1", "NOTIFY * HTTP/1.1", "HTTP/1.1 200 OK") {
			return SSDP
		}
	case either(sport, dport, 137):
		if isDNS(p) { // NetBIOS name service has DNS's layout
			return NetBIOS
		}
	case either(sport, dport, 161) || either(sport, dport, 162):
		// A BER SEQUENCE holding an INTEGER version 0–3.
		if len(p) >= 5 && p[0] == 0x30 && bytesContainVersion(p) {
			return SNMP
		}
	case either(sport, dport, 443):
		if isQUICInitial(p) {
			return QUIC
		}
	}
	return Unknown
}

func hasAnyPrefix(p []byte, prefixes ...string) bool {
	for _, pre := range prefixes {
		if len(p) >= len(pre) && string(p[:len(pre)]) == pre {
			return true
		}
	}
	return false
}

func bytesContainVersion(p []byte) bool {
	i := 1
	if p[i]&0x80 != 0 { // long-form length
		i += int(p[i] & 0x7f)
	}
	i++
	return i+2 < len(p) && p[i] == 0x02 && p[i+1] == 1 && p[i+2] <= 3
}

// isQUICInitial: a long-header packet (RFC 9000 §17.2) of a known version.
func isQUICInitial(p []byte) bool {
	if len(p) < 1200 || p[0]&0xc0 != 0xc0 {
		return false
	}
	switch binary.BigEndian.Uint32(p[1:5]) {
	case 0x00000001, 0x6b3343cf, 0xff00001d: // v1, v2, draft-29
		return true
	}
	return false
}

// categoryNames are nDPI 4.4's category names by id, as ntopng's v1 answer
// lists them (Appendix D of the notes; 34, 106 and 107 came later).
var categoryNames = map[uint8]string{
	0: "Unspecified", 1: "Media", 2: "VPN", 3: "Email", 4: "DataTransfer", 5: "Web", 6: "SocialNetwork",
	7: "Download", 8: "Game", 9: "Chat", 10: "VoIP", 11: "Database", 12: "RemoteAccess", 13: "Cloud",
	14: "Network", 15: "Collaborative", 16: "RPC", 17: "Streaming", 18: "System", 19: "SoftwareUpdate",
	25: "Music", 26: "Video", 27: "Shopping", 28: "Productivity", 29: "FileSharing", 30: "ConnCheck",
	31: "IoT-Scada", 32: "VirtAssistant", 33: "Cybersecurity", 99: "Mining",
	100: "Malware", 101: "Advertisement", 102: "Banned_Site", 103: "Site_Unavailable", 104: "Allowed_Site",
	105: "Antimalware",
}

// CategoryName is nDPI's name of a category id.
func CategoryName(id uint8) string {
	if n, ok := categoryNames[id]; ok {
		return n
	}
	if id >= 20 && id <= 24 {
		return "User custom category " + string(rune('1'+id-20))
	}
	return "Unspecified"
}

// IsProtocolName reports whether name is one of nDPI's protocol names.
func IsProtocolName(name string) bool {
	for _, i := range ndpiProtocols {
		if i.Name == name {
			return true
		}
	}
	return false
}

// CategoryIDs are nDPI's category ids, ascending (custom slots 20–24 included).
func CategoryIDs() []uint8 {
	var out []uint8
	for id := 0; id < 256; id++ {
		if _, ok := categoryNames[uint8(id)]; ok || id >= 20 && id <= 24 {
			out = append(out, uint8(id))
		}
	}
	return out
}
