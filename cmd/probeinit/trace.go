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
	stepCPUs    = "cpus"    // CPUs kept offline for the module loads online (maxcpus=)
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

// bootCPU says where the CPU time of the boot went so far: all CPUs busy
// and idle (/proc/stat), and this process's and the probe's own time
// (/proc/PID/stat), in seconds: "busy=… idle=… probeinit=… probe=…".
func bootCPU(probePid int) string {
	var b strings.Builder
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		if busy, idle, ok := statBusy(line); ok {
			fmt.Fprintf(&b, "busy=%.2f idle=%.2f", busy.Seconds(), idle.Seconds())
		}
	}
	for _, p := range []struct {
		name string
		pid  int
	}{{"probeinit", os.Getpid()}, {"probe", probePid}} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
		if err != nil {
			continue
		}
		if t, ok := procCPU(string(raw)); ok {
			fmt.Fprintf(&b, " %s=%.2f", p.name, t.Seconds())
		}
	}
	return strings.TrimSpace(b.String())
}

// tick is USER_HZ, the unit of /proc's CPU times on every Linux.
const tick = 10 * time.Millisecond

// statBusy reads /proc/stat's "cpu" line: idle is idle+iowait, busy the rest.
func statBusy(line string) (busy, idle time.Duration, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		switch i {
		case 3, 4: // idle, iowait
			idle += time.Duration(n) * tick
		case 8, 9: // guest, guest_nice: already in user and nice
		default:
			busy += time.Duration(n) * tick
		}
	}
	return busy, idle, true
}

// procCPU is utime+stime of a /proc/PID/stat line.
func procCPU(stat string) (time.Duration, bool) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * tick, true
}
