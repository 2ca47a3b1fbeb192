package l7

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/hkdf"
)

// QUIC versions whose client Initial packets the probe can open.
const (
	QUICv1      uint32 = 0x00000001 // RFC 9000
	QUICv2      uint32 = 0x6b3343cf // RFC 9369
	QUICDraft29 uint32 = 0xff00001d
)

const (
	// maxQUICCrypto bounds the CRYPTO stream one flow reassembles: a
	// ClientHello with a post-quantum key share is about 1.8 KB, and no
	// client sends one near this.
	maxQUICCrypto = 16 << 10
	// maxQUICPackets is how many client Initial packets a flow's hello may
	// span; the client sends the whole hello in its first flight.
	maxQUICPackets = 6
	// maxQUICRanges bounds the out-of-order pieces kept: clients that
	// shuffle CRYPTO frames (Chrome's "chaos protection") cut a hello in a
	// handful.
	maxQUICRanges = 32
	// quicSampleLen is the header-protection sample (RFC 9001 §5.4.2).
	quicSampleLen = 16
	// maxConnIDLen is RFC 9000's limit for versions 1 and 2.
	maxConnIDLen = 20
)

// QUICError says why a QUIC Initial parser gave up. A string type so the
// values are constants: the package keeps no global state.
type QUICError string

func (e QUICError) Error() string { return string(e) }

// Reasons QUICHello.Err reports. Compare with errors.Is.
const (
	ErrQUICNotInitial   QUICError = "l7/quic: not a QUIC client Initial packet"
	ErrQUICVersion      QUICError = "l7/quic: QUIC version without known Initial keys"
	ErrQUICMalformed    QUICError = "l7/quic: malformed Initial packet"
	ErrQUICDecrypt      QUICError = "l7/quic: Initial packet does not decrypt"
	ErrQUICFrame        QUICError = "l7/quic: malformed or unexpected frame in an Initial packet"
	ErrQUICNotHello     QUICError = "l7/quic: CRYPTO stream does not start with a ClientHello"
	ErrQUICTooLarge     QUICError = "l7/quic: ClientHello larger than the reassembly bound"
	ErrQUICTooScattered QUICError = "l7/quic: CRYPTO stream in too many pieces"
	ErrQUICIncomplete   QUICError = "l7/quic: ClientHello not complete within the packet budget"
)

// quicSuite is what differs between versions in Initial protection.
type quicSuite struct {
	salt           [20]byte
	key, iv, hp    string // HKDF-Expand-Label labels
	initialTypeBit byte   // long-header packet type of Initial
}

// quicSuiteOf returns version's Initial salt and labels (RFC 9001 §5.2,
// RFC 9369 §3.3.1). A switch rather than a table: no package state.
func quicSuiteOf(version uint32) (quicSuite, bool) {
	switch version {
	case QUICv1:
		return quicSuite{
			salt: [20]byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
				0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
			key: "quic key", iv: "quic iv", hp: "quic hp", initialTypeBit: 0,
		}, true
	case QUICv2:
		return quicSuite{
			salt: [20]byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
				0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
			key: "quicv2 key", iv: "quicv2 iv", hp: "quicv2 hp", initialTypeBit: 1,
		}, true
	case QUICDraft29:
		return quicSuite{
			salt: [20]byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
				0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99},
			key: "quic key", iv: "quic iv", hp: "quic hp", initialTypeBit: 0,
		}, true
	}
	return quicSuite{}, false
}

// quicInitialSecrets derives the client's Initial key, IV and
// header-protection key from the Destination Connection ID of the
// client's first Initial packet (RFC 9001 §5.2).
func quicInitialSecrets(version uint32, dcid []byte) (key, iv, hp []byte, err error) {
	s, ok := quicSuiteOf(version)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: %#08x", ErrQUICVersion, version)
	}
	initial := hkdf.Extract(sha256.New, dcid, s.salt[:])
	client := hkdfExpandLabel(initial, "client in", sha256.Size)
	return hkdfExpandLabel(client, s.key, 16), hkdfExpandLabel(client, s.iv, 12), hkdfExpandLabel(client, s.hp, 16), nil
}

// hkdfExpandLabel is TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1) with an
// empty context.
func hkdfExpandLabel(secret []byte, label string, n int) []byte {
	info := make([]byte, 0, 4+6+len(label))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(6+len(label)))
	info = append(info, "tls13 "...)
	info = append(info, label...)
	info = append(info, 0) // context length
	out := make([]byte, n)
	// Expand only fails when asked for more than 255 hash lengths.
	if _, err := hkdf.Expand(sha256.New, secret, info).Read(out); err != nil {
		panic(err)
	}
	return out
}

