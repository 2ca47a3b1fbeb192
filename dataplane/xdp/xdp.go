// Package xdp loads the probe's XDP program (package bpf), attaches it to an
// interface and drains its flow maps into flow.Delta records.
//
// Draining is lossless by construction: the program counts each flow in a
// slot of one of two generations of slot arrays per address family (an
// index, never drained, tells it the flow's slot in the current epoch).
// Drain advances the epoch (a global of the program), whose low bit is the generation the
// program writes, then updates a map-in-map the program never reads — the
// kernel returns from that update only after an RCU grace period, so no
// program that saw the old epoch is still running — and then reads the old
// generation's slots from memory it shares with the kernel, in order, and
// zeroes them: nothing writes to them any more.
//
// Memory: see package bpf. Each of the four value arrays (IPv4/IPv6 × two
// generations) holds Options.MaxFlows slots of 80 bytes per possible CPU.
package xdp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"runtime"
	"time"
	"unsafe"

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
	// MaxFlows is the number of slots per family and generation: the
	// most flows of one family between two drains (more are counted as
	// map full).
	MaxFlows int

	// indexBuckets, when not 0, is the flow index's bucket count (a power
	// of two) instead of the one MaxFlows gives: tests crowd the index
	// with it.
	indexBuckets int
}

// Families of flow maps.
const (
	famV4 = 0
	famV6 = 1
)

// Dataplane is a loaded XDP program with its maps.
type Dataplane struct {
	objs     bpf.FlowObjects
	keys4    [2][]bpf.FlowSlotKeyV4 // [generation]: the mapped key arrays
	keys6    [2][]bpf.FlowSlotKeyV6
	vals     [2][2][]bpf.FlowFlowVal // [generation][family]: the mapped value arrays, ncpu values a slot
	mapped   [][]byte                // every mapping, for Close
	maxFlows int
	epoch    uint32    // what the program reads from its epoch global; the low bit is the generation it writes
	rcuInner *ebpf.Map // what Drain puts into rcu_sync to wait for a grace period
	credits  []int64   // the mapped slow-path credits, by RX queue (see XSK)
	link     link.Link
	mode     Mode
	ncpu     int
}

// Load loads the program and creates its maps; it does not attach.
func Load(opts Options) (*Dataplane, error) {
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = 65536
	}
	spec, err := bpf.LoadFlow()
	if err != nil {
		return nil, fmt.Errorf("xdp: reading the embedded program: %w", err)
	}
	return loadSpec(spec, opts)
}

