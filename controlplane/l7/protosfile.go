package l7

import (
	"github.com/probe-appliance/probe/dataplane/decode"

	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// FirstCustom is the id nDPI gives the first protocol a custom protocols
// file names that it does not know: the one after its last built-in
// protocol (NDPI_LAST_IMPLEMENTED_PROTOCOL). Later new names take the next
// ids, in the order the file names them.
const FirstCustom = lastBuiltin + 1

// maxCustom bounds the new protocols one file may define.
const maxCustom = 1024

// Catalog is what the classifier knows of applications: the server-name
// suffixes, the address lists, the port rules and the custom protocols of
// an nDPI protocols file (ntopng's --ndpi-protocols, nDPI's -p). A nil
// *Catalog is the built-in one. A Catalog is not changed once built, so
// flow tables share it without locks.
type Catalog struct {
	hosts    map[string]Protocol // file host rules by lower-case suffix
	prefixes []hostRule          // file host rules ending in '.': label prefixes
	ip       *IPTable
	ports    *[2][1 << 16]Protocol // tcp, udp: the protocol of a server port
	custom   []Info                // protocol FirstCustom+i
}

type hostRule struct {
	prefix string
	app    Protocol
}

// portRange is a file's tcp:/udp: rule; the later of two rules wins.
type portRange struct {
	udp    bool
	lo, hi uint16
	app    Protocol
}

// maxPortRules bounds a file's port rules.
const maxPortRules = 65536

// DefaultCatalog is the built-in catalog with its address list.
func DefaultCatalog() *Catalog {
	return &Catalog{ip: DefaultIPTable()}
}

// MatchHost is MatchHost with the file's host rules first (the longest
// matching suffix, then the label prefixes); a file rule's match has its
// custom protocol's category (Unspecified).
func (c *Catalog) MatchHost(name string) HostMatch {
	if c == nil || len(c.hosts) == 0 && len(c.prefixes) == 0 {
		return MatchHost(name)
	}
	if app, ok := c.fileHost(name); ok {
		i := c.Info(app)
		return HostMatch{App: app, Name: i.Name, Category: i.Category, Breed: i.Breed}
	}
	return MatchHost(name)
}

// fileHost is the file's host rule for name: the longest suffix at a
// label boundary, then the label prefixes in file order.
func (c *Catalog) fileHost(name string) (Protocol, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for s := name; s != ""; {
		if app, ok := c.hosts[s]; ok {
			return app, true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	for _, r := range c.prefixes {
		if strings.HasPrefix(name, r.prefix) || strings.Contains(name, "."+r.prefix) {
			return r.app, true
		}
	}
	return Unknown, false
}

// AppForAddr is the application of the address lists for a, with port
// the flow's port on a's side; Unknown if no list holds a. A zero Catalog
// (new(Catalog)) has no address lists: the classifier without them.
func (c *Catalog) AppForAddr(a netip.Addr, port uint16) Protocol {
	if c == nil {
		return DefaultIPTable().Lookup(a, port)
	}
	return c.ip.Lookup(a, port)
}

// PortRule is the protocol a file's tcp:/udp: rule gives a server port.
func (c *Catalog) PortRule(proto uint8, port uint16) (Protocol, bool) {
	if c == nil || c.ports == nil || proto != 6 && proto != 17 {
		return Unknown, false
	}
	i := 0
	if proto == decode.ProtoUDP {
		i = 1
	}
	p := c.ports[i][port]
	return p, p != Unknown
}

// Info is InfoOf for the built-in protocols and the file's names for the
// custom ones (category Unspecified, breed Acceptable, as nDPI gives them).
func (c *Catalog) Info(p Protocol) Info {
	if c != nil && p >= FirstCustom && int(p-FirstCustom) < len(c.custom) {
		return c.custom[p-FirstCustom]
	}
	return InfoOf(p)
}

// ProtocolID is the protocol an nDPI name (exact, or any case) or a
// decimal id stands for, custom ones included.
func (c *Catalog) ProtocolID(name string) (Protocol, bool) {
	if n, err := strconv.ParseUint(name, 10, 16); err == nil {
		id := Protocol(n)
		return id, id == Unknown || c.Info(id) != c.Info(Unknown)
	}
	found, ok := Unknown, false
	c.Protocols(func(p Protocol, i Info) {
		if !ok && strings.EqualFold(i.Name, name) {
			found, ok = p, true
		}
	})
	return found, ok
}

// Category is r's nDPI category: the one its server name's match gave,
// else its application's (custom protocols' included).
func (c *Catalog) Category(r Result) uint8 {
	if r.HasCategory {
		return r.Category
	}
	return c.Info(r.AppID()).Category
}

// Name is r's nDPI name ("TLS.Google"), custom protocols' names included.
func (c *Catalog) Name(r Result) string {
	switch {
	case r.Master != Unknown && r.App != Unknown && r.App != r.Master:
		return c.Info(r.Master).Name + "." + c.Info(r.App).Name
	case r.App != Unknown:
		return c.Info(r.App).Name
	}
	return c.Info(r.Master).Name
}

// Protocols calls fn for every protocol, built-in and custom, in id order.
func (c *Catalog) Protocols(fn func(p Protocol, i Info)) {
	Protocols(fn)
	if c != nil {
		for i, info := range c.custom {
			fn(FirstCustom+Protocol(i), info)
		}
	}
}

// IsProtocolName reports whether name is a built-in or custom protocol.
func (c *Catalog) IsProtocolName(name string) bool {
	if c != nil {
		for _, i := range c.custom {
			if i.Name == name {
				return true
			}
		}
	}
	return IsProtocolName(name)
}

// maxProtosFile bounds the file read (nDPI's files are kilobytes).
const maxProtosFile = 16 << 20

// LoadProtosFile reads an nDPI custom protocols file on top of the
// built-in catalog. Errors name the file, line and column.
func LoadProtosFile(path string) (*Catalog, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ndpi protocols file: %w", err)
	}
	if st.Size() > maxProtosFile {
		return nil, fmt.Errorf("ndpi protocols file %s: larger than %d bytes", path, maxProtosFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ndpi protocols file: %w", err)
	}
	return ParseProtos(path, data)
}

// ProtosError is a protocols file error at a line and column (1-based,
// the column counts bytes).
type ProtosError struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *ProtosError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// ParseProtos parses an nDPI protocols file (name is used in errors):
//
//	host:"example.org",host:"example.net"@MyApp
//	tcp:81,tcp:8181@HTTP
//	udp:5061-5062@SIP
//	ip:213.75.170.11/32:443@CustomProtocol
//	ipv6:[3ffe:507:0:1:200:86ff:fe05:80da]@CustomProtocolF
//
// '#' starts a comment line. A name nDPI knows (any case) gets the rules;
// a new one becomes a custom protocol. The risk-mask and trusted-issuer
// lines nDPI also reads there are accepted and not applied.
func ParseProtos(name string, data []byte) (*Catalog, error) {
	p := protosParser{file: name, c: DefaultCatalog(), byName: map[string]Protocol{}}
	var ipb IPTableBuilder
	p.ipb = &ipb
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxProtosFile)
	addedIP := false
	for sc.Scan() {
		p.line++
		n := len(ipb.entries)
		if err := p.parseLine(sc.Text()); err != nil {
			return nil, err
		}
		addedIP = addedIP || len(ipb.entries) != n
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, p.line+1, err)
	}
	if len(p.ports) > 0 {
		p.c.ports = paintPorts(p.ports)
	}
	if addedIP {
		// The file's prefixes go after the built-in ones: they win ties.
		var all IPTableBuilder
		if err := addIPList(&all, defaultIPv4List); err != nil {
			return nil, err
		}
		if err := addIPList(&all, defaultIPv6List); err != nil {
			return nil, err
		}
		all.entries = append(all.entries, ipb.entries...)
		for i := range all.entries {
			all.entries[i].seq = i
		}
		p.c.ip = all.Build()
	}
	return p.c, nil
}

type protosParser struct {
	file   string
	line   int
	c      *Catalog
	ipb    *IPTableBuilder
	byName map[string]Protocol // lower-case name → id, file's new names
	ports  []portRange
}

// paintPorts turns the rules into per-port tables, the last rule first:
// each port is written once (next skips painted ones), so a file of many
// wide ranges costs no more than one pass over the ports.
func paintPorts(rules []portRange) *[2][1 << 16]Protocol {
	t := new([2][1 << 16]Protocol)
	for k := 0; k < 2; k++ {
		next := make([]int32, 1<<16+1)
		for i := range next {
			next[i] = int32(i)
		}
		find := func(i int32) int32 {
			for next[i] != i {
				next[i] = next[next[i]]
				i = next[i]
			}
			return i
		}
		for j := len(rules) - 1; j >= 0; j-- {
			r := rules[j]
			if r.udp != (k == 1) {
				continue
			}
			for p := find(int32(r.lo)); p <= int32(r.hi); p = find(p + 1) {
				t[k][p] = r.app
				next[p] = p + 1
			}
		}
	}
	return t
}

func (p *protosParser) errf(col int, format string, args ...any) error {
	return &ProtosError{File: p.file, Line: p.line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *protosParser) parseLine(line string) error {
	trimmed := strings.TrimLeft(line, " \t")
	base := len(line) - len(trimmed) // byte offset of trimmed in line
	trimmed = strings.TrimRight(trimmed, " \t\r")
	if trimmed == "" || trimmed[0] == '#' {
		return nil
	}
	for _, attr := range []string{"ip_risk_mask:", "host_risk_mask:", "trusted_issuer_dn:"} {
		if strings.HasPrefix(trimmed, attr) {
			return nil
		}
	}
	if n := strings.Count(trimmed, `"`); n%2 == 1 {
		return p.errf(base+strings.LastIndexByte(trimmed, '"')+1, "unterminated quote")
	}
	at := lastUnquoted(trimmed, '@')
	if at < 0 {
		return p.errf(base+1, "missing @<protocol> at the end of the rule")
	}
	protoName := strings.TrimSpace(trimmed[at+1:])
	if err := checkProtoName(protoName); err != nil {
		return p.errf(base+at+2, "%v", err)
	}
	app, err := p.protocol(protoName, base+at+2)
	if err != nil {
		return err
	}
	rules := trimmed[:at]
	start := 0
	for i := 0; i <= len(rules); i++ {
		if i < len(rules) && rules[i] == '"' {
			if j := strings.IndexByte(rules[i+1:], '"'); j >= 0 {
				i += j + 1
				continue
			}
			return p.errf(base+i+1, "unterminated quote")
		}
		if i == len(rules) || rules[i] == ',' {
			if err := p.parseRule(rules[start:i], base+start+1, app); err != nil {
				return err
			}
			start = i + 1
		}
	}
	return nil
}

// lastUnquoted is the index of the last c outside double quotes, or -1.
func lastUnquoted(s string, c byte) int {
	idx, quoted := -1, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case c:
			if !quoted {
				idx = i
			}
		}
	}
	return idx
}

