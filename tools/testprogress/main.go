// Command testprogress prints `go test -json` as it goes: one line per
// package when it ends (ok/FAIL/no tests, with its time), the whole output
// of every failing test at once, and a heartbeat naming the packages still
// running whenever nothing was printed for -every (15 s), so that a long
// `make test` never looks hung. It exits 1 when a package or test failed,
// or when the stream held no package result at all (go test could not run).
//
//	set -o pipefail; go test -json ./... | testprogress
//
// -v also passes every output line through as it arrives (the boot test's
// step-by-step log).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// event is one line of `go test -json` (cmd/test2json), with the build
// events go test adds (Action build-output/build-fail, ImportPath).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

func main() {
	every := flag.Duration("every", 15*time.Second, "heartbeat when nothing was printed for this long")
	verbose := flag.Bool("v", false, "print every output line as it arrives")
	flag.Parse()
	p := newPrinter(os.Stdout, *verbose, time.Now)
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.heartbeat(*every)
			}
		}
	}()
	err := p.read(os.Stdin)
	close(stop)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testprogress:", err)
		os.Exit(2)
	}
	if !p.summary() {
		os.Exit(1)
	}
}

// printer keeps each running package's and test's output until it is known
// whether it is needed (failures print it, passes drop it).
type printer struct {
	mu       sync.Mutex
	w        io.Writer
	verbose  bool
	now      func() time.Time
	start    time.Time
	last     time.Time            // last line printed
	running  map[string]time.Time // package → when it started
	output   map[string][]string  // package + "\x00" + test → its lines
	build    map[string][]string  // import path → build output
	done     int
	failed   []string
	noTests  int
	anything bool // a package result was seen
}

func newPrinter(w io.Writer, verbose bool, now func() time.Time) *printer {
	t := now()
	return &printer{w: w, verbose: verbose, now: now, start: t, last: t,
		running: map[string]time.Time{}, output: map[string][]string{}, build: map[string][]string{}}
}

func (p *printer) printf(format string, a ...any) {
	fmt.Fprintf(p.w, format, a...)
	p.last = p.now()
}

// read consumes the stream; lines that are not JSON (go vet or build
// messages that reach stdout) are printed as they are.
func (p *printer) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil {
			p.mu.Lock()
			p.printf("%s\n", line)
			p.mu.Unlock()
			continue
		}
		p.handle(ev)
	}
	return sc.Err()
}

func key(pkg, test string) string { return pkg + "\x00" + test }

func (p *printer) handle(ev event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Action {
	case "build-output":
		p.build[ev.ImportPath] = append(p.build[ev.ImportPath], ev.Output)
		return
	case "build-fail":
		p.printf("BUILD FAIL %s\n%s", ev.ImportPath, strings.Join(p.build[ev.ImportPath], ""))
		delete(p.build, ev.ImportPath)
		return
	case "start":
		p.running[ev.Package] = p.now()
		return
	case "output":
		if p.verbose {
			p.printf("%s", ev.Output)
		}
		k := key(ev.Package, ev.Test)
		p.output[k] = append(p.output[k], ev.Output)
		return
	case "fail":
		if ev.Test != "" {
			// A failing test's whole output at once, not interleaved with
			// the other packages' (its subtests printed theirs already).
			if !p.verbose {
				p.printf("--- FAIL %s %s (%.1fs)\n%s", ev.Package, ev.Test, ev.Elapsed, strings.Join(p.output[key(ev.Package, ev.Test)], ""))
			}
			delete(p.output, key(ev.Package, ev.Test))
			return
		}
	case "pass", "skip":
		if ev.Test != "" {
			delete(p.output, key(ev.Package, ev.Test))
			return
		}
	default:
		return
	}
	// The package ended.
	p.anything = true
	p.done++
	delete(p.running, ev.Package)
	pkgOut := p.output[key(ev.Package, "")]
	for k := range p.output {
		if strings.HasPrefix(k, ev.Package+"\x00") {
			delete(p.output, k)
		}
	}
	switch {
	case ev.Action == "fail":
		p.failed = append(p.failed, ev.Package)
		if p.verbose {
			p.printf("FAIL %s (%.1fs)\n", ev.Package, ev.Elapsed)
		} else {
			// Package-level output holds panics, timeouts and TestMain's words.
			p.printf("FAIL %s (%.1fs)\n%s", ev.Package, ev.Elapsed, strings.Join(pkgOut, ""))
		}
	case ev.Action == "skip":
		p.noTests++
		p.printf("--   %s (no tests)\n", ev.Package)
	default:
		p.printf("ok   %s (%.1fs)\n", ev.Package, ev.Elapsed)
	}
}

// heartbeat names the running packages when nothing was printed for every.
func (p *printer) heartbeat(every time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.last) < every {
		return
	}
	var names []string
	for pkg, t := range p.running {
		names = append(names, fmt.Sprintf("%s (%s)", pkg, now.Sub(t).Round(time.Second)))
	}
	sort.Strings(names)
	what := "building"
	if len(names) > 0 {
		what = "running " + strings.Join(names, ", ")
	}
	p.printf("...  %s: %d packages done, %s\n", now.Sub(p.start).Round(time.Second), p.done, what)
}

// summary prints the totals; false when anything failed or nothing ran.
func (p *printer) summary() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := p.now().Sub(p.start).Round(time.Second)
	if !p.anything {
		p.printf("testprogress: no package results after %s (go test did not run)\n", elapsed)
		return false
	}
	if len(p.failed) > 0 {
		p.printf("FAIL: %d of %d packages failed after %s: %s\n", len(p.failed), p.done, elapsed, strings.Join(p.failed, " "))
		return false
	}
	p.printf("PASS: %d packages (%d without tests) in %s\n", p.done, p.noTests, elapsed)
	return true
}
