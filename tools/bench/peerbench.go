package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// workload is one capture at two sizes: the slope between them is the
// per-packet cost.
type workload struct {
	name         string
	desc         string
	small, large string
	nSmall       int
	nLarge       int
}

// mixPackets is test_02.pcap's packet count: the real mix is made of
// whole copies of it.
const mixPackets = 5000

// makeWorkloads writes the captures into dir: steady, churn, scan from
// the generator, the real mix from ntopng's test_02.pcap (mixSrc).
func makeWorkloads(dir string, nPackets int, mixSrc string) ([]workload, error) {
	nSmall := nPackets / 4
	var ws []workload
	for _, g := range []struct {
		name   string
		sh     shape
		nFlows int
	}{{"steady", steady, 2000}, {"churn", churn, 0}, {"scan", scan, 0}} {
		w := workload{name: g.name, small: filepath.Join(dir, g.name+"-small.pcap"), large: filepath.Join(dir, g.name+"-large.pcap"), nSmall: nSmall, nLarge: nPackets}
		fs, err := writeSynthetic(w.small, g.sh, nSmall, g.nFlows)
		if err != nil {
			return nil, err
		}
		fl, err := writeSynthetic(w.large, g.sh, nPackets, g.nFlows)
		if err != nil {
			return nil, err
		}
		switch g.sh {
		case steady:
			w.desc = fmt.Sprintf("%d long flows", fl)
		case churn:
			w.desc = fmt.Sprintf("%d→%d flows of %d packets", fs, fl, churnPerFlow)
		case scan:
			w.desc = fmt.Sprintf("SYN scan, %d→%d SYN+RST flows", fs, fl)
		}
		ws = append(ws, w)
	}
	if mixSrc == "" {
		return ws, nil
	}
	cs, cl := max(1, nSmall/mixPackets), max(2, nPackets/mixPackets)
	w := workload{name: "mix", desc: fmt.Sprintf("test_02.pcap ×%d→×%d, addresses shifted per copy", cs, cl),
		small: filepath.Join(dir, "mix-small.pcap"), large: filepath.Join(dir, "mix-large.pcap")}
	var err error
	if w.nSmall, err = writeMix(w.small, mixSrc, cs); err != nil {
		return nil, err
	}
	if w.nLarge, err = writeMix(w.large, mixSrc, cl); err != nil {
		return nil, err
	}
	return append(ws, w), nil
}

// result is the best small and large sample of one peer on one workload.
type result struct {
	small, large sample
	haveS, haveL bool
	err          error
}

