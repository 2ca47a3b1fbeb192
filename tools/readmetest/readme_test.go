package readmetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/syncbuf"
)

// example is one command of an example block.
type example struct {
	line int    // README line it starts on
	cmd  string // as written (continuation lines included)
}

// block is a fenced code block marked as examples.
type block struct {
	stopped bool // run after make run stopped
	cmds    []example
}

// parseExamples extracts the marked blocks of a README and splits them into
// commands: a command ends at the first line where bash parses the text so
// far as complete (quotes closed, no trailing backslash). Comment lines and
// blank lines are not commands.
func parseExamples(readme string) ([]block, error) {
	var blocks []block
	var cur *block
	var acc []string
	start := 0
	sc := bufio.NewScanner(strings.NewReader(readme))
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if cur == nil {
			if info, ok := strings.CutPrefix(trimmed, "```"); ok {
				f := strings.Fields(info)
				if len(f) >= 2 && f[0] == "sh" && f[1] == "example" {
					cur = &block{stopped: len(f) > 2 && f[2] == "stopped"}
				}
			}
			continue
		}
		if trimmed == "```" {
			if len(acc) > 0 {
				return nil, fmt.Errorf("README line %d: example block ends inside a command: %q", n, strings.Join(acc, "\n"))
			}
			if len(cur.cmds) == 0 {
				return nil, fmt.Errorf("README line %d: example block without commands", n)
			}
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		if len(acc) == 0 {
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			start = n
		}
		acc = append(acc, line)
		text := strings.Join(acc, "\n")
		if strings.HasSuffix(trimmed, `\`) || exec.Command("bash", "-n", "-c", text).Run() != nil {
			continue // not complete yet
		}
		cur.cmds = append(cur.cmds, example{line: start, cmd: text})
		acc = nil
	}
	if cur != nil {
		return nil, fmt.Errorf("README: example block not closed")
	}
	return blocks, sc.Err()
}

// emptyOrError says why an example's output is an error or empty; "" when
// it is an answer with data.
func emptyOrError(cmd, out string) string {
	t := strings.TrimSpace(out)
	if t == "" {
		return "no output"
	}
	if strings.Contains(strings.ToLower(t), "no results") {
		return "no results"
	}
	var env struct {
		RC     *int            `json:"rc"`
		RCStr  string          `json:"rc_str"`
		Rsp    json.RawMessage `json:"rsp"`
		Status string          `json:"status"`
	}
	if json.Unmarshal([]byte(t), &env) == nil {
		switch {
		case env.RC != nil && *env.RC != 0:
			return "ntopng rc " + env.RCStr
		case env.Status != "" && env.Status != "ok":
			return "goProbe status " + env.Status
		case strings.Contains(cmd, "/get/") && (string(env.Rsp) == "[]" || string(env.Rsp) == "{}" || string(env.Rsp) == "null"):
			return "an empty list"
		}
		var paged struct {
			Rsp struct {
				Data *[]json.RawMessage `json:"data"`
			} `json:"rsp"`
		}
		if json.Unmarshal([]byte(t), &paged) == nil && paged.Rsp.Data != nil && len(*paged.Rsp.Data) == 0 {
			return "an empty data list"
		}
	}
	return ""
}

func TestParseExamples(t *testing.T) {
	const readme = "text\n```sh\nnot an example\n```\n" +
		"```sh example\n# a comment\ncurl -s a \\\n   -d 'x'\n\ncurl -d '{\"a\":1,\n \"b\":2}' c   # trailing comment\n```\n" +
		"```sh example stopped\nbin/probe query x\n```\n"
	got, err := parseExamples(readme)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{
		{cmds: []example{{7, "curl -s a \\\n   -d 'x'"}, {10, "curl -d '{\"a\":1,\n \"b\":2}' c   # trailing comment"}}},
		{stopped: true, cmds: []example{{14, "bin/probe query x"}}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", got, want)
	}
	if _, err := parseExamples("```sh example\ncurl 'open\n```\n"); err == nil {
		t.Error("an unclosed quote at the end of a block was accepted")
	}
}

func TestEmptyOrError(t *testing.T) {
	for _, tc := range []struct{ cmd, out, want string }{
		{"curl x/get/host/active.lua", `{"rc":0,"rc_str":"OK","rsp":{"currentPage":1,"data":[{"ip":"1.2.3.4"}]}}`, ""},
		{"curl x/get/host/active.lua", `{"rc":0,"rc_str":"OK","rsp":{"currentPage":1,"data":[]}}`, "an empty data list"},
		{"curl x/get/host/data.lua", `{"rc":-3,"rc_str":"INVALID_ARGUMENTS","rsp":{}}`, "ntopng rc INVALID_ARGUMENTS"},
		{"curl x/get/ntopng/interfaces.lua", `{"rc":0,"rc_str":"OK","rsp":[]}`, "an empty list"},
		{"curl x/lua/change_password.lua", `{"rc":0,"rc_str":"OK","rsp":[]}`, ""},
		{"curl x/api/v1/_query", `{"status":"empty","statusMessage":"query returned no results"}`, "no results"},
		{"curl x/api/v1/_query", `{"status":"error","statusMessage":"bad"}`, "goProbe status error"},
		{"curl x", "  \n", "no output"},
		{"bin/probe query sip", "  sip\n  10.0.0.1\n", ""},
		{"bin/probe query sip", "query returned no results\n", "no results"},
	} {
		if got := emptyOrError(tc.cmd, tc.out); got != tc.want {
			t.Errorf("%s → %q: %q, want %q", tc.cmd, tc.out, got, tc.want)
		}
	}
}

// demo is one `make run` inside the test's network namespace.
type demo struct {
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	exited chan struct{} // closed when make run ended
}

// makeRun starts `make run` as a user would (only where it builds to and
// the ready file differ) and waits until the demo capture is read.
func makeRun(t *testing.T, ns, root, work string) *demo {
	t.Helper()
	ready := filepath.Join(work, "ready")
	os.Remove(ready)
	d := &demo{out: &syncbuf.Buffer{}}
	d.cmd = exec.Command("ip", "netns", "exec", ns, "make", "--no-print-directory", "-C", root, "run",
		"BIN="+filepath.Join(work, "bin"), "OUT="+filepath.Join(work, "out"), "RUN_FLAGS=--ready-file "+ready)
	// As from a user's shell, not as a sub-make of make test.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAKEFLAGS=") && !strings.HasPrefix(kv, "MFLAGS=") && !strings.HasPrefix(kv, "MAKELEVEL=") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	t.Cleanup(func() { d.stop(t) })
	// Building the probe may take minutes on a loaded machine.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if _, err := os.Stat(ready); err == nil {
			return d
		}
		select {
		case <-d.exited:
			t.Fatalf("make run ended before the demo was served:\n%s", d.out)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("make run: demo not served after 5 minutes:\n%s", d.out)
		}
	}
}

// stop ends make run as Ctrl-C does, then for sure.
func (d *demo) stop(t *testing.T) {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("make run still running 30 s after Ctrl-C; killed")
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.exited
	}
}