func checkProtoName(n string) error {
	if n == "" {
		return errors.New("empty protocol name after @")
	}
	if len(n) > 64 {
		return fmt.Errorf("protocol name longer than 64 characters")
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '+') {
			return fmt.Errorf("invalid character %q in protocol name %q", c, n)
		}
	}
	return nil
}

// protocol resolves a rule's protocol name: nDPI's (case-insensitive, as
// nDPI compares them), one this file made, or a new custom one.
func (p *protosParser) protocol(name string, col int) (Protocol, error) {
	if id, ok := appNamed(name); ok {
		return id, nil
	}
	key := strings.ToLower(name)
	if id, ok := p.byName[key]; ok {
		return id, nil
	}
	if len(p.c.custom) >= maxCustom {
		return Unknown, p.errf(col, "more than %d custom protocols", maxCustom)
	}
	id := FirstCustom + Protocol(len(p.c.custom))
	p.c.custom = append(p.c.custom, Info{Name: name, Category: 0, Breed: "Acceptable"})
	p.byName[key] = id
	return id, nil
}

// parseRule parses one comma-separated element; col is its column.
func (p *protosParser) parseRule(r string, col int, app Protocol) error {
	lead := len(r) - len(strings.TrimLeft(r, " \t"))
	r, col = strings.TrimSpace(r), col+lead
	kind, val, ok := strings.Cut(r, ":")
	if !ok || r == "" {
		return p.errf(col, "rule %q: want tcp:, udp:, host:, ip: or ipv6:", r)
	}
	vcol := col + len(kind) + 1
	switch kind {
	case "tcp", "udp":
		return p.portRule(kind, val, vcol, app)
	case "host":
		return p.hostRule(val, vcol, app)
	case "ip":
		return p.ipRule(val, vcol, app, false)
	case "ipv6":
		return p.ipRule(val, vcol, app, true)
	}
	return p.errf(col, "unknown rule type %q (want tcp, udp, host, ip or ipv6)", kind)
}

