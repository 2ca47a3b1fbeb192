// Package tlscert keeps the appliance's own TLS certificate for the REST
// API: made once, on first boot, as a self-signed ECDSA P-256 certificate
// for the appliance's name and addresses, and kept on the data partition so
// that its fingerprint, which the console shows, stays the same across
// boots and operators can pin it.
package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/probe-appliance/probe/internal/atomicfile"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Validity: from a date every appliance clock is past (the clock may be
// unset at first boot, before NTP), to RFC 5280's "no well-defined
// expiration": a self-signed certificate is trusted by its fingerprint,
// and one that expired would lock operators out of a box nobody renews.
var (
	notBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter  = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Ensure returns the certificate at certPath with its key at keyPath,
// creating both when either is missing or they do not form a pair; names
// and addrs become the new certificate's subject alternative names.
func Ensure(certPath, keyPath string, names []string, addrs []netip.Addr) (cert *x509.Certificate, created bool, err error) {
	if pair, lerr := tls.LoadX509KeyPair(certPath, keyPath); lerr == nil {
		c, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, false, fmt.Errorf("tls certificate %s: %w", certPath, err)
		}
		return c, false, nil
	} else if !errors.Is(lerr, os.ErrNotExist) {
		// Damaged: a new certificate beats no HTTPS at all; the old files
		// are kept beside it for whoever wants to know what happened.
		os.Rename(certPath, certPath+".bad")
		os.Rename(keyPath, keyPath+".bad")
	}
	certPEM, keyPEM, err := Create(names, addrs)
	if err != nil {
		return nil, false, err
	}
	// The key first: a certificate on disk always has its key beside it.
	if err := writeSynced(keyPath, keyPEM, 0o600); err != nil {
		return nil, false, err
	}
	if err := writeSynced(certPath, certPEM, 0o644); err != nil {
		return nil, false, err
	}
	block, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("tls certificate: %w", err)
	}
	return c, true, nil
}

// Create makes a self-signed ECDSA P-256 server certificate for names and
// addrs, PEM encoded with its PKCS#8 key.
func Create(names []string, addrs []netip.Addr) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls serial: %w", err)
	}
	cn := "probe"
	if len(names) > 0 {
		cn = names[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"probe appliance"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              names,
	}
	for _, a := range addrs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(a.Unmap().AsSlice()))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

// Fingerprint is the SHA-256 of a certificate's DER bytes as browsers and
// `openssl x509 -fingerprint -sha256` show it: colon-separated upper hex.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// writeSynced stores data at path durably: a power cut leaves the old file
// or the new one, never a torn one.
func writeSynced(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	return nil
}
