package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// peerSelection narrows a peers run to what a comparison needs: some tools
// (-tools), some captures (-captures), and an older probe binary run as
// two more peers beside the new one (-probe-old), interleaved with it in
// the same rounds, so a change is measured against its baseline in one run.
type peerSelection struct {
	tools    string // comma-separated peer names; empty: all
	captures string // comma-separated workload names; empty: all
	oldProbe string // baseline probe binary; empty: none
	keep     string // directory the captures are written to and left in (profiling them later); empty: a temporary one
}

// names splits a comma-separated list; nil for an empty one.
func names(list string) []string {
	var out []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// peers applies the selection to all: the baseline probe's rows follow the
// probe's (the ratios stay against the new probe, the first row), and a
// tool name that matches no peer is an error rather than a silent gap.
func (s peerSelection) peers(all []peer) ([]peer, error) {
	if s.oldProbe != "" {
		old := s.oldProbe
		base := []peer{
			{name: "probe (old)", tool: old, note: "as probe, built from the baseline",
				run: func(ctx context.Context, c, d string) (sample, error) { return runProbe(ctx, old, c, d) }},
			{name: "probe --no-dpi (old)", tool: old, note: "as probe",
				run: func(ctx context.Context, c, d string) (sample, error) { return runProbe(ctx, old, c, d, "--no-dpi") }},
		}
		all = slices.Insert(slices.Clone(all), min(2, len(all)), base...)
	}
	want := names(s.tools)
	if len(want) == 0 {
		return all, nil
	}
	var out []peer
	for _, p := range all {
		if slices.Contains(want, p.name) || s.oldProbe != "" && strings.HasPrefix(p.name, "probe") && strings.HasSuffix(p.name, "(old)") && slices.Contains(want, strings.TrimSuffix(p.name, " (old)")) {
			out = append(out, p)
		}
	}
	for _, n := range want {
		if !slices.ContainsFunc(all, func(p peer) bool { return p.name == n }) {
			return nil, fmt.Errorf("-tools: no peer named %q", n)
		}
	}
	if len(out) == 0 || !strings.HasPrefix(out[0].name, "probe") {
		return nil, fmt.Errorf("-tools must include probe or probe --no-dpi: ratios are against the first")
	}
	return out, nil
}

// workloads keeps the captures the selection names.
func (s peerSelection) workloads(ws []workload) ([]workload, error) {
	want := names(s.captures)
	if len(want) == 0 {
		return ws, nil
	}
	for _, n := range want {
		if !slices.ContainsFunc(ws, func(w workload) bool { return w.name == n }) {
			return nil, fmt.Errorf("-captures: no capture named %q", n)
		}
	}
	return slices.DeleteFunc(ws, func(w workload) bool { return !slices.Contains(want, w.name) }), nil
}
