package boottest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/firmware/qemu"
)

// Boot-time benchmark (issue 25 item 5): PROBE_BOOTBENCH=N boots the image
// N times and, when PROBE_BOOTBENCH_BASE names other image directories
// (the first one built from main; a list like PATH), each of them N times
// too, interleaved (base, new, base, new, ...) so that all see the same load
// on a shared machine. It prints the median time to REST-ready (the
// guest's uptime when REST accepts, the host's wall time since QEMU
// started, and the CPU time QEMU used until then: the one figure that does
// not stretch when other processes hold the cores) and each boot step's
// median, from
// the "boot trace" line probeinit prints (older images: from their
// uptime lines). Each measured boot starts from a copy of a data disk that
// a first boot of the same image formatted and shut down cleanly: a normal
// boot, not a first one. Nothing is asserted: times under TCG on a shared
// machine are reported, not tested.
//
//	PROBE_BOOTTEST=1 PROBE_BOOTBENCH=5 PROBE_BOOTBENCH_BASE=/tmp/main-image \
//	  go test -count=1 -timeout 30m -run TestBootTime -v ./firmware/boottest
func TestBootTime(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PROBE_BOOTBENCH"))
	if n <= 0 {
		t.Skip("boot benchmark: set PROBE_BOOTBENCH=N (boots per image) and PROBE_BOOTTEST=1")
	}
	var images []benchImage
	if base := os.Getenv("PROBE_BOOTBENCH_BASE"); base != "" {
		for i, dir := range filepath.SplitList(base) {
			name := "base"
			if i > 0 {
				name = filepath.Base(dir)
			}
			images = append(images, benchImage{name: name, dir: dir})
		}
	}
	images = append(images, benchImage{name: "new", dir: image(t)})
	for i := range images {
		images[i].disk = warmDisk(t, images[i].dir)
	}
	for round := 0; round < n; round++ {
		for i := range images {
			b, err := bootOnce(t, &images[i], round)
			if err != nil {
				// A failed boot is a finding, not the end of the run.
				t.Errorf("%s boot %d: %v", images[i].name, round+1, err)
				images[i].failed++
				continue
			}
			images[i].boots = append(images[i].boots, b)
			t.Logf("round %d %s: ready at uptime %.2f s, %.2f s after QEMU started, %.2f s of QEMU CPU; %s", round+1, images[i].name, b.steps[stepReady], b.wall, b.cpu, b.line)
		}
	}
	for _, im := range images {
		t.Logf("%s (%s): %s", im.name, im.dir, im.summary())
	}
	if len(images) >= 2 {
		cpuOf := func(b bootTimes) float64 { return b.cpu }
		base, baseCPU := images[0].median(stepReady), images[0].medianOf(cpuOf)
		for _, im := range images[1:] {
			cur, cpu := im.median(stepReady), im.medianOf(cpuOf)
			t.Logf("REST-ready median: %s %.2f s, base %.2f s (%s/base %.2f); QEMU CPU to ready %.2f s, base %.2f s (%.2f); %d interleaved boots each",
				im.name, cur, base, im.name, cur/base, cpu, baseCPU, cpu/baseCPU, n)
		}
	}
}

// The steps of probeinit's "boot trace" line (cmd/probeinit/trace.go).
const stepReady = "ready"

var traceSteps = []string{"kernel", "init", "modules", "nics", "cpus", "disk", "tls", "probe", stepReady}

