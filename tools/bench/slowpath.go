package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
	"github.com/probe-appliance/probe/dataplane/xdp"
)

// benchSlowPath measures the new flows per second the probe counts without
// losing a packet when every packet opens a new flow (a scan, a flood), in
// XDP mode with the AF_XDP slow path (the first packets of every new flow
// go to userspace) against AF_PACKET mode on the same veth in the same run.
//
// The generator (flowGenerator) sends from AF_PACKET TX rings on the peer
// veth, one thread per CPU, a new 5-tuple in every frame. The veth
// gets one queue per CPU and puts each frame on the queue its transmit
// queue hash picked: the load spreads over queues and cores, one slow-path
// socket and reader per queue.
//
// Each mode runs a ramp of offered rates, ×1.4 per step, each step with a
// fresh sink and flow table, the modes interleaved at every rate. A step
// is lossless when the table counted exactly what the generator sent, the
// probe's drop counter did not move, the generator kept 90 % of the rate
// and the count caught up within half a step (not living off its buffers);
// a step gets three attempts, and a mode's ramp ends at its first failed
// step. Each step also prints the CPU it cost per new flow (process plus
// ksoftirqd), which is steadier than the rates on a shared machine.
func benchSlowPath(rounds int, step time.Duration, maxRate int, modes []string) error {
	ncpu := runtime.NumCPU()
	var id [2]byte
	rand.Read(id[:])
	capIf, injIf := "spc"+hex.EncodeToString(id[:]), "spi"+hex.EncodeToString(id[:])
	q := strconv.Itoa(ncpu)
	if out, err := exec.Command("ip", "link", "add", capIf, "numtxqueues", q, "numrxqueues", q, "type", "veth",
		"peer", "name", injIf, "numtxqueues", q, "numrxqueues", q).CombinedOutput(); err != nil {
		return fmt.Errorf("veth pair (needs root): %v: %s", err, out)
	}
	defer exec.Command("ip", "link", "del", capIf).Run()
	for _, ifn := range []string{capIf, injIf} {
		os.WriteFile("/proc/sys/net/ipv6/conf/"+ifn+"/disable_ipv6", []byte("1"), 0o644)
		if out, err := exec.Command("ip", "link", "set", ifn, "up").CombinedOutput(); err != nil {
			return fmt.Errorf("link up: %v: %s", err, out)
		}
	}
	// Without an XDP program a veth only takes XDP_TX frames in NAPI mode,
	// which GRO turns on (UDP datagrams of different ports never merge).
	if out, err := exec.Command("ethtool", "-K", capIf, "gro", "on").CombinedOutput(); err != nil {
		return fmt.Errorf("ethtool -K %s gro on: %v %s", capIf, err, out)
	}
	gen, err := newFlowGenerator(injIf, ncpu)
	if err != nil {
		return err
	}
	defer gen.Close()
	fmt.Printf("slowpath: every packet a new UDP 5-tuple (60-byte frames), %d CPUs, %d RX queues on %s; generator: AF_PACKET TX rings (PACKET_MMAP), one thread per CPU; steps of %v, rates ×1.4 from 10k/s\n",
		ncpu, ncpu, capIf, step)

	for _, m := range modes {
		sink, err := openSink(m, capIf)
		if err != nil {
			return err
		}
		fmt.Printf("  %s: %s\n", m, sink.describe())
		sink.close()
	}
	best := map[string][]int{}
	cpus := map[int]map[string][]float64{} // rate → mode → CPU µs per new flow of its lossless steps
	for r := 0; r < rounds; r++ {
		fmt.Printf("  round %d\n", r+1)
		top := map[string]int{}
		alive := map[string]bool{}
		for _, m := range modes {
			alive[m] = true
		}
		// Interleaved: each rate runs in both modes (A B A B ...), so a
		// change of load on the machine hits both.
		for rate := 10000; rate <= maxRate && anyAlive(alive); rate = rate * 14 / 10 {
			for _, mode := range modes {
				if !alive[mode] {
					continue
				}
				ok, cpu, err := rampStep(gen, mode, capIf, injIf, rate, step)
				if err != nil {
					return err
				}
				if ok {
					top[mode] = rate
					if cpus[rate] == nil {
						cpus[rate] = map[string][]float64{}
					}
					cpus[rate][mode] = append(cpus[rate][mode], cpu)
				} else {
					alive[mode] = false
				}
			}
		}
		for _, m := range modes {
			best[m] = append(best[m], top[m])
		}
	}
	fmt.Println("  highest lossless new flows/s per round (best; ratio of bests to afpacket, higher is better):")
	af := maxOf(best["afpacket"])
	for _, m := range modes {
		fmt.Printf("    %-16s %v (best %d", m, best[m], maxOf(best[m]))
		if m != "afpacket" && af > 0 {
			fmt.Printf("; %.2f× afpacket", float64(maxOf(best[m]))/float64(af))
		}
		fmt.Println(")")
	}
	printCPURatios(cpus, modes)
	return nil
}

