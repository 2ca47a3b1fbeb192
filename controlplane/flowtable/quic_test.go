package flowtable

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// quicLog records the datagrams both ends of a real quic-go connection
// send, in the order they were sent.
type quicLog struct {
	mu   sync.Mutex
	dgrs []quicDatagram
}

type quicDatagram struct {
	fromClient bool
	data       []byte
}

type loggingConn struct {
	net.PacketConn
	log    *quicLog
	client bool
}

func (c *loggingConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.log.mu.Lock()
	c.log.dgrs = append(c.log.dgrs, quicDatagram{c.client, bytes.Clone(p)})
	c.log.mu.Unlock()
	return c.PacketConn.WriteTo(p, addr)
}

// quicConversation runs a quic-go handshake over loopback, the client
// offering sni and h3, and returns what both ends sent.
func quicConversation(t testing.TB, sni string, curves []tls.CurveID) []quicDatagram {
	t.Helper()
	t.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var log quicLog
	listen := func(client bool) *quic.Transport {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		tr := &quic.Transport{Conn: &loggingConn{c, &log, client}}
		t.Cleanup(func() { tr.Close() })
		return tr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srvTr := listen(false)
	ln, err := srvTr.Listen(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, NextProtos: []string{"h3"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server keeps its side open until the client's Dial has returned:
	// closing it at once could reach a slow client before its handshake
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
	conn, err := listen(true).Dial(ctx, ln.Addr(), &tls.Config{ServerName: sni, NextProtos: []string{"h3"}, InsecureSkipVerify: true, CurvePreferences: curves}, nil)
	if err != nil {
		t.Fatalf("quic dial: %v", err)
	}
	defer conn.CloseWithError(0, "")
	a := <-accepted
	if a.err != nil {
		t.Fatalf("quic accept: %v", a.err)
	}
	a.c.CloseWithError(0, "")
	log.mu.Lock()
	defer log.mu.Unlock()
	return slices.Clone(log.dgrs)
}

// quicPackets turns a conversation into the table's packets: the client
// at local:cport, the server at remote:sport.
func quicPackets(conv []quicDatagram, cport, sport uint16) []*decode.Packet {
	var out []*decode.Packet
	for i, d := range conv {
		p := &decode.Packet{Timestamp: t0 + int64(i)*1e6, WireLen: uint32(len(d.data) + 42), IPVersion: 4,
			Proto: 17, Src: local, Dst: remote, SrcPort: cport, DstPort: sport, Payload: d.data}
		if !d.fromClient {
			p.Src, p.Dst, p.SrcPort, p.DstPort = remote, local, sport, cport
		}
		out = append(out, p)
	}
	return out
}

// TestQUICServerName feeds real quic-go connections to the table: the SNI
// the client was given must become the flow's server name and its app.
func TestQUICServerName(t *testing.T) {
	x25519 := []tls.CurveID{tls.X25519}
	for _, c := range []struct {
		name   string
		sni    string
		curves []tls.CurveID
		port   uint16
		l7     string
	}{
		{"one-packet hello", "www.youtube.com", x25519, 443, "QUIC.YouTube"},
		{"two-packet ML-KEM hello", "www.netflix.com", nil, 443, "QUIC.NetFlix"},
		{"unusual port", "www.google.com", x25519, 8443, "QUIC.Google"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
			for _, p := range quicPackets(quicConversation(t, c.sni, c.curves), 50000, c.port) {
				tb.HandlePacket(p, decode.ErrNone)
			}
			if len(tb.quic) != 0 {
				t.Errorf("%d hellos still pending", len(tb.quic))
			}
			tb.View(func(v View) {
				if v.NumFlows() != 1 {
					t.Fatalf("%d flows", v.NumFlows())
				}
				f := v.Flows()[0]
				if f.ServerName != c.sni || f.Protocol().Name() != c.l7 || f.Protocol().Guessed {
					t.Errorf("server name %q l7 %q (guessed %v), want %q %q", f.ServerName, f.Protocol().Name(), f.Protocol().Guessed, c.sni, c.l7)
				}
				ti := f.TLS()
				if ti == nil || ti.ServerName != c.sni || ti.ClientALPN != "h3" || !strings.HasPrefix(ti.JA4, "q13d") || ti.JA3 == "" {
					t.Fatalf("tls info %+v", ti)
				}
				if name, http := v.Host(HostKey{remote, 0}).ServerName(); name != c.sni || http {
					t.Errorf("server host name %q", name)
				}
				var ja3 []string
				v.Host(HostKey{local, 0}).EachJA3(func(s string, _ uint32) { ja3 = append(ja3, s) })
				if !slices.Equal(ja3, []string{ti.JA3}) {
					t.Errorf("client JA3s %q, want %q", ja3, ti.JA3)
				}
			})
		})
	}
}

// TestQUICNotInitial: UDP flows that only look like QUIC get no name and
// leave nothing pending.
func TestQUICNotInitial(t *testing.T) {
	conv := quicConversation(t, "www.youtube.com", []tls.CurveID{tls.X25519})
	junk := bytes.Clone(conv[0].data)
	junk[len(junk)/2] ^= 1 // fails authentication
	dns := make([]byte, 60)
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true})
	for i, payload := range [][]byte{junk, dns, bytes.Repeat([]byte{0xc3}, 1300)} {
		tb.HandlePacket(&decode.Packet{Timestamp: t0 + int64(i), WireLen: 1400, IPVersion: 4, Proto: 17,
			Src: local, Dst: remote, SrcPort: uint16(40000 + i), DstPort: 443, Payload: payload}, decode.ErrNone)
	}
	if len(tb.quic) != 0 {
		t.Errorf("%d hellos pending", len(tb.quic))
	}
	tb.View(func(v View) {
		for _, f := range v.Flows() {
			if f.ServerName != "" || f.TLS() != nil || f.L7.Master == l7.QUIC && f.ClientPort != 40000 {
				t.Errorf("flow %d: name %q tls %v l7 %v", f.ClientPort, f.ServerName, f.TLS(), f.L7)
			}
		}
	})
}