var (
	// Complete only once ready= (always last) is there: the console
	// arrives in pieces.
	traceRE = regexp.MustCompile(`boot trace ((?:\w+=[0-9.]+ )*ready=[0-9]+\.[0-9]{3})`)
	// Images before the trace: the daemon's first line, the modules line
	// and READY carry the uptime.
	legacyRE = []struct {
		step string
		re   *regexp.Regexp
	}{
		{"init", regexp.MustCompile(`probeinit: board \S+, slot "[^"]*", uptime ([0-9.hms]+s)`)},
		{"modules", regexp.MustCompile(`probeinit: modules loaded, uptime ([0-9.hms]+s)`)},
		{"ready", regexp.MustCompile(`PROBE READY rest=\S+ uptime=([0-9.hms]+s)`)},
	}
	cpuRE = regexp.MustCompile(`boot cpu ([^\r\n]+)\r?\n`)
	// The uptime is a Go duration: 1m3.97s past a minute.
	anyReadyRE = regexp.MustCompile(`PROBE READY rest=\S+ uptime=([0-9.hms]+s)`)
)

type benchImage struct {
	name, dir, disk string
	boots           []bootTimes
	failed          int
}

type bootTimes struct {
	steps map[string]float64 // step → uptime in seconds when it ended
	wall  float64            // host seconds from QEMU start to READY on the console
	cpu   float64            // QEMU's CPU seconds until then
	line  string
}

// parseSteps reads the step times from a console.
func parseSteps(console string) map[string]float64 {
	steps := map[string]float64{}
	if m := traceRE.FindStringSubmatch(console); m != nil {
		for _, kv := range strings.Fields(m[1]) {
			k, v, _ := strings.Cut(kv, "=")
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				steps[k] = f
			}
		}
		return steps
	}
	for _, l := range legacyRE {
		if m := l.re.FindStringSubmatch(console); m != nil {
			if d, err := time.ParseDuration(m[1]); err == nil {
				steps[l.step] = d.Seconds()
			}
		}
	}
	return steps
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (im *benchImage) median(step string) float64 {
	var xs []float64
	for _, b := range im.boots {
		if v, ok := b.steps[step]; ok {
			xs = append(xs, v)
		}
	}
	return median(xs)
}

func (im *benchImage) medianOf(f func(bootTimes) float64) float64 {
	var xs []float64
	for _, b := range im.boots {
		xs = append(xs, f(b))
	}
	return median(xs)
}

// summary is the medians: ready (uptime and wall), then each step's end
// and its length since the step before it that this image reports.
func (im *benchImage) summary() string {
	var sb strings.Builder
	if im.failed > 0 {
		fmt.Fprintf(&sb, "%d boots failed; ", im.failed)
	}
	fmt.Fprintf(&sb, "median over %d boots: REST-ready at uptime %.2f s, %.2f s after QEMU started, %.2f s of QEMU CPU; steps (end, length):",
		len(im.boots), im.median(stepReady), im.medianOf(func(b bootTimes) float64 { return b.wall }), im.medianOf(func(b bootTimes) float64 { return b.cpu }))
	prev := ""
	for _, st := range traceSteps {
		var ends, lens []float64
		for _, b := range im.boots {
			v, ok := b.steps[st]
			if !ok {
				continue
			}
			ends = append(ends, v)
			if p, ok := b.steps[prev]; ok && prev != "" {
				lens = append(lens, v-p)
			}
		}
		if len(ends) == 0 {
			continue
		}
		if len(lens) > 0 {
			fmt.Fprintf(&sb, " %s %.2f (+%.2f)", st, median(ends), median(lens))
		} else {
			fmt.Fprintf(&sb, " %s %.2f", st, median(ends))
		}
		prev = st
	}
	return sb.String()
}

// warmDisk makes a data disk the image formatted at its first boot and
// shut down cleanly (probeinit poweroff).
func warmDisk(t *testing.T, img string) string {
	t.Helper()
	disk := filepath.Join(t.TempDir(), "warm.img")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(disk, 1<<30); err != nil {
		t.Fatal(err)
	}
	vm := startVM(t, qemu.Config{Kernel: filepath.Join(img, "vmlinux"), Initrd: filepath.Join(img, "probe.cpio"), DataDisk: disk})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, _, err := vm.Expect(ctx, anyReadyRE, 0); err != nil {
		t.Fatalf("first boot of %s: %v", img, err)
	}
	if err := vm.Type("probeinit poweroff\n"); err != nil {
		t.Fatal(err)
	}
	if err := vm.Wait(ctx); err != nil {
		t.Fatalf("poweroff after the first boot of %s: %v", img, err)
	}
	return disk
}

