package l7

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// HostMatch is what nDPI's host-name tables say of a server name (TLS SNI,
// HTTP Host, DNS query, QUIC SNI).
type HostMatch struct {
	// App is the application, Unknown when no pattern matched, when the
	// pattern's nDPI name has no id here, or when ByCategory.
	App Protocol
	// Name is nDPI's protocol name of the matching pattern ("" if none),
	// kept even when App is Unknown for want of an id.
	Name string
	// Category is the matching pattern's own category, which nDPI gives the
	// flow (it may differ from the protocol's: Google's ad hosts are
	// Advertisement); the category list's one when ByCategory.
	Category uint8
	// Breed is the matching pattern's breed ("" if none).
	Breed string
	// ByCategory: nDPI's category list (CDNs, connectivity checks, ad
	// networks...) claimed the name. nDPI then drops the host match and
	// the flow stays its master protocol, with that category.
	ByCategory bool
	// Dropped is the application the category list overrode (Unknown if
	// none): nDPI's HTTP dissector gives it back to the flow.
	Dropped Protocol
}

// hostPattern is one host_match entry (ndpi_hosts_gen.go).
type hostPattern struct {
	pattern  string
	app      Protocol
	name     string
	category uint8
	breed    string
	level    uint8 // 0: the pattern's domain level
}

// categoryPattern is one category_match entry: a name pattern or an IPv4
// network.
type categoryPattern struct {
	pattern  string
	category uint8
}

// MatchHost matches name against nDPI 4.2's host and category tables with
// nDPI 4.2's rules (ndpi_match_host_subprotocol); testdata/ndpi_hostmatch.golden
// holds real nDPI's answers for thousands of names. It does not allocate.
func MatchHost(name string) HostMatch { return hostMatchMemo.get(name, matchHost) }

// hostMatchMemo keeps MatchHost's recent answers (the tables are fixed).
var hostMatchMemo = newNameMemo[HostMatch]()

func matchHost(name string) HostMatch {
	t := defaultHostTables()
	var m HostMatch
	if i := t.hosts.search(name); i >= 0 {
		p := &ndpiHostMatch[i]
		m = HostMatch{App: p.app, Name: p.name, Category: p.category, Breed: p.breed}
	}
	if cat, ok := t.category(name); ok {
		m = HostMatch{Category: cat, ByCategory: true, Dropped: m.App}
	}
	return m
}

// hostTables are the compiled generated tables.
type hostTables struct {
	hosts, cats *hostMatcher
	nets        []catNet
}

type catNet struct {
	p   netip.Prefix
	cat uint8
}

var defaultHostTables = sync.OnceValue(func() *hostTables {
	hosts := make([]matchInput, len(ndpiHostMatch))
	for i, p := range ndpiHostMatch {
		hosts[i] = matchInput{p.pattern, p.level}
	}
	cats := make([]matchInput, len(ndpiCategoryMatch))
	for i, p := range ndpiCategoryMatch {
		cats[i] = matchInput{p.pattern, 0}
	}
	t := &hostTables{hosts: mustMatcher(hosts), cats: mustMatcher(cats)}
	for _, n := range ndpiCategoryNets {
		p, err := parseCategoryNet(n.pattern)
		if err != nil {
			panic(err) // generated data: TestHostTablesCompile proves it parses
		}
		t.nets = append(t.nets, catNet{p, n.category})
	}
	return t
})

func mustMatcher(in []matchInput) *hostMatcher {
	m, err := newHostMatcher(in)
	if err != nil {
		panic(err) // generated data: TestHostTablesCompile proves it compiles
	}
	return m
}

// parseCategoryNet reads "a.b.c.d[/n]" as ndpi_load_ip_category does (a
// length outside 0..32 means /32).
func parseCategoryNet(s string) (netip.Prefix, error) {
	bits := 32
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		n := 0
		for _, c := range s[i+1:] {
			if c < '0' || c > '9' || n > 32 {
				break
			}
			n = n*10 + int(c-'0')
		}
		if n <= 32 {
			bits = n
		}
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("category network %q: not an IPv4 address", s)
	}
	return a.Prefix(bits)
}

