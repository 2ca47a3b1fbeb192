package l7

import (
	"bufio"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// goldenHost is one line of testdata/ndpi_hostmatch.golden: what libndpi
// 4.2 itself answered (tools/ndpidata/ndpimatch).
type goldenHost struct {
	line         int
	name         string
	host, result string
	category     uint8
}

func readHostGolden(t testing.TB) []goldenHost {
	t.Helper()
	f, err := os.Open("testdata/ndpi_hostmatch.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenHost
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, "\t")
		if len(fs) != 4 {
			t.Fatalf("golden:%d: %d fields", n, len(fs))
		}
		cat, err := strconv.ParseUint(fs[3], 10, 8)
		if err != nil {
			t.Fatalf("golden:%d: %v", n, err)
		}
		out = append(out, goldenHost{n, fs[0], Name44(fs[1]), Name44(fs[2]), uint8(cat)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 1000 {
		t.Fatalf("golden has %d names", len(out))
	}
	return out
}

// TestMatchHostGolden: every name real nDPI classified gets nDPI's answer:
// the host automaton's protocol, the final result (the master, TLS, when
// the category list overrode it) and the category.
func TestMatchHostGolden(t *testing.T) {
	tables := defaultHostTables()
	fails := 0
	for _, g := range readHostGolden(t) {
		host := "Unknown"
		if i := tables.hosts.search(g.name); i >= 0 {
			host = ndpiHostMatch[i].name
		}
		m := MatchHost(g.name)
		result := "Unknown"
		switch {
		case m.ByCategory:
			result = "TLS"
		case m.Name != "":
			result = m.Name
		}
		if host != g.host || result != g.result || m.Category != g.category {
			fails++
			if fails <= 20 {
				t.Errorf("golden:%d %q: host %s result %s category %d, nDPI says %s %s %d",
					g.line, g.name, host, result, m.Category, g.host, g.result, g.category)
			}
		}
		if m.App != Unknown && InfoOf(m.App).Name != m.Name {
			t.Errorf("%q: app %d is %s here, the pattern says %s", g.name, m.App, InfoOf(m.App).Name, m.Name)
		}
		if m.ByCategory && m.App != Unknown {
			t.Errorf("%q: category match kept app %d", g.name, m.App)
		}
	}
	if fails > 0 {
		t.Errorf("%d golden names disagree", fails)
	}
}

// TestMatchHostCases pins a few answers readable without the golden file;
// each was checked against libndpi (they are in the golden file too).
func TestMatchHostCases(t *testing.T) {
	cases := []struct {
		name string
		want Protocol
		cat  uint8
	}{
		{"www.google.com", Google, 5},
		{"GoOgLe.CoM", Google, 5},
		{"notgoogle.com", Unknown, 0},
		{"google.com.evil.org", Google, 5}, // nDPI's "google." matches anywhere
		{"www.netflix.com.", Unknown, 0},   // a trailing dot hides "netflix.com"
		{"captive.apple.com", Unknown, 30}, // the category list wins: ConnCheck
		{"foo.fastly.net", Unknown, 1},
		{"8.28.124.5", Unknown, 17}, // an IPv4 name in a category network
	}
	for _, c := range cases {
		m := MatchHost(c.name)
		if m.App != c.want || m.Category != c.cat {
			t.Errorf("MatchHost(%q) = %+v, want app %d category %d", c.name, m, c.want, c.cat)
		}
	}
}

func TestHostTablesCompile(t *testing.T) {
	if ndpiHostsVersion == "" || len(ndpiHostMatch) < 500 {
		t.Fatalf("generated tables missing: version %q, %d patterns", ndpiHostsVersion, len(ndpiHostMatch))
	}
	for _, n := range ndpiCategoryNets {
		if _, err := parseCategoryNet(n.pattern); err != nil {
			t.Error(err)
		}
	}
	if _, err := newHostMatcher([]matchInput{{"", 0}}); err == nil {
		t.Error("empty pattern accepted")
	}
	var chain []matchInput
	for i := 0; i <= maxPathPatterns; i++ {
		chain = append(chain, matchInput{strings.Repeat("a.", i) + "b", 0})
	}
	if _, err := newHostMatcher(chain); err == nil {
		t.Error("more suffix patterns than nDPI reports accepted")
	}
	// Every generated id is nDPI's name here, or Unknown for a name we lack.
	for _, p := range ndpiHostMatch {
		if p.app != Unknown && InfoOf(p.app).Name != p.name {
			t.Errorf("%q: id %d is %s, nDPI says %s", p.pattern, p.app, InfoOf(p.app).Name, p.name)
		}
	}
}

func TestDomainLevel(t *testing.T) {
	// The examples of nDPI's comment on ndpi_domain_level.
	for s, want := range map[string]uint8{"a.": 1, ".a.": 1, "a.b": 2, "a.b.c": 3, ".a.b": 2, "a..b": 0, ".-a": 0, "a-b.c": 2, "-a": 1} {
		if got := domainLevel(s); got != want {
			t.Errorf("domainLevel(%q) = %d, want %d", s, got, want)
		}
	}
}

// refSearch is nDPI's search written the slow, literal way (every pattern
// at every end position, ac_domain_match_handler's rules), for the fuzzer
// to hold the trie walk to.
func refSearch(in []matchInput, t string) int {
	type cand struct{ i, length int }
	seen := map[string]bool{}
	keep := make([]bool, len(in))
	for i, p := range in {
		k := strings.ToLower(p.pattern) // ASCII patterns only
		if !seen[k] {
			seen[k], keep[i] = true, true
		}
	}
	lt := []byte(t)
	for i := range lt {
		lt[i] = lowerASCII(lt[i])
	}
	last := -1
	level := func(i int) uint8 {
		if in[i].level != 0 {
			return in[i].level
		}
		return domainLevel(in[i].pattern)
	}
	for e := 1; e <= len(t); e++ {
		var cs []cand
		for i, p := range in {
			s := strings.ToLower(p.pattern)
			if !keep[i] || len(s) > e || string(lt[e-len(s):e]) != s {
				continue
			}
			if !isMiddle(s[len(s)-1]) && e != len(t) {
				continue
			}
			cs = append(cs, cand{i, len(s)})
		}
		slices.SortStableFunc(cs, func(a, b cand) int { return b.length - a.length })
		for _, c := range cs {
			p := in[c.i].pattern
			start := e - c.length
			if start == 0 && e == len(t) {
				return c.i
			}
			better := last < 0 || level(last) < level(c.i)
			if start > 1 && !isMiddle(p[0]) && strings.Contains(p, ".") {
				if isMiddle(t[start-1]) && better {
					last = c.i
				}
				continue
			}
			if better {
				last = c.i
			}
		}
	}
	return last
}

// FuzzMatchHost: any name matches without panic, agrees with the literal
// reference on the real tables, and a name's match does not depend on the
// case of its ASCII letters.
func FuzzMatchHost(f *testing.F) {
	for _, s := range []string{"www.google.com", "google.com.evil.org", "aws.amazon.com", "xaws.amazon.com", "8.28.124.5/x", ".", "", "a-fbcdn-b", "captive.apple.com."} {
		f.Add(s)
	}
	var in []matchInput
	for _, p := range ndpiHostMatch {
		in = append(in, matchInput{p.pattern, p.level})
	}
	tables := defaultHostTables()
	f.Fuzz(func(t *testing.T, name string) {
		if len(name) > 300 {
			return
		}
		got := tables.hosts.search(name)
		if want := refSearch(in, name); got != want {
			t.Fatalf("search(%q) = %d, reference %d", name, got, want)
		}
		if MatchHost(strings.ToUpper(name)) != MatchHost(strings.ToLower(name)) && isASCII(name) {
			t.Fatalf("%q: case changes the match", name)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestMatchHostAllocs(t *testing.T) {
	names := benchHostNames(t)
	MatchHost("warm.up")
	if n := testing.AllocsPerRun(10, func() {
		for _, s := range names {
			MatchHost(s)
		}
	}); n != 0 {
		t.Errorf("MatchHost allocates %v times per run", n)
	}
}

// benchHostNames is a mix of golden names: hits, misses, category names.
func benchHostNames(t testing.TB) []string {
	var out []string
	for i, g := range readHostGolden(t) {
		if i%7 == 0 && len(g.name) < 100 {
			out = append(out, g.name)
		}
	}
	return out
}

// suffixAppForHost is the hand-written suffix loop AppForHost was before
// nDPI's table: the benchmark's baseline.
func suffixAppForHost(name string) Protocol {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	for _, h := range baselineHostApps {
		if name == h.suffix || strings.HasSuffix(name, "."+h.suffix) {
			return h.app
		}
	}
	return Unknown
}

var baselineHostApps = []struct {
	suffix string
	app    Protocol
}{
	{"youtube.com", YouTube}, {"googlevideo.com", YouTube}, {"ytimg.com", YouTube},
	{"google.com", Google}, {"googleapis.com", Google}, {"gstatic.com", Google}, {"google.it", Google},
	{"facebook.com", Facebook}, {"fbcdn.net", Facebook}, {"facebook.net", Facebook},
	{"netflix.com", NetFlix}, {"nflxvideo.net", NetFlix}, {"nflximg.net", NetFlix},
	{"microsoft.com", Microsoft}, {"live.com", Microsoft}, {"msn.com", Microsoft}, {"windows.net", Microsoft},
	{"apple.com", Apple}, {"icloud.com", Apple}, {"mzstatic.com", Apple},
	{"amazonaws.com", AmazonAWS}, {"amazon.com", Amazon}, {"amazon.it", Amazon},
	{"cloudflare.com", Cloudflare}, {"cloudflare-dns.com", Cloudflare},
}

// BenchmarkHostMatch: nDPI's 587 host patterns plus its category list
// against the 25-suffix loop it replaced, on the same names. Report the
// ratio ns/op(nDPI) / ns/op(baseline).
func BenchmarkHostMatch(b *testing.B) {
	names := benchHostNames(b)
	MatchHost("warm.up")
	b.Run("baseline=suffix-loop", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			suffixAppForHost(names[i%len(names)])
		}
	})
	b.Run("ndpi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			matchHost(names[i%len(names)])
		}
	})
	// What a flow pays for a name asked for lately (nameMemo).
	b.Run("ndpi-memo", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			MatchHost(names[i%len(names)])
		}
	})
}