// quicKeys opens one connection's client Initial packets.
type quicKeys struct {
	version uint32
	dcid    [maxConnIDLen]byte
	dcidLen uint8
	aead    cipher.AEAD
	hp      cipher.Block
	iv      [12]byte
}

func newQUICKeys(version uint32, dcid []byte) (*quicKeys, error) {
	key, iv, hp, err := quicInitialSecrets(version, dcid)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("l7/quic: packet key: %w", err)
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, fmt.Errorf("l7/quic: packet key: %w", err)
	}
	hpb, err := aes.NewCipher(hp)
	if err != nil {
		return nil, fmt.Errorf("l7/quic: header protection key: %w", err)
	}
	k := &quicKeys{version: version, aead: aead, hp: hpb, dcidLen: uint8(len(dcid))}
	copy(k.dcid[:], dcid)
	copy(k.iv[:], iv)
	return k, nil
}

func (k *quicKeys) matches(version uint32, dcid []byte) bool {
	return k.version == version && string(k.dcid[:k.dcidLen]) == string(dcid)
}

// QUICHello follows the client→server datagrams of one QUIC connection
// until the ClientHello its Initial packets carry is whole: it removes
// header protection, decrypts each client Initial, walks the frames and
// reassembles the CRYPTO stream by offset (a hello with a post-quantum
// key share spans two packets, and some clients shuffle CRYPTO frames).
// Its work per datagram and its memory are bounded; junk ends it with an
// error, never a panic. The zero value is ready to use. A flow keeps one
// only until Done: the keys and buffers are then dropped.
type QUICHello struct {
	keys    *quicKeys
	crypto  []byte   // CRYPTO stream bytes from offset 0, holes zero
	ranges  [][2]int // received [start, end) pieces, sorted, merged
	aad     []byte   // scratch: unprotected header
	plain   []byte   // scratch: decrypted payload
	largest int64    // largest packet number opened, -1 before any
	packets int      // client Initial packets seen
	started bool
	done    bool
	hello   ClientHello
	ok      bool
	err     error
}

// Done reports that the parser wants no more datagrams.
func (q *QUICHello) Done() bool { return q.done }

// Err is why the parser stopped without a ClientHello, nil otherwise.
func (q *QUICHello) Err() error { return q.err }

// Hello returns the ClientHello once Done; ok as ParseClientHello's (a
// hello cut short by the packet budget is ok only if its SNI was read).
func (q *QUICHello) Hello() (ClientHello, bool) { return q.hello, q.ok }

// Feed hands the parser one client→server UDP payload (a datagram may
// carry several coalesced QUIC packets). The datagram is not modified.
// Feed reports Done.
func (q *QUICHello) Feed(datagram []byte) bool {
	if q.done {
		return true
	}
	if !q.started {
		q.started, q.largest = true, -1
	}
	for len(datagram) > 0 && !q.done {
		rest, err := q.packet(datagram)
		if err != nil {
			q.fail(err)
			break
		}
		datagram = rest
	}
	if !q.done && q.packets >= maxQUICPackets {
		q.finish(true)
	}
	return q.done
}

// packet opens the long-header packet at the start of b and returns what
// follows it in the datagram.
func (q *QUICHello) packet(b []byte) (rest []byte, err error) {
	if b[0]&0x80 == 0 {
		// A short-header packet ends the datagram; before the hello is
		// whole it means this is not a connection's start.
		if q.packets == 0 {
			return nil, fmt.Errorf("%w: short header", ErrQUICNotInitial)
		}
		return nil, nil
	}
	if len(b) < 7 {
		return nil, fmt.Errorf("%w: %d-byte long header", ErrQUICMalformed, len(b))
	}
	version := binary.BigEndian.Uint32(b[1:5])
	suite, ok := quicSuiteOf(version)
	if !ok {
		return nil, fmt.Errorf("%w: %#08x", ErrQUICVersion, version)
	}
	r := reader{b: b[5:]}
	dcid := r.take(int(r.u8()))
	scid := r.take(int(r.u8()))
	if r.bad || len(dcid) > maxConnIDLen || len(scid) > maxConnIDLen {
		return nil, fmt.Errorf("%w: connection ids", ErrQUICMalformed)
	}
	typ := b[0] >> 4 & 3
	if typ != suite.initialTypeBit {
		// 0-RTT or Handshake coalesced after the Initial: skip it by its
		// length; a Retry (no length) ends the datagram.
		if (version == QUICv2 && typ == 0) || (version != QUICv2 && typ == 3) {
			return nil, nil
		}
		n, ok := r.varint()
		if !ok || n > uint64(len(r.b)) {
			return nil, fmt.Errorf("%w: length of a non-Initial packet", ErrQUICMalformed)
		}
		return r.b[n:], nil
	}
	tokenLen, ok := r.varint()
	if !ok || tokenLen > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: token length", ErrQUICMalformed)
	}
	r.skip(int(tokenLen))
	length, ok := r.varint()
	if !ok || length > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: length %d past the datagram", ErrQUICMalformed, length)
	}
	pnOff := len(b) - len(r.b)
	end := pnOff + int(length)
	if int(length) < 4+quicSampleLen {
		return nil, fmt.Errorf("%w: payload of %d bytes is too short to sample", ErrQUICMalformed, length)
	}
	if q.keys == nil || !q.keys.matches(version, dcid) {
		if q.keys != nil && q.packets > 0 {
			// A new DCID after the first packet: a Retry or the server's
			// chosen id. Keys stay those of the first DCID unless they
			// fail, in which case try the new one (after a Retry the
			// stream starts again).
			if plain, err := q.open(q.keys, b[:end], pnOff); err == nil {
				return b[end:], q.frames(plain)
			}
			q.crypto, q.ranges, q.largest = q.crypto[:0], q.ranges[:0], -1
		}
		k, err := newQUICKeys(version, dcid)
		if err != nil {
			return nil, err
		}
		q.keys = k
	}
	plain, err := q.open(q.keys, b[:end], pnOff)
	if err != nil {
		return nil, err
	}
	return b[end:], q.frames(plain)
}