// printCPURatios prints, for every mode but afpacket, the median CPU per
// new flow of its lossless steps over afpacket's at each rate both were
// lossless at, and their geometric mean from 25k/s up (below, fixed
// costs per wakeup dominate): steadier than the highest lossless rate,
// which the generator's share of the two CPUs decides as much as the probe.
func printCPURatios(cpus map[int]map[string][]float64, modes []string) {
	rates := make([]int, 0, len(cpus))
	for r := range cpus {
		rates = append(rates, r)
	}
	sort.Ints(rates)
	for _, m := range modes {
		if m == "afpacket" {
			continue
		}
		fmt.Printf("  CPU per new flow, %s over afpacket (medians of lossless steps, µs):", m)
		logSum, n := 0.0, 0
		for _, r := range rates {
			a, b := cpus[r][m], cpus[r]["afpacket"]
			if len(a) == 0 || len(b) == 0 {
				continue
			}
			x, y := median(a), median(b)
			fmt.Printf(" %d/s %.1f/%.1f=%.2f", r, x, y, x/y)
			if r >= 25000 {
				logSum += math.Log(x / y)
				n++
			}
		}
		if n > 0 {
			fmt.Printf("; geometric mean from 25k/s: %.2f× afpacket", math.Exp(logSum/float64(n)))
		}
		fmt.Println()
	}
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rampStep runs one rate in one mode with a fresh sink, up to three
// attempts (the machine is shared: a reader or the generator can lose its
// CPU for a while); it says whether one attempt was lossless, and the CPU
// per new flow (µs) of that attempt.
func rampStep(gen *flowGenerator, mode, capIf, injIf string, rate int, step time.Duration) (bool, float64, error) {
	for attempt := 1; attempt <= 3; attempt++ {
		sink, err := openSink(mode, capIf)
		if err != nil {
			return false, 0, err
		}
		res, err := runStep(gen, sink, capIf, injIf, rate, step)
		sink.close()
		if err != nil {
			return false, 0, err
		}
		slow := ""
		if mode != "afpacket" {
			slow = fmt.Sprintf(", kernel map full %d, slow path took %.0f%% %v (%d accounted in the kernel for want of a credit)",
				res.mapFull, 100*float64(res.slowPkts)/float64(max(res.sent, 1)), res.perQueue, res.noCredit)
		}
		fmt.Printf("    %-12s %8d/s offered: sent %8d at %8.0f/s, counted %8d, lost %7d (probe's drop counter %d; %s rx_dropped %d, %s tx_dropped %d%s; caught up %v after; CPU %.1f µs/flow) %s\n",
			mode, rate, res.sent, res.sentRate, res.counted, res.sent-min(res.sent, res.counted), res.sinkDrops,
			capIf, res.rxDropped, injIf, res.txDropped, slow, res.lag.Round(time.Millisecond), res.cpuPerFlow(), res.verdict())
		if res.lossless() {
			return true, res.cpuPerFlow(), nil
		}
	}
	return false, 0, nil
}

func (r stepResult) cpuPerFlow() float64 { return float64(r.cpuNs) / 1e3 / float64(max(r.sent, 1)) }

func anyAlive(m map[string]bool) bool {
	for _, v := range m {
		if v {
			return true
		}
	}
	return false
}

func maxOf(v []int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

type stepResult struct {
	sent, counted        uint64
	sentRate             float64
	rxDropped, txDropped uint64   // the veth's own counters
	sinkDrops            uint64   // what the probe reports lost
	slowPkts, noCredit   uint64   // packets the slow path took, packets it had no credit for
	mapFull              uint64   // of sinkDrops: found the kernel flow map full
	perQueue             []uint64 // packets each slow-path reader decoded
	// lag is how long after the generator stopped the count stopped
	// moving: a probe that only keeps up thanks to its buffers (the
	// AF_PACKET ring holds 64 MiB, seconds of small packets) is behind.
	lag       time.Duration
	behind    bool
	genBehind bool
	// cpuNs is the CPU the step cost the machine's packet work: this
	// process (generator, readers, drains; the veth's receive work runs
	// in the generator's system time) and the ksoftirqd threads, up to
	// the count's last change plus at most half a second of idle waiting.
	cpuNs int64
}

// lossless: the interface count is what was sent and the probe reports no
// loss (its drop counter also has the packets the kernel counted on the
// interface but could not put in a flow: map full).
func (r stepResult) lossless() bool {
	return r.counted == r.sent && r.sinkDrops == 0 && !r.genBehind && !r.behind
}

func (r stepResult) verdict() string {
	switch {
	case r.genBehind:
		return "generator could not keep the rate"
	case r.counted == r.sent && r.sinkDrops == 0 && r.behind:
		return "lossless but not sustained (counting went on after the step)"
	case r.counted == r.sent && r.sinkDrops == 0:
		return "lossless"
	case r.counted > r.sent:
		return "COUNTED MORE THAN SENT"
	}
	return "loss"
}

// runStep offers rate new flows/s for d into a fresh table and waits until
// the count stops moving.
func runStep(gen *flowGenerator, sink sink, capIf, injIf string, rate int, d time.Duration) (stepResult, error) {
	var res stepResult
	n := int(float64(rate) * d.Seconds())
	t := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, MaxFlows: max(n+1024, 1<<16)})
	stop := sink.start(t)
	rx0, tx0 := ifStat(capIf, "rx_dropped"), ifStat(injIf, "tx_dropped")
	cpu0 := cpuNow()
	sd0 := sink.drops()
	sp0, sh0 := sink.slowPath()
	var mf0 uint64
	if x, ok := sink.(*xdpSink); ok {
		mf0 = x.mapFull()
	}
	start := time.Now()
	if err := gen.send(n, rate); err != nil {
		stop()
		return res, err
	}
	el := time.Since(start)
	res.sent, res.sentRate = uint64(n), float64(n)/el.Seconds()
	// A step counts only if the generator kept 90 % of the rate: on these
	// machines the veth's receive work runs on the sender's CPUs.
	res.genBehind = res.sentRate < 0.9*float64(rate)
	count := func() uint64 {
		sink.flush(t)
		var p uint64
		t.View(func(v flowtable.View) { p = v.Stats().Packets })
		return p
	}
	sendEnd := time.Now()
	last, lastChange := count(), time.Now()
	for last != res.sent && time.Since(lastChange) < 500*time.Millisecond {
		time.Sleep(50 * time.Millisecond)
		if c := count(); c != last {
			last, lastChange = c, time.Now()
		}
	}
	res.cpuNs = cpuNow() - cpu0
	stop()
	res.lag = lastChange.Sub(sendEnd)
	// Half a step: the XDP side drains its kernel maps once more (tens of
	// thousands of entries) before its count is final.
	res.behind = res.lag > d/2
	res.counted = count()
	res.rxDropped, res.txDropped = ifStat(capIf, "rx_dropped")-rx0, ifStat(injIf, "tx_dropped")-tx0
	res.sinkDrops = sink.drops() - sd0
	sp, sh := sink.slowPath()
	res.slowPkts, res.noCredit = sp-sp0, sh-sh0
	if x, ok := sink.(*xdpSink); ok {
		res.mapFull = x.mapFull() - mf0
		for i := range x.taken {
			res.perQueue = append(res.perQueue, x.taken[i].Load())
		}
	}
	return res, nil
}

