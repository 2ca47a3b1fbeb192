package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// runTimeout bounds one tool's run over one capture (-max-run): a tool
// slower than that on a workload is shown as such, not waited for.
var runTimeout = time.Minute

// keepCaptures, when set, is where the peers benchmark writes its captures
// and leaves them (-keep-captures).
var keepCaptures string

// peer is one tool the probe is measured against, run as its own process
// on a capture file. Every peer is measured the same way: wait4's rusage
// of the process (user+sys, all its threads and the children it reaped)
// and its ru_maxrss.
type peer struct {
	name string
	tool string // the executable; missing: the peer is skipped
	pkg  string // Debian package with it (scripts/install-deps.sh bench)
	note string // what its flows and packets mean
	run  func(ctx context.Context, capture, dir string) (sample, error)
}

var errTimeout = errors.New("timed out")

// measureProc runs name through the launcher (see launchFlag) in dir to
// completion; during, when set, runs while it lives and is handed stop,
// which kills it. Output goes to out.
func measureProc(ctx context.Context, dir string, out io.Writer, during func(stop func()) error, name string, args ...string) (sample, error) {
	self, err := os.Executable()
	if err != nil {
		return sample{}, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return sample{}, err
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, self, append([]string{launchFlag, name}, args...)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.Dir, cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = dir, out, out, []*os.File{pw}
	// The launcher (and through its own Pdeathsig the tool) dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pw.Close()
		return sample{}, err
	}
	pw.Close()
	stop := func() { _ = cmd.Process.Signal(syscall.SIGTERM) }
	var derr error
	if during != nil {
		derr = during(stop)
		stop()
	}
	var rep launched
	jerr := json.NewDecoder(pr).Decode(&rep)
	werr := cmd.Wait()
	wall := time.Since(start)
	switch {
	case ctx.Err() != nil:
		return sample{}, fmt.Errorf("%s: %w after %v", name, errTimeout, runTimeout)
	case derr != nil:
		return sample{}, derr
	case werr != nil:
		return sample{}, fmt.Errorf("launching %s: %w", name, werr)
	case jerr != nil:
		return sample{}, fmt.Errorf("launching %s: no rusage: %w", name, jerr)
	case rep.Exit != 0 && during == nil:
		return sample{}, fmt.Errorf("%s exited %d", name, rep.Exit)
	}
	return sample{cpu: time.Duration(rep.CPU), wall: wall, maxRSS: rep.MaxRSS, floor: rep.Floor}, nil
}

// runTool runs a tool that exits at the end of the capture, then parses
// what it printed or wrote.
func runTool(ctx context.Context, dir string, parse func(out []byte) (flows, packets int64, err error), name string, args ...string) (sample, error) {
	var out bytes.Buffer
	s, err := measureProc(ctx, dir, &out, nil, name, args...)
	if err != nil {
		return s, fmt.Errorf("%w: %.400s", err, out.Bytes())
	}
	if s.flows, s.packets, err = parse(out.Bytes()); err != nil {
		return s, fmt.Errorf("%s: %w: %.400s", name, err, out.Bytes())
	}
	return s, nil
}

// grab returns the integers the first submatches of re find in b.
func grab(b []byte, re *regexp.Regexp) ([]int64, error) {
	m := re.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("no %q in the output", re.String())
	}
	var v []int64
	for _, s := range m[1:] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return nil, err
		}
		v = append(v, n)
	}
	return v, nil
}

var (
	reSoftflowd = regexp.MustCompile(`(?s)Packets processed: (\d+).*Flows exported: (\d+)`)
	reNfdump    = regexp.MustCompile(`total flows: (\d+), .*total packets: (\d+)`)
	reNDPI      = regexp.MustCompile(`(?s)IP packets:\s+(\d+).*Unique flows:\s+(\d+)`)
	reTcpdump   = regexp.MustCompile(`(\d+) packets`)
	reRacount   = regexp.MustCompile(`sum\s+(\d+)\s+(\d+)`)
)

