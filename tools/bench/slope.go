package main

import (
	"fmt"
	"syscall"
	"time"
)

// sample is what one run of a tool over one capture cost and counted.
type sample struct {
	cpu     time.Duration // user+sys of the whole process (wait4's rusage)
	wall    time.Duration
	maxRSS  int64 // bytes, ru_maxrss
	floor   int64 // bytes: a maxRSS up to this only says "at most floor" (see launchFlag)
	flows   int64 // what the tool reports; definitions differ (see peer.note)
	packets int64
}

// fromRusage is the CPU and peak RSS wait4 reported for a child. Linux
// gives ru_maxrss in KiB.
func fromRusage(ru *syscall.Rusage) (cpu time.Duration, maxRSS int64) {
	cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, ru.Maxrss * 1024
}

// better keeps the cheaper of two samples of the same run (best of N):
// the lowest CPU wins, and peak RSS is the lowest seen too, since noise
// from other processes only ever adds.
func better(a, b sample, haveA bool) sample {
	if !haveA {
		return b
	}
	out := a
	if b.cpu < a.cpu {
		out = b
	}
	out.maxRSS = min(a.maxRSS, b.maxRSS)
	return out
}

// slopeNs is the CPU cost of one more packet: the difference between two
// runs over captures of nSmall and nLarge packets, divided by the packet
// difference, so start-up and shut-down costs, which both runs pay once,
// cancel.
func slopeNs(small, large sample, nSmall, nLarge int) (float64, error) {
	if nLarge <= nSmall {
		return 0, fmt.Errorf("larger capture has %d packets, not more than the smaller's %d", nLarge, nSmall)
	}
	if large.cpu < small.cpu {
		return 0, fmt.Errorf("larger capture cost less CPU (%v) than the smaller (%v): too noisy to tell", large.cpu, small.cpu)
	}
	return float64(large.cpu-small.cpu) / float64(nLarge-nSmall), nil
}

// rssMiB renders a peak RSS: a peak at or under the launcher's floor is
// only known to be at most the floor.
func rssMiB(s sample) string {
	if s.maxRSS <= s.floor+(1<<20) {
		return fmt.Sprintf("≤%.0f", float64(s.floor)/(1<<20))
	}
	return fmt.Sprintf("%.1f", float64(s.maxRSS)/(1<<20))
}