// loadSpec is Load of a given build of the program (benchmarks compare
// builds).
func loadSpec(spec *ebpf.CollectionSpec, opts Options) (*Dataplane, error) {
	// The flow index's readers rely on loads staying in program order
	// (x86's total store order; see index_match in flow.c): on a weakly
	// ordered CPU they would need load-acquire (BPF's, from Linux 6.15
	// and clang 18), and a packet could otherwise be counted under
	// another flow. Every board the probe ships for is x86-64.
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "386" {
		return nil, fmt.Errorf("xdp: the flow index needs x86's memory ordering, not %s's", runtime.GOARCH)
	}
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("xdp: possible CPUs: %w", err)
	}
	// Value arrays hold MaxFlows × CPUs entries, the flow hashes 2 × MaxFlows.
	if uint64(opts.MaxFlows)*uint64(max(ncpu, 2)) > 1<<31 {
		return nil, fmt.Errorf("xdp: %d flows × %d CPUs is more slots than a map holds", opts.MaxFlows, ncpu)
	}
	d := &Dataplane{ncpu: ncpu, maxFlows: opts.MaxFlows}
	// The flow index remembers flows across drains; twice the flows of a
	// drain interval (two entries a bucket) leaves room for the ones that
	// pause a while. A power of two of buckets: the program masks its hash.
	buckets := 1 << bits.Len(uint(opts.MaxFlows-1))
	if opts.indexBuckets != 0 {
		if opts.indexBuckets&(opts.indexBuckets-1) != 0 {
			return nil, fmt.Errorf("xdp: %d index buckets is not a power of two", opts.indexBuckets)
		}
		buckets = opts.indexBuckets
	}
	sizes := map[string]int{
		bpf.FlowMapIndexV4: buckets, bpf.FlowMapIndexV6: buckets,
		// New flows in their slow-path packets: as many as slots.
		bpf.FlowMapBudgetV4: opts.MaxFlows, bpf.FlowMapBudgetV6: opts.MaxFlows,
		bpf.FlowMapKeysV4A: opts.MaxFlows, bpf.FlowMapKeysV4B: opts.MaxFlows,
		bpf.FlowMapKeysV6A: opts.MaxFlows, bpf.FlowMapKeysV6B: opts.MaxFlows,
		bpf.FlowMapValsV4A: opts.MaxFlows * ncpu, bpf.FlowMapValsV4B: opts.MaxFlows * ncpu,
		bpf.FlowMapValsV6A: opts.MaxFlows * ncpu, bpf.FlowMapValsV6B: opts.MaxFlows * ncpu,
	}
	for n, size := range sizes {
		ms := spec.Maps[n]
		if ms == nil {
			return nil, fmt.Errorf("xdp: map %s missing from the program", n)
		}
		ms.MaxEntries = uint32(size)
	}
	// The flow caches: the program's CACHE_SLOTS entries for each CPU.
	for _, n := range []string{bpf.FlowMapCacheV4, bpf.FlowMapCacheV6} {
		ms := spec.Maps[n]
		if ms == nil {
			return nil, fmt.Errorf("xdp: map %s missing from the program", n)
		}
		ms.MaxEntries *= uint32(ncpu)
	}
	// The index hash's seed: at random, so that nobody outside can pick
	// flows that share a bucket.
	var seed [12]uint32
	if err := binary.Read(rand.Reader, binary.LittleEndian, &seed); err != nil {
		return nil, fmt.Errorf("xdp: seeding the flow index: %w", err)
	}
	for n, v := range map[string]any{
		bpf.FlowVarNcpus: uint32(ncpu), bpf.FlowVarMaxFlows: uint32(opts.MaxFlows),
		bpf.FlowVarIndexMask: uint32(buckets - 1), bpf.FlowVarIndexSeed: seed,
	} {
		vs := spec.Variables[n]
		if vs == nil {
			return nil, fmt.Errorf("xdp: constant %s missing from the program", n)
		}
		if err := vs.Set(v); err != nil {
			return nil, fmt.Errorf("xdp: setting %s: %w", n, err)
		}
	}
	if err := spec.LoadAndAssign(&d.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("xdp: verifier: %+v", ve)
		}
		return nil, fmt.Errorf("xdp: loading the program (%d flows × %d CPUs per map): %w", opts.MaxFlows, ncpu, err)
	}
	o := &d.objs
	for g, m := range [2][3]*ebpf.Map{{o.KeysV4A, o.KeysV6A, o.ValsV4A}, {o.KeysV4B, o.KeysV6B, o.ValsV4B}} {
		if d.keys4[g], err = mapSlots[bpf.FlowSlotKeyV4](d, m[0], opts.MaxFlows); err == nil {
			if d.keys6[g], err = mapSlots[bpf.FlowSlotKeyV6](d, m[1], opts.MaxFlows); err == nil {
				d.vals[g][famV4], err = mapSlots[bpf.FlowFlowVal](d, m[2], opts.MaxFlows*ncpu)
			}
		}
		if err != nil {
			d.Close()
			return nil, err
		}
	}
	for g, m := range [2]*ebpf.Map{o.ValsV6A, o.ValsV6B} {
		if d.vals[g][famV6], err = mapSlots[bpf.FlowFlowVal](d, m, opts.MaxFlows*ncpu); err != nil {
			d.Close()
			return nil, err
		}
	}
	if d.credits, err = mapSlots[int64](d, o.Credits, int(o.Credits.MaxEntries())); err != nil {
		d.Close()
		return nil, err
	}
	inner, err := ebpf.NewMap(spec.Maps[bpf.FlowMapRcuSync].InnerMap.Copy())
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("xdp: creating the grace-period map: %w", err)
	}
	d.rcuInner = inner
	return d, nil
}