// peers lists every tool in the table's order; probe is the probe binary.
func peers(probe string) []peer {
	return []peer{
		{name: "probe", tool: probe, note: "flows in the table at the end (both directions one flow); packets accounted",
			run: func(ctx context.Context, c, d string) (sample, error) { return runProbe(ctx, probe, c, d) }},
		{name: "probe --no-dpi", tool: probe, note: "as probe",
			run: func(ctx context.Context, c, d string) (sample, error) { return runProbe(ctx, probe, c, d, "--no-dpi") }},
		{name: "softflowd", tool: "softflowd", pkg: "softflowd", note: "bidirectional flows exported (-m 1048576: no forced expiry); packets processed",
			run: func(ctx context.Context, c, d string) (sample, error) {
				return runTool(ctx, d, func(b []byte) (int64, int64, error) {
					v, err := grab(b, reSoftflowd)
					if err != nil {
						return 0, 0, err
					}
					return v[1], v[0], nil
				}, "softflowd", "-d", "-r", c, "-n", "127.0.0.1:9", "-v", "9", "-m", "1048576")
			}},
		{name: "argus", tool: "argus", pkg: "argus-server", note: "records written (bidirectional; a flow longer than 5 s gives several); packets in them",
			run: func(ctx context.Context, c, d string) (sample, error) {
				out := filepath.Join(d, "argus.out")
				os.Remove(out)
				s, err := runTool(ctx, d, func([]byte) (int64, int64, error) { return 0, 0, nil }, "argus", "-r", c, "-w", out)
				if err != nil {
					return s, err
				}
				b, err := exec.CommandContext(ctx, "racount", "-r", out).CombinedOutput()
				if err != nil {
					return s, fmt.Errorf("racount: %w: %s", err, b)
				}
				v, err := grab(b, reRacount)
				if err != nil {
					return s, fmt.Errorf("racount: %w: %s", err, b)
				}
				s.flows, s.packets = v[0], v[1]
				return s, nil
			}},
		{name: "nfpcapd", tool: "nfpcapd", pkg: "nfdump", note: "unidirectional flows (NetFlow-style: one per direction); packets in them",
			run: func(ctx context.Context, c, d string) (sample, error) {
				out := filepath.Join(d, "nfpcapd")
				os.RemoveAll(out)
				if err := os.Mkdir(out, 0o755); err != nil {
					return sample{}, err
				}
				s, err := runTool(ctx, d, func([]byte) (int64, int64, error) { return 0, 0, nil }, "nfpcapd", "-r", c, "-w", out)
				if err != nil {
					return s, err
				}
				b, err := exec.CommandContext(ctx, "nfdump", "-R", out, "-N", "-s", "proto").CombinedOutput()
				if err != nil {
					return s, fmt.Errorf("nfdump: %w: %.400s", err, b)
				}
				v, err := grab(b, reNfdump)
				if err != nil {
					return s, fmt.Errorf("nfdump: %w", err)
				}
				s.flows, s.packets = v[0], v[1]
				return s, nil
			}},
		{name: "pmacctd", tool: "pmacctd", pkg: "pmacct", note: "unidirectional 5-tuple aggregates; CPU, not wall (it paces a savefile)",
			run: runPmacctd},
		{name: "suricata flow-only", tool: "suricata", pkg: "suricata", note: "bidirectional flows in eve.json; detection off, built-in defaults (app-layer on)",
			run: func(ctx context.Context, c, d string) (sample, error) {
				conf := filepath.Join(d, "flow-only.yaml")
				y := "%YAML 1.1\n---\noutputs:\n  - eve-log:\n      enabled: yes\n      filetype: regular\n      filename: eve.json\n      types:\n        - flow\n"
				if err := os.WriteFile(conf, []byte(y), 0o644); err != nil {
					return sample{}, err
				}
				return runSuricata(ctx, c, d, "-c", conf, "--disable-detection")
			}},
		{name: "suricata default", tool: "suricata", pkg: "suricata", note: "bidirectional flows in eve.json; Debian's suricata.yaml and the rules it ships",
			run: func(ctx context.Context, c, d string) (sample, error) {
				rules := filepath.Join(d, "shipped.rules")
				if err := catRules(rules); err != nil {
					return sample{}, err
				}
				return runSuricata(ctx, c, d, "-S", rules)
			}},
		{name: "ndpiReader", tool: "ndpiReader", pkg: "libndpi-bin", note: "bidirectional flows (DPI on); IP packets",
			run: func(ctx context.Context, c, d string) (sample, error) {
				return runTool(ctx, d, func(b []byte) (int64, int64, error) {
					v, err := grab(b, reNDPI)
					if err != nil {
						return 0, 0, err
					}
					return v[1], v[0], nil
				}, "ndpiReader", "-i", c)
			}},
		{name: "tcpdump (read floor)", tool: "tcpdump", pkg: "tcpdump", note: "no flows; packets read (--count)",
			run: func(ctx context.Context, c, d string) (sample, error) {
				return runTool(ctx, d, func(b []byte) (int64, int64, error) {
					v, err := grab(b, reTcpdump)
					if err != nil {
						return 0, 0, err
					}
					return 0, v[0], nil
				}, "tcpdump", "-n", "-r", c, "--count")
			}},
	}
}

