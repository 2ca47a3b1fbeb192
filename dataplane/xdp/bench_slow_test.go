package xdp

import (
	"runtime"
	"testing"

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
	nf := newFlowRig(b, d)
	// The existing flow: past its slow-path budget.
	nf.run(nf.same[:8])
	nf.warm()
	m := best{}
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			fresh := nf.newFrames()
			nf.drain()
			nf.run(nf.same[:1])
			existing := nf.run(nf.same)
			m.add("existing", existing)
			m.add("new-extra", nf.run(fresh)-existing)
		}
	}
	b.ReportMetric(m["existing"], "existing-flow-cpu-ns/run")
	b.ReportMetric(m["new-extra"], "new-flow-to-slow-path-extra-ns/packet")
	b.ReportMetric(0, "ns/op")
}
