package des

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// goldenStep is one line of testdata/ndpi_des.golden: what libndpi 4.2's
// ndpi_des_add_value answered (tools/ndpidata/ndpides.c).
type goldenStep struct {
	series         string
	alpha, beta    float64
	significance   float32
	step           int
	value          uint64
	rc             int
	forecast, band float64
	line           int
}

func readGolden(t *testing.T) []goldenStep {
	t.Helper()
	f, err := os.Open("testdata/ndpi_des.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenStep
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 9 {
			t.Fatalf("line %d: %d fields", n, len(fs))
		}
		g := goldenStep{series: fs[0], line: n}
		var sig float64
		for i, p := range []*float64{&g.alpha, &g.beta, &sig, nil, nil, nil, &g.forecast, &g.band} {
			if p == nil {
				continue
			}
			if *p, err = strconv.ParseFloat(fs[i+1], 64); err != nil {
				t.Fatalf("line %d: %v", n, err)
			}
		}
		g.significance = float32(sig)
		if g.step, err = strconv.Atoi(fs[4]); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if g.value, err = strconv.ParseUint(fs[5], 10, 64); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if g.rc, err = strconv.Atoi(fs[6]); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 1000 {
		t.Fatalf("golden file has only %d steps", len(out))
	}
	return out
}

// close reports whether got matches libndpi's want within 1e-9 relative
// (exact for zero): the port may differ by an ulp where Go's math.Log
// rounds differently from glibc's log.
func close(got, want float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= 1e-9*math.Max(math.Abs(got), math.Abs(want))
}

// TestGoldenLibndpi feeds every series of the golden file to the port and
// compares forecast, band and readiness with libndpi's, step by step.
func TestGoldenLibndpi(t *testing.T) {
	steps := readGolden(t)
	var d *DES
	exact, series := 0, 0
	for _, g := range steps {
		if g.step == 0 {
			d = New(g.alpha, g.beta, g.significance)
			series++
		}
		f, b, ok := d.Add(g.value)
		name := fmt.Sprintf("line %d: %s alpha=%v beta=%v s=%v step %d value %d", g.line, g.series, g.alpha, g.beta, g.significance, g.step, g.value)
		if ok != (g.rc == 1) {
			t.Fatalf("%s: ok=%v, libndpi rc=%d", name, ok, g.rc)
		}
		if !close(f, g.forecast) || !close(b, g.band) {
			t.Fatalf("%s: forecast %v band %v, libndpi %v %v", name, f, b, g.forecast, g.band)
		}
		if f == g.forecast && b == g.band {
			exact++
		}
	}
	t.Logf("%d series, %d steps, %d bit-exact", series, len(steps), exact)
}

// TestQuantile checks ro against the normal distribution's quantiles
// (independent truth: z(0.975)=1.959964, z(0.995)=2.575829); nDPI's
// approximation is within 4.5e-4 of them.
func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		sig  float32
		want float64
	}{
		{0.05, 1.959964}, {0.01, 2.575829}, {0.2, 1.281552}, {0.001, 3.290527},
		{2, 1.959964}, {-1, 1.959964}, // out of range: nDPI uses 0.05
	} {
		d := New(0.5, 0.5, c.sig)
		if math.Abs(d.ro-c.want) > 4.5e-4 {
			t.Errorf("significance %v: ro %v, want %v", c.sig, d.ro, c.want)
		}
	}
	for _, p := range []float64{0, 1, -1, 2} {
		if z := normalCDFInverse(p); z != 0 {
			t.Errorf("normalCDFInverse(%v) = %v, want 0", p, z)
		}
	}
}

// TestSpike: a steady series stays inside its band, a tenfold spike does
// not (the property ntopng relies on), with the parameters the probe uses.
func TestSpike(t *testing.T) {
	d := New(0.9, 0.5, 0.05)
	for i := range 30 {
		v := uint64(100 + i%3)
		f, b, ok := d.Add(v)
		if ok && (float64(v) < f-b || float64(v) > f+b) {
			t.Fatalf("steady value %d at %d outside %v±%v", v, i, f, b)
		}
	}
	f, b, _ := d.Add(1000)
	if 1000 <= f+b {
		t.Fatalf("spike 1000 inside %v±%v", f, b)
	}
}