func (p *protosParser) portRule(kind, val string, col int, app Protocol) error {
	lo, hi, isRange := strings.Cut(val, "-")
	a, err := parsePort(lo)
	if err != nil {
		return p.errf(col, "%s port %q: %v", kind, lo, err)
	}
	b := a
	if isRange {
		if b, err = parsePort(hi); err != nil {
			return p.errf(col+len(lo)+1, "%s port %q: %v", kind, hi, err)
		}
		if b < a {
			return p.errf(col, "%s port range %s: end before start", kind, val)
		}
	}
	if len(p.ports) >= maxPortRules {
		return p.errf(col, "more than %d port rules", maxPortRules)
	}
	p.ports = append(p.ports, portRange{kind == "udp", a, b, app})
	return nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, errors.New("want a port number 1-65535")
	}
	return uint16(n), nil
}

func (p *protosParser) hostRule(val string, col int, app Protocol) error {
	v := val
	if strings.HasPrefix(v, `"`) {
		if len(v) < 2 || !strings.HasSuffix(v, `"`) {
			return p.errf(col, "host %s: unterminated quote", val)
		}
		v = v[1 : len(v)-1]
	}
	v = strings.ToLower(strings.TrimPrefix(v, "*"))
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == '"' || c == '@' || c == ',' || c >= 0x7f {
			return p.errf(col, "host %s: invalid character %q", val, c)
		}
	}
	trail := strings.HasSuffix(v, ".")
	v = strings.Trim(v, ".")
	if v == "" {
		return p.errf(col, "host %s: empty name", val)
	}
	if trail {
		// "google." names every google.<tld>: a match at a label start.
		p.c.prefixes = append(p.c.prefixes, hostRule{v + ".", app})
		return nil
	}
	if p.c.hosts == nil {
		p.c.hosts = map[string]Protocol{}
	}
	p.c.hosts[v] = app
	return nil
}

