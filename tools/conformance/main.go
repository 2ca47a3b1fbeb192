// Command conformance runs ntopng's own REST regression cases (upstream
// ntopng-e2e-tests, rest/) against our probe and compares the answers the way
// upstream's run.sh does. See ../shared/conformance/README.md.
//
// Usage:
//
//	conformance --probe bin/probe --suite ../shared/conformance/ntopng-e2e \
//	    --version v1 --pass-list tools/conformance/passing-v1.txt [--run REGEX] [-v]
//	conformance --probe bin/probe --suite ../shared/conformance/ntopng-e2e \
//	    --cases tools/conformance/cases --version v2 --pass-list tools/conformance/passing-v2.txt
//
// --cases reads tests/<version> and result/<version> from another directory
// (our own cases, in the same format), the captures still from --suite.
//
// Each test gets a fresh probe (-i <capture> --http-port 3333 --disable-login
// [-m localnet] --data-dir <tmp> --ready-file <tmp>/ready -p <tmp>/protos.txt,
// the custom protocols run.sh gives ntopng). The capture is
// copied into the work dir under the name the test asks for, because the
// interface is named after it; for v1, test_01.pcap is today's test_02.pcap
// (suite README, "Known quirks"). Phases: wait for the HTTP port, run pre,
// wait for the ready file, run runtime, run post, SIGTERM the probe. The
// output is everything the snippets printed.
//
// Where we knowingly differ from run.sh:
//   - post runs while the probe still serves (after runtime), not after a
//     shutdown; the probe must answer post's queries from its store live.
//   - numbers are compared by their text, where jq 1.6 would reformat them
//     through a double (1.0 vs 1 differ here, not upstream).
//   - each differing line is judged alone against the ignore patterns;
//     upstream greps side-by-side diff lines, where an ignored line can hide
//     the unrelated line it happens to be paired with.
//   - a probe that does not exit cleanly on SIGTERM fails the test.
//   - the probe's log is not scanned for ERROR/WARNING lines.
//
// Exit status: 0 when every test of the pass list passed (or the list was
// just rewritten with --write-pass-list), 1 when one of them failed or is
// missing from the suite, 2 on usage or infrastructure errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

type options struct {
	settings
	cases         string
	passList      string
	run           string
	verbose       bool
	writePassList bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.probe, "probe", "", "probe binary to test (required)")
	fs.StringVar(&o.suite, "suite", "", "suite directory holding tests/, result/ and pcap/ (required)")
	fs.StringVar(&o.cases, "cases", "", "directory holding tests/ and result/ (default: --suite); captures stay in --suite")
	fs.StringVar(&o.version, "version", "v1", "API version: tests/<version> and result/<version>")
	fs.StringVar(&o.passList, "pass-list", "", "file listing the tests that must pass")
	fs.StringVar(&o.run, "run", "", "only run tests whose name matches this regexp")
	fs.IntVar(&o.port, "port", 3333, "HTTP port of the probe (the snippets hard-code 3333; others are rewritten)")
	fs.BoolVar(&o.keep, "keep", false, "keep each test's work dir (capture copy, probe.log, output.out)")
	fs.BoolVar(&o.verbose, "v", false, "print the differing lines of failed tests")
	fs.BoolVar(&o.verbose, "verbose", false, "same as -v")
	fs.BoolVar(&o.writePassList, "write-pass-list", false, "rewrite --pass-list with the tests that passed")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 60*time.Second, "how long the probe may take to read the capture")
	fs.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long the probe may take to open its HTTP port")
	fs.DurationVar(&o.snippetTimeout, "snippet-timeout", 60*time.Second, "time limit of each shell snippet")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.probe == "" || o.suite == "" {
		return o, errors.New("--probe and --suite are required")
	}
	if o.writePassList && o.passList == "" {
		return o, errors.New("--write-pass-list needs --pass-list")
	}
	abs, err := filepath.Abs(o.probe)
	if err != nil {
		return o, fmt.Errorf("probe path: %w", err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		return o, fmt.Errorf("probe binary %s not usable (build it first)", o.probe)
	}
	o.probe = abs
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "conformance:", err)
		return 2
	}
	var filter *regexp.Regexp
	if o.run != "" {
		if filter, err = regexp.Compile(o.run); err != nil {
			fmt.Fprintln(stderr, "conformance: --run:", err)
			return 2
		}
	}
	casesDir := o.suite
	if o.cases != "" {
		casesDir = o.cases
	}
	all, err := loadSuite(casesDir, o.version)
	if err != nil {
		fmt.Fprintln(stderr, "conformance:", err)
		return 2
	}
	var pl passList
	if o.passList != "" {
		if pl, err = readPassList(o.passList); err != nil {
			fmt.Fprintln(stderr, "conformance:", err)
			return 2
		}
	}

	ran, passed := map[string]bool{}, map[string]bool{}
	var nPass, nFail, nSkip int
	for _, tc := range all {
		if filter != nil && !filter.MatchString(tc.Name) {
			continue
		}
		res, err := runTest(ctx, o.settings, tc)
		if err != nil {
			fmt.Fprintf(stderr, "conformance: %s: %v\n", tc.Name, err)
			return 2
		}
		ran[tc.Name] = true
		switch res.status {
		case statusPass:
			nPass++
			passed[tc.Name] = true
			fmt.Fprintf(stdout, "PASS %s\n", tc.Name)
		case statusSkip:
			nSkip++
			fmt.Fprintf(stdout, "SKIP %s: %s\n", tc.Name, res.reason)
		default:
			nFail++
			fmt.Fprintf(stdout, "FAIL %s: %s\n", tc.Name, res.reason)
			if o.verbose {
				printDiff(stdout, res.diff)
			}
		}
		if res.dir != "" {
			fmt.Fprintf(stdout, "     kept %s\n", res.dir)
		}
	}

	broken := passListProblems(pl, all, ran, passed)
	for _, p := range broken {
		fmt.Fprintln(stdout, "pass-list:", p)
	}
	if o.writePassList {
		if err := writePassList(o.passList, pl.updated(ran, passed)); err != nil {
			fmt.Fprintln(stderr, "conformance:", err)
			return 2
		}
	} else if n := newlyPassing(pl, passed); n > 0 {
		fmt.Fprintf(stdout, "note: %d passing tests are not in the pass list (add them with --write-pass-list)\n", n)
	}

	summary := fmt.Sprintf("%d passed, %d failed", nPass, nFail)
	if nSkip > 0 {
		summary += fmt.Sprintf(", %d skipped", nSkip)
	}
	fmt.Fprintln(stdout, summary)
	if len(broken) > 0 && !o.writePassList {
		return 1
	}
	return 0
}
