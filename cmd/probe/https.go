package main

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/probe-appliance/probe/firmware/update"
	"github.com/probe-appliance/probe/internal/netguard"
)

// tlsOptions serve the REST API over HTTPS, as ntopng's -W does.
type tlsOptions struct {
	httpsPort int
	tlsCert   string
	tlsKey    string
	tlsConfig *tls.Config // the loaded certificate, by validate
}

func (o *tlsOptions) register(fs *pflag.FlagSet) {
	fs.IntVarP(&o.httpsPort, "https-port", "W", 0, "REST API over HTTPS (TLS 1.2 or later) on this port, with --tls-cert and --tls-key (0: off; --http-port 0 turns plain HTTP off)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "HTTPS: the server certificate (PEM; the chain may follow it)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "HTTPS: the certificate's private key (PEM)")
}

// validate loads the certificate now: a wrong path or a key that does not
// match ends the start with a clear message, not a server that fails each
// handshake.
func (o *tlsOptions) validate(httpPort int) error {
	if o.httpsPort < 0 || o.httpsPort > 65535 {
		return fmt.Errorf("https port %d out of range", o.httpsPort)
	}
	if o.httpsPort == 0 {
		if o.tlsCert != "" || o.tlsKey != "" {
			return errors.New("--tls-cert and --tls-key need --https-port")
		}
		if httpPort == 0 {
			return errors.New("--http-port 0 and no --https-port: the REST API would listen nowhere")
		}
		return nil
	}
	if httpPort == o.httpsPort {
		return fmt.Errorf("--http-port and --https-port are both %d: give --http-port 0 for HTTPS only", httpPort)
	}
	if o.tlsCert == "" || o.tlsKey == "" {
		return errors.New("--https-port needs --tls-cert and --tls-key")
	}
	pair, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
	if err != nil {
		return fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	o.tlsConfig = &tls.Config{
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

// restPort is the REST API's port as its cookies name it: the plain one,
// or the HTTPS one when plain HTTP is off.
func (c *config) restPort() int {
	if c.httpPort != 0 {
		return c.httpPort
	}
	return c.httpsPort
}

// listenHTTPS is the REST API's TLS listener: handshakes happen on each
// connection's first read, under the server's read timeout. Connections
// it returns are *tls.Conn, so fasthttp's RequestCtx.IsTLS is true on them;
// the guard against running out of descriptors sits under TLS for that.
func listenHTTPS(c *config, log *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(c.httpAddr, strconv.Itoa(c.httpsPort)))
	if err != nil {
		return nil, fmt.Errorf("REST HTTPS listener: %w", err)
	}
	return tls.NewListener(netguard.Wrap(ln, "REST HTTPS", log), c.tlsConfig), nil
}

// updateKeyOptions are the keys firmware updates must be signed with.
type updateKeyOptions struct {
	updateKeys     []string
	updateKeyFiles []string
	trustedKeys    []ed25519.PublicKey // by validate
}

func (o *updateKeyOptions) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.updateKeys, "update-key", nil, "appliance: trust firmware updates signed by this ed25519 public key (base64 of its 32 bytes; repeatable)")
	fs.StringArrayVar(&o.updateKeyFiles, "update-keys", nil, "appliance: trust the ed25519 public keys in this file, one base64 key per line (repeatable)")
}

func (o *updateKeyOptions) validate(updateDir string) error {
	for _, f := range o.updateKeyFiles {
		keys, err := update.LoadKeys(f)
		if err != nil {
			return fmt.Errorf("--update-keys: %w", err)
		}
		o.trustedKeys = append(o.trustedKeys, keys...)
	}
	for _, s := range o.updateKeys {
		k, err := update.ParseKey(s)
		if err != nil {
			return fmt.Errorf("--update-key: %w", err)
		}
		o.trustedKeys = append(o.trustedKeys, k)
	}
	if updateDir != "" && len(o.trustedKeys) == 0 {
		return errors.New("--update-dir needs a trusted signing key (--update-key or --update-keys): unsigned updates are never installed")
	}
	return nil
}