// benchPeers runs every installed peer over every workload, rounds times,
// interleaved (round, workload, peer, size), so load from elsewhere on the
// machine falls on all of them alike; the best of the rounds counts.
func benchPeers(nPackets, rounds int, probe, mixSrc string, sel peerSelection) error {
	// Debian puts several of the peers in sbin.
	os.Setenv("PATH", os.Getenv("PATH")+":/usr/sbin:/sbin")
	dir, err := os.MkdirTemp("", "probe-bench-peers")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if probe == "" {
		probe = filepath.Join(dir, "probe")
		if b, err := exec.Command("go", "build", "-o", probe, "./cmd/probe").CombinedOutput(); err != nil {
			return fmt.Errorf("building the probe: %v: %s", err, b)
		}
	}
	if _, err := os.Stat(mixSrc); err != nil {
		fmt.Printf("real mix left out: %v\n", err)
		mixSrc = ""
	}
	if sel.captures != "" && !slices.Contains(names(sel.captures), "mix") {
		mixSrc = ""
	}
	capDir := dir
	if sel.keep != "" {
		if err := os.MkdirAll(sel.keep, 0o755); err != nil {
			return err
		}
		capDir = sel.keep
	}
	ws, err := makeWorkloads(capDir, nPackets, mixSrc)
	if err != nil {
		return err
	}
	if ws, err = sel.workloads(ws); err != nil {
		return err
	}
	all, err := sel.peers(peers(probe))
	if err != nil {
		return err
	}
	ps, missing := available(all)
	for _, m := range missing {
		fmt.Printf("not installed, left out: %s\n", m)
	}
	res := make([][]result, len(ws))
	for i := range res {
		res[i] = make([]result, len(ps))
	}
	scratch := filepath.Join(dir, "run")
	for r := 0; r < rounds; r++ {
		for wi, w := range ws {
			for pi, p := range ps {
				rr := &res[wi][pi]
				if rr.err != nil {
					continue
				}
				for _, size := range []struct {
					path string
					best *sample
					have *bool
				}{{w.small, &rr.small, &rr.haveS}, {w.large, &rr.large, &rr.haveL}} {
					os.RemoveAll(scratch)
					if err := os.Mkdir(scratch, 0o755); err != nil {
						return err
					}
					ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
					s, err := p.run(ctx, size.path, scratch)
					cancel()
					if err != nil {
						rr.err = err
						fmt.Fprintf(os.Stderr, "%s on %s: %v\n", p.name, w.name, err)
						break
					}
					*size.best = better(*size.best, s, *size.have)
					*size.have = true
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done %s\n", r+1, rounds, time.Now().UTC().Format(time.TimeOnly))
	}
	printPeers(ws, ps, res, rounds)
	return nil
}

func printPeers(ws []workload, ps []peer, res [][]result, rounds int) {
	host, _ := os.Hostname()
	fmt.Printf("peers: CPU ns/packet = whole-process user+sys (wait4 rusage), slope between the two capture sizes; best of %d interleaved rounds; %s, %s\n\n",
		rounds, time.Now().UTC().Format("2006-01-02"), host)
	// The summary table: captures down, tools across.
	hdr := []string{"capture"}
	for _, p := range ps {
		hdr = append(hdr, p.name)
	}
	fmt.Println("| " + strings.Join(hdr, " | ") + " |")
	fmt.Println("|" + strings.Repeat("---|", len(hdr)))
	for wi, w := range ws {
		row := []string{fmt.Sprintf("%s (%s)", w.name, w.desc)}
		for pi := range ps {
			row = append(row, cell(res[wi][pi], w))
		}
		fmt.Println("| " + strings.Join(row, " | ") + " |")
	}
	fmt.Println("\n\\* the tool accounted fewer packets than the larger capture holds (its row below says how many)")
	// Per capture: ratio to the probe, peak RSS and what each counted on
	// the larger file.
	for wi, w := range ws {
		fmt.Printf("\n%s: %s; %d and %d packets\n", w.name, w.desc, w.nSmall, w.nLarge)
		fmt.Printf("  %-22s %10s %9s %10s %10s %10s\n", "tool", "ns/packet", "×probe", "peak MiB", "flows", "packets")
		base := -1.0
		if ns, err := slopeNs(res[wi][0].small, res[wi][0].large, w.nSmall, w.nLarge); err == nil && res[wi][0].err == nil {
			base = ns
		}
		for pi, p := range ps {
			r := res[wi][pi]
			if r.err != nil || !r.haveL {
				fmt.Printf("  %-22s failed: %v\n", p.name, r.err)
				continue
			}
			ns, err := slopeNs(r.small, r.large, w.nSmall, w.nLarge)
			ratio := "-"
			if err == nil && base > 0 {
				ratio = fmt.Sprintf("%.2f", ns/base)
			}
			nsS := fmt.Sprintf("%.0f", ns)
			if err != nil {
				nsS = "noisy"
			}
			fmt.Printf("  %-22s %10s %9s %10s %10d %10d\n", p.name, nsS, ratio, rssMiB(r.large), r.large.flows, r.large.packets)
		}
	}
	fmt.Println("\nflows and packets, as each tool defines them:")
	for _, p := range ps {
		fmt.Printf("  %-22s %s\n", p.name, p.note)
	}
}

func cell(r result, w workload) string {
	if errors.Is(r.err, errTimeout) {
		return fmt.Sprintf("> %v", runTimeout)
	}
	if r.err != nil || !r.haveL || !r.haveS {
		return "failed"
	}
	ns, err := slopeNs(r.small, r.large, w.nSmall, w.nLarge)
	if err != nil {
		return "noisy"
	}
	if r.large.packets < int64(w.nLarge) {
		// It lost packets: its cost is for less work than the others'.
		return fmt.Sprintf("%.0f*", ns)
	}
	return fmt.Sprintf("%.0f", ns)
}
