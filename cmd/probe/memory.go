package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"
)

// The probe's memory policy, the one place the garbage collector is tuned.
//
// Under churn (scans, floods, DNS) the probe makes and drops flows and
// hosts by the hundred thousand: with Go's default (GOGC=100, a collection
// each time the heap doubles) garbage collection took 14-18 % of its CPU.
// A collection costs in proportion to the live heap and happens once the
// heap grew by gcPercent of it, so collecting less often (a higher
// percentage) cuts that cost at the price of a larger peak heap. A memory
// limit bounds that price: near the limit the collector runs as often as
// it must (up to half the CPU) whatever the percentage, so a probe filling
// its tables on a small appliance does not run out of memory for garbage
// it could have collected. The limit is half the memory the probe may use
// (the machine's, or its cgroup's if lower): the rest is for the store's
// memory maps, the page cache and the kernel's flow maps, which the Go
// heap limit does not see. The environment's GOGC and GOMEMLIMIT, when
// set, win: they are how Go programs are tuned by hand.
const defaultGCPercent = 400

// memoryPolicy applies the flags' collector settings. gcPercent < 0 leaves
// the default percentage; limit "" is the automatic limit, "0" none.
func memoryPolicy(gcPercent int, limit string) (string, error) {
	pct, lim := "GOGC from the environment", "GOMEMLIMIT from the environment"
	if os.Getenv("GOGC") == "" && gcPercent >= 0 {
		debug.SetGCPercent(gcPercent)
		pct = fmt.Sprintf("gc percent %d", gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		n, err := memoryLimit(limit)
		if err != nil {
			return "", err
		}
		if n > 0 {
			debug.SetMemoryLimit(n)
			lim = "memory limit " + humanize.IBytes(uint64(n))
		} else {
			lim = "no memory limit"
		}
	}
	return pct + ", " + lim, nil
}

// memoryLimit is the heap limit a --memory-limit value asks for: bytes
// ("2GiB", "512MB"), "0" for none, "" for half the usable memory.
func memoryLimit(s string) (int64, error) {
	if s != "" {
		n, err := humanize.ParseBytes(s)
		if err != nil || n > math.MaxInt64 {
			return 0, fmt.Errorf("--memory-limit %q: a size such as 2GiB, or 0 for none", s)
		}
		return int64(n), nil
	}
	total := memTotal("/proc/meminfo")
	if c := cgroupLimit("/sys/fs/cgroup/memory.max"); c > 0 && (total == 0 || c < total) {
		total = c
	}
	return total / 2, nil
}

// memTotal is MemTotal of a /proc/meminfo file in bytes, 0 if unknown.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 || kb > math.MaxInt64/1024 {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// cgroupLimit is a cgroup v2 memory.max in bytes, 0 when there is none.
func cgroupLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0 // "max": no limit
	}
	return n
}
