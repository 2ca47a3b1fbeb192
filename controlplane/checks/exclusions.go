package checks

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Alert exclusions (ntopng pro's add/alert/exclusion): an operator silences
// one alert key for one host (host alerts the host raises, flow alerts of
// the flows it is a peer of), one MAC alert key for one MAC (the ARP
// alerts about it: a proxy ARP router, an HA pair), or every flow alert of
// flows naming a domain or whose server shows a certificate from an
// issuer. They act in the engine: an excluded alert is never raised, so it
// is not stored, counted in scores nor notified.
//
// The certificate is matched on its issuer's distinguished name, written
// as nDPI prints it and as flow alerts show it ("issuerDN": "C=US, O=Let's
// Encrypt, CN=R3"), whole and ignoring case: ntopng's flow alerts name a
// certificate by that DN, and the issuer is what a private CA or a
// self-signed appliance has in common across its servers.

// Exclusion kinds (ntopng's type and subdir parameters).
const (
	ExclHost        = "host"        // Subdir says whether host or flow alerts
	ExclDomain      = "domain"      // flow alerts of flows whose server name is in the domain
	ExclMAC         = "mac"         // MAC alerts about a MAC (Addr), one key
	ExclCertificate = "certificate" // flow alerts of flows whose server certificate's issuer is Certificate
)

// SubdirMAC is the subdir of MAC exclusions: MAC alerts are ntopng's mac
// entity, whatever check raises them.
const SubdirMAC Subdir = "mac"

// macAlertKeys are the alert keys raised about a MAC (arp.go).
var macAlertKeys = []int{alert.OtherMACIPAssocChange, alert.OtherMACManyIPs}

// maxCertificateLen bounds an issuer DN (a real one is under 300 bytes).
const maxCertificateLen = 1024

// Exclusion is one silenced alert key.
type Exclusion struct {
	Type   string `json:"type"`
	Subdir Subdir `json:"subdir,omitempty"` // host or flow (type host)
	Addr   string `json:"alert_addr,omitempty"`
	Domain string `json:"alert_domain,omitempty"`
	// Certificate is the issuer DN of a certificate exclusion.
	Certificate string `json:"alert_certificate,omitempty"`
	Key         int    `json:"alert_key,omitempty"` // alert type id; 0 for a domain or certificate: every flow alert
}

// maxExclusions bounds the list an operator can build (each flow hit is
// checked against it).
const maxExclusions = 4096

// Normalize validates x and puts its address and domain in the one form
// they are stored and compared in.
func (x Exclusion) Normalize() (Exclusion, error) {
	switch x.Type {
	case ExclHost:
		if x.Subdir != SubdirHost && x.Subdir != SubdirFlow {
			return x, badinput.Errorf("subdir must be host or flow")
		}
		a, err := netip.ParseAddr(strings.TrimSpace(x.Addr))
		if err != nil || a.Zone() != "" {
			return x, badinput.Errorf("alert_addr %q is not an IP address", x.Addr)
		}
		x.Addr, x.Domain = a.Unmap().String(), ""
		fam := alert.FamilyHost
		if x.Subdir == SubdirFlow {
			fam = alert.FamilyFlow
		}
		if _, ok := alert.Lookup(alert.TypeID{Family: fam, ID: x.Key}); !ok {
			return x, badinput.Errorf("%d is not a %s alert key", x.Key, x.Subdir)
		}
	case ExclDomain:
		d := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(x.Domain)), ".")
		if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") ||
			strings.Contains(d, "..") || strings.ContainsAny(d, " \t/\\\x00") {
			return x, badinput.Errorf("alert_domain %q is not a domain name", x.Domain)
		}
		x.Domain, x.Addr, x.Subdir, x.Key, x.Certificate = d, "", SubdirFlow, 0, ""
	case ExclMAC:
		mac, err := net.ParseMAC(strings.TrimSpace(x.Addr))
		if err != nil || len(mac) != 6 {
			return x, badinput.Errorf("alert_addr %q is not a MAC address", x.Addr)
		}
		if !slices.Contains(macAlertKeys, x.Key) {
			return x, badinput.Errorf("%d is not a MAC alert key", x.Key)
		}
		x.Addr, x.Subdir, x.Domain, x.Certificate = strings.ToUpper(mac.String()), SubdirMAC, "", ""
	case ExclCertificate:
		c := strings.TrimSpace(x.Certificate)
		if c == "" || len(c) > maxCertificateLen || strings.IndexFunc(c, unicode.IsControl) >= 0 {
			return x, badinput.Errorf("alert_certificate %q is not an issuer DN", x.Certificate)
		}
		x.Certificate, x.Addr, x.Domain, x.Subdir, x.Key = c, "", "", SubdirFlow, 0
	default:
		return x, badinput.Errorf("type must be host, mac, domain or certificate")
	}
	return x, nil
}