// open removes header protection from the Initial packet p (whose packet
// number starts at pnOff) and decrypts its payload into q.plain.
func (q *QUICHello) open(k *quicKeys, p []byte, pnOff int) ([]byte, error) {
	var mask [aes.BlockSize]byte
	k.hp.Encrypt(mask[:], p[pnOff+4:pnOff+4+quicSampleLen])
	first := p[0] ^ mask[0]&0x0f
	pnLen := int(first&3) + 1
	q.aad = append(q.aad[:0], p[:pnOff+pnLen]...)
	q.aad[0] = first
	var truncated uint64
	for i := range pnLen {
		q.aad[pnOff+i] ^= mask[1+i]
		truncated = truncated<<8 | uint64(q.aad[pnOff+i])
	}
	pn := decodePacketNumber(q.largest, truncated, pnLen*8)
	nonce := k.iv
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(pn >> (8 * i))
	}
	plain, err := k.aead.Open(q.plain[:0], nonce[:], p[pnOff+pnLen:], q.aad)
	if err != nil {
		return nil, fmt.Errorf("%w: packet number %d", ErrQUICDecrypt, pn)
	}
	q.plain = plain
	q.largest = max(q.largest, int64(pn))
	q.packets++
	return plain, nil
}

// decodePacketNumber is RFC 9000 Appendix A.3.
func decodePacketNumber(largest int64, truncated uint64, bits int) uint64 {
	expected := uint64(largest + 1)
	win := uint64(1) << bits
	hwin, mask := win/2, win-1
	candidate := expected&^mask | truncated
	switch {
	case candidate+hwin <= expected && candidate < 1<<62-win:
		return candidate + win
	case candidate > expected+hwin && candidate >= win:
		return candidate - win
	}
	return candidate
}

// Frame types an Initial packet may carry (RFC 9000 §12.4, §19).
const (
	frPadding   = 0x00
	frPing      = 0x01
	frAck       = 0x02
	frAckECN    = 0x03
	frCrypto    = 0x06
	frConnClose = 0x1c
)

// frames walks a decrypted Initial payload and keeps its CRYPTO data.
func (q *QUICHello) frames(p []byte) error {
	r := reader{b: p}
	for len(r.b) > 0 {
		typ := r.u8()
		switch typ {
		case frPadding, frPing:
		case frAck, frAckECN:
			n := 3 // ECN counts
			if typ == frAck {
				n = 0
			}
			r.varint() // largest acknowledged
			r.varint() // delay
			ranges, ok := r.varint()
			// Each range is two varints of at least one byte.
			if !ok || ranges > uint64(len(r.b))/2 {
				return fmt.Errorf("%w: ACK with %d ranges", ErrQUICFrame, ranges)
			}
			n += 1 + 2*int(ranges)
			for range n {
				if _, ok := r.varint(); !ok {
					return fmt.Errorf("%w: truncated ACK", ErrQUICFrame)
				}
			}
		case frCrypto:
			off, ok1 := r.varint()
			n, ok2 := r.varint()
			if !ok1 || !ok2 || n > uint64(len(r.b)) {
				return fmt.Errorf("%w: truncated CRYPTO", ErrQUICFrame)
			}
			if err := q.addCrypto(off, r.take(int(n))); err != nil {
				return err
			}
		case frConnClose:
			return fmt.Errorf("%w: CONNECTION_CLOSE", ErrQUICFrame)
		default:
			return fmt.Errorf("%w: type %#x", ErrQUICFrame, typ)
		}
		if r.bad {
			return fmt.Errorf("%w: truncated frame %#x", ErrQUICFrame, typ)
		}
	}
	q.checkHello()
	return nil
}