// cpuNow is this process's user+sys CPU plus that of every ksoftirqd
// thread, in ns.
func cpuNow() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	ns := ru.Utime.Nano() + ru.Stime.Nano()
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
		if !strings.HasPrefix(string(comm), "ksoftirqd/") {
			continue
		}
		st, _ := os.ReadFile("/proc/" + p.Name() + "/stat")
		// Fields after the command's closing parenthesis: utime and
		// stime are the 12th and 13th, in clock ticks (100 Hz).
		if i := strings.LastIndexByte(string(st), ')'); i > 0 {
			f := strings.Fields(string(st[i+1:]))
			if len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				s, _ := strconv.ParseInt(f[12], 10, 64)
				ns += (u + s) * 1e7
			}
		}
	}
	return ns
}

func ifStat(ifname, name string) uint64 {
	b, _ := os.ReadFile("/sys/class/net/" + ifname + "/statistics/" + name)
	v, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return v
}

// sink is one capture mode feeding a flow table.
type sink interface {
	describe() string
	// start feeds t until the returned stop is called.
	start(t *flowtable.Table) (stop func())
	// flush accounts what is waiting (kernel maps, rings) into t.
	flush(t *flowtable.Table)
	drops() uint64
	// slowPath is how many packets went to the slow path and how many
	// the kernel accounted because its queue had no credit left (XDP only).
	slowPath() (pkts, noCredit uint64)
	close()
}

