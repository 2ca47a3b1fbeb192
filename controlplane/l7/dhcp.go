package l7

import "encoding/binary"

// DHCPHostName returns the client hardware address and the Host Name
// option (12, RFC 2132 §3.14) of a DHCP message a client sent (BOOTREQUEST
// over Ethernet). ok is false for anything else or when the client gave no
// usable name. Clients send it from 0.0.0.0, so the name belongs to the
// MAC, not to an address.
func DHCPHostName(p []byte) (mac [6]byte, name string, ok bool) {
	const optionsAt = 240
	if len(p) < optionsAt || p[0] != 1 || p[1] != 1 || p[2] != 6 ||
		binary.BigEndian.Uint32(p[236:240]) != 0x63825363 {
		return mac, "", false
	}
	copy(mac[:], p[28:34])
	opts := p[optionsAt:]
	for len(opts) > 0 {
		code := opts[0]
		switch code {
		case 0: // pad
			opts = opts[1:]
			continue
		case 255: // end
			return mac, "", false
		}
		if len(opts) < 2 || len(opts) < 2+int(opts[1]) {
			return mac, "", false
		}
		body := opts[2 : 2+int(opts[1])]
		opts = opts[2+len(body):]
		if code == 12 {
			name, ok = cleanName(body)
			return mac, name, ok
		}
	}
	return mac, "", false
}