// exclSet is the exclusions as the passes read them (immutable once built).
type exclSet struct {
	host    map[netip.Addr]map[int]bool // host alert keys per address
	flow    map[netip.Addr]map[int]bool // flow alert keys per peer address
	domains []string
	mac     map[string]map[int]bool // MAC alert keys per MAC (upper case)
	issuers []string                // certificate issuer DNs
	// flowKeys has a bit per flow alert key (< 128) some host excludes:
	// a hit of any other key skips the address lookups.
	flowKeys [2]uint64
}

func buildExclSet(xs []Exclusion) *exclSet {
	if len(xs) == 0 {
		return nil
	}
	s := &exclSet{host: map[netip.Addr]map[int]bool{}, flow: map[netip.Addr]map[int]bool{}, mac: map[string]map[int]bool{}}
	for _, x := range xs {
		switch x.Type {
		case ExclHost:
			a, err := netip.ParseAddr(x.Addr)
			if err != nil {
				continue
			}
			m := s.host
			if x.Subdir == SubdirFlow {
				m = s.flow
				if x.Key >= 0 && x.Key < 128 {
					s.flowKeys[x.Key>>6] |= 1 << (x.Key & 63)
				} else {
					s.flowKeys = [2]uint64{^uint64(0), ^uint64(0)} // out of the bitmap: always look
				}
			}
			if m[a] == nil {
				m[a] = map[int]bool{}
			}
			m[a][x.Key] = true
		case ExclDomain:
			s.domains = append(s.domains, x.Domain)
		case ExclMAC:
			if s.mac[x.Addr] == nil {
				s.mac[x.Addr] = map[int]bool{}
			}
			s.mac[x.Addr][x.Key] = true
		case ExclCertificate:
			s.issuers = append(s.issuers, x.Certificate)
		}
	}
	return s
}

// macExcluded says whether MAC alert id about mac (upper case, as MAC
// alerts name it) is silenced.
func (s *exclSet) macExcluded(mac string, id int) bool {
	return s != nil && s.mac[mac][id]
}

// hostExcluded says whether host alert id of addr is silenced.
func (s *exclSet) hostExcluded(addr netip.Addr, id int) bool {
	return s != nil && s.host[addr.Unmap()][id]
}

// flowExcluded says whether flow alert id of a flow between cli and srv
// naming server is silenced: ntopng drops it when either peer excludes it.
// issuer is asked for the server certificate's issuer DN ("" if none) only
// when certificates are excluded.
func (s *exclSet) flowExcluded(cli, srv netip.Addr, server string, issuer func() string, id int) bool {
	if s == nil {
		return false
	}
	if (id < 0 || id >= 128 || s.flowKeys[id>>6]&(1<<(id&63)) != 0) && (s.flow[cli.Unmap()][id] || s.flow[srv.Unmap()][id]) {
		return true
	}
	if server != "" {
		for _, d := range s.domains {
			if DomainMatches(server, d) {
				return true
			}
		}
	}
	if len(s.issuers) > 0 {
		if is := issuer(); is != "" {
			for _, c := range s.issuers {
				if CertificateMatches(is, c) {
					return true
				}
			}
		}
	}
	return false
}

// CertificateMatches says whether a certificate's issuer DN is the
// (normalised) excluded one.
func CertificateMatches(issuer, excluded string) bool {
	return issuer != "" && strings.EqualFold(strings.TrimSpace(issuer), excluded)
}

// DomainMatches says whether a server name is the (normalised) domain d or
// one of its subdomains.
func DomainMatches(server, d string) bool {
	if server == "" {
		return false
	}
	server = strings.ToLower(strings.TrimSuffix(server, "."))
	return server == d || strings.HasSuffix(server, "."+d)
}

