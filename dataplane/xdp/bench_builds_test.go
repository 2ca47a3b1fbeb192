package xdp

import (
	"math/bits"
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/probe-appliance/probe/bpf"
)

// build is another build of the program (an older commit's
// bpf/flow_bpfel.o, or a cut-down one), loaded next to the current one
// so that a benchmark compares them in the same run.
type build struct {
	name string
	coll *ebpf.Collection
}

// otherBuilds loads the builds PROBE_XDP_BUILDS names, as
// "name=path.o,name=path.o". Only the program runs (BPF_PROG_TEST_RUN): its
// maps are created with the sizes Load gives them, whatever their value
// layout, and nothing maps or drains them.
func otherBuilds(b *testing.B, maxFlows int) []build {
	b.Helper()
	env := os.Getenv("PROBE_XDP_BUILDS")
	if env == "" {
		return nil
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		b.Fatal(err)
	}
	var out []build
	for _, item := range strings.Split(env, ",") {
		name, path, ok := strings.Cut(item, "=")
		if !ok {
			b.Fatalf("PROBE_XDP_BUILDS: %q is not name=path.o", item)
		}
		spec, err := ebpf.LoadCollectionSpec(path)
		if err != nil {
			b.Fatalf("build %s: %v", name, err)
		}
		buckets := 1 << bits.Len(uint(maxFlows-1))
		for n, ms := range spec.Maps {
			switch {
			case strings.HasPrefix(n, "index_"):
				ms.MaxEntries = uint32(buckets)
			case strings.HasPrefix(n, "vals_"):
				ms.MaxEntries = uint32(maxFlows * ncpu)
			case strings.HasPrefix(n, "cache_"):
				ms.MaxEntries *= uint32(ncpu)
			case strings.HasPrefix(n, "flows_"):
				ms.MaxEntries = uint32(2 * maxFlows)
			case strings.HasPrefix(n, "keys_"), strings.HasPrefix(n, "budget_"):
				ms.MaxEntries = uint32(maxFlows)
			}
		}
		for n, v := range map[string]uint32{bpf.FlowVarNcpus: uint32(ncpu), bpf.FlowVarMaxFlows: uint32(maxFlows), bpf.FlowVarIndexMask: uint32(buckets - 1)} {
			if vs := spec.Variables[n]; vs != nil {
				if err := vs.Set(v); err != nil {
					b.Fatalf("build %s: setting %s: %v", name, n, err)
				}
			}
		}
		coll, err := ebpf.NewCollection(spec)
		if err != nil {
			b.Fatalf("build %s: %v", name, err)
		}
		b.Cleanup(func() { coll.Close() })
		if coll.Programs["xdp_flow"] == nil {
			b.Fatalf("build %s: no xdp_flow program", name)
		}
		out = append(out, build{name: name, coll: coll})
	}
	return out
}