func openSink(mode, ifname string) (sink, error) {
	if mode == "afpacket" {
		return &afpacketSink{ifname: ifname}, nil
	}
	// "xdp+slowpath/N": kernel maps of N flows instead of the agent's
	// default (--xdp-flows).
	maxFlows := 65536
	if _, n, ok := strings.Cut(mode, "/"); ok {
		v, err := strconv.Atoi(n)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("mode %q: want xdp+slowpath/<flows per kernel map>", mode)
		}
		maxFlows = v
	}
	dp, err := xdp.Load(xdp.Options{MaxFlows: maxFlows})
	if err != nil {
		return nil, err
	}
	m, err := dp.Attach(ifname)
	if err != nil {
		dp.Close()
		return nil, err
	}
	s := &xdpSink{dp: dp, mode: m, maxFlows: maxFlows}
	for q := 0; q < runtime.NumCPU(); q++ {
		x, err := dp.OpenXSK(ifname, q)
		if err != nil {
			s.close()
			return nil, err
		}
		s.xsks = append(s.xsks, x)
	}
	s.mu = make([]sync.Mutex, len(s.xsks))
	s.taken = make([]atomic.Uint64, len(s.xsks))
	return s, nil
}

// xdpSink is the agent's XDP input (agent/input.go): the program accounts
// flows in its maps, drained every second, and one reader per RX queue
// decodes what the program hands to its AF_XDP socket.
type xdpSink struct {
	dp       *xdp.Dataplane
	mode     xdp.Mode
	xsks     []*xdp.XSK
	mu       []sync.Mutex
	taken    []atomic.Uint64 // packets decoded per queue
	prev     xdp.Counters
	tmu      sync.Mutex // one drain at a time
	maxFlows int        // per kernel map
}

func (s *xdpSink) describe() string {
	return fmt.Sprintf("%s, %d AF_XDP sockets and reader goroutines, kernel maps of %d flows drained every second", s.mode, len(s.xsks), s.maxFlows)
}

