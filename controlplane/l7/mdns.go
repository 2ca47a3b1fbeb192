package l7

import (
	"encoding/binary"
	"strings"
)

const dnsTypePTR = 12

// MDNSName is the name a host announces for itself in an mDNS response,
// as ntopng shows it: the service instance of its first PTR record
// ("Luca’s iMac._companion-link._tcp.local" → "luca’s imac", lower-cased
// like every DNS name here), else the owner of an A/AAAA record without
// ".local". ok is false when the message names nothing.
func MDNSName(msg []byte) (name string, ok bool) {
	if len(msg) < dnsHeaderLen || msg[2]&0x80 == 0 {
		return "", false
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	records := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:])) + int(binary.BigEndian.Uint16(msg[10:]))
	off := dnsHeaderLen
	var err error
	for i := 0; i < qd; i++ {
		if off, err = skipName(msg, off); err != nil || off+4 > len(msg) {
			return "", false
		}
		off += 4
	}
	var buf NameBuf
	fallback := ""
	for i := 0; i < records && i < 64; i++ {
		start := off
		if off, err = skipName(msg, off); err != nil || off+10 > len(msg) {
			break
		}
		typ := binary.BigEndian.Uint16(msg[off:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		rdata := off + 10
		off = rdata + rdlen
		if off > len(msg) {
			break
		}
		switch typ {
		case dnsTypePTR:
			n, _, err := readName(msg, rdata, &buf)
			if err != nil {
				continue
			}
			target := string(buf[:n])
			if inst, _, found := strings.Cut(target, "._"); found && inst != "" {
				return strings.ReplaceAll(inst, `\.`, "."), true
			}
		case dnsTypeA, dnsTypeAAAA:
			if fallback != "" {
				continue
			}
			n, _, err := readName(msg, start, &buf)
			if err == nil && n > 0 {
				fallback = strings.TrimSuffix(string(buf[:n]), ".local")
			}
		}
	}
	return fallback, fallback != ""
}