// bootOnce boots im from a copy of its warm disk until READY.
func bootOnce(t *testing.T, im *benchImage, round int) (bootTimes, error) {
	t.Helper()
	disk := filepath.Join(t.TempDir(), fmt.Sprintf("%s-%d.img", im.name, round))
	if err := copyFile(im.disk, disk); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(disk)
	vm, err := qemu.Start(qemu.Config{Kernel: filepath.Join(im.dir, "vmlinux"), Initrd: filepath.Join(im.dir, "probe.cpio"), DataDisk: disk})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, end, err := vm.Expect(ctx, anyReadyRE, 0)
	if err != nil {
		return bootTimes{}, fmt.Errorf("%w\n%s", err, vm.ConsoleText())
	}
	wall := time.Since(vm.Started()).Seconds()
	cpu, err := vm.CPUTime()
	if err != nil {
		return bootTimes{}, err
	}
	// The trace line follows READY.
	tctx, tcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer tcancel()
	line := ""
	if m, end, err := vm.Expect(tctx, traceRE, end); err == nil {
		line = "boot trace " + m[1]
		// Where the guest's CPU time went (probeinit's "boot cpu" line).
		if m, _, err := vm.Expect(tctx, cpuRE, end); err == nil {
			line += "; boot cpu " + m[1]
		}
	}
	b := bootTimes{steps: parseSteps(vm.ConsoleText()), wall: wall, cpu: cpu.Seconds(), line: line}
	if _, ok := b.steps[stepReady]; !ok {
		return bootTimes{}, fmt.Errorf("no ready time on the console")
	}
	return b, nil
}

// copyFile copies a sparse disk image, keeping its holes.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	st, err := in.Stat()
	if err != nil {
		out.Close()
		return err
	}
	buf := make([]byte, 1<<20)
	zero := make([]byte, 1<<20)
	for off := int64(0); ; {
		n, rerr := in.Read(buf)
		if n > 0 {
			if !slices.Equal(buf[:n], zero[:n]) {
				if _, err := out.WriteAt(buf[:n], off); err != nil {
					out.Close()
					return err
				}
			}
			off += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return rerr
		}
	}
	if err := out.Truncate(st.Size()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestParseSteps(t *testing.T) {
	for _, c := range []struct {
		name, console string
		want          map[string]float64
	}{
		{"trace", "probeinit: PROBE READY rest=https://:3000 uptime=4.1s\r\nprobeinit: boot trace kernel=2.500 init=2.600 modules=3.900 ready=4.100\r\n",
			map[string]float64{"kernel": 2.5, "init": 2.6, "modules": 3.9, "ready": 4.1}},
		{"trace not complete yet: READY's uptime", "probeinit: PROBE READY rest=https://:3000 uptime=4.1s\r\nprobeinit: boot trace kernel=2.500 init=2.6",
			map[string]float64{"ready": 4.1}},
		{"legacy", "probeinit: board qemu-x86_64, slot \"\", uptime 3.9s\nprobeinit: modules loaded, uptime 7.26s\nprobeinit: PROBE READY rest=https://:3000 uptime=10.25s\n",
			map[string]float64{"init": 3.9, "modules": 7.26, "ready": 10.25}},
		{"past a minute", "probeinit: PROBE READY rest=https://:3000 uptime=1m3.97s\r\n", map[string]float64{"ready": 63.97}},
		{"nothing", "Linux version 6.1\n", map[string]float64{}},
	} {
		got := parseSteps(c.console)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if m := median([]float64{5, 1, 3, 2}); m != 2.5 {
		t.Errorf("median = %v", m)
	}
}
