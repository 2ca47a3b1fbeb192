// Package xdp loads the probe's XDP program (package bpf), attaches it to an
// interface and drains its flow maps into flow.Delta records.
//
// Draining is lossless by construction: flows live in two generations of
// per-CPU hash maps per address family. Drain flips the generation the
// program writes (ctl[0]), then updates a map-in-map the program never
// reads — the kernel returns from that update only after an RCU grace
// period, so no program that saw the old generation is still running — and
// then empties the old generation's maps, which nothing writes to any more.
//
// Memory: see package bpf. Each of the four flow maps (IPv4/IPv6 × two
// generations) holds Options.MaxFlows entries of 80 bytes per possible CPU.
package xdp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/bpf"
	"github.com/probe-appliance/probe/dataplane/flow"
)

// Mode is how the program is attached.
type Mode string

// Attach modes.
const (
	ModeNative  Mode = "xdp-native"  // in the driver, before any skb exists
	ModeGeneric Mode = "xdp-generic" // after skb allocation; any interface
)

// Options configure Load.
type Options struct {
	// MaxFlows is the size of each inner flow map (per family and
	// generation): the most flows of one family between two drains.
	MaxFlows int
	// DrainBatch is how many keys one batch syscall moves (default 4096).
	DrainBatch int
}

// Families of flow maps.
const (
	famV4 = 0
	famV6 = 1
)

// Dataplane is a loaded XDP program with its maps.
type Dataplane struct {
	objs     bpf.FlowObjects
	flows    [2][2]*ebpf.Map // [generation][family]
	gen      uint32          // the generation the program writes
	rcuInner *ebpf.Map       // what Drain puts into rcu_sync to wait for a grace period
	link     link.Link
	mode     Mode
	ncpu     int
	batch    int

	keys4 []bpf.FlowFlowKeyV4
	keys6 []bpf.FlowFlowKeyV6
	vals  []bpf.FlowFlowVal
}

// Load loads the program and creates its maps; it does not attach.
func Load(opts Options) (*Dataplane, error) {
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = 65536
	}
	if opts.DrainBatch <= 0 {
		opts.DrainBatch = 4096
	}
	spec, err := bpf.LoadFlow()
	if err != nil {
		return nil, fmt.Errorf("xdp: reading the embedded program: %w", err)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("xdp: possible CPUs: %w", err)
	}
	d := &Dataplane{ncpu: ncpu, batch: opts.DrainBatch}
	for _, n := range []string{bpf.FlowMapFlowsV4A, bpf.FlowMapFlowsV4B, bpf.FlowMapFlowsV6A, bpf.FlowMapFlowsV6B} {
		ms := spec.Maps[n]
		if ms == nil {
			return nil, fmt.Errorf("xdp: map %s missing from the program", n)
		}
		ms.MaxEntries = uint32(opts.MaxFlows)
	}
	if err := spec.LoadAndAssign(&d.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("xdp: verifier: %+v", ve)
		}
		return nil, fmt.Errorf("xdp: loading the program (%d flows × %d CPUs per map): %w", opts.MaxFlows, ncpu, err)
	}
	d.flows = [2][2]*ebpf.Map{
		{d.objs.FlowsV4A, d.objs.FlowsV6A},
		{d.objs.FlowsV4B, d.objs.FlowsV6B},
	}
	inner, err := ebpf.NewMap(spec.Maps[bpf.FlowMapRcuSync].InnerMap.Copy())
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("xdp: creating the grace-period map: %w", err)
	}
	d.rcuInner = inner
	d.keys4 = make([]bpf.FlowFlowKeyV4, d.batch)
	d.keys6 = make([]bpf.FlowFlowKeyV6, d.batch)
	d.vals = make([]bpf.FlowFlowVal, d.batch*ncpu)
	return d, nil
}

// Program is the flow-accounting program (tests run it with
// BPF_PROG_TEST_RUN); CountProgram is the one-counter baseline program.
func (d *Dataplane) Program() *ebpf.Program      { return d.objs.XdpFlow }
func (d *Dataplane) CountProgram() *ebpf.Program { return d.objs.XdpCount }

// Mode is how the program is attached ("" before Attach).
func (d *Dataplane) Mode() Mode { return d.mode }