// TestQUICPendingBound: connections that never finish their hello stay
// pending only up to the bound and are dropped once abandoned.
func TestQUICPendingBound(t *testing.T) {
	conv := quicConversation(t, "www.netflix.com", nil) // the hello spans two datagrams
	first := conv[0].data
	tb := New(Config{LocalNets: []netip.Prefix{lan}, Offline: true, MaxFlows: 4 * maxQUICPending})
	for i := range maxQUICPending + 10 {
		tb.HandlePacket(&decode.Packet{Timestamp: t0, WireLen: 1400, IPVersion: 4, Proto: 17,
			Src: local, Dst: remote, SrcPort: uint16(10000 + i), DstPort: 443, Payload: first}, decode.ErrNone)
	}
	if len(tb.quic) != maxQUICPending {
		t.Fatalf("%d pending, want the bound %d", len(tb.quic), maxQUICPending)
	}
	late := t0 + int64(quicAbandoned) + int64(time.Second)
	tb.HandlePacket(&decode.Packet{Timestamp: late, WireLen: 1400, IPVersion: 4, Proto: 17,
		Src: local, Dst: remote, SrcPort: 9999, DstPort: 443, Payload: first}, decode.ErrNone)
	if len(tb.quic) != 1 {
		t.Fatalf("%d pending after the abandoned ones went, want 1", len(tb.quic))
	}
}

// BenchmarkQUICTable is the table's per-packet cost on a QUIC connection's
// handshake datagrams (both directions, a fresh table per round), against
// the same packets with the client's Initial made unrecognisable (first
// byte cleared), which skips the decryption: the ratio is what the QUIC
// hook costs.
func BenchmarkQUICTable(b *testing.B) {
	conv := quicConversation(b, "www.youtube.com", nil)
	plain := slices.Clone(conv)
	for i := range plain {
		if plain[i].fromClient {
			plain[i].data = append([]byte{0}, plain[i].data[1:]...)
		}
	}
	run := func(b *testing.B, conv []quicDatagram) {
		pkts := quicPackets(conv, 50000, 443)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			tb := New(Config{Offline: true})
			for _, p := range pkts {
				tb.HandlePacket(p, decode.ErrNone)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/pkt")
	}
	b.Run("quic", func(b *testing.B) { run(b, conv) })
	b.Run("baseline-no-initial", func(b *testing.B) { run(b, plain) })
}
