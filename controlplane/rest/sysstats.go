package rest

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sysSampler reads the system figures of get/interface/data from /proc.
// CPU states are percentages of the time between two samples, as ntopng's
// are; the first sample is relative to boot.
type sysSampler struct {
	mu   sync.Mutex
	prev []uint64

	last     map[string]any // the last sample, reused for sampleEvery
	lastTime time.Time
}

// sampleEvery bounds how often /proc is read: dashboards poll
// get/interface/data from many tabs, and ntopng refreshes these figures on
// its own housekeeping period too.
const sampleEvery = time.Second

func newSysSampler() *sysSampler { return &sysSampler{} }

var cpuStateNames = []string{"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"}

func (s *sysSampler) sample() map[string]any {
	s.mu.Lock()
	if s.last != nil && time.Since(s.lastTime) < sampleEvery {
		out := s.last
		s.mu.Unlock()
		return out
	}
	s.mu.Unlock()
	out := s.read()
	s.mu.Lock()
	s.last, s.lastTime = out, time.Now()
	s.mu.Unlock()
	return out
}

func (s *sysSampler) read() map[string]any {
	out := map[string]any{
		"alerts_queries":      0,
		"dropped_alerts":      0,
		"written_alerts":      0,
		"alerts_stats":        map[string]any{"alert_queues": map[string]any{"internal_alerts_queue": map[string]any{"pct_not_enqueued": 0}}},
		"cpu_load":            Num(loadAvg()),
		"cpu_states":          s.cpuStates(),
		"mem_ntopng_resident": procStatusKB("VmRSS:"),
		"mem_ntopng_virtual":  procStatusKB("VmSize:"),
	}
	mi := memInfo()
	out["mem_total"] = mi["MemTotal"]
	out["mem_free"] = mi["MemFree"]
	out["mem_buffers"] = mi["Buffers"]
	out["mem_cached"] = mi["Cached"]
	out["mem_sreclaimable"] = mi["SReclaimable"]
	out["mem_shmem"] = mi["Shmem"]
	used := int64(mi["MemTotal"]) - int64(mi["MemFree"]) - int64(mi["Buffers"]) - int64(mi["Cached"]) - int64(mi["SReclaimable"]) + int64(mi["Shmem"])
	if used < 0 {
		used = 0
	}
	out["mem_used"] = used
	return out
}

func (s *sysSampler) cpuStates() map[string]any {
	cur := readCPUTimes()
	s.mu.Lock()
	prev := s.prev
	s.prev = cur
	s.mu.Unlock()
	out := map[string]any{}
	var total float64
	delta := make([]float64, len(cpuStateNames))
	for i := range cpuStateNames {
		var c, p uint64
		if i < len(cur) {
			c = cur[i]
		}
		if i < len(prev) {
			p = prev[i]
		}
		if c >= p {
			delta[i] = float64(c - p)
		}
		total += delta[i]
	}
	for i, n := range cpuStateNames {
		v := 0.0
		if total > 0 {
			v = delta[i] * 100 / total
		}
		out[n] = Num(v)
	}
	return out
}

func readCPUTimes() []uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 2 || f[0] != "cpu" {
		return nil
	}
	out := make([]uint64, 0, len(f)-1)
	for _, x := range f[1:] {
		v, _ := strconv.ParseUint(x, 10, 64)
		out = append(out, v)
	}
	return out
}

func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func memInfo() map[string]uint64 {
	out := map[string]uint64{}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(rest)
		if len(fs) > 0 {
			v, _ := strconv.ParseUint(fs[0], 10, 64)
			out[k] = v
		}
	}
	return out
}

func procStatusKB(key string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			fs := strings.Fields(line[len(key):])
			if len(fs) > 0 {
				v, _ := strconv.ParseUint(fs[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
