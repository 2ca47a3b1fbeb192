package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// settings are the knobs of one conformance run.
type settings struct {
	probe          string // absolute path of the probe binary
	suite          string
	version        string
	port           int
	keep           bool
	readyTimeout   time.Duration
	startTimeout   time.Duration
	snippetTimeout time.Duration
}

type status int

const (
	statusPass status = iota
	statusFail
	statusSkip
)

// result is the verdict on one test.
type result struct {
	status status
	reason string
	diff   lineDiff
	dir    string // kept work dir, "" if removed
}

func failf(format string, args ...any) result {
	return result{status: statusFail, reason: fmt.Sprintf(format, args...)}
}

// errAbort marks failures that would also break every later test.
var errAbort = errors.New("aborting run")

// runTest runs one test case against a fresh probe. The returned error is
// only for conditions that make the rest of the run meaningless.
func runTest(ctx context.Context, s settings, tc testCase) (result, error) {
	if tc.Requires {
		return result{status: statusSkip, reason: "requires ntopng Pro"}, nil
	}
	expected, err := os.ReadFile(tc.Expected)
	if err != nil {
		return failf("no expected output: %v", err), nil
	}
	source, err := captureSource(s, tc.Input)
	if err != nil {
		return failf("%v", err), nil
	}
	if portInUse(s.port) {
		return result{}, fmt.Errorf("%w: port %d already in use (a probe left running?)", errAbort, s.port)
	}

	dir, err := os.MkdirTemp("", "conformance-"+tc.Name+"-")
	if err != nil {
		return result{}, fmt.Errorf("%w: create work dir: %v", errAbort, err)
	}
	res, output := execute(ctx, s, tc, dir, source)
	if output != nil {
		if err := os.WriteFile(filepath.Join(dir, "output.out"), output, 0o644); err != nil {
			return result{}, fmt.Errorf("save output: %w", err)
		}
	}
	if res.status == statusPass {
		if d := compareOutputs(expected, output, tc.Ignore); !d.Empty() {
			res = failf("%s", diffReason(d))
			res.diff = d
		}
	}
	if s.keep {
		res.dir = dir
	} else if err := os.RemoveAll(dir); err != nil {
		return res, fmt.Errorf("remove work dir: %w", err)
	}
	return res, ctx.Err()
}

// captureSource resolves the capture a test reads. The v1 answers were made
// when test_01.pcap was what test_02.pcap is today (see the suite README).
func captureSource(s settings, input string) (string, error) {
	name := input
	if s.version == "v1" && input == defaultInput {
		name = "test_02.pcap"
	}
	path := filepath.Join(s.suite, "pcap", name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("capture %s not available: %w", name, err)
	}
	return path, nil
}

// upstreamProtos is the custom protocols file upstream's run.sh gives
// ntopng (-p): three names, numbered after nDPI's last built-in protocol
// in this order, that the recorded consts answers list.
const upstreamProtos = `host:"charles"@Charles
host:"sebastian"@Sebastian
host:"lando"@Lando
`

// execute drives the probe through the phases of a test and returns the
// concatenated snippet output. A non-pass result here is an execution error;
// the output comparison is left to the caller.
func execute(ctx context.Context, s settings, tc testCase, dir, source string) (result, []byte) {
	// The interface is named after the capture's base name, so the file must
	// carry the name the test asked for.
	capture := filepath.Join(dir, tc.Input)
	if err := copyFile(source, capture); err != nil {
		return failf("%v", err), nil
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.Mkdir(dataDir, 0o755); err != nil {
		return failf("create data dir: %v", err), nil
	}
	ready := filepath.Join(dir, "ready")
	protos := filepath.Join(dir, "protos.txt")
	if err := os.WriteFile(protos, []byte(upstreamProtos), 0o644); err != nil {
		return failf("write protos.txt: %v", err), nil
	}
	args := []string{"-i", capture, "--http-port", strconv.Itoa(s.port), "--disable-login",
		"--data-dir", dataDir, "--ready-file", ready, "-p", protos}
	if tc.Localnet != "" {
		args = append(args, "-m", tc.Localnet)
	}
	probe, err := startProbe(s.probe, args, dir, filepath.Join(dir, "probe.log"))
	if err != nil {
		return failf("%v", err), nil
	}

	var out bytes.Buffer
	res := func() result {
		if err := probe.waitPort(ctx, s.port, s.startTimeout); err != nil {
			return failf("%v", err)
		}
		phase := func(name, script string) error {
			if strings.TrimSpace(script) == "" {
				return nil
			}
			stdout, err := runSnippet(ctx, dir, name, portScript(script, s.port), s.snippetTimeout)
			out.Write(stdout)
			return err
		}
		if err := phase("pre", tc.Pre); err != nil {
			return failf("%v", err)
		}
		if err := probe.waitFile(ctx, ready, s.readyTimeout); err != nil {
			return failf("%v", err)
		}
		// Upstream runs post after shutdown, against flows flushed to the
		// store; our probe serves that store while it runs, so post simply
		// follows runtime.
		if err := phase("runtime", tc.Runtime); err != nil {
			return failf("%v", err)
		}
		if err := phase("post", tc.Post); err != nil {
			return failf("%v", err)
		}
		return result{status: statusPass}
	}()
	if err := probe.stop(); err != nil && res.status == statusPass {
		res = failf("%v", err)
	}
	return res, out.Bytes()
}

// portScript points the snippets at another port when --port is not the
// 3333 they hard-code.
func portScript(script string, port int) string {
	if port == 3333 {
		return script
	}
	return strings.ReplaceAll(script, "localhost:3333", "localhost:"+strconv.Itoa(port))
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open capture: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("create capture copy: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy capture: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy capture: %w", err)
	}
	return nil
}

func diffReason(d lineDiff) string {
	n := len(d.Missing) + len(d.Extra)
	noun := "lines differ"
	if n == 1 {
		noun = "line differs"
	}
	return fmt.Sprintf("%d %s (%d expected missing, %d unexpected)", n, noun, len(d.Missing), len(d.Extra))
}
