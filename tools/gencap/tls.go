package main

import "encoding/binary"

// TLS 1.3-shaped handshake: the ClientHello and ServerHello are well formed
// (so a classifier finds the version, ciphers and SNI) and everything after
// them is opaque application data, as on the wire; no fake certificate is
// needed because TLS 1.3 encrypts it.

const (
	recordCCS         = 0x14
	recordHandshake   = 0x16
	recordApplication = 0x17
)

// tlsRecord frames body as one record of the given content type.
func tlsRecord(contentType byte, version uint16, body []byte) []byte {
	out := []byte{contentType, byte(version >> 8), byte(version)}
	out = binary.BigEndian.AppendUint16(out, uint16(len(body)))
	return append(out, body...)
}

// handshake prefixes a handshake message with its type and 24-bit length.
func handshake(msgType byte, body []byte) []byte {
	n := len(body)
	return append([]byte{msgType, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// extension encodes one hello extension.
func extension(typ uint16, data []byte) []byte {
	out := binary.BigEndian.AppendUint16(nil, typ)
	out = binary.BigEndian.AppendUint16(out, uint16(len(data)))
	return append(out, data...)
}

// vec16 prefixes data with its 16-bit length.
func vec16(data []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(data))), data...)
}

func u16s(vals ...uint16) []byte {
	var out []byte
	for _, v := range vals {
		out = binary.BigEndian.AppendUint16(out, v)
	}
	return out
}

// clientHello returns the record opening a TLS connection to sni. random
// must hold 32+32+32 bytes: hello random, session id and key share.
func clientHello(sni string, random []byte) []byte {
	serverName := append([]byte{0}, vec16([]byte(sni))...) // host_name entry
	var exts []byte
	exts = append(exts, extension(0x0000, vec16(serverName))...)                           // server_name
	exts = append(exts, extension(0x000a, vec16(u16s(0x001d, 0x0017, 0x0018)))...)         // supported_groups
	exts = append(exts, extension(0x000d, vec16(u16s(0x0403, 0x0804, 0x0401, 0x0503)))...) // signature_algorithms
	exts = append(exts, extension(0x0010, vec16(append([]byte{2}, "h2"...)))...)           // ALPN
	exts = append(exts, extension(0x002b, append([]byte{4}, u16s(0x0304, 0x0303)...))...)  // supported_versions
	keyShare := append(u16s(0x001d, 32), random[64:96]...)
	exts = append(exts, extension(0x0033, vec16(keyShare))...) // key_share

	body := u16s(0x0303)
	body = append(body, random[:32]...)
	body = append(body, 32)
	body = append(body, random[32:64]...)
	body = append(body, vec16(u16s(0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8))...)
	body = append(body, 1, 0) // compression: null only
	body = append(body, vec16(exts)...)
	return tlsRecord(recordHandshake, 0x0301, handshake(1, body))
}

// serverHello answers clientHello, echoing its session id. random must hold
// 32+32 bytes: hello random and key share.
func serverHello(sessionID, random []byte) []byte {
	var exts []byte
	exts = append(exts, extension(0x002b, u16s(0x0304))...)
	exts = append(exts, extension(0x0033, append(u16s(0x001d, 32), random[32:64]...))...)

	body := u16s(0x0303)
	body = append(body, random[:32]...)
	body = append(body, byte(len(sessionID)))
	body = append(body, sessionID...)
	body = append(body, u16s(0x1301)...) // TLS_AES_128_GCM_SHA256
	body = append(body, 0)               // compression
	body = append(body, vec16(exts)...)
	return tlsRecord(recordHandshake, 0x0303, handshake(2, body))
}

// changeCipherSpec is the middlebox-compatibility record TLS 1.3 still sends.
func changeCipherSpec() []byte {
	return tlsRecord(recordCCS, 0x0303, []byte{1})
}

// appData wraps opaque bytes in application-data records of at most 16 KiB.
func appData(opaque []byte) []byte {
	var out []byte
	for len(opaque) > 0 {
		n := min(len(opaque), 16384)
		out = append(out, tlsRecord(recordApplication, 0x0303, opaque[:n])...)
		opaque = opaque[n:]
	}
	return out
}
