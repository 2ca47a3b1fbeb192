package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/dataplane/flow"
	"github.com/probe-appliance/probe/dataplane/xdp"
)

// Capture modes of a live interface.
const (
	modeAuto     = "auto"     // XDP (native, then generic); AF_PACKET when XDP cannot attach
	modeXDP      = "xdp"      // XDP or fail
	modeAFPacket = "afpacket" // userspace decoder on AF_PACKET
	modeFile     = "file"     // a capture file
)

// input is where one interface's packets come from.
type input interface {
	// run feeds the table until ctx ends (or a capture file ends).
	run(ctx context.Context, t *flowtable.Table) error
	// mode is what the API shows as the capture mode.
	mode() string
	// drops are packets lost before accounting, 0 if unknown.
	drops() uint64
	close() error
}

// openInput opens an interface's source; for a live interface it tries XDP
// first unless told otherwise.
func openInput(s ifaceSpec, c *config, log *slog.Logger) (input, error) {
	if s.file {
		src, err := capture.OpenFile(s.arg)
		if err != nil {
			return nil, err
		}
		return &sourceInput{src: src, m: modeFile, ts: c.ts}, nil
	}
	if c.CaptureMode == modeAuto || c.CaptureMode == modeXDP {
		in, err := openXDP(s.name, c, log)
		if err == nil {
			log.Info("capture", "interface", s.name, "mode", in.mode())
			return in, nil
		}
		if c.CaptureMode == modeXDP {
			return nil, err
		}
		log.Warn("XDP unavailable, falling back to AF_PACKET", "interface", s.name, "err", err)
	}
	src, err := capture.OpenLive(s.arg, 65535)
	if err != nil {
		return nil, err
	}
	log.Info("capture", "interface", s.name, "mode", modeAFPacket)
	return &sourceInput{src: src, m: modeAFPacket}, nil
}

// sourceInput is a capture file or an AF_PACKET socket through the
// userspace decoder.
type sourceInput struct {
	src capture.Source
	m   string
	ts  *tsRecorder // a capture file's time series, on its packet clock (nil: none)
}

func (in *sourceInput) run(ctx context.Context, t *flowtable.Table) error {
	if in.ts == nil {
		return capture.Run(ctx, in.src, t.Batched())
	}
	fc := in.ts.fileClock(t)
	err := capture.Run(ctx, in.src, fc)
	fc.end(err == nil)
	return err
}
func (in *sourceInput) mode() string { return in.m }
func (in *sourceInput) close() error { return in.src.Close() }
func (in *sourceInput) drops() uint64 {
	if ss, ok := in.src.(capture.StatsSource); ok {
		if st, err := ss.Stats(); err == nil {
			return st.Dropped
		}
	}
	return 0
}

// xdpInput is the kernel dataplane: the XDP program accounts flows and
// run drains them into the table every drain interval, while one AF_XDP
// socket per RX queue takes the slow-path packets through the userspace
// decoder into the same table.
type xdpInput struct {
	dp   *xdp.Dataplane
	xsks []*xdp.XSK
	// xskMu guards each slow-path socket's ring: its reader takes packets
	// under it, and the drain takes what is left before reading the map
	// (see drain).
	xskMu    []sync.Mutex
	interval time.Duration
	prev     xdp.Counters  // owned by the drain loop
	mapFull  atomic.Uint64 // the map-full counter, for readers elsewhere
	noCredit atomic.Uint64 // the slow path's no-credit counter, likewise
	batch    []flow.Delta
	log      *slog.Logger
	// arp reads the interface's ARP frames over AF_PACKET when no slow
	// path takes them (the kernel passes ARP to the stack and only counts
	// it): the table learns broadcast domains and bindings from them
	// without counting them twice. nil when the slow path is open.
	arp capture.Source
}

func openXDP(ifname string, c *config, log *slog.Logger) (*xdpInput, error) {
	dp, err := xdp.Load(xdp.Options{MaxFlows: c.XDPFlows})
	if err != nil {
		return nil, err
	}
	if _, err := dp.Attach(ifname); err != nil {
		dp.Close()
		return nil, err
	}
	in := &xdpInput{dp: dp, interval: c.DrainInterval, log: log}
	if wantSlowPath(c.SlowPath, ifname, log) {
		for q := 0; q < rxQueues(ifname); q++ {
			x, err := dp.OpenXSK(ifname, q)
			if err != nil {
				// Without it the kernel accounts everything itself: no
				// payload (names, DNS counters), but no packet lost.
				log.Warn("XDP slow path unavailable", "interface", ifname, "queue", q, "err", err)
				break
			}
			in.xsks = append(in.xsks, x)
		}
		in.xskMu = make([]sync.Mutex, len(in.xsks))
	}
	if len(in.xsks) == 0 {
		arp, err := capture.OpenLiveARP(ifname)
		if err != nil {
			log.Warn("ARP capture unavailable: no broadcast domains or ARP table", "interface", ifname, "err", err)
		} else {
			in.arp = arp
		}
	}
	return in, nil
}

// wantSlowPath decides whether to open the AF_XDP slow path. Packets
// redirected to it never reach the host's own stack, so "auto" only opens
// it on an interface the host does not use itself (no address but
// link-local): a SPAN/TAP monitor port, not the management port.
func wantSlowPath(setting, ifname string, log *slog.Logger) bool {
	switch setting {
	case "on", "true":
		return true
	case "off", "false":
		return false
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return false
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
			log.Info("XDP slow path off: the interface carries the host's own traffic", "interface", ifname, "address", ipn.IP.String())
			return false
		}
	}
	return true
}

