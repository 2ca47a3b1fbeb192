package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runCLI runs the built `probe query` and returns its exit code, stdout
// and stderr.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(probeBin, append([]string{"query"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("probe query %v: %v", args, err)
	}
	return code, out.String(), errOut.String()
}

// TestQueryCLINeverCreatesStore: `probe query` on a data directory
// without a store (missing, or empty) says so and leaves it as it was.
func TestQueryCLINeverCreatesStore(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, args := range [][]string{
		{"--data-dir", missing, "sip"},
		{"--data-dir", empty, "-i", "eth0", "sip"},
		{"--api", "", "--data-dir", empty, "sip"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "no flow store in ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	// With neither --data-dir nor --api, a default directory without a
	// store sends the query to the probe on this machine (as README's
	// examples do against `make run`), still creating nothing.
	b, err := chooseBackend(missing, "", "", false, false)
	if c, ok := b.(*apiBackend); err != nil || !ok || c.base != defaultAPI {
		t.Errorf("default data directory without a store: %#v %v, want the API at %s", b, err, defaultAPI)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing data directory was created: %v", err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("files appeared in the empty data directory: %v", ents)
	}
}

// dateColumn is a time cell of goQuery's text output.
var dateColumn = regexp.MustCompile(`\b2026-03-01 1[01]:[0-5][05]:00\b`)

// TestQueryCLIStoreAndProbe runs the same queries while a probe holds the
// data directory (through its goProbe API, as the local CLI) and after it
// stopped (the store itself): same totals, same error texts with position
// and reason, dated time columns, and the capture's March data found
// although the default window (30 days) misses it. The probe keeps
// goProbe's rate limit (six requests at once): the CLI's runs are not
// counted, a client without the token is.
func TestQueryCLIStoreAndProbe(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "cli.pcap")
	tr := writeCapture(t, pcap, 12)
	db := filepath.Join(dir, "db")
	gpPort := freePort(t)
	p := startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login", "--goprobe-api", fmt.Sprintf("127.0.0.1:%d", gpPort))
	gp := &probeProc{cmd: p.cmd, port: gpPort, out: p.out}
	want := tr.wireBytes - tr.nonIP[1]

	check := func(path string) {
		t.Helper()
		// The default window: the March capture lies months back.
		code, out, errOut := runCLI(t, "--data-dir", db, "-i", "cli.pcap", "--sum", "-e", "json", "-n", "1000", "sip")
		if code != 0 || summaryBytes(t, []byte(out)) != want {
			t.Fatalf("%s: default window: exit %d, %s %s; want %d bytes", path, code, out, errOut, want)
		}
		if !strings.Contains(errOut, "no flows stored since ") || !strings.Contains(errOut, "showing the 30d up to the newest stored flows (2026-03-01 ") {
			t.Errorf("%s: the widened window is not announced: %q", path, errOut)
		}
		// A window the user chose stays as given.
		if code, out, _ := runCLI(t, "--data-dir", db, "-i", "cli.pcap", "-f", "-1h", "-e", "json", "sip"); code != 0 || !strings.Contains(out, `"status":"empty"`) {
			t.Errorf("%s: -f -1h: exit %d, %s", path, code, out)
		}
		code, out, errOut = runCLI(t, "--data-dir", db, "-i", "cli.pcap", "-f", "2026-03-01 00:00:00", "time,sip")
		if code != 0 || !dateColumn.MatchString(out) || strings.Contains(out, "17723") {
			t.Errorf("%s: time column: exit %d\n%s%s", path, code, out, errOut)
		}
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"-c", "dport = 443 & (sip = 1.2.3.4", "sip"}, `position 28): expected ")" closing "(" at position 14`},
			{[]string{"-c", "dport = = 80", "sip"}, `position 8 near "=": expected a value after "="`},
			{[]string{"-i", "nosuch0", "sip"}, `unknown interface "nosuch0"`},
			{[]string{"-i", "cli.pcap", "sip,color"}, `unknown attribute`},
		} {
			code, out, errOut := runCLI(t, append([]string{"--data-dir", db}, c.args...)...)
			if code != 1 || out != "" || !strings.Contains(errOut, c.want) {
				t.Errorf("%s: %v: exit %d, stdout %q, stderr %q; want %q", path, c.args, code, out, errOut, c.want)
			}
		}
	}

	check("through the probe")
	// Far beyond goProbe's six requests at once: never "limit exceeded".
	for i := range 8 {
		if code, _, errOut := runCLI(t, "--data-dir", db, "-i", "cli.pcap", "-f", "2026-03-01 00:00:00", "sip"); code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errOut)
		}
	}
	// Anyone else still meets goProbe's limit.
	limited := false
	for range 7 {
		if a := gp.call(t, "GET", "/api/v1/stats/packets", "", nil); a.status == 429 {
			limited = true
		}
	}
	if !limited {
		t.Error("a client without the CLI's token was not rate limited")
	}
	p.stop(t)
	check("on the store")

	// A probe without the goProbe API holds the store: the CLI says so
	// rather than knocking at the address an earlier run left.
	p = startProbe(t, "-i", pcap, "--data-dir", db, "--disable-login", "--goprobe-api", "")
	code, out, errOut := runCLI(t, "--data-dir", db, "sip")
	if code != 1 || out != "" || !strings.Contains(errOut, "serves no goProbe API") {
		t.Errorf("probe without goProbe API: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	p.stop(t)
}