// category is nDPI's ndpi_get_custom_category_match: a name that reads as
// an IPv4 address (up to its last '/', first 63 bytes) is looked up in the
// networks only; any other name in the category patterns.
func (t *hostTables) category(name string) (uint8, bool) {
	s := name
	if len(s) > 63 {
		s = s[:63]
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i] // nDPI copies the name into a C string
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	if a, ok := parseIPv4(s); ok {
		best, cat := -1, uint8(0)
		for _, n := range t.nets {
			if n.p.Bits() > best && n.p.Contains(a) {
				best, cat = n.p.Bits(), n.cat
			}
		}
		return cat, best >= 0
	}
	if i := t.cats.search(name); i >= 0 {
		return ndpiCategoryMatch[i].category, true
	}
	return 0, false
}

// parseIPv4 is inet_pton(AF_INET): four decimal fields 0-255, no leading
// zeros. (netip.ParseAddr would do, but allocates its error for every name.)
func parseIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	field, digits, v := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || field == 4 {
				return netip.Addr{}, false
			}
			b[field] = byte(v)
			field, digits, v = field+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || digits > 0 && v == 0 {
			return netip.Addr{}, false
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 {
			return netip.Addr{}, false
		}
	}
	if field != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}

// hostMatcher finds the pattern nDPI's Aho-Corasick host automaton (with
// its ac_domain_match_handler) picks for a name. nDPI's rules, from its
// 4.2 sources and checked against libndpi:
//
//   - Matching ignores ASCII case; the name is taken as is (a trailing
//     '.' is a character like any other).
//   - A pattern not ending in '.' or '-' matches only at the end of the
//     name; one ending in '.' or '-' matches anywhere ("google." matches
//     "google.com.evil.org").
//   - Matches are visited by end position, then longest first. A pattern
//     equal to the whole name wins at once.
//   - A pattern holding a '.' and not starting with '.' or '-' that starts
//     at offset 2 or more must follow a '.' or '-' ("ws.amazon.com" does
//     not match "xaws.amazon.com", yet matches "aws.amazon.com": nDPI only
//     checks from offset 2).
//   - Otherwise the first match of the highest domain level wins.
//
// Since a pattern that may end before the end of the name ends in '.' or
// '-', only the positions after such a character and the end need a look:
// from each, a walk backwards through a trie of the reversed patterns
// yields every pattern ending there, shortest first.
type hostMatcher struct {
	root  [256]uint32 // the root's edges by byte (0: none; no edge leads back to the root)
	nodes []trieNode
	edges []trieEdge
	pats  []matchPattern
}

type trieNode struct {
	first, count uint32 // edges[first:first+count], sorted by byte
	pat          int32  // pattern ending here, -1 if none
}

type trieEdge struct {
	c    byte
	next uint32
}

type matchPattern struct {
	length                  int
	level                   uint8
	atEnd, dot, leadsMiddle bool
}

type matchInput struct {
	pattern string
	level   uint8
}

// maxPathPatterns is nDPI's bound on the patterns one automaton node
// reports (the bits of an int match map); the tables stay under it, so
// none is dropped.
const maxPathPatterns = 31