// runProbe starts the probe on the capture and ends it (kill -9) as soon
// as it says the file was read; its counts come from get/interface/data
// before that. Both runs of the slope pay the same start-up, the REST
// request and the kill.
func runProbe(ctx context.Context, probe, capture, dir string, extra ...string) (sample, error) {
	data, ready := filepath.Join(dir, "probe-data"), filepath.Join(dir, "probe-ready")
	os.RemoveAll(data)
	os.Remove(ready)
	port, err := freePort()
	if err != nil {
		return sample{}, err
	}
	args := append([]string{"-i", capture, "--disable-login", "--http-addr", "127.0.0.1", "-w", strconv.Itoa(port),
		"-d", data, "--ready-file", ready, "--goprobe-api", ""}, extra...)
	var out bytes.Buffer
	var flows, packets int64
	s, err := measureProc(ctx, dir, &out, func(func()) error {
		deadline := time.Now().Add(runTimeout)
		for {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("probe did not read %s in time: %.400s", capture, out.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		var err error
		flows, packets, err = probeCounts(port)
		return err
	}, probe, args...)
	if err != nil {
		return s, err
	}
	s.flows, s.packets = flows, packets
	return s, nil
}

func probeCounts(port int) (flows, packets int64, err error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/lua/rest/v1/get/interface/data.lua?ifid=0", port))
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var v struct {
		Rsp struct {
			NumFlows int64 `json:"num_flows"`
			Packets  int64 `json:"packets"`
		} `json:"rsp"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, 0, fmt.Errorf("get/interface/data: %w", err)
	}
	return v.Rsp.NumFlows, v.Rsp.Packets, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func runPmacctd(ctx context.Context, capture, dir string) (sample, error) {
	conf, out := filepath.Join(dir, "pmacctd.conf"), filepath.Join(dir, "pmacct.csv")
	os.Remove(out)
	cfg := fmt.Sprintf("daemonize: false\npcap_savefile: %s\naggregate: src_host, dst_host, src_port, dst_port, proto\nplugins: print\nprint_output_file: %s\nprint_output: csv\nplugin_buffer_size: 102400\nplugin_pipe_size: 10240000\n", capture, out)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return sample{}, err
	}
	s, err := runTool(ctx, dir, func([]byte) (int64, int64, error) { return 0, 0, nil }, "pmacctd", "-f", conf)
	if err != nil {
		return s, err
	}
	f, err := os.Open(out)
	if err != nil {
		return s, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return s, fmt.Errorf("pmacctd's csv: %w", err)
	}
	col := -1
	for i, rec := range recs {
		if i == 0 {
			for j, h := range rec {
				if h == "PACKETS" {
					col = j
				}
			}
			if col < 0 {
				return s, fmt.Errorf("pmacctd's csv has no PACKETS column: %v", rec)
			}
			continue
		}
		n, err := strconv.ParseInt(rec[col], 10, 64)
		if err != nil {
			return s, fmt.Errorf("pmacctd's csv: %w", err)
		}
		s.flows++
		s.packets += n
	}
	return s, nil
}

func runSuricata(ctx context.Context, capture, dir string, args ...string) (sample, error) {
	logs := filepath.Join(dir, "suricata")
	os.RemoveAll(logs)
	if err := os.Mkdir(logs, 0o755); err != nil {
		return sample{}, err
	}
	args = append([]string{"-r", capture, "-l", logs, "-k", "none"}, args...)
	s, err := runTool(ctx, dir, func([]byte) (int64, int64, error) { return 0, 0, nil }, "suricata", args...)
	if err != nil {
		return s, err
	}
	f, err := os.Open(filepath.Join(logs, "eve.json"))
	if err != nil {
		return s, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), []byte(`"event_type":"flow"`)) {
			continue
		}
		var ev struct {
			Flow struct {
				ToServer int64 `json:"pkts_toserver"`
				ToClient int64 `json:"pkts_toclient"`
			} `json:"flow"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return s, fmt.Errorf("suricata's eve.json: %w", err)
		}
		s.flows++
		s.packets += ev.Flow.ToServer + ev.Flow.ToClient
	}
	return s, sc.Err()
}

// catRules gathers the rule files Debian's suricata ships (protocol and
// decoder events) into one file for -S: the packaged suricata.yaml names
// suricata.rules, which only suricata-update writes.
func catRules(dst string) error {
	files, _ := filepath.Glob("/etc/suricata/rules/*.rules")
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		all = append(all, b...)
		all = append(all, '\n')
	}
	return os.WriteFile(dst, all, 0o644)
}

// available is the peers whose tool is installed, and a line for each
// that is not.
func available(all []peer) (have []peer, missing []string) {
	for _, p := range all {
		if _, err := exec.LookPath(p.tool); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + p.tool); err2 != nil {
				missing = append(missing, fmt.Sprintf("%s (%s: scripts/install-deps.sh bench)", p.name, p.pkg))
				continue
			}
		}
		have = append(have, p)
	}
	return have, missing
}
