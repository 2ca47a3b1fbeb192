// Command bench prints the probe's end-to-end numbers next to baselines
// measured in the same run, because these machines are noisy and only
// ratios travel between runs:
//
//   - capture: read + decode + flow-table update of a pcap, in ns/packet,
//     against pmacctd (Debian's pmacct) aggregating the same file by 5-tuple.
//     pmacctd has a fixed start-up cost (it sleeps 2 s before reading a
//     savefile and paces its reading), so both sides' CPU (user+sys, never
//     wall) is measured on two file sizes and the per-packet cost is the
//     slope between them.
//   - rest: get/host/active requests/s over loopback with 10 000 hosts in
//     the table, against a plain fasthttp "hello" handler driven by the same
//     client.
//   - peers: the same captures (steady, churn, scan, a real mix made of
//     ntopng's test_02.pcap) through the probe's own process and through
//     softflowd, argus, nfpcapd, pmacctd, suricata, ndpiReader and tcpdump
//     (the read floor): whole-process CPU ns/packet as a slope between two
//     capture sizes, peak RSS, and the flows and packets each counts.
//     scripts/install-deps.sh bench installs the tools.
//   - veth: packets per second accounted on a veth pair by the XDP program
//     against the AF_PACKET path with the userspace decoder (root only).
//   - slowpath: the highest rate of new flows (every packet a new 5-tuple)
//     XDP mode with the AF_XDP slow path counts without losing a packet on a
//     veth, against AF_PACKET mode in the same run (root only).
//
// Usage: go run ./tools/bench [-what capture,rest,peers,slowpath] [-packets N] [-hosts N] [-duration D]
// [-tools probe,softflowd] [-captures churn,scan] [-probe-old BIN] [-keep DIR]
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == launchFlag {
		launchMain(os.Args[2:])
	}
	what := flag.String("what", "capture,rest,veth", "comma-separated: capture, rest, veth, peers, slowpath")
	probeBin := flag.String("probe", "", "peers: the probe binary (default: go build ./cmd/probe)")
	flag.DurationVar(&runTimeout, "max-run", runTimeout, "peers: longest run of one tool over one capture")
	mix := flag.String("mix", "../shared/conformance/ntopng-e2e/pcap/test_02.pcap", "peers: the real capture the mix is made of")
	vethPackets := flag.Int("veth-packets", 500000, "frames pushed into the veth pair per dataplane")
	packets := flag.Int("packets", 400000, "packets in the larger capture (the smaller has a quarter)")
	hosts := flag.Int("hosts", 10000, "hosts in the table for the REST benchmark")
	duration := flag.Duration("duration", 0, "length of each REST load run (default 3s)")
	conns := flag.Int("conns", 16, "concurrent REST connections")
	runs := flag.Int("runs", 3, "repetitions; the best run counts")
	spStep := flag.Duration("slowpath-step", time.Second, "slowpath: length of each offered rate")
	spModes := flag.String("slowpath-modes", "xdp+slowpath,afpacket", "slowpath: the modes to ramp: xdp+slowpath (the agent's default kernel maps of 65536 flows), xdp+slowpath/N (maps of N flows), afpacket")
	spMax := flag.Int("slowpath-max", 4000000, "slowpath: highest new flows/s offered")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the bench process here")
	var sel peerSelection
	flag.StringVar(&sel.tools, "tools", "", "peers: only these tools, comma-separated (as named in the table; the first must be a probe)")
	flag.StringVar(&sel.captures, "captures", "", "peers: only these captures, comma-separated (steady, churn, scan, mix)")
	flag.StringVar(&sel.oldProbe, "probe-old", "", "peers: a baseline probe binary, run beside the probe in the same rounds as \"probe (old)\"")
	flag.StringVar(&sel.keep, "keep", "", "peers: write the captures into this directory and keep them (e.g. to profile the probe on them)")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *duration == 0 {
		*duration = 3e9
	}
	failed := false
	for _, w := range strings.Split(*what, ",") {
		var err error
		switch strings.TrimSpace(w) {
		case "capture":
			err = benchCapture(*packets, *runs)
		case "rest":
			err = benchREST(*hosts, *conns, *duration, *runs)
		case "peers":
			err = benchPeers(*packets, *runs, *probeBin, *mix, sel)
		case "veth":
			err = benchVeth(*vethPackets)
		case "slowpath":
			err = benchSlowPath(*runs, *spStep, *spMax, strings.Split(*spModes, ","))
		case "":
		default:
			err = fmt.Errorf("unknown benchmark %q", w)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", w, err)
			failed = true
		}
	}
	if failed {
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}
