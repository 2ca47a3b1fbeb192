package flowtable

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/netip"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/l7"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// tlsRecord wraps a handshake message of type typ in a record.
func tlsRecord(typ byte, body []byte) []byte {
	msg := append([]byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 3, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// clientHelloNoALPN is a complete TLS 1.2 ClientHello with only an SNI.
func clientHelloNoALPN(name string) []byte {
	sni := []byte{0, 0, 0, byte(len(name) + 5), 0, byte(len(name) + 3), 0, 0, byte(len(name))}
	sni = append(sni, name...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0, 0, 2, 0xc0, 0x2f, 1, 0)
	body = append(body, 0, byte(len(sni)))
	body = append(body, sni...)
	rec := tlsRecord(1, body)
	rec[2] = 1 // record version 3.1, as clients send
	return rec
}

// serverFlight is a ServerHello and a Certificate carrying a self-signed
// certificate for names, valid from nb to na.
func serverFlight(t *testing.T, nb, na time.Time, names ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	hello := []byte{3, 3}
	hello = append(hello, make([]byte, 32)...)
	hello = append(hello, 0, 0xc0, 0x2f, 0)
	n, list := len(der), len(der)+3
	cert := append([]byte{byte(list >> 16), byte(list >> 8), byte(list), byte(n >> 16), byte(n >> 8), byte(n)}, der...)
	return append(tlsRecord(2, hello), tlsRecord(11, cert)...)
}

func TestTLSRisksJudgedAtPacketTime(t *testing.T) {
	// The capture is from May 2020: a certificate that ran out in June
	// 2020 was about to expire then, whatever the date today.
	at := time.Date(2020, 5, 17, 12, 0, 0, 0, time.UTC).UnixNano()
	nb, na := time.Date(2020, 3, 17, 14, 14, 10, 0, time.UTC), time.Date(2020, 6, 15, 14, 14, 10, 0, time.UTC)
	flight := serverFlight(t, nb, na, "video.example.com")
	tb := New(Config{Offline: true})
	cli, srv := local, remote
	const isn = 4000000000 // the sequence numbers wrap inside the flight
	pkts := []*decode.Packet{
		tcp(at, cli, srv, 50000, 443, decode.TCPSyn, 60, nil),
		tcp(at+1, srv, cli, 443, 50000, decode.TCPSyn|decode.TCPAck, 60, nil),
		tcp(at+2, cli, srv, 50000, 443, decode.TCPAck|decode.TCPPsh, 300, clientHelloNoALPN("video.example.com")),
	}
	for off := 0; off < len(flight); off += 200 {
		p := tcp(at+3+int64(off), srv, cli, 443, 50000, decode.TCPAck, 260, flight[off:min(off+200, len(flight))])
		p.TCPSeq = isn + uint32(off)
		pkts = append(pkts, p)
		if off == 200 {
			pkts = append(pkts, p) // a retransmission on the way
		}
	}
	for _, p := range pkts {
		tb.HandlePacket(p, decode.ErrNone)
	}
	tb.View(func(v View) {
		for _, f := range v.Flows() {
			ti := f.TLS()
			if ti == nil || ti.Cert == nil {
				t.Fatalf("TLS %+v", ti)
			}
			if ti.ServerName != "video.example.com" || ti.ServerVersion != l7.VersionTLS12 || ti.CipherSuite != 0xc02f || ti.ALPNOffered {
				t.Errorf("handshake %+v", ti)
			}
			if f.tls.srv != nil {
				t.Error("parser kept after the handshake")
			}
			ri := f.Risks()
			for r, info := range map[l7.Risk]string{
				l7.RiskTLSCertificateAboutToExpire: "17/Mar/2020 14:14:10 - 15/Jun/2020 14:14:10",
				l7.RiskTLSSelfSignedCertificate:    "CN=video.example.com",
				l7.RiskTLSNotCarryingHTTPS:         "No ALPN",
			} {
				if ri.Info(r) != info {
					t.Errorf("%v: %q, want %q", r, ri.Info(r), info)
				}
			}
			if ri.Has(l7.RiskTLSCertificateExpired) || ri.Has(l7.RiskTLSCertificateMismatch) {
				t.Errorf("risks %v", ri.Risks)
			}
		}
	})
}

func TestHTTPAndDNSRisks(t *testing.T) {
	tb := New(Config{Offline: true})
	dns := netip.MustParseAddr("192.168.1.1")
	get := []byte("GET / HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n")
	nx := dnsMsg(9, true, "nowhere.example", netip.MustParseAddr("192.0.2.1"))
	nx[3] |= 3 // NXDOMAIN
	tb.HandlePacket(tcp(t0, local, remote, 40000, 80, decode.TCPAck|decode.TCPPsh, 100, get), decode.ErrNone)
	tb.HandlePacket(tcp(t0+1, local, remote, 40001, 443, decode.TCPAck, 60, nil), decode.ErrNone)
	tb.HandlePacket(udp(t0+2, local, dns, 5300, 53, dnsMsg(9, false, "nowhere.example", netip.Addr{})), decode.ErrNone)
	tb.HandlePacket(udp(t0+3, dns, local, 53, 5300, nx), decode.ErrNone)
	tb.View(func(v View) {
		for _, f := range v.Flows() {
			ri := f.Risks()
			switch f.ServerPort {
			case 80:
				if ri.Info(l7.RiskNumericIPHost) != "10.0.0.1" {
					t.Errorf("HTTP flow risks %v %q", ri.Risks, ri.Info(l7.RiskNumericIPHost))
				}
			case 443:
				if ri.Risks != 0 || f.TLS() != nil {
					t.Errorf("payload-less flow has risks %v, TLS %v", ri.Risks, f.TLS())
				}
			default:
				if ri.Info(l7.RiskErrorCodeDetected) != "DNS Error Code NXDOMAIN" {
					t.Errorf("DNS flow %d→%d risks %v", f.ClientPort, f.ServerPort, ri.Risks)
				}
			}
		}
	})
}
