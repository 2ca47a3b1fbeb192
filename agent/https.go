package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/probe-appliance/probe/firmware/update"
	"github.com/probe-appliance/probe/internal/netguard"
)

// restPort is the REST API's port as its cookies name it: the plain one,
// or the HTTPS one when plain HTTP is off.
func (c *config) restPort() int {
	if c.HTTPPort != 0 {
		return c.HTTPPort
	}
	return c.HTTPSPort
}

// listenHTTPS is the REST API's TLS listener: handshakes happen on each
// connection's first read, under the server's read timeout. Connections
// it returns are *tls.Conn, so fasthttp's RequestCtx.IsTLS is true on them;
// the guard against running out of descriptors sits under TLS for that.
func listenHTTPS(c *config, log *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(c.HTTPAddr, strconv.Itoa(c.HTTPSPort)))
	if err != nil {
		return nil, fmt.Errorf("REST HTTPS listener: %w", err)
	}
	return tls.NewListener(netguard.Wrap(ln, "REST HTTPS", log), c.tlsConfig), nil
}

// validateTLS loads the certificate now: a wrong path or a key that does
// not match ends the start with a clear message, not a server that fails
// each handshake.
func (c *config) validateTLS() error {
	if c.HTTPSPort < 0 || c.HTTPSPort > 65535 {
		return fmt.Errorf("https port %d out of range", c.HTTPSPort)
	}
	if c.HTTPSPort == 0 {
		if c.TLSCert != "" || c.TLSKey != "" {
			return errors.New("--tls-cert and --tls-key need --https-port")
		}
		if c.HTTPPort == 0 {
			return errors.New("--http-port 0 and no --https-port: the REST API would listen nowhere")
		}
		return nil
	}
	if c.HTTPPort == c.HTTPSPort {
		return fmt.Errorf("--http-port and --https-port are both %d: give --http-port 0 for HTTPS only", c.HTTPPort)
	}
	if c.TLSCert == "" || c.TLSKey == "" {
		return errors.New("--https-port needs --tls-cert and --tls-key")
	}
	pair, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	c.tlsConfig = &tls.Config{
		Certificates: []tls.Certificate{pair},
		MinVersion:   tls.VersionTLS12,
		// TLS 1.2: forward-secret AEAD suites only (1.3's are all such).
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		// fasthttp speaks HTTP/1.1 only.
		NextProtos: []string{"http/1.1"},
	}
	return nil
}

// validateUpdateKeys reads the keys firmware updates must be signed with.
func (c *config) validateUpdateKeys() error {
	for _, f := range c.UpdateKeyFiles {
		keys, err := update.LoadKeys(f)
		if err != nil {
			return fmt.Errorf("--update-keys: %w", err)
		}
		c.trustedKeys = append(c.trustedKeys, keys...)
	}
	for _, s := range c.UpdateKeys {
		k, err := update.ParseKey(s)
		if err != nil {
			return fmt.Errorf("--update-key: %w", err)
		}
		c.trustedKeys = append(c.trustedKeys, k)
	}
	if c.UpdateDir != "" && len(c.trustedKeys) == 0 {
		return errors.New("--update-dir needs a trusted signing key (--update-key or --update-keys): unsigned updates are never installed")
	}
	return nil
}
