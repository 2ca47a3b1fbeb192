package l7

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"time"
)

// TLSCert is what the probe keeps of a server's leaf certificate. It is
// shared by every flow that saw the same certificate and never changed
// after parsing.
type TLSCert struct {
	NotBefore, NotAfter time.Time // UTC
	// Issuer and Subject are the distinguished names the way nDPI prints
	// them: "C=US, O=Let's Encrypt, CN=Let's Encrypt Authority X3".
	Issuer, Subject string
	SubjectCN       string
	DNSNames        []string // subjectAltName DNS entries in certificate order
	SelfSigned      bool     // issuer and subject are the same DN, byte for byte

	validityText string // nDPI's "notBefore - notAfter", see validity
}

// maxCertNames bounds the names kept of one certificate: shared CDN
// certificates carry a few hundred, a crafted one could carry thousands.
const maxCertNames = 256

// parseCert reads a DER certificate with the standard library; anything it
// rejects is reported, never guessed at.
func parseCert(der []byte) (*TLSCert, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("l7/tls: leaf certificate: %w", err)
	}
	names := c.DNSNames
	if len(names) > maxCertNames {
		names = names[:maxCertNames:maxCertNames]
	}
	return &TLSCert{
		NotBefore:  c.NotBefore.UTC(),
		NotAfter:   c.NotAfter.UTC(),
		Issuer:     formatDN(c.Issuer),
		Subject:    formatDN(c.Subject),
		SubjectCN:  c.Subject.CommonName,
		DNSNames:   names,
		SelfSigned: bytes.Equal(c.RawIssuer, c.RawSubject),

		validityText: formatValidity(c.NotBefore, c.NotAfter),
	}, nil
}

// formatDN prints a name as nDPI's extractRDNSequence does: the attributes
// it knows, in certificate order, "KEY=value" joined by ", ", each value
// cut to the 63 bytes of nDPI's buffer.
func formatDN(n pkix.Name) string {
	var b strings.Builder
	for _, atv := range n.Names {
		oid := atv.Type
		if len(oid) != 4 || oid[0] != 2 || oid[1] != 5 || oid[2] != 4 {
			continue
		}
		var key string
		switch oid[3] {
		case 3:
			key = "CN"
		case 6:
			key = "C"
		case 7:
			key = "L"
		case 8:
			key = "ST"
		case 10:
			key = "O"
		case 11:
			key = "OU"
		default:
			continue
		}
		v, ok := atv.Value.(string)
		if !ok {
			continue
		}
		if len(v) > 63 {
			v = v[:63]
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

// MatchesName reports whether host is one of the certificate's DNS names,
// a "*." name standing for exactly one leftmost label (RFC 6125 §6.4.3).
// Case is ignored.
func (c *TLSCert) MatchesName(host string) bool {
	for _, n := range c.DNSNames {
		if matchHostName(n, host) {
			return true
		}
	}
	return false
}

func matchHostName(pattern, host string) bool {
	if rest, ok := strings.CutPrefix(pattern, "*."); ok {
		i := strings.IndexByte(host, '.')
		return i > 0 && strings.EqualFold(host[i+1:], rest)
	}
	return strings.EqualFold(pattern, host)
}

// maxCachedCerts bounds a CertCache. A busy network's servers present a
// few hundred distinct leaves at a time.
const maxCachedCerts = 1024

// maxCachedCertBytes bounds the DER bytes a CertCache keeps as its keys:
// ~1,000 usual leaves of 1–2 KB, but not 1,024 crafted ones of 32 KB.
const maxCachedCertBytes = 4 << 20

// CertCache remembers parsed leaf certificates by their DER bytes, so the
// many connections to one server share one parse and one TLSCert. The
// bytes themselves are the key: a lookup hashes and compares them with
// the map's own hash (several times cheaper than a SHA-256 of the leaf,
// which a flow paid before) and a hit is exact. The zero value is ready
// to use; a nil cache parses every time. Not safe for concurrent use: it
// lives under its flow table's lock.
type CertCache struct {
	m     map[string]*TLSCert
	bytes int // sum of the keys' lengths
}

// Parse returns the certificate der encodes. A certificate that failed to
// parse is remembered too, so garbage costs one attempt.
func (c *CertCache) Parse(der []byte) (*TLSCert, error) {
	if c == nil {
		return parseCert(der)
	}
	if cert, ok := c.m[string(der)]; ok {
		if cert == nil {
			return nil, fmt.Errorf("%w: unparsable leaf seen before", ErrTLSBadCertificate)
		}
		return cert, nil
	}
	cert, err := parseCert(der)
	if c.m == nil {
		c.m = make(map[string]*TLSCert)
	}
	// Evict arbitrary entries: map order is random enough, and flows
	// keep the certificates they point at.
	for k := range c.m {
		if len(c.m) < maxCachedCerts && c.bytes+len(der) <= maxCachedCertBytes {
			break
		}
		delete(c.m, k)
		c.bytes -= len(k)
	}
	c.m[string(der)] = cert
	c.bytes += len(der)
	return cert, err
}

// Len is the number of certificates remembered.
func (c *CertCache) Len() int { return len(c.m) }
