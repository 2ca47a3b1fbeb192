package l7

import (
	"crypto/tls"
	"testing"

	"github.com/quic-go/quic-go"
)

// cryptoStream opens one Initial packet and returns its CRYPTO data put
// in order: the raw ClientHello message, for the TLS-over-TCP baseline.
func cryptoStream(t testing.TB, datagram []byte) []byte {
	t.Helper()
	var q QUICHello
	q.largest = -1
	r := reader{b: datagram[5:]}
	dcid := r.take(int(r.u8()))
	r.skip(int(r.u8()))
	tok, _ := r.varint()
	r.skip(int(tok))
	length, _ := r.varint()
	pnOff := len(datagram) - len(r.b)
	k, err := newQUICKeys(QUICv1, dcid)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := q.open(k, datagram[:pnOff+int(length)], pnOff)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	fr := reader{b: plain}
	for len(fr.b) > 0 && !fr.bad {
		switch fr.u8() {
		case frPadding, frPing:
		case frCrypto:
			off, _ := fr.varint()
			n, _ := fr.varint()
			data := fr.take(int(n))
			if end := int(off) + len(data); end > len(out) {
				out = append(out, make([]byte, end-len(out))...)
			}
			copy(out[off:], data)
		default:
			t.Fatal("unexpected frame in a first Initial")
		}
	}
	return out
}

// BenchmarkQUICInitialSNI is the cost of reading a real quic-go client's
// ClientHello out of its first Initial datagram (header protection, AEAD,
// frames, hello), against parsing the same hello sent as a TLS record
// over TCP (ParseClientHello): the ratio is what QUIC's encryption adds.
func BenchmarkQUICInitialSNI(b *testing.B) {
	dgrams := quicGoDatagrams(b, quicClient{quic.Version1, "www.youtube.com", []string{"h3"}, []tls.CurveID{tls.X25519}})
	d := dgrams[0]
	msg := cryptoStream(b, d)
	rec := append([]byte{0x16, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
	want, ok := ParseClientHello(rec)
	if !ok || want.ServerName != "www.youtube.com" {
		b.Fatalf("baseline hello: %+v", want)
	}
	b.Run("quic-initial", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if h, ok := QUICClientHello(d); !ok || h.ServerName != want.ServerName {
				b.Fatal("no hello")
			}
		}
	})
	b.Run("baseline-tls-record", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if h, ok := ParseClientHello(rec); !ok || h.ServerName != want.ServerName {
				b.Fatal("no hello")
			}
		}
	})
}