// addCrypto places a CRYPTO frame's data at its offset.
func (q *QUICHello) addCrypto(off uint64, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if off > maxQUICCrypto || off+uint64(len(data)) > maxQUICCrypto {
		return fmt.Errorf("%w: CRYPTO data up to offset %d", ErrQUICTooLarge, off+uint64(len(data)))
	}
	start, end := int(off), int(off)+len(data)
	if end > len(q.crypto) {
		q.crypto = append(q.crypto, make([]byte, end-len(q.crypto))...)
	}
	copy(q.crypto[start:end], data)
	// Insert and merge [start, end) into the sorted ranges.
	i := 0
	for i < len(q.ranges) && q.ranges[i][1] < start {
		i++
	}
	j := i
	for j < len(q.ranges) && q.ranges[j][0] <= end {
		start, end = min(start, q.ranges[j][0]), max(end, q.ranges[j][1])
		j++
	}
	if i == j {
		if len(q.ranges) >= maxQUICRanges {
			return fmt.Errorf("%w (%d)", ErrQUICTooScattered, len(q.ranges))
		}
		q.ranges = append(q.ranges, [2]int{})
		copy(q.ranges[i+1:], q.ranges[i:])
	} else {
		q.ranges = append(q.ranges[:i+1], q.ranges[j:]...)
	}
	q.ranges[i] = [2]int{start, end}
	return nil
}

// contiguous is how many stream bytes from offset 0 have arrived.
func (q *QUICHello) contiguous() int {
	if len(q.ranges) == 0 || q.ranges[0][0] != 0 {
		return 0
	}
	return q.ranges[0][1]
}

// checkHello finishes once the handshake message at offset 0 is whole.
func (q *QUICHello) checkHello() {
	n := q.contiguous()
	if n == 0 {
		return
	}
	if q.crypto[0] != 1 {
		q.fail(fmt.Errorf("%w: handshake type %d", ErrQUICNotHello, q.crypto[0]))
		return
	}
	if n < 4 {
		return
	}
	size := 4 + (int(q.crypto[1])<<16 | int(q.crypto[2])<<8 | int(q.crypto[3]))
	if size > maxQUICCrypto {
		q.fail(fmt.Errorf("%w: %d bytes", ErrQUICTooLarge, size))
		return
	}
	if n >= size {
		q.finish(false)
	}
}

// finish parses what the stream holds; cut says the budget ran out
// before the hello was whole.
func (q *QUICHello) finish(cut bool) {
	q.hello, q.ok = parseClientHelloMsg(q.crypto[:q.contiguous()], true)
	if !q.ok {
		err := error(ErrQUICNotHello)
		if cut {
			err = fmt.Errorf("%w: %d of the stream's bytes in order", ErrQUICIncomplete, q.contiguous())
		}
		q.fail(err)
		return
	}
	q.done = true
	q.release()
}

func (q *QUICHello) fail(err error) {
	q.done, q.err = true, err
	q.release()
}

// release drops the keys and buffers: a flow outlives its handshake.
func (q *QUICHello) release() {
	q.keys, q.crypto, q.ranges, q.aad, q.plain = nil, nil, nil, nil, nil
}

// IsQUICInitial reports a datagram that starts with a client Initial
// packet of a version whose keys are known: long header, Initial type for
// that version, and the 1200 bytes clients must pad their Initial
// datagrams to (RFC 9000 §14.1). It is the cheap test before a QUICHello.
func IsQUICInitial(d []byte) bool {
	if len(d) < 1200 || d[0]&0x80 == 0 {
		return false
	}
	s, ok := quicSuiteOf(binary.BigEndian.Uint32(d[1:5]))
	return ok && d[0]>>4&3 == s.initialTypeBit
}

// QUICClientHello reads the ClientHello out of one datagram holding a
// client's first Initial packet(s), for hellos that fit in it. A hello
// spanning datagrams needs a QUICHello fed with each.
func QUICClientHello(datagram []byte) (ClientHello, bool) {
	var q QUICHello
	if !q.Feed(datagram) {
		q.finish(true)
	}
	return q.Hello()
}

// varint reads a QUIC variable-length integer (RFC 9000 §16).
func (r *reader) varint() (uint64, bool) {
	if len(r.b) == 0 {
		r.bad = true
		return 0, false
	}
	n := 1 << (r.b[0] >> 6)
	b := r.take(n)
	if b == nil {
		return 0, false
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:] {
		v = v<<8 | uint64(c)
	}
	return v, true
}
