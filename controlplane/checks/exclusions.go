package checks

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/confdoc"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Alert exclusions (ntopng pro's add/alert/exclusion): an operator silences
// one alert key for one host (host alerts the host raises, flow alerts of
// the flows it is a peer of), or every flow alert of flows naming a domain.
// They act in the engine: an excluded alert is never raised, so it is not
// stored, counted in scores nor notified.

// Exclusion kinds (ntopng's type and subdir parameters).
const (
	ExclHost   = "host"   // Subdir says whether host or flow alerts
	ExclDomain = "domain" // flow alerts of flows whose server name is in the domain
)

// Exclusion is one silenced alert key.
type Exclusion struct {
	Type   string `json:"type"`
	Subdir Subdir `json:"subdir,omitempty"` // host or flow (type host)
	Addr   string `json:"alert_addr,omitempty"`
	Domain string `json:"alert_domain,omitempty"`
	Key    int    `json:"alert_key,omitempty"` // alert type id; 0 for a domain: every flow alert
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
		x.Domain, x.Addr, x.Subdir, x.Key = d, "", SubdirFlow, 0
	default:
		return x, badinput.Errorf("type must be host or domain")
	}
	return x, nil
}

// exclSet is the exclusions as the passes read them (immutable once built).
type exclSet struct {
	host    map[netip.Addr]map[int]bool // host alert keys per address
	flow    map[netip.Addr]map[int]bool // flow alert keys per peer address
	domains []string
	// flowKeys has a bit per flow alert key (< 128) some host excludes:
	// a hit of any other key skips the address lookups.
	flowKeys [2]uint64
}

func buildExclSet(xs []Exclusion) *exclSet {
	if len(xs) == 0 {
		return nil
	}
	s := &exclSet{host: map[netip.Addr]map[int]bool{}, flow: map[netip.Addr]map[int]bool{}}
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
		}
	}
	return s
}

// hostExcluded says whether host alert id of addr is silenced.
func (s *exclSet) hostExcluded(addr netip.Addr, id int) bool {
	return s != nil && s.host[addr.Unmap()][id]
}

// flowExcluded says whether flow alert id of a flow between cli and srv
// naming server is silenced: ntopng drops it when either peer excludes it.
func (s *exclSet) flowExcluded(cli, srv netip.Addr, server string, id int) bool {
	if s == nil {
		return false
	}
	if (id < 0 || id >= 128 || s.flowKeys[id>>6]&(1<<(id&63)) != 0) && (s.flow[cli.Unmap()][id] || s.flow[srv.Unmap()][id]) {
		return true
	}
	if server == "" {
		return false
	}
	for _, d := range s.domains {
		if DomainMatches(server, d) {
			return true
		}
	}
	return false
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

// Exclusions returns the stored exclusions, hosts first (by address, then
// subdir and key), then domains.
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
			return a.Type == ExclHost
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
		return a.Domain < b.Domain
	})
	return xs, nil
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
