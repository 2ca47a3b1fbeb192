package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnsure(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1"), netip.MustParseAddr("192.0.2.10")}
	c, created, err := Ensure(certPath, keyPath, []string{"probe-box", "localhost"}, addrs)
	if err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.PublicKey)
	}
	if c.NotAfter.Before(time.Now().AddDate(50, 0, 0)) || c.NotBefore.After(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("validity %s to %s", c.NotBefore, c.NotAfter)
	}
	for _, h := range []string{"probe-box", "localhost", "127.0.0.1", "::1", "192.0.2.10"} {
		if err := c.VerifyHostname(h); err != nil {
			t.Errorf("SAN %s: %v", h, err)
		}
	}
	if st, err := os.Stat(keyPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", st.Mode(), err)
	}

	// The next boot keeps it.
	again, created, err := Ensure(certPath, keyPath, []string{"other"}, nil)
	if err != nil || created || Fingerprint(again.Raw) != Fingerprint(c.Raw) {
		t.Errorf("second boot: created %v, %v, same %v", created, err, Fingerprint(again.Raw) == Fingerprint(c.Raw))
	}

	// Served over TLS on loopback, a client that trusts exactly this
	// certificate verifies it, and sees the fingerprint.
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AddCert(c)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("verified handshake: %v", err)
	}
	served := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if Fingerprint(served.Raw) != Fingerprint(c.Raw) {
		t.Error("served certificate differs")
	}

	// openssl agrees on the fingerprint's value and form.
	if _, err := exec.LookPath("openssl"); err == nil {
		out, err := exec.Command("openssl", "x509", "-in", certPath, "-noout", "-fingerprint", "-sha256").Output()
		if err != nil {
			t.Fatal(err)
		}
		_, want, _ := strings.Cut(strings.TrimSpace(string(out)), "=")
		if got := Fingerprint(c.Raw); got != want {
			t.Errorf("fingerprint %s, openssl says %s", got, want)
		}
	}

	// A damaged key: a new pair, the old files kept aside.
	if err := os.WriteFile(keyPath, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	fresh, created, err := Ensure(certPath, keyPath, []string{"probe-box"}, nil)
	if err != nil || !created || Fingerprint(fresh.Raw) == Fingerprint(c.Raw) {
		t.Errorf("damaged key: created %v, %v", created, err)
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Errorf("new pair: %v", err)
	}
	if _, err := os.Stat(keyPath + ".bad"); err != nil {
		t.Errorf("damaged key not kept aside: %v", err)
	}
}