// Attach attaches the program to ifname: in the driver if it can, else in
// generic (skb) mode. The attachment is a bpf link owned by this process:
// it goes away with the process, so a crashed probe leaves nothing behind.
func (d *Dataplane) Attach(ifname string) (Mode, error) {
	return d.AttachMode(ifname, "")
}

// AttachMode is Attach restricted to one mode ("" tries native, then
// generic).
func (d *Dataplane) AttachMode(ifname string, want Mode) (Mode, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return "", fmt.Errorf("xdp: interface %s: %w", ifname, err)
	}
	errNative := fmt.Errorf("not tried")
	if want == "" || want == ModeNative {
		var l link.Link
		l, errNative = link.AttachXDP(link.XDPOptions{Program: d.objs.XdpFlow, Interface: ifi.Index, Flags: link.XDPDriverMode})
		if errNative == nil {
			d.link, d.mode = l, ModeNative
			return d.mode, nil
		}
		if want == ModeNative {
			return "", fmt.Errorf("xdp: attaching to %s in the driver: %w", ifname, errNative)
		}
	}
	l, errGeneric := link.AttachXDP(link.XDPOptions{Program: d.objs.XdpFlow, Interface: ifi.Index, Flags: link.XDPGenericMode})
	if errGeneric != nil {
		return "", fmt.Errorf("xdp: attaching to %s: native: %v; generic: %w", ifname, errNative, errGeneric)
	}
	d.link, d.mode = l, ModeGeneric
	return d.mode, nil
}

// Close detaches the program and frees every map.
func (d *Dataplane) Close() error {
	var errs []error
	if d.link != nil {
		errs = append(errs, d.link.Close())
		d.link = nil
	}
	if d.rcuInner != nil {
		errs = append(errs, d.rcuInner.Close())
	}
	errs = append(errs, d.objs.Close())
	return errors.Join(errs...)
}

// Counters returns the program's global counters summed over CPUs.
func (d *Dataplane) Counters() (Counters, error) {
	var c Counters
	per := make([]bpf.FlowCounters, d.ncpu)
	if err := d.objs.Counters.Lookup(uint32(0), &per); err != nil {
		return c, fmt.Errorf("xdp: reading counters: %w", err)
	}
	for _, v := range per {
		for i := range c {
			c[i] += v.C[i]
		}
	}
	return c, nil
}

// monoToWall returns the offset that turns bpf_ktime_get_ns (CLOCK_MONOTONIC)
// into unix time.
func monoToWall() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Now().UnixNano() - ts.Nano()
}

// Drain switches the program to the other generation of flow maps and
// hands every flow of the previous one to fn (the Delta is reused: copy
// what must outlive the call). It returns the number of flows drained.
func (d *Dataplane) Drain(fn func(*flow.Delta)) (int, error) {
	old := d.gen
	if err := d.objs.Ctl.Put(uint32(0), 1-old); err != nil {
		return 0, fmt.Errorf("xdp: switching flow maps: %w", err)
	}
	d.gen = 1 - old
	// Returns after an RCU grace period: every program run that read the
	// old generation has finished.
	if err := d.objs.RcuSync.Put(uint32(0), d.rcuInner); err != nil {
		return 0, fmt.Errorf("xdp: waiting for running programs: %w", err)
	}
	off := monoToWall()
	n := 0
	for fam := famV4; fam <= famV6; fam++ {
		k, err := d.drainMap(d.flows[old][fam], fam, off, fn)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (d *Dataplane) drainMap(m *ebpf.Map, fam int, off int64, fn func(*flow.Delta)) (int, error) {
	var keys any = d.keys4
	if fam == famV6 {
		keys = d.keys6
	}
	var cursor ebpf.MapBatchCursor
	total := 0
	var delta flow.Delta
	for {
		count, err := m.BatchLookupAndDelete(&cursor, keys, d.vals, nil)
		for i := 0; i < count; i++ {
			if fam == famV4 {
				keyV4(&delta, &d.keys4[i])
			} else {
				keyV6(&delta, &d.keys6[i])
			}
			d.sumValues(&delta, d.vals[i*d.ncpu:(i+1)*d.ncpu], off)
			fn(&delta)
		}
		total += count
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return total, nil
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			k, err := d.drainByIteration(m, fam, off, fn)
			return total + k, err
		}
		if err != nil {
			return total, fmt.Errorf("xdp: draining flows: %w", err)
		}
	}
}

// drainByIteration is the fallback for kernels without batch operations
// (before 5.6). It is only safe because nothing writes to m any more.
func (d *Dataplane) drainByIteration(m *ebpf.Map, fam int, off int64, fn func(*flow.Delta)) (int, error) {
	vals := make([]bpf.FlowFlowVal, d.ncpu)
	var delta flow.Delta
	n := 0
	var k4 bpf.FlowFlowKeyV4
	var k6 bpf.FlowFlowKeyV6
	for {
		var err error
		if fam == famV4 {
			err = m.NextKey(nil, &k4)
		} else {
			err = m.NextKey(nil, &k6)
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("xdp: iterating flows: %w", err)
		}
		if fam == famV4 {
			err = m.LookupAndDelete(&k4, &vals)
			keyV4(&delta, &k4)
		} else {
			err = m.LookupAndDelete(&k6, &vals)
			keyV6(&delta, &k6)
		}
		if err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
			return n, fmt.Errorf("xdp: taking a flow: %w", err)
		}
		if errors.Is(err, ebpf.ErrNotSupported) {
			// Per-CPU hash LookupAndDelete needs 5.14: look up, then delete.
			var lerr error
			if fam == famV4 {
				lerr = m.Lookup(&k4, &vals)
				if lerr == nil {
					lerr = m.Delete(&k4)
				}
			} else {
				lerr = m.Lookup(&k6, &vals)
				if lerr == nil {
					lerr = m.Delete(&k6)
				}
			}
			if lerr != nil {
				return n, fmt.Errorf("xdp: taking a flow: %w", lerr)
			}
		}
		d.sumValues(&delta, vals, off)
		fn(&delta)
		n++
	}
}

