package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
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
		return &sourceInput{src: src, m: modeFile}, nil
	}
	if c.captureMode == modeAuto || c.captureMode == modeXDP {
		in, err := openXDP(s.name, c)
		if err == nil {
			log.Info("capture", "interface", s.name, "mode", in.mode())
			return in, nil
		}
		if c.captureMode == modeXDP {
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
}

func (in *sourceInput) run(ctx context.Context, t *flowtable.Table) error {
	return capture.Run(ctx, in.src, t)
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
// run drains them into the table every drain interval.
type xdpInput struct {
	dp       *xdp.Dataplane
	interval time.Duration
	prev     xdp.Counters
	batch    []flow.Delta
}

func openXDP(ifname string, c *config) (*xdpInput, error) {
	dp, err := xdp.Load(xdp.Options{MaxFlows: c.xdpFlows})
	if err != nil {
		return nil, err
	}
	if _, err := dp.Attach(ifname); err != nil {
		dp.Close()
		return nil, err
	}
	return &xdpInput{dp: dp, interval: c.drainInterval}, nil
}

func (in *xdpInput) run(ctx context.Context, t *flowtable.Table) error {
	tick := time.NewTicker(in.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// What arrived since the last tick still counts.
			return in.drain(t)
		case <-tick.C:
			if err := in.drain(t); err != nil {
				return err
			}
		}
	}
}

func (in *xdpInput) drain(t *flowtable.Table) error {
	in.batch = in.batch[:0]
	if _, err := in.dp.Drain(func(d *flow.Delta) { in.batch = append(in.batch, *d) }); err != nil {
		return fmt.Errorf("draining flows: %w", err)
	}
	c, err := in.dp.Counters()
	if err != nil {
		return err
	}
	var errs uint64
	for _, k := range []int{xdp.CntErrTruncL2, xdp.CntErrTruncIP, xdp.CntErrBadIP, xdp.CntErrTruncL4, xdp.CntErrExtHdr} {
		errs += c[k] - in.prev[k]
	}
	t.ApplyDeltas(in.batch, flowtable.DataplaneCounts{
		Packets: c[xdp.CntPackets] - in.prev[xdp.CntPackets],
		Bytes:   c[xdp.CntBytes] - in.prev[xdp.CntBytes],
		Errors:  errs,
	})
	in.prev = c
	return nil
}

func (in *xdpInput) mode() string { return string(in.dp.Mode()) }

// drops: XDP never drops; packets whose flow found the map full are
// counted but belong to no flow.
func (in *xdpInput) drops() uint64 { return in.prev[xdp.CntMapFull] }

func (in *xdpInput) close() error { return in.dp.Close() }
