package l7

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sample is nDPI's own example file (ndpiProtos.txt) plus the rule types
// it does not show.
const sample = `#  Format:
#  <tcp|udp>:<port>,<tcp|udp>:<port>,.....@<proto>

tcp:81,tcp:8181@HTTP
udp:5061-5062@SIP
tcp:860,udp:860,tcp:3260,udp:3260@iSCSI
tcp:3000@ntop
udp:7000-7100@SIP
udp:7050@DNS

host:"disneyplus.com",host:"cdn.registerdisney.go.com"@DisneyPlus
host:"api-global.netflix.com"@Netflix
host:"googlesyndication.com"@Google
host:"example.org",host:"example.net"@MyApp
  host:"charles"@Charles
host:"*.wild.example"@Wild
host:"adprefix."@Ads

ip:213.75.170.11/32:443@CustomProtocol
ip:8.248.73.247:443@AmazonPrime
ip:54.80.47.130@AmazonPrime
ip:198.51.100.0/24@myapp
ipv6:[3ffe:507:0:1:200:86ff:fe05:80da]@CustomProtocolF
ipv6:[2001:db8:5::]/48:8443@CustomProtocolF
ipv6:2001:db8:6::/48@Telegram

host_risk_mask:".home"=0
ip_risk_mask:192.168.1.0/24=0
trusted_issuer_dn:"CN=813845657003339838, O=Code42, OU=TEST, ST=MN, C=US"
`

func TestParseProtosRules(t *testing.T) {
	c, err := ParseProtos("protos.txt", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	// New names in order of first use; nDPI's names in any case are nDPI's.
	wantCustom := []string{"iSCSI", "MyApp", "Charles", "Wild", "Ads", "CustomProtocol", "AmazonPrime", "CustomProtocolF"}
	for i, n := range wantCustom {
		id := FirstCustom + Protocol(i)
		if got := c.Info(id); got.Name != n || got.Category != 0 || got.Breed != "Acceptable" {
			t.Errorf("custom %d: %+v, want %s", id, got, n)
		}
	}
	if got := c.Info(FirstCustom + Protocol(len(wantCustom))); got.Name != "Unknown" {
		t.Errorf("id after the last custom one: %q", got.Name)
	}
	id := func(name string) Protocol {
		for i, n := range wantCustom {
			if n == name {
				return FirstCustom + Protocol(i)
			}
		}
		t.Fatalf("no custom %s", name)
		return 0
	}

	ports := []struct {
		proto uint8
		port  uint16
		want  Protocol
		ok    bool
	}{
		{6, 81, HTTP, true}, {6, 8181, HTTP, true}, {6, 82, Unknown, false},
		{17, 5060, Unknown, false}, {17, 5061, 100, true}, {17, 5062, 100, true}, {17, 5063, Unknown, false},
		{6, 860, id("iSCSI"), true}, {17, 3260, id("iSCSI"), true}, {6, 3000, 26, true},
		{17, 81, Unknown, false},
		{17, 7049, 100, true}, {17, 7050, DNS, true}, {17, 7051, 100, true}, {17, 7100, 100, true}, // the later rule wins
	}
	for _, p := range ports {
		if got, ok := c.PortRule(p.proto, p.port); got != p.want || ok != p.ok {
			t.Errorf("PortRule(%d, %d) = %d %v, want %d %v", p.proto, p.port, got, ok, p.want, p.ok)
		}
	}

	hosts := []struct {
		name string
		want Protocol
	}{
		{"disneyplus.com", 71}, {"www.disneyplus.com", 71}, {"cdn.registerdisney.go.com", 71},
		{"api-global.netflix.com", NetFlix}, {"pagead2.googlesyndication.com", Google},
		{"example.org", id("MyApp")}, {"a.b.example.net", id("MyApp")}, {"notexample.org", Unknown},
		{"charles", id("Charles")}, {"x.charles", id("Charles")}, {"CHARLES.", id("Charles")},
		{"a.wild.example", id("Wild")}, {"adprefix.com", id("Ads")}, {"x.adprefix.it", id("Ads")},
		{"www.google.com", Google}, // the built-in names still hold
		{"www.youtube.com", YouTube},
		{"unrelated.test", Unknown},
	}
	for _, h := range hosts {
		if got := c.MatchHost(h.name).App; got != h.want {
			t.Errorf("MatchHost(%q).App = %s, want %s", h.name, c.Info(got).Name, c.Info(h.want).Name)
		}
	}

	addrs := []struct {
		addr string
		port uint16
		want Protocol
	}{
		{"213.75.170.11", 443, id("CustomProtocol")},
		{"213.75.170.11", 80, Unknown},
		{"8.248.73.247", 443, id("AmazonPrime")},
		{"54.80.47.130", 80, id("AmazonPrime")}, // inside AWS's list: the longer prefix wins
		{"54.80.47.131", 80, AmazonAWS},
		{"198.51.100.77", 1, id("MyApp")},
		{"3ffe:507:0:1:200:86ff:fe05:80da", 9, id("CustomProtocolF")},
		{"2001:db8:5::1", 8443, id("CustomProtocolF")},
		{"2001:db8:5::1", 443, Unknown},
		{"2001:db8:6:1::1", 443, 185},
		{"8.8.8.8", 53, Google}, // built-in list kept
	}
	for _, a := range addrs {
		if got := c.AppForAddr(netip.MustParseAddr(a.addr), a.port); got != a.want {
			t.Errorf("AppForAddr(%s, %d) = %s, want %s", a.addr, a.port, c.Info(got).Name, c.Info(a.want).Name)
		}
	}

	// Custom protocols are listed after nDPI's, in id order.
	var last Protocol
	var names []string
	c.Protocols(func(p Protocol, i Info) {
		if p < last {
			t.Errorf("ids out of order: %d after %d", p, last)
		}
		last = p
		if p >= FirstCustom {
			names = append(names, i.Name)
		}
	})
	if strings.Join(names, ",") != strings.Join(wantCustom, ",") {
		t.Errorf("custom protocols listed %v", names)
	}
	if !c.IsProtocolName("Charles") || !c.IsProtocolName("TLS") || c.IsProtocolName("charles") {
		t.Error("IsProtocolName")
	}
}

func TestParseProtosIDsAreStable(t *testing.T) {
	a, err := ParseProtos("a", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseProtos("b", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	for id := FirstCustom; id < FirstCustom+10; id++ {
		if a.Info(id) != b.Info(id) {
			t.Errorf("id %d: %v vs %v", id, a.Info(id), b.Info(id))
		}
	}
}

func TestParseProtosErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		line int
		col  int
		msg  string
	}{
		{"tcp:81", 1, 1, "missing @"},
		{"# c\n\ntcp:81@", 3, 8, "empty protocol name"},
		{"tcp:81@My App", 1, 8, "invalid character"},
		{"tcp:0@HTTP", 1, 5, "port"},
		{"tcp:65536@HTTP", 1, 5, "port"},
		{"tcp:81,udp:x@HTTP", 1, 12, "udp port"},
		{"udp:10-5@SIP", 1, 5, "end before start"},
		{"udp:10-@SIP", 1, 8, "udp port"},
		{"sctp:1@X", 1, 1, "unknown rule type"},
		{"tcp:1, bogus@X", 1, 8, "want tcp:"},
		{"tcp:1,,tcp:2@X", 1, 7, "want tcp:"},
		{`host:"abc@X`, 1, 6, "unterminated quote"},
		{`host:"a b"@X`, 1, 6, "invalid character"},
		{`host:""@X`, 1, 6, "empty name"},
		{"ip:1.2.3@X", 1, 4, "want an IPv4 address"},
		{"ip:::1@X", 1, 4, "want an IPv4 address"},
		{"ip:1.2.3.4/33@X", 1, 11, "prefix length"},
		{"ip:1.2.3.4/8:0@X", 1, 14, "port"},
		{"ip:1.2.3.4:80x@X", 1, 12, "port"},
		{"ipv6:[2001:db8::@X", 1, 6, "missing ]"},
		{"ipv6:[1.2.3.4]@X", 1, 6, "want an IPv6 address"},
		{"ipv6:[2001:db8::]/129@X", 1, 18, "prefix length"},
		{"ipv6:[2001:db8::]x@X", 1, 18, "unexpected"},
		{"ipv6:[fe80::1%eth0]@X", 1, 6, "want an IPv6 address"},
		{"tcp:1@" + strings.Repeat("a", 65), 1, 7, "longer than 64"},
	} {
		_, err := ParseProtos("f.txt", []byte(c.in))
		var pe *ProtosError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v, want a ProtosError", c.in, err)
			continue
		}
		if pe.Line != c.line || pe.Col != c.col || !strings.Contains(pe.Msg, c.msg) || pe.File != "f.txt" {
			t.Errorf("%q: %v, want f.txt:%d:%d: ...%s...", c.in, err, c.line, c.col, c.msg)
		}
		if !strings.HasPrefix(err.Error(), "f.txt:") {
			t.Errorf("%q: message %q does not start with the file", c.in, err)
		}
	}
}

func TestLoadProtosFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "protos.txt")
	if err := os.WriteFile(good, []byte("host:\"charles\"@Charles\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadProtosFile(good)
	if err != nil || c.Info(FirstCustom).Name != "Charles" {
		t.Fatalf("%v %v", c, err)
	}
	if _, err := LoadProtosFile(filepath.Join(dir, "missing.txt")); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("tcp:80@HTTP\nip:300.1.1.1@X\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadProtosFile(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":2:4:") {
		t.Errorf("bad file: %v", err)
	}
}

// TestCatalogZeroHasNoAddressLists: new(Catalog) is the classifier without
// the address lists (names still work); nil is the built-in one with them.
func TestCatalogZeroHasNoAddressLists(t *testing.T) {
	google := netip.MustParseAddr("8.8.8.8")
	var nilCat *Catalog
	if nilCat.AppForAddr(google, 53) != Google || DefaultCatalog().AppForAddr(google, 53) != Google {
		t.Error("built-in catalog misses 8.8.8.8")
	}
	if new(Catalog).AppForAddr(google, 53) != Unknown {
		t.Error("zero catalog matched an address")
	}
	if new(Catalog).MatchHost("www.google.com").App != Google || nilCat.MatchHost("www.google.com").App != Google {
		t.Error("names")
	}
}

// FuzzProtosFile: any input parses or fails with a line:column error,
// never panics; what parses can be looked up.
func FuzzProtosFile(f *testing.F) {
	for _, s := range []string{sample, "tcp:1@X", "ip:1.2.3.4/8:80@X", "ipv6:[::1]/1:1@X", `host:"a,b"@X`, "udp:1-65535@Y", "@", "host:\"\"\"@X"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseProtos("fuzz", data)
		if err != nil {
			var pe *ProtosError
			if !errors.As(err, &pe) && !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		c.MatchHost("www.example.com")
		c.AppForAddr(netip.MustParseAddr("10.1.2.3"), 80)
		c.AppForAddr(netip.MustParseAddr("2001:db8::1"), 80)
		c.Protocols(func(Protocol, Info) {})
	})
}
