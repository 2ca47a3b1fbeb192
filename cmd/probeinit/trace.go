package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bootTrace is when each boot step ended, on the kernel's clock (boot time,
// the clock of printk and /proc/uptime): the console line "boot trace" that
// the boot benchmark (firmware/boottest) reads.
type bootTrace struct {
	mu    sync.Mutex
	steps []traceStep
}

type traceStep struct {
	name string
	at   time.Duration
}

// Step names, in the order a boot passes them (some run in parallel).
const (
	stepKernel  = "kernel"  // the kernel ran /init
	stepInit    = "init"    // probeinit started
	stepModules = "modules" // the board's modules loaded (and their devices probed)
	stepNICs    = "nics"    // Ethernet ports named by device path
	stepDisk    = "disk"    // the data partition mounted (journal replayed)
	stepTLS     = "tls"     // the REST certificate ready
	stepProbe   = "probe"   // the probe started
	stepReady   = "ready"   // REST accepts connections
)

func bootTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

func (t *bootTrace) mark(name string) { t.markAt(name, bootTime()) }

func (t *bootTrace) markAt(name string, at time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, traceStep{name, at})
}

// String is "name=seconds ..." in the order the steps were marked.
func (t *bootTrace) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for i, s := range t.steps {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%.3f", s.name, s.at.Seconds())
	}
	return b.String()
}

// kernelInitTime is when the kernel ran the init process, from the kernel
// log (/dev/kmsg reads every record regardless of the console's level).
func kernelInitTime() (time.Duration, error) {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return findKmsg(f, "Run /init as init process")
}

// findKmsg scans /dev/kmsg records ("prio,seq,usec,flags;message", one per
// read) for the first message starting with prefix, and returns its time.
func findKmsg(r io.Reader, prefix string) (time.Duration, error) {
	br := bufio.NewReaderSize(r, 8192)
	for {
		line, err := br.ReadString('\n')
		if hdr, msg, ok := strings.Cut(line, ";"); ok && strings.HasPrefix(msg, prefix) {
			f := strings.Split(hdr, ",")
			if len(f) >= 3 {
				us, perr := strconv.ParseInt(f[2], 10, 64)
				if perr == nil {
					return time.Duration(us) * time.Microsecond, nil
				}
			}
		}
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || err == io.EOF {
				return 0, fmt.Errorf("kernel log: no %q", prefix)
			}
			return 0, fmt.Errorf("kernel log: %w", err)
		}
	}
}