// banner is the example commands make run printed before the probe started.
func (d *demo) banner() []example {
	var out []example
	for i, line := range strings.Split(d.out.String(), "\n") {
		if strings.HasPrefix(line, "  curl ") {
			out = append(out, example{line: i + 1, cmd: strings.TrimSpace(line)})
		}
	}
	return out
}

// run runs one example in the namespace from work and checks its answer.
func run(t *testing.T, ns, work, where string, ex example) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "bash", "-o", "pipefail", "-c", ex.cmd)
	c.Dir = work
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	shown := stdout.String()
	if len(shown) > 2000 {
		shown = shown[:2000] + "…"
	}
	switch {
	case err != nil:
		t.Errorf("%s line %d: %v\n$ %s\n%s%s", where, ex.line, err, ex.cmd, shown, stderr.String())
	case emptyOrError(ex.cmd, stdout.String()) != "":
		t.Errorf("%s line %d answers %s\n$ %s\n%s%s", where, ex.line, emptyOrError(ex.cmd, stdout.String()), ex.cmd, shown, stderr.String())
	default:
		t.Logf("%s line %d ok: %s", where, ex.line, firstLine(ex.cmd))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

var nsName = regexp.MustCompile(`^first-readme-[0-9]+$`)

// TestREADMEExamples: make run's banner examples against a first make run,
// the README's against a second (fresh again), those marked "stopped" after
// it ended.
func TestREADMEExamples(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		fixture.Missing(t, "make: %v", err)
	}
	fixture.Tool(t, "curl")
	if os.Geteuid() != 0 {
		fixture.Missing(t, "the README examples run in a network namespace of their own: needs root")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseExamples(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```sh example blocks")
	}

	ns := fmt.Sprintf("first-readme-%d", os.Getpid())
	if !nsName.MatchString(ns) {
		t.Fatal(ns)
	}
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		fixture.Missing(t, "ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := exec.Command("ip", "-n", ns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("loopback up in %s: %v: %s", ns, err, out)
	}

	// The README's paths (bin/probe, out/data) are make run's, from here.
	work := t.TempDir()
	for _, d := range []string{"bin", "out"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	first := makeRun(t, ns, root, work)
	banner := first.banner()
	if len(banner) < 3 {
		t.Fatalf("make run printed %d curl examples, want its banner:\n%s", len(banner), first.out)
	}
	for _, ex := range banner {
		run(t, ns, work, "make run banner", ex)
	}
	first.stop(t)

	second := makeRun(t, ns, root, work)
	if !strings.Contains(second.out.String(), "admin/admin") {
		t.Errorf("the second make run does not say it starts again from admin/admin:\n%s", second.out)
	}
	for _, b := range blocks {
		if !b.stopped {
			for _, ex := range b.cmds {
				run(t, ns, work, "README.md", ex)
			}
		}
	}
	second.stop(t)
	for _, b := range blocks {
		if b.stopped {
			for _, ex := range b.cmds {
				run(t, ns, work, "README.md", ex)
			}
		}
	}
}