// mapSlots maps the first n elements of an mmapable array into memory, as
// T (whose size must be the array's element size: a multiple of 8). The
// program writes the same pages; Drain reads them only once an RCU grace
// period has passed since the program last could.
func mapSlots[T any](d *Dataplane, m *ebpf.Map, n int) ([]T, error) {
	var zero T
	if int(unsafe.Sizeof(zero)) != int(m.ValueSize()) {
		return nil, fmt.Errorf("xdp: %v: value size %d, Go type %d bytes", m, m.ValueSize(), unsafe.Sizeof(zero))
	}
	b, err := unix.Mmap(m.FD(), 0, n*int(unsafe.Sizeof(zero)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("xdp: mapping %v: %w", m, err)
	}
	d.mapped = append(d.mapped, b)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n), nil
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
	d.keys4, d.keys6, d.vals = [2][]bpf.FlowSlotKeyV4{}, [2][]bpf.FlowSlotKeyV6{}, [2][2][]bpf.FlowFlowVal{}
	for _, b := range d.mapped {
		errs = append(errs, unix.Munmap(b))
	}
	d.mapped = nil
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

// Drain switches the program to the other generation of slots and hands
// every flow of the previous one to fn (the Delta is reused: copy what must
// outlive the call). It returns the number of flows drained.
func (d *Dataplane) Drain(fn func(*flow.Delta)) (int, error) {
	old := d.epoch
	if err := d.objs.Epoch.Set(old + 1); err != nil {
		return 0, fmt.Errorf("xdp: switching flow maps: %w", err)
	}
	d.epoch = old + 1
	// Returns after an RCU grace period: every program run that read the
	// old epoch has finished.
	if err := d.objs.RcuSync.Put(uint32(0), d.rcuInner); err != nil {
		return 0, fmt.Errorf("xdp: waiting for running programs: %w", err)
	}
	off := monoToWall()
	g := old & 1
	n := 0
	for fam := famV4; fam <= famV6; fam++ {
		idx := g*2 + uint32(fam)
		var used uint32
		if err := d.objs.NextSlot.Lookup(idx, &used); err != nil {
			return n, fmt.Errorf("xdp: reading the slot counter: %w", err)
		}
		// The counter runs past max_flows when flows found no slot.
		used = min(used, uint32(d.maxFlows))
		if fam == famV4 {
			n += drainSlots(d, d.keys4[g][:used], d.vals[g][fam], off, keyV4, fn)
		} else {
			n += drainSlots(d, d.keys6[g][:used], d.vals[g][fam], off, keyV6, fn)
		}
		if err := d.objs.NextSlot.Put(idx, uint32(0)); err != nil {
			return n, fmt.Errorf("xdp: resetting the slot counter: %w", err)
		}
	}
	return n, nil
}

// SlotsUsed is the share of the current generation's slots the program
// has taken, in the address family that took most (0 to 1): a caller
// drains early when it nears 1, so that a flood of new flows the kernel
// counts itself (the slow path behind, or off) finds slots. Not to be
// called while Drain runs.
func (d *Dataplane) SlotsUsed() (float64, error) {
	g := d.epoch & 1
	var most uint32
	for fam := uint32(famV4); fam <= famV6; fam++ {
		var used uint32
		if err := d.objs.NextSlot.Lookup(g*2+fam, &used); err != nil {
			return 0, fmt.Errorf("xdp: reading the slot counter: %w", err)
		}
		most = max(most, min(used, uint32(d.maxFlows)))
	}
	return float64(most) / float64(d.maxFlows), nil
}

// drainSlots hands fn the flow of every used slot in keys, then zeroes the
// slots and their values for the generation's next turn.
func drainSlots[K bpf.FlowSlotKeyV4 | bpf.FlowSlotKeyV6](d *Dataplane, keys []K, vals []bpf.FlowFlowVal, off int64,
	key func(*flow.Delta, *K) bool, fn func(*flow.Delta)) int {
	var delta flow.Delta
	n := 0
	for i := range keys {
		if !key(&delta, &keys[i]) {
			continue // not reached: every slot taken has its key
		}
		d.sumValues(&delta, vals[i*d.ncpu:(i+1)*d.ncpu], off)
		fn(&delta)
		n++
	}
	clear(keys)
	clear(vals[:len(keys)*d.ncpu])
	return n
}

// keyV4 sets d's key from a slot's; false for an unused slot.
func keyV4(d *flow.Delta, sk *bpf.FlowSlotKeyV4) bool {
	k := &sk.K
	var a, b [4]byte
	// The addresses sit in the key in network byte order.
	binary.LittleEndian.PutUint32(a[:], k.A)
	binary.LittleEndian.PutUint32(b[:], k.B)
	d.A, d.B = netip.AddrFrom4(a), netip.AddrFrom4(b)
	d.APort, d.BPort, d.VLAN, d.Priv, d.Proto = k.A_port, k.B_port, k.Vlan, k.Priv, k.Proto
	return sk.Used != 0
}

// keyV6 sets d's key from a slot's; false for an unused slot.
func keyV6(d *flow.Delta, sk *bpf.FlowSlotKeyV6) bool {
	k := &sk.K
	d.A, d.B = netip.AddrFrom16(k.A), netip.AddrFrom16(k.B)
	d.APort, d.BPort, d.VLAN, d.Priv, d.Proto = k.A_port, k.B_port, k.Vlan, k.Priv, k.Proto
	return sk.Used != 0
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
