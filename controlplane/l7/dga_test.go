package l7

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// goldenDGA is one line of testdata/ndpi_dga.golden: libndpi 4.2's own
// ndpi_check_dga_name verdict (tools/ndpidata/gen.sh).
type goldenDGA struct {
	line int
	name string
	dga  bool
}

func readDGAGolden(t testing.TB) []goldenDGA {
	t.Helper()
	f, err := os.Open("testdata/ndpi_dga.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenDGA
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		name, v, ok := strings.Cut(sc.Text(), "\t")
		if !ok || v != "0" && v != "1" {
			t.Fatalf("golden:%d: %q", n, sc.Text())
		}
		out = append(out, goldenDGA{n, name, v == "1"})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 5000 {
		t.Fatalf("golden has %d names", len(out))
	}
	return out
}

// TestDGAMatchesLibndpi: every verdict real nDPI gave must be ours.
func TestDGAMatchesLibndpi(t *testing.T) {
	var dga, bad int
	for _, g := range readDGAGolden(t) {
		if g.dga {
			dga++
		}
		if got := IsDGAName(g.name); got != g.dga {
			bad++
			if bad <= 30 {
				t.Errorf("golden:%d %q: DGA %v, nDPI says %v", g.line, g.name, got, g.dga)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d names disagree with nDPI", bad)
	}
	if dga < 500 {
		t.Errorf("only %d DGA names in the golden file: the corpus no longer exercises the positive rules", dga)
	}
}

// TestDGATableSizes holds the generated tables to the sizes the research
// counted in nDPI 4.2's source (ndpi-detection.md §1.6), a check
// independent of the generator.
func TestDGATableSizes(t *testing.T) {
	for _, c := range []struct {
		name       string
		list       string
		width, num int
	}{
		{"bigrams", ndpiDGABigrams, 2, 551},
		{"impossible bigrams", ndpiDGAImpossibleBigrams, 2, 127},
		{"trigrams", ndpiDGATrigrams, 3, 10048},
	} {
		f := strings.Fields(c.list)
		if len(f) != c.num {
			t.Errorf("%s: %d entries, nDPI 4.2 has %d", c.name, len(f), c.num)
		}
		for _, g := range f {
			if len(g) != c.width {
				t.Errorf("%s: entry %q", c.name, g)
			}
		}
	}
	// Pairs the research lists as in both tables count as impossible.
	for _, p := range strings.Fields("bw hh ii kp uu wb wk xw xy yj yw zk") {
		if !has2(dgaGrams().impossible[:], p[0], p[1]) || !has2(dgaGrams().bigram[:], p[0], p[1]) {
			t.Errorf("%q should be in both bigram tables", p)
		}
	}
}

// TestDGAExamples are verdicts the research recorded from nDPI's own
// tests (tor.pcap.out, the §1 rules), independent of the golden file.
func TestDGAExamples(t *testing.T) {
	for _, c := range []struct {
		name string
		dga  bool
	}{
		{"www.q4cyamnc6mtokjurvdclt.com", true},
		{"www.gfu7hbxpfp.com", true},
		{"www.e6r5p57kbafwrxj3plz.com", true},
		{"www.jmts2id.com", false},
		{"www.ct7ctrgb6cr7.com", false},
		{"www.t3i3ru.com", false},
		{"www.6gyip7tqim7sieb.com", false},
		{"abc12.com", false},                                 // digit pair before a dot
		{"r2---sn-uxaxjvhxbt2u-j5pe.googlevideo.com", false}, // "--"
		{"qwrtypsdfgzx", false},                              // no dot
		{"xkcdqwzv_bn.com", false},                           // '_'
		{"qwrtypsdfgzx.local", false},                        // exempt suffix
		{"aaaaaaa.com", true},                                // a run of 6+
		{"www.google.com", false},
	} {
		if got := IsDGAName(c.name); got != c.dga {
			t.Errorf("%q: DGA %v, want %v", c.name, got, c.dga)
		}
	}
}

// TestDGACatalogHosts: a protos file's host joins the exemption, as
// nDPI loads custom hosts into its host automaton.
func TestDGACatalogHosts(t *testing.T) {
	const name = "www.q4cyamnc6mtokjurvdclt.com"
	c, err := ParseProtos("protos.txt", []byte("host:\"q4cyamnc6mtokjurvdclt.com\"@MyApp\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !(*Catalog)(nil).IsDGAName(name) {
		t.Fatalf("%q: not DGA without the file", name)
	}
	if c.IsDGAName(name) {
		t.Errorf("%q: DGA although the protos file names it", name)
	}
}

func BenchmarkDGA(b *testing.B) {
	b.ReportAllocs()
	names := []string{"www.google.com", "www.q4cyamnc6mtokjurvdclt.com", "login.microsoftonline.com", "kqqewbjcgqfp.ru"}
	b.Run("computed", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			isDefaultDGAName(names[i%len(names)])
		}
	})
	b.Run("memo", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			IsDGAName(names[i%len(names)])
		}
	})
}

// FuzzDGA: any bytes give a verdict, the same twice, without a panic; the
// exits before scoring hold whatever follows.
func FuzzDGA(f *testing.F) {
	for _, s := range []string{"www.q4cyamnc6mtokjurvdclt.com", "abc12.com", "a--b.com", "x.y", "", "www.", "1.2.3.4", strings.Repeat("qz.", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := IsDGAName(name)
		if got != IsDGAName(name) {
			t.Fatalf("%q: verdict changes", name)
		}
		if got && (strings.Contains(name, "_") || !strings.Contains(name, ".") || strings.HasSuffix(name, ".local")) {
			t.Fatalf("%q: DGA although an entry check excludes it", name)
		}
	})
}