func keyV4(d *flow.Delta, k *bpf.FlowFlowKeyV4) {
	var a, b [4]byte
	// The addresses sit in the key in network byte order.
	binary.LittleEndian.PutUint32(a[:], k.A)
	binary.LittleEndian.PutUint32(b[:], k.B)
	d.A, d.B = netip.AddrFrom4(a), netip.AddrFrom4(b)
	d.APort, d.BPort, d.VLAN, d.Priv, d.Proto = k.A_port, k.B_port, k.Vlan, k.Priv, k.Proto
}

func keyV6(d *flow.Delta, k *bpf.FlowFlowKeyV6) {
	d.A, d.B = netip.AddrFrom16(k.A), netip.AddrFrom16(k.B)
	d.APort, d.BPort, d.VLAN, d.Priv, d.Proto = k.A_port, k.B_port, k.Vlan, k.Priv, k.Proto
}

// sumValues folds the per-CPU values of one flow into d.
func (dp *Dataplane) sumValues(d *flow.Delta, vals []bpf.FlowFlowVal, off int64) {
	d.Pkts, d.Bytes, d.FirstNs, d.LastNs = [2]uint64{}, [2]uint64{}, [2]int64{}, 0
	d.Flags, d.FirstFlags, d.DSCP, d.HasMAC = [2]uint8{}, [2]uint8{}, [2]uint8{}, [2]bool{}
	var lastDSCPAt [2]uint64
	for i := range vals {
		v := &vals[i]
		for dir := 0; dir < 2; dir++ {
			if v.Pkts[dir] == 0 {
				continue
			}
			d.Pkts[dir] += v.Pkts[dir]
			d.Bytes[dir] += v.Bytes[dir]
			d.Flags[dir] |= v.Flags[dir]
			first := int64(v.FirstNs[dir]) + off
			if d.FirstNs[dir] == 0 || first < d.FirstNs[dir] {
				d.FirstNs[dir] = first
				d.FirstFlags[dir] = v.FirstFlags[dir]
				d.MAC[dir], d.HasMAC[dir] = v.Mac[dir], true
			}
			// The DSCP of the CPU that saw this direction last.
			if v.LastNs >= lastDSCPAt[dir] {
				lastDSCPAt[dir] = v.LastNs
				d.DSCP[dir] = v.Dscp[dir]
			}
		}
		if v.LastNs != 0 && int64(v.LastNs)+off > d.LastNs {
			d.LastNs = int64(v.LastNs) + off
		}
	}
	// last_ns is the coarse clock, which lags the precise one of first_ns
	// by up to a tick.
	for _, f := range d.FirstNs {
		if f > d.LastNs {
			d.LastNs = f
		}
	}
}
