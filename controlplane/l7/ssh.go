package l7

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
)

// SSHClientHASSH returns the HASSH fingerprint (Salesforce: MD5 of the
// client's "kex;encryption;mac;compression" algorithm lists) of an SSH
// client's KEXINIT at the start of payload, after the client's version
// line if the segment carries both. ok is false for anything else.
func SSHClientHASSH(payload []byte) (string, bool) {
	p := payload
	if bytes.HasPrefix(p, []byte("SSH-")) {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return "", false
		}
		p = p[i+1:]
	}
	// Binary packet (RFC 4253 §6): length, padding length, then the
	// KEXINIT message (§7.1): type 20 and a 16-byte cookie.
	if len(p) < 6+16 || p[5] != 20 {
		return "", false
	}
	if n := int(binary.BigEndian.Uint32(p)); n < len(p)-4 {
		p = p[:4+n]
	}
	if len(p) < 6+16 { // the length field may claim less than the header
		return "", false
	}
	r := reader{b: p[6+16:]}
	var lists [8][]byte
	for i := range lists {
		lists[i] = r.take(int(r.u32()))
	}
	if r.bad {
		return "", false
	}
	// kex, host key, enc c2s, enc s2c, mac c2s, mac s2c, comp c2s, comp s2c
	s := bytes.Join([][]byte{lists[0], lists[2], lists[4], lists[6]}, []byte(";"))
	sum := md5.Sum(s)
	return hex.EncodeToString(sum[:]), true
}