// ipRule parses ip:A.B.C.D[/N][:PORT] or ipv6:[ADDR][/N][:PORT] (ipv6 also
// bare, without a port: ipv6:ADDR[/N]).
func (p *protosParser) ipRule(val string, col int, app Protocol, v6 bool) error {
	addr, rest := val, ""
	if v6 {
		if strings.HasPrefix(val, "[") {
			end := strings.IndexByte(val, ']')
			if end < 0 {
				return p.errf(col, "ipv6 %s: missing ]", val)
			}
			addr, rest = val[1:end], val[end+1:]
		} else if i := strings.IndexByte(val, '/'); i >= 0 {
			addr, rest = val[:i], val[i:]
		}
	} else if i := strings.IndexAny(val, "/:"); i >= 0 {
		addr, rest = val[:i], val[i:]
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" || a.Is4() == v6 {
		want := "an IPv4 address"
		if v6 {
			want = "an IPv6 address"
		}
		return p.errf(col, "%s: want %s", val, want)
	}
	bits := a.BitLen()
	if strings.HasPrefix(rest, "/") {
		n := strings.IndexByte(rest, ':')
		if n < 0 {
			n = len(rest)
		}
		b, err := strconv.Atoi(rest[1:n])
		if err != nil || b < 0 || b > a.BitLen() {
			return p.errf(col+len(val)-len(rest), "%s: prefix length %q: want 0-%d", val, rest[1:n], a.BitLen())
		}
		bits, rest = b, rest[n:]
	}
	var port uint16
	if strings.HasPrefix(rest, ":") {
		if port, err = parsePort(rest[1:]); err != nil {
			return p.errf(col+len(val)-len(rest)+1, "%s: port %q: %v", val, rest[1:], err)
		}
		rest = ""
	}
	if rest != "" {
		return p.errf(col+len(val)-len(rest), "%s: unexpected %q", val, rest)
	}
	p.ipb.Add(netip.PrefixFrom(a, bits), app, port)
	return nil
}
