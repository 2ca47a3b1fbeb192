// Command gencap writes a small deterministic Ethernet capture for demos and
// tests: a 192.168.1.0/24 LAN whose clients resolve ~20 remote sites over DNS
// and fetch from them over HTTP (Host header) and TLS (SNI), plus NTP, one
// ICMP echo, one IPv6 TCP flow, one 802.1Q (VLAN 10) flow and one ARP request.
// The same flags always give a byte-identical file.
//
// Usage:
//
//	gencap -o out.pcap [-seed N] [-hosts N] [-flows N] [-summary]
//
// -summary prints, as JSON, the ground truth gathered while writing: totals,
// every flow with per-direction packets/bytes, every IP host with sent and
// received counters, and the DNS name → address map. Bytes are Ethernet frame
// lengths as captured (no FCS).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gencap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output pcap file (required)")
	seed := fs.Uint64("seed", 1, "random seed: same seed and flags, same bytes")
	hosts := fs.Int("hosts", 5, "LAN clients (192.168.1.10 upwards)")
	flows := fs.Int("flows", 24, "web sessions (DNS lookup + HTTP or TLS connection each)")
	printSummary := fs.Bool("summary", false, "print the ground truth as JSON on stdout")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gencap -o out.pcap [-seed N] [-hosts N] [-flows N] [-summary]")
		return 2
	}
	cfg := config{seed: *seed, localHosts: *hosts, sessions: *flows}
	if err := cfg.validate(); err != nil {
		fmt.Fprintln(stderr, "gencap:", err)
		return 2
	}
	sum, err := writeCapture(*out, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "gencap:", err)
		return 1
	}
	if *printSummary {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			fmt.Fprintln(stderr, "gencap: print summary:", err)
			return 1
		}
	}
	return 0
}

// writeCapture generates into a temporary file renamed into place, so a
// failed run never leaves a truncated capture where make expects a good one.
func writeCapture(path string, cfg config) (summary, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gencap-*.pcap")
	if err != nil {
		return summary{}, fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bw := bufio.NewWriter(tmp)
	sum, err := generate(cfg, bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return summary{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return summary{}, fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return summary{}, fmt.Errorf("write %s: %w", path, err)
	}
	return sum, nil
}
