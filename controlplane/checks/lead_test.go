package checks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// TestLeadTieBreaks: alerts of equal score lead as in ntopng's recorded
// answers (../shared/conformance get_alert_data_01, issue 26).
func TestLeadTieBreaks(t *testing.T) {
	cases := []struct {
		why         string
		lead, other int
	}{
		{"recorded: Suspicious DNS Traffic over Unexpected DNS server (100 each)", alert.FlowDNSSuspicious, alert.FlowUnexpectedDNS},
		{"recorded: TLS Cert. Expired over TLS Cert. Mismatch (100 each)", alert.FlowTLSCertExpired, alert.FlowTLSCertMismatch},
		{"issue 26: TLS Cert. Expired over Self-signed Certificate (100 each)", alert.FlowTLSCertExpired, alert.FlowTLSSelfSigned},
		{"recorded: Unidirectional Traffic over Remote to Remote (10 each)", alert.FlowUnidirectional, alert.FlowRemoteToRemote},
		{"recorded: TLS not carrying HTTPS over Remote to Remote (10 each)", alert.FlowTLSNotHTTPS, alert.FlowRemoteToRemote},
		{"recorded: Obsolete TLS Version (100) over Remote to Remote (10)", alert.FlowTLSOldVersion, alert.FlowRemoteToRemote},
		{"issue 26: TLS Missing SNI (50) over TLS not carrying HTTPS (10)", alert.FlowTLSMissingSNI, alert.FlowTLSNotHTTPS},
	}
	for _, c := range cases {
		if !better(c.lead, c.other) || better(c.other, c.lead) {
			t.Errorf("%s: better(%d, %d) = %v, better(%d, %d) = %v", c.why,
				c.lead, c.other, better(c.lead, c.other), c.other, c.lead, better(c.other, c.lead))
		}
	}
}

// TestExpiredSelfSignedCertificateLeadsWithExpired: a real TLS 1.2
// handshake (crypto/tls, recorded and replayed as a capture) with a server
// whose certificate is self-signed and ran out: ntopng leads with TLS
// Cert. Expired, lists Self-signed Certificate with it, and scores the
// flow with both nDPI risks (High, 100 each).
func TestExpiredSelfSignedCertificateLeadsWithExpired(t *testing.T) {
	const name = "expired.example"
	at := time.Unix(0, t0)
	pkts := recordTLS12(t, name, at.AddDate(0, 0, -100), at.AddDate(0, 0, -10), netip.MustParseAddr("198.51.100.7"))

	st := memStore(t)
	var s sink
	e := newEngine(t, st, &s)
	got := judgeCapture(e, pkts)
	if len(got) != 1 || got[0].Flow == nil {
		t.Fatalf("alerts %+v, want one flow alert", got)
	}
	a := got[0]
	keys := append([]int{a.TypeID}, a.Flow.Others...)
	if want := []int{alert.FlowTLSCertExpired, alert.FlowTLSSelfSigned}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("alert keys %v (lead first), want %v", keys, want)
	}
	if a.Score != 200 {
		t.Errorf("score %d, want 200", a.Score)
	}
	if a.Flow.ServerName != name {
		t.Errorf("server name %q, want %q", a.Flow.ServerName, name)
	}
}

// recordTLS12 runs a TLS 1.2 handshake between crypto/tls's client and
// server over an in-memory pipe, the server showing a self-signed
// certificate for name valid from nb to na, and returns the bytes each
// side wrote as the TCP packets of a capture (victim:40100 -> srv:443).
func recordTLS12(t *testing.T, name string, nb, na time.Time, srv netip.Addr) []*decode.Packet {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(26), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		log []written
	)
	cEnd, sEnd := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	_ = cEnd.SetDeadline(deadline)
	_ = sEnd.SetDeadline(deadline)
	server := tls.Server(&recorder{Conn: sEnd, mu: &mu, log: &log}, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MaxVersion:   tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
	})
	client := tls.Client(&recorder{Conn: cEnd, mu: &mu, log: &log, client: true}, &tls.Config{
		ServerName: name, InsecureSkipVerify: true, // the point is a bad certificate
		MaxVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
	})
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	if err := client.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	// Not tls.Conn.Close: its close_notify would wait for a reader.
	_ = cEnd.Close()
	_ = sEnd.Close()

	const cliPort, srvPort = 40100, 443
	seq := [2]uint32{1000, 900000} // client, server next sequence numbers
	ts := t0
	mk := func(fromClient bool, flags uint8, payload []byte) *decode.Packet {
		ts += 1e6
		p := &decode.Packet{Timestamp: ts, WireLen: uint32(54 + len(payload)), IPVersion: 4, Proto: 6, TCPFlags: flags, TCPWindow: 65535, Payload: payload}
		side, other := 1, 0
		if fromClient {
			side, other = 0, 1
		}
		p.TCPSeq, p.TCPAck = seq[side], seq[other]
		seq[side] += uint32(len(payload))
		if fromClient {
			p.Src, p.Dst, p.SrcPort, p.DstPort = victim, srv, cliPort, srvPort
		} else {
			p.Src, p.Dst, p.SrcPort, p.DstPort = srv, victim, srvPort, cliPort
		}
		return p
	}
	pkts := []*decode.Packet{mk(true, decode.TCPSyn, nil), mk(false, decode.TCPSyn|decode.TCPAck, nil), mk(true, decode.TCPAck, nil)}
	seq[0]++
	seq[1]++
	for _, w := range log {
		for off := 0; off < len(w.b); off += 1448 { // one MSS per segment
			pkts = append(pkts, mk(w.client, decode.TCPAck|decode.TCPPsh, w.b[off:min(off+1448, len(w.b))]))
		}
	}
	return pkts
}

// written is one Write of a side of the recorded handshake.
type written struct {
	client bool
	b      []byte
}

// recorder logs what its side writes, in the order the two sides wrote.
type recorder struct {
	net.Conn
	mu     *sync.Mutex
	log    *[]written
	client bool
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	*r.log = append(*r.log, written{r.client, append([]byte(nil), b...)})
	r.mu.Unlock()
	return r.Conn.Write(b)
}