// exclKey is the stored document's key in store.NSExclusions.
const exclKey = "exclusions"

// loadExclusions binds the exclusions document and applies what is stored.
func (e *Engine) loadExclusions(st *store.Store) error {
	e.exclDoc = confdoc.New(st, store.NSExclusions, exclKey, confdoc.Options[[]Exclusion]{
		Validate: func(xs []Exclusion) error {
			if len(xs) > maxExclusions {
				return badinput.Errorf("at most %d alert exclusions", maxExclusions)
			}
			return nil
		},
		Apply: func(xs []Exclusion) error {
			e.mu.Lock()
			e.excl = buildExclSet(xs)
			e.ver++ // every flow is judged again at the next pass, as after a settings change
			e.mu.Unlock()
			return nil
		},
	})
	xs, err := e.exclDoc.Load()
	if err != nil {
		return fmt.Errorf("checks: loading alert exclusions: %w", err)
	}
	e.mu.Lock()
	e.excl = buildExclSet(xs)
	e.mu.Unlock()
	return nil
}

// Exclusions returns the stored exclusions by type (host, mac, domain,
// certificate), then address, subdir, key, domain and certificate.
func (e *Engine) Exclusions() ([]Exclusion, error) {
	xs, err := e.exclDoc.Load()
	if err != nil {
		return nil, fmt.Errorf("checks: reading alert exclusions: %w", err)
	}
	if xs == nil {
		xs = []Exclusion{} // an empty list, not null, in answers and exports
	}
	sort.SliceStable(xs, func(i, j int) bool {
		a, b := xs[i], xs[j]
		if a.Type != b.Type {
			return exclTypeOrder(a.Type) < exclTypeOrder(b.Type)
		}
		if a.Addr != b.Addr {
			return a.Addr < b.Addr
		}
		if a.Subdir != b.Subdir {
			return a.Subdir < b.Subdir
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		return a.Certificate < b.Certificate
	})
	return xs, nil
}

func exclTypeOrder(t string) int {
	return slices.Index([]string{ExclHost, ExclMAC, ExclDomain, ExclCertificate}, t)
}

// AddExclusion silences x from the next pass on; adding one already there
// changes nothing (ntopng sets a bit).
func (e *Engine) AddExclusion(x Exclusion) error {
	x, err := x.Normalize()
	if err != nil {
		return err
	}
	err = e.exclDoc.Update(func(cur []Exclusion) ([]Exclusion, error) {
		for _, c := range cur {
			if c == x {
				return cur, nil
			}
		}
		return append(cur, x), nil
	})
	return e.exclChanged(err)
}

// exclChanged runs OnChange after a stored change, as Set does: a
// capture file already read is judged again (engaged alerts now excluded
// are released; active flows raise the alerts no longer excluded).
func (e *Engine) exclChanged(err error) error {
	if err != nil {
		return fmt.Errorf("checks: storing alert exclusions: %w", err)
	}
	if e.onChange != nil {
		e.onChange()
	}
	return nil
}

// DeleteExclusions removes the exclusions match selects and says how many
// went.
func (e *Engine) DeleteExclusions(match func(Exclusion) bool) (int, error) {
	n := 0
	err := e.exclDoc.Update(func(cur []Exclusion) ([]Exclusion, error) {
		keep := cur[:0]
		for _, c := range cur {
			if match(c) {
				n++
				continue
			}
			keep = append(keep, c)
		}
		return keep, nil
	})
	if err := e.exclChanged(err); err != nil {
		return 0, err
	}
	return n, nil
}

// ReplaceExclusions stores xs as the whole list (configuration import).
func (e *Engine) ReplaceExclusions(xs []Exclusion) error {
	norm := make([]Exclusion, 0, len(xs))
	seen := map[Exclusion]bool{}
	for _, x := range xs {
		x, err := x.Normalize()
		if err != nil {
			return err
		}
		if !seen[x] {
			seen[x] = true
			norm = append(norm, x)
		}
	}
	return e.exclChanged(e.exclDoc.Update(func([]Exclusion) ([]Exclusion, error) { return norm, nil }))
}
