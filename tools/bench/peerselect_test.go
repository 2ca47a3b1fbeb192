package main

import (
	"slices"
	"testing"
)

func TestPeerSelection(t *testing.T) {
	all := []peer{{name: "probe"}, {name: "probe --no-dpi"}, {name: "softflowd"}, {name: "nfpcapd"}}
	for _, tc := range []struct {
		name    string
		sel     peerSelection
		want    []string
		wantErr bool
	}{
		{"no filter", peerSelection{}, []string{"probe", "probe --no-dpi", "softflowd", "nfpcapd"}, false},
		{"some tools, table order kept", peerSelection{tools: "nfpcapd, probe"}, []string{"probe", "nfpcapd"}, false},
		{"baseline follows the probes", peerSelection{oldProbe: "/old"}, []string{"probe", "probe --no-dpi", "probe (old)", "probe --no-dpi (old)", "softflowd", "nfpcapd"}, false},
		{"baseline of the chosen probes only", peerSelection{tools: "probe --no-dpi,softflowd", oldProbe: "/old"}, []string{"probe --no-dpi", "probe --no-dpi (old)", "softflowd"}, false},
		{"unknown tool", peerSelection{tools: "probe,argus"}, nil, true},
		{"no probe first", peerSelection{tools: "softflowd"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := tc.sel.peers(all)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.name)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("peers = %q, want %q", got, tc.want)
			}
		})
	}
	ws := []workload{{name: "steady"}, {name: "churn"}, {name: "scan"}}
	got, err := peerSelection{captures: "scan,churn"}.workloads(ws)
	if err != nil || len(got) != 2 || got[0].name != "churn" || got[1].name != "scan" {
		t.Fatalf("workloads = %v, %v; want churn, scan", got, err)
	}
	if _, err := (peerSelection{captures: "flood"}).workloads(ws); err == nil {
		t.Fatal("an unknown capture was accepted")
	}
}