// newHostMatcher compiles patterns; the search returns indexes into in.
// Of two patterns equal but for case the first is kept, as nDPI's
// automaton refuses the second.
func newHostMatcher(in []matchInput) (*hostMatcher, error) {
	type buildNode struct {
		kids map[byte]uint32
		pat  int32
	}
	nodes := []buildNode{{pat: -1}}
	m := &hostMatcher{pats: make([]matchPattern, len(in))}
	for i, p := range in {
		s := p.pattern
		if s == "" || len(s) > 1024 {
			return nil, fmt.Errorf("host pattern %d: length %d", i, len(s))
		}
		level := p.level
		if level == 0 {
			level = domainLevel(s)
		}
		m.pats[i] = matchPattern{
			length:      len(s),
			level:       level,
			atEnd:       !isMiddle(s[len(s)-1]),
			dot:         strings.IndexByte(s, '.') >= 0,
			leadsMiddle: isMiddle(s[0]),
		}
		n := uint32(0)
		for j := len(s) - 1; j >= 0; j-- {
			c := lowerASCII(s[j])
			next, ok := nodes[n].kids[c]
			if !ok {
				next = uint32(len(nodes))
				nodes = append(nodes, buildNode{pat: -1})
				if nodes[n].kids == nil {
					nodes[n].kids = map[byte]uint32{}
				}
				nodes[n].kids[c] = next
			}
			n = next
		}
		if nodes[n].pat < 0 {
			nodes[n].pat = int32(i)
		}
	}
	m.nodes = make([]trieNode, len(nodes))
	for i, b := range nodes {
		keys := make([]byte, 0, len(b.kids))
		for c := range b.kids {
			keys = append(keys, c)
		}
		slices.Sort(keys)
		m.nodes[i] = trieNode{first: uint32(len(m.edges)), count: uint32(len(keys)), pat: b.pat}
		for _, c := range keys {
			m.edges = append(m.edges, trieEdge{c, b.kids[c]})
		}
	}
	r := m.nodes[0]
	for _, e := range m.edges[r.first : r.first+r.count] {
		m.root[e.c] = e.next
	}
	if d := m.maxPatternsOnPath(0); d > maxPathPatterns {
		return nil, fmt.Errorf("host patterns: %d suffixes of one another, nDPI reports at most %d", d, maxPathPatterns)
	}
	return m, nil
}

func (m *hostMatcher) maxPatternsOnPath(n uint32) int {
	best := 0
	nd := m.nodes[n]
	for _, e := range m.edges[nd.first : nd.first+nd.count] {
		best = max(best, m.maxPatternsOnPath(e.next))
	}
	if nd.pat >= 0 {
		best++
	}
	return best
}

func (m *hostMatcher) child(n uint32, c byte) (uint32, bool) {
	if n == 0 {
		next := m.root[c]
		return next, next != 0
	}
	nd := m.nodes[n]
	es := m.edges[nd.first : nd.first+nd.count]
	lo, hi := 0, len(es)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if es[h].c < c {
			lo = h + 1
		} else {
			hi = h
		}
	}
	if lo < len(es) && es[lo].c == c {
		return es[lo].next, true
	}
	return 0, false
}

// search returns the index of the pattern nDPI picks for t, or -1.
func (m *hostMatcher) search(t string) int {
	n := len(t)
	last := -1
	var cand [maxPathPatterns]int32
	for e := 1; e <= n; e++ {
		if e < n && !isMiddle(t[e-1]) {
			continue
		}
		k := 0
		node := uint32(0)
		for i := e - 1; i >= 0; i-- {
			next, ok := m.child(node, lowerASCII(t[i]))
			if !ok {
				break
			}
			node = next
			if p := m.nodes[node].pat; p >= 0 && (e == n || !m.pats[p].atEnd) {
				cand[k] = p
				k++
			}
		}
		for j := k - 1; j >= 0; j-- { // longest first
			i := int(cand[j])
			p := &m.pats[i]
			start := e - p.length
			if start == 0 && e == n {
				return i
			}
			better := last < 0 || m.pats[last].level < p.level
			if start > 1 && !p.leadsMiddle && p.dot {
				if isMiddle(t[start-1]) && better {
					last = i
				}
				continue
			}
			if better {
				last = i
			}
		}
	}
	return last
}

func isMiddle(c byte) bool { return c == '.' || c == '-' }

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// domainLevel is nDPI's ndpi_domain_level: the number of labels of a
// pattern ("a." 1, ".a." 1, "a.b" 2), 0 for one with ".." or ".-".
func domainLevel(name string) uint8 {
	// States: 0 start, 1 after a leading '.', 2 in a label, 3 after a
	// label's '.'; columns: other, '.', '-', level increment.
	automat := [4][4]uint8{
		{2, 1, 2, 0},
		{2, 0, 0, 0},
		{2, 3, 2, 0},
		{2, 0, 0, 1},
	}
	level, state := uint8(1), uint8(0)
	for i := 0; i < len(name) && name[i] != 0; i++ {
		c := 0
		switch name[i] {
		case '.':
			c = 1
		case '-':
			c = 2
		}
		level += automat[state][3]
		state = automat[state][c]
		if state == 0 {
			break
		}
	}
	if state >= 2 {
		return level
	}
	return 0
}