func (s *xdpSink) start(t *flowtable.Table) func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range s.xsks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p decode.Packet
			for ctx.Err() == nil {
				if err := s.xsks[i].Wait(100); err != nil {
					return
				}
				s.take(i, t, &p)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		look := time.NewTicker(time.Second / 8) // as the agent: early once half the slots are taken
		defer look.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.flush(t)
			case <-look.C:
				s.tmu.Lock()
				used, err := s.dp.SlotsUsed()
				s.tmu.Unlock()
				if err == nil && used >= 0.5 {
					s.flush(t)
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

func (s *xdpSink) take(i int, t *flowtable.Table, p *decode.Packet) {
	s.mu[i].Lock()
	defer s.mu[i].Unlock()
	n, _ := s.xsks[i].Take(t, p)
	s.taken[i].Add(uint64(n))
}

func (s *xdpSink) flush(t *flowtable.Table) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	var p decode.Packet
	for i := range s.xsks {
		s.take(i, t, &p)
	}
	var batch []flow.Delta
	s.dp.Drain(func(d *flow.Delta) { batch = append(batch, *d) })
	c, err := s.dp.Counters()
	if err != nil {
		return
	}
	t.ApplyDeltas(batch, flowtable.DataplaneCounts{
		Packets: (c[xdp.CntPackets] - s.prev[xdp.CntPackets]) - (c[xdp.CntSlowPath] - s.prev[xdp.CntSlowPath]),
		Bytes:   (c[xdp.CntBytes] - s.prev[xdp.CntBytes]) - (c[xdp.CntSlowBytes] - s.prev[xdp.CntSlowBytes]),
	})
	s.prev = c
}

func (s *xdpSink) drops() uint64 {
	var n uint64
	for _, x := range s.xsks {
		n += x.Dropped()
	}
	c, _ := s.dp.Counters()
	return n + c[xdp.CntMapFull]
}

func (s *xdpSink) mapFull() uint64 {
	c, _ := s.dp.Counters()
	return c[xdp.CntMapFull]
}

func (s *xdpSink) slowPath() (uint64, uint64) {
	c, _ := s.dp.Counters()
	return c[xdp.CntSlowPath], c[xdp.CntSlowNoCredit]
}

func (s *xdpSink) close() {
	for _, x := range s.xsks {
		s.dp.CloseXSK(x)
	}
	s.dp.Close()
}

// afpacketSink is the agent's AF_PACKET input: one TPACKET_V3 ring read by
// the userspace decoder.
type afpacketSink struct {
	ifname string
	src    capture.Source
	base   uint64
}

func (s *afpacketSink) describe() string { return "TPACKET_V3 ring, one reader" }

func (s *afpacketSink) start(t *flowtable.Table) func() {
	src, err := capture.OpenLive(s.ifname, 65535)
	if err != nil {
		fmt.Fprintln(os.Stderr, "afpacket:", err)
		return func() {}
	}
	s.src = src
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { capture.Run(ctx, src, t); close(done) }()
	return func() {
		cancel()
		<-done
		if ss, ok := src.(capture.StatsSource); ok {
			if st, err := ss.Stats(); err == nil {
				s.base += st.Dropped
			}
		}
		src.Close()
		s.src = nil
	}
}

func (s *afpacketSink) flush(*flowtable.Table) {}

func (s *afpacketSink) drops() uint64 {
	n := s.base
	if s.src != nil {
		if ss, ok := s.src.(capture.StatsSource); ok {
			if st, err := ss.Stats(); err == nil {
				n += st.Dropped
			}
		}
	}
	return n
}

func (s *afpacketSink) close() {}

func (s *afpacketSink) slowPath() (uint64, uint64) { return 0, 0 }

// flowGenerator transmits new flows out of an interface through
// AF_PACKET TX rings (PACKET_MMAP, TPACKET_V2): one socket and one thread
// for each CPU. The thread writes frames into its ring, each with the
// next sequence number in its UDP ports (so each frame is a new flow), and
// one send() has the kernel transmit the whole burst. (BPF_PROG_TEST_RUN's
// live frames are refused here (EPERM) and the kernel has no pktgen.)
type flowGenerator struct {
	threads []*txRing
}

const (
	txFrameSize = 128 // tpacket2_hdr (32, aligned) + a 60-byte frame, 16-aligned
	txBlockSize = 1 << 16
	txBlocks    = 8
	txFrames    = txBlockSize / txFrameSize * txBlocks // 4096
	txDataOff   = 32                                   // TPACKET_ALIGN(sizeof(struct tpacket2_hdr))
	frameLen    = 60
	ethIP       = 14
	udpOff      = ethIP + 20
)

// txRing is one thread's socket and ring.
type txRing struct {
	fd   int
	ring []byte
	next int    // the next frame slot to fill
	seq  uint32 // the next flow number
	cpu  int
}

func newFlowGenerator(ifname string, ncpu int) (*flowGenerator, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	g := &flowGenerator{}
	for c := 0; c < ncpu; c++ {
		r, err := newTxRing(ifi.Index, c)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.threads = append(g.threads, r)
	}
	return g, nil
}

func newTxRing(ifindex, cpu int) (*txRing, error) {
	// Protocol 0: this socket sends only, it receives nothing.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("generator socket: %w", err)
	}
	r := &txRing{fd: fd, cpu: cpu}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		r.close()
		return nil, fmt.Errorf("generator TPACKET_V2: %w", err)
	}
	req := unix.TpacketReq{Block_size: txBlockSize, Block_nr: txBlocks, Frame_size: txFrameSize, Frame_nr: txFrames}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_TX_RING, &req); err != nil {
		r.close()
		return nil, fmt.Errorf("generator TX ring: %w", err)
	}
	if r.ring, err = unix.Mmap(fd, 0, txBlockSize*txBlocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("generator ring mmap: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		r.close()
		return nil, fmt.Errorf("generator bind: %w", err)
	}
	// Every slot holds the same frame but for the ports: its own source
	// address per CPU, UDP checksum 0 (none).
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IPv4(10, 1, 0, byte(cpu+1)).To4(), DstIP: net.IPv4(10, 2, 0, 1).To4()}
	u := &layers.UDP{SrcPort: 32768, DstPort: 16384}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		ip, u, gopacket.Payload(make([]byte, frameLen-udpOff-8))); err != nil {
		r.close()
		return nil, err
	}
	f := buf.Bytes()
	ipCsum(f[ethIP : ethIP+20])
	for i := 0; i < txFrames; i++ {
		copy(r.ring[i*txFrameSize+txDataOff:], f)
	}
	return r, nil
}

