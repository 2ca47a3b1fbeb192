package xdp

import (
	"net"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/probe-appliance/probe/dataplane/flow"
	"github.com/probe-appliance/probe/internal/testnet"
)

// BenchmarkNewFlowsSlowPath is BenchmarkNewFlows with a slow-path socket
// on queue 0, the queue of BPF_PROG_TEST_RUN's packets: a brand-new flow
// goes to the slow path (the test run returns the redirect without doing
// it), so its extra cost over a packet of an existing flow is the
// program's part of a scan or flood with the slow path open. The
// budget maps and credits see no reader: the socket gets credits enough
// for every run.
func BenchmarkNewFlowsSlowPath(b *testing.B) {
	const flows = 20_000
	d := load(b, 1<<15)
	pair := testnet.VethPairNamed(b, "dq")
	x, err := d.OpenXSK(pair.Capture, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer d.CloseXSK(x)
	benchCredits(x)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old := tcp4(b, "192.168.1.10", "93.184.216.34", 40000, 443, false, true, 0, 0)
	runAll := func(frames [][]byte) float64 {
		start := threadCPU(b)
		for _, f := range frames {
			if _, err := d.Program().Run(&ebpf.RunOptions{Data: f}); err != nil {
				b.Fatal(err)
			}
		}
		return float64((threadCPU(b) - start).Nanoseconds()) / float64(len(frames))
	}
	drainAll := func() {
		if _, err := d.Drain(func(*flow.Delta) {}); err != nil {
			b.Fatal(err)
		}
	}
	same := make([][]byte, flows)
	for i := range same {
		same[i] = append([]byte(nil), old...)
	}
	// The existing flow: past its slow-path budget.
	runAll(same[:8])
	next := 0
	newFrames := func() [][]byte {
		fresh := make([][]byte, flows)
		for j := range fresh {
			src := net.IPv4(10, 100+byte(next>>16), byte(next>>8), byte(next)).String()
			fresh[j] = tcp4(b, src, "192.0.2.7", uint16(1024+next%60000), 80, false, true, 0, 0)
			next++
		}
		return fresh
	}
	for i := 0; i < 10; i++ {
		runAll(newFrames())
		drainAll()
	}
	m := best{}
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			fresh := newFrames()
			drainAll()
			runAll(same[:1])
			existing := runAll(same)
			m.add("existing", existing)
			m.add("new-extra", runAll(fresh)-existing)
		}
	}
	b.ReportMetric(m["existing"], "existing-flow-cpu-ns/run")
	b.ReportMetric(m["new-extra"], "new-flow-to-slow-path-extra-ns/packet")
	b.ReportMetric(0, "ns/op")
}
