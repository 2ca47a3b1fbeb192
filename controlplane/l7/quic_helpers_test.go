package l7

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// recordingConn keeps a copy of every datagram a quic-go endpoint sends.
// Wrapping hides *net.UDPConn, so quic-go writes one datagram per call
// (no GSO batches) and each copy is exactly one UDP payload.
type recordingConn struct {
	net.PacketConn
	mu   sync.Mutex
	sent [][]byte
	once sync.Once
}

func (c *recordingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, bytes.Clone(p))
	c.mu.Unlock()
	return c.PacketConn.WriteTo(p, addr)
}

// ReadFrom holds back the server's first answer a little: quic-go may
// otherwise send the second half of a two-packet hello only after that
// answer, to the server's new connection id, which tshark 4.0 takes for
// another connection (the parser under test handles both).
func (c *recordingConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	c.once.Do(func() { time.Sleep(50 * time.Millisecond) })
	return n, addr, err
}

func (c *recordingConn) datagrams() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.sent...)
}

// quicClient is what a real QUIC client is told to offer.
type quicClient struct {
	version quic.Version
	sni     string
	alpn    []string
	curves  []tls.CurveID // nil: crypto/tls's defaults (with ML-KEM, a hello of ~1.8 KB)
}

// selfSigned is a throw-away server certificate: the client skips
// verification, the handshake only has to run.
func selfSigned(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quic test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// quicGoDatagrams runs a real quic-go handshake over loopback and returns
// the UDP payloads the client sent until the handshake completed.
func quicGoDatagrams(t testing.TB, c quicClient) [][]byte {
	t.Helper()
	t.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srvConf := &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, NextProtos: c.alpn[len(c.alpn)-1:]}
	qconf := &quic.Config{Versions: []quic.Version{c.version}}
	ln, err := quic.ListenAddr("127.0.0.1:0", srvConf, qconf)
	if err != nil {
		t.Fatalf("quic listen: %v", err)
	}
	defer ln.Close()
	// The server's side stays open until the client's Dial has returned: a
	// close sent at once could reach a slow client before its handshake
	// completes, and Dial would fail with the server's close.
	type accept struct {
		c   *quic.Conn
		err error
	}
	accepted := make(chan accept, 1)
	go func() {
		c, err := ln.Accept(ctx)
		accepted <- accept{c, err}
	}()

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	rc := &recordingConn{PacketConn: udp}
	cliConf := &tls.Config{ServerName: c.sni, NextProtos: c.alpn, InsecureSkipVerify: true, CurvePreferences: c.curves}
	tr := &quic.Transport{Conn: rc}
	defer tr.Close()
	conn, err := tr.Dial(ctx, ln.Addr(), cliConf, qconf)
	if err != nil {
		t.Fatalf("quic dial: %v", err)
	}
	defer conn.CloseWithError(0, "")
	// The server's side completes when the client's Finished arrives.
	a := <-accepted
	if a.err != nil {
		t.Fatalf("quic accept: %v", a.err)
	}
	a.c.CloseWithError(0, "")
	if got := conn.ConnectionState().TLS.NegotiatedProtocol; got != srvConf.NextProtos[0] {
		t.Fatalf("negotiated ALPN %q", got)
	}
	return rc.datagrams()
}

// sealedInitial builds a client Initial packet the way a client does
// (RFC 9001 §5.3, §5.4) around the given frames, padded with PADDING to
// at least size bytes. Only for frame-walking tests: the keys and the
// protection themselves are checked against RFC 9001/9369 values and
// real quic-go traffic.
func sealedInitial(t testing.TB, version uint32, dcid []byte, pn uint64, pnLen int, frames []byte, size int) []byte {
	t.Helper()
	return sealedInitialKeyed(t, version, dcid, dcid, pn, pnLen, frames, size)
}

// sealedInitialKeyed is sealedInitial with keys from keyDCID, the client's
// first DCID, in a packet addressed to dcid (the server's chosen one).
func sealedInitialKeyed(t testing.TB, version uint32, keyDCID, dcid []byte, pn uint64, pnLen int, frames []byte, size int) []byte {
	t.Helper()
	key, iv, hp, err := quicInitialSecrets(version, keyDCID)
	if err != nil {
		t.Fatal(err)
	}
	typ := byte(0)
	if version == QUICv2 {
		typ = 1
	}
	scid := []byte{1, 2, 3, 4}
	hdr := []byte{0xc0 | typ<<4 | byte(pnLen-1)}
	hdr = binary.BigEndian.AppendUint32(hdr, version)
	hdr = append(hdr, byte(len(dcid)))
	hdr = append(hdr, dcid...)
	hdr = append(hdr, byte(len(scid)))
	hdr = append(hdr, scid...)
	hdr = append(hdr, 0) // token length
	payload := bytes.Clone(frames)
	for len(hdr)+2+pnLen+len(payload)+16 < size || pnLen+len(payload) < 4 {
		payload = append(payload, 0)
	}
	length := pnLen + len(payload) + 16
	hdr = append(hdr, 0x40|byte(length>>8), byte(length)) // 2-byte varint
	pnOff := len(hdr)
	for i := pnLen - 1; i >= 0; i-- {
		hdr = append(hdr, byte(pn>>(8*i)))
	}
	blk, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(blk)
	nonce := bytes.Clone(iv)
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(pn >> (8 * i))
	}
	pkt := aead.Seal(bytes.Clone(hdr), nonce, payload, hdr)
	hpb, _ := aes.NewCipher(hp)
	var mask [16]byte
	hpb.Encrypt(mask[:], pkt[pnOff+4:pnOff+20])
	pkt[0] ^= mask[0] & 0x0f
	for i := range pnLen {
		pkt[pnOff+i] ^= mask[1+i]
	}
	return pkt
}

// cryptoFrame is a CRYPTO frame with 4-byte varints.
func cryptoFrame(off int, data []byte) []byte {
	f := []byte{frCrypto}
	f = binary.BigEndian.AppendUint32(f, 0x80000000|uint32(off))
	f = binary.BigEndian.AppendUint32(f, 0x80000000|uint32(len(data)))
	return append(f, data...)
}