func (r *txRing) close() {
	if r.ring != nil {
		unix.Munmap(r.ring)
	}
	unix.Close(r.fd)
}

// ipCsum writes the IPv4 header checksum.
func ipCsum(h []byte) {
	h[10], h[11] = 0, 0
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	c := ^uint16(s)
	h[10], h[11] = byte(c>>8), byte(c)
}

func (g *flowGenerator) Close() error {
	for _, r := range g.threads {
		r.close()
	}
	return nil
}

// status is the slot's tp_status, shared with the kernel.
func (r *txRing) status(slot int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.ring[slot*txFrameSize]))
}

// flush has the kernel transmit every frame marked for sending, without
// waiting for them to be freed.
func (r *txRing) flush() error {
	_, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(r.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
	if e != 0 && e != unix.EAGAIN && e != unix.ENOBUFS {
		return fmt.Errorf("generator send: %w", e)
	}
	return nil
}

// burst queues n new flows and transmits them.
func (r *txRing) burst(n int) error {
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < n; i++ {
		st := r.status(r.next)
		// The slot is free once the kernel has freed its last frame.
		for atomic.LoadUint32(st) != unix.TP_STATUS_AVAILABLE {
			if atomic.LoadUint32(st)&unix.TP_STATUS_WRONG_FORMAT != 0 {
				return fmt.Errorf("generator: the kernel refused a frame")
			}
			if err := r.flush(); err != nil {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("generator: TX ring slot %d never freed", r.next)
			}
			time.Sleep(20 * time.Microsecond)
		}
		base := r.next * txFrameSize
		d := r.ring[base+txDataOff:]
		// Source port 32768-65535, destination port 16384-32767: 2^29
		// flows per CPU, none on a well-known port.
		binary.BigEndian.PutUint16(d[udpOff:], uint16(0x8000|r.seq&0x7fff))
		binary.BigEndian.PutUint16(d[udpOff+2:], uint16(0x4000|(r.seq>>15)&0x3fff))
		r.seq++
		binary.NativeEndian.PutUint32(r.ring[base+4:], frameLen) // tp_len
		atomic.StoreUint32(st, unix.TP_STATUS_SEND_REQUEST)
		r.next = (r.next + 1) % txFrames
	}
	return r.flush()
}

// wait sends what is still marked for sending until the kernel has freed
// every frame of the ring.
func (r *txRing) wait() error {
	deadline := time.Now().Add(5 * time.Second)
	for slot := 0; slot < txFrames; {
		if atomic.LoadUint32(r.status(slot)) == unix.TP_STATUS_AVAILABLE {
			slot++
			continue
		}
		if err := r.flush(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("generator: TX ring slot %d never freed", slot)
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}

// send transmits n new flows at rate flows/s in total, split evenly over
// the CPUs, each thread pacing itself in bursts.
func (g *flowGenerator) send(n, rate int) error {
	ncpu := len(g.threads)
	errs := make(chan error, ncpu)
	var wg sync.WaitGroup
	start := time.Now()
	for c, r := range g.threads {
		mine := n / ncpu
		if c < n%ncpu {
			mine++
		}
		perSec := float64(rate) / float64(ncpu)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One OS thread per ring, not pinned: veth spreads the frames
			// over its queues by flow hash, and the scheduler spreads the
			// threads (and the receive work veth runs on them) over the
			// CPUs; a pinned thread stalls whenever its CPU is taken.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			sent := 0
			for sent < mine {
				due := min(int(perSec*time.Since(start).Seconds())+1, mine) - sent
				if due <= 0 {
					time.Sleep(200 * time.Microsecond)
					continue
				}
				b := min(due, txFrames/2)
				if err := r.burst(b); err != nil {
					errs <- err
					return
				}
				sent += b
			}
			if err := r.wait(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}
