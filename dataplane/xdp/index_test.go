package xdp

import (
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/dataplane/flow"
)

// TestCrowdedIndexConcurrent runs the same flows on two CPUs at once
// against a flow index of one bucket (two entries), while a third
// goroutine drains over and over: every flow's first packet in each
// generation claims or updates an entry another CPU may be rewriting at
// the same moment. Every flow must come out with exactly the packets sent,
// none counted under another flow's key.
func TestCrowdedIndexConcurrent(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs to race") // not a fixture: the race needs hardware
	}
	d := loadOpts(t, Options{MaxFlows: 65536, indexBuckets: 1})
	const flows, passes = 64, 150
	frames := make([][]byte, flows)
	clients := make([]netip.Addr, flows)
	for i := range frames {
		clients[i] = netip.AddrFrom4([4]byte{10, 202, 0, byte(i + 1)})
		frames[i] = tcp4(t, clients[i].String(), "10.203.0.1", 6000, 443, false, true, 0, 0)
	}
	got := map[netip.Addr]uint64{}
	var mu sync.Mutex
	collect := func(x *flow.Delta) {
		mu.Lock()
		defer mu.Unlock()
		if x.B != netip.MustParseAddr("10.203.0.1") || x.APort != 6000 || x.BPort != 443 || x.Pkts[1] != 0 {
			t.Errorf("unexpected flow %+v", x)
			return
		}
		got[x.A] += x.Pkts[0]
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for cpu := 0; cpu < 2; cpu++ {
		wg.Add(1)
		go func(cpu int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var set unix.CPUSet
			set.Set(cpu)
			if err := unix.SchedSetaffinity(0, &set); err != nil {
				errs <- err
				return
			}
			// The two CPUs walk the flows in opposite orders, so both
			// claim entries for the same flows at about the same time.
			for p := 0; p < passes; p++ {
				for j := range frames {
					i := j
					if cpu == 1 {
						i = flows - 1 - j
					}
					if _, err := d.Program().Run(&ebpf.RunOptions{Data: frames[i]}); err != nil {
						errs <- err
						return
					}
				}
			}
		}(cpu)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.After(2 * time.Minute)
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-deadline:
			t.Fatal("senders still running after 2 minutes")
		default:
		}
		if _, err := d.Drain(collect); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Drain(collect); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, c := range clients {
		if got[c] != 2*passes {
			t.Errorf("flow of %v: %d packets, want %d", c, got[c], 2*passes)
		}
	}
	if len(got) != flows {
		t.Errorf("%d flows drained, want %d", len(got), flows)
	}
	if c, _ := d.Counters(); c[CntMapFull] != 0 {
		t.Errorf("%d packets found no slot", c[CntMapFull])
	}
}
