package main

import (
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// startProfiles is the hidden --cpuprofile/--memprofile debugging aid: it
// profiles from start until the ready file appears (the capture files were
// read: what the peers benchmark measures) or the probe stops, whichever
// comes first. The returned stop is safe to call more than once.
func startProfiles(cpu, mem, ready string) (stop func()) {
	if cpu == "" && mem == "" {
		return func() {}
	}
	var cf *os.File
	if cpu != "" {
		var err error
		if cf, err = os.Create(cpu); err == nil && pprof.StartCPUProfile(cf) != nil {
			cf.Close()
			cf = nil
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for ready != "" {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			select {
			case <-done:
				ready = ""
			case <-time.After(5 * time.Millisecond):
			}
		}
		if cf != nil {
			pprof.StopCPUProfile()
			cf.Close()
		}
		if mem != "" {
			if f, err := os.Create(mem); err == nil {
				runtime.GC()
				_ = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}
	}()
	var stopped bool
	return func() {
		if !stopped {
			stopped = true
			close(done)
		}
		<-finished
	}
}