// rxQueues is the number of receive queues of an interface (1 if unknown).
func rxQueues(ifname string) int {
	m, _ := filepath.Glob("/sys/class/net/" + ifname + "/queues/rx-*")
	if len(m) == 0 {
		return 1
	}
	return len(m)
}

func (in *xdpInput) run(ctx context.Context, t *flowtable.Table) error {
	var wg sync.WaitGroup
	for i := range in.xsks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.slowPath(ctx, i, t)
		}()
	}
	if in.arp != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := capture.Run(ctx, in.arp, flowtable.ARPLearner{T: t}); err != nil && ctx.Err() == nil {
				in.log.Error("ARP capture stopped", "err", err)
			}
		}()
	}
	defer wg.Wait()
	tick := time.NewTicker(in.interval)
	defer tick.Stop()
	// A flood of new flows the kernel counts itself (the slow path behind
	// or off) can take every slot of a generation before the tick: a look
	// eight times an interval drains early once half are taken.
	look := time.NewTicker(max(in.interval/8, time.Millisecond))
	defer look.Stop()
	for {
		select {
		case <-ctx.Done():
			// What arrived since the last tick still counts.
			return in.drain(t)
		case <-tick.C:
			if err := in.drain(t); err != nil {
				return err
			}
		case <-look.C:
			if used, err := in.dp.SlotsUsed(); err == nil && used >= 0.5 {
				if err := in.drain(t); err != nil {
					return err
				}
			}
		}
	}
}

// slowPath decodes what the program hands to userspace until ctx ends.
func (in *xdpInput) slowPath(ctx context.Context, i int, t *flowtable.Table) {
	var p decode.Packet
	for ctx.Err() == nil {
		err := in.xsks[i].Wait(100)
		if err == nil {
			err = in.takeSlow(i, t, &p)
		}
		if err != nil {
			in.log.Error("XDP slow path stopped", "err", err)
			return
		}
	}
}

// takeSlow decodes the packets waiting on slow-path socket i.
func (in *xdpInput) takeSlow(i int, t *flowtable.Table, p *decode.Packet) error {
	in.xskMu[i].Lock()
	defer in.xskMu[i].Unlock()
	_, err := in.xsks[i].Take(t, p)
	return err
}

func (in *xdpInput) drain(t *flowtable.Table) error {
	// A new flow's first packets go to the slow path and only the later
	// ones into the map: its packets waiting on a slow-path ring must make
	// the flow (and decide who is the client) before the map's counts of
	// its later packets do, however late the slow-path reader runs.
	var p decode.Packet
	for i := range in.xsks {
		if err := in.takeSlow(i, t, &p); err != nil {
			return fmt.Errorf("XDP slow path: %w", err)
		}
	}
	in.batch = in.batch[:0]
	if _, err := in.dp.Drain(func(d *flow.Delta) { in.batch = append(in.batch, *d) }); err != nil {
		return fmt.Errorf("draining flows: %w", err)
	}
	c, err := in.dp.Counters()
	if err != nil {
		return err
	}
	// The kernel's parse errors, as the decoder's kinds.
	var errs [decode.NumErrKinds]uint64
	for k, kind := range map[int]decode.ErrKind{
		xdp.CntErrTruncL2: decode.ErrTruncatedLink, xdp.CntErrTruncIP: decode.ErrTruncatedIP,
		xdp.CntErrBadIP: decode.ErrBadIPHeader, xdp.CntErrTruncL4: decode.ErrTruncatedL4, xdp.CntErrExtHdr: decode.ErrBadIPHeader,
	} {
		errs[kind] += c[k] - in.prev[k]
	}
	// Slow-path packets are counted by the decoder that takes them.
	t.ApplyDeltas(in.batch, flowtable.DataplaneCounts{
		Packets: (c[xdp.CntPackets] - in.prev[xdp.CntPackets]) - (c[xdp.CntSlowPath] - in.prev[xdp.CntSlowPath]),
		Bytes:   (c[xdp.CntBytes] - in.prev[xdp.CntBytes]) - (c[xdp.CntSlowBytes] - in.prev[xdp.CntSlowBytes]),
		Errors:  errs,
	})
	in.prev = c
	in.mapFull.Store(c[xdp.CntMapFull])
	in.noCredit.Store(c[xdp.CntSlowNoCredit])
	return nil
}

func (in *xdpInput) mode() string { return string(in.dp.Mode()) }

// drops: XDP never drops; packets whose flow found the map full (with no
// slow path to take them) and packets the slow-path sockets had no room for
// are lost to accounting.
func (in *xdpInput) drops() uint64 {
	n := in.mapFull.Load()
	for _, x := range in.xsks {
		n += x.Dropped()
	}
	return n
}

func (in *xdpInput) close() error {
	var errs []error
	for _, x := range in.xsks {
		errs = append(errs, in.dp.CloseXSK(x))
	}
	if in.arp != nil {
		errs = append(errs, in.arp.Close())
	}
	errs = append(errs, in.dp.Close())
	return errors.Join(errs...)
}
