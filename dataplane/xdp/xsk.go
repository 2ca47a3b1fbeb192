package xdp

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
)

// XSK is one AF_XDP socket on one RX queue, receive-only, in copy mode
// (which works on every driver and in generic XDP; zero-copy would need
// driver support and buys nothing for a slow path). The XDP program
// redirects to it the packets it leaves to userspace.
//
// The ring indexes live in memory the kernel shares with us: they are read
// and written with atomic loads and stores (acquire/release, as libbpf's
// xsk.h does), never as plain fields.
//
// Overload: the program takes one of the queue's credits for every packet
// it redirects here, and Receive gives them back as it hands frames back
// to the kernel. A socket starts with as many credits as its ring and
// UMEM hold, so neither can overflow: when the reader falls behind, the
// program finds no credit and accounts the packet in its maps itself, as
// it does with no slow path (CntSlowNoCredit counts them). Those flows
// lose their payload (names, DPI), not their packets. Dropped is what the
// kernel still could not hand to the socket (none, by construction).
type XSK struct {
	fd        int
	queue     int
	umem      []byte
	frameSize uint64
	fill      ring
	comp      ring
	rx        ring
	fillProd  uint32 // our copy of the fill ring's producer index

	reg    *ebpf.Map    // the program's socket map (nil: not registered by us)
	credit *int64       // the queue's credits, shared with the program
	lost   uint64       // Dropped when its credits were last given back
	last   atomic.Int32 // packets the last Receive took (see Wait)
}

type ring struct {
	mem      []byte
	producer *uint32
	consumer *uint32
	descs    unsafe.Pointer
	mask     uint32
}

const (
	// 8192 frames of 2 KiB: 16 MiB of UMEM per RX queue (the AF_PACKET
	// ring is 64 MiB). The RX ring has room for every frame, so a reader
	// that falls behind can leave the whole UMEM queued before the kernel
	// drops; with a 2048-entry ring over 4096 frames, half of them sat idle
	// in the fill ring while the kernel dropped.
	xskFrames    = 8192
	xskFrameSize = 2048
	xskRing      = xskFrames
	// Receive hands frames back to the kernel every xskRelease packets of
	// a long batch, not only at its end: while a backlog is decoded, what
	// keeps arriving finds free frames.
	xskRelease = 256
	// xskCredits is what a socket starts with: every frame of its UMEM
	// (the ring has room for all of them).
	xskCredits = xskFrames
	// After a batch of fewer than xskRelease packets, Wait lets
	// xskGather pass before the next one instead of waking per packet
	// (as a TPACKET_V3 block gathers packets): a reader under a steady
	// trickle wakes at most 1000 times a second, not once per new flow.
	// It delays slow-path packets by as much, next to drains a second
	// apart; the credits bound what waits.
	xskGather = time.Millisecond
)

// OpenXSK opens an AF_XDP socket on ifname's RX queue and registers it
// with the program, which from then on redirects slow-path packets of that
// queue to it.
func (d *Dataplane) OpenXSK(ifname string, queue int) (*XSK, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("xsk: %w", err)
	}
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("xsk: socket: %w", err)
	}
	if queue < 0 || queue >= len(d.credits) || queue >= int(d.objs.Xsks.MaxEntries()) {
		unix.Close(fd)
		return nil, fmt.Errorf("xsk: queue %d: the program serves queues 0 to %d", queue, len(d.credits)-1)
	}
	x := &XSK{fd: fd, queue: queue, frameSize: xskFrameSize, credit: &d.credits[queue]}
	if err := x.setup(ifi.Index, queue); err != nil {
		x.Close()
		return nil, err
	}
	x.reg = d.objs.Xsks
	atomic.StoreInt64(x.credit, xskCredits)
	if err := x.register(); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

// register puts the socket into the program's map: the program hands its
// queue's slow-path packets to it from then on.
func (x *XSK) register() error {
	if err := x.reg.Put(uint32(x.queue), uint32(x.fd)); err != nil {
		return fmt.Errorf("xsk: registering queue %d: %w", x.queue, err)
	}
	return nil
}

// unregister takes the socket out of the program's map: the program
// accounts its queue's packets itself.
func (x *XSK) unregister() error {
	if err := x.reg.Delete(uint32(x.queue)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("xsk: unregistering queue %d: %w", x.queue, err)
	}
	return nil
}

func (x *XSK) setup(ifindex, queue int) error {
	umem, err := unix.Mmap(-1, 0, xskFrames*xskFrameSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("xsk: umem: %w", err)
	}
	x.umem = umem
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&umem[0]))), Len: uint64(len(umem)), Size: xskFrameSize}
	if err := setsockopt(x.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("xsk: registering umem: %w", err)
	}
	// The completion ring only serves transmission, which this socket never
	// does, but the kernel wants one.
	for _, o := range []struct{ opt, n int }{{unix.XDP_UMEM_FILL_RING, xskFrames}, {unix.XDP_UMEM_COMPLETION_RING, 64}, {unix.XDP_RX_RING, xskRing}} {
		n := uint32(o.n)
		if err := setsockopt(x.fd, o.opt, unsafe.Pointer(&n), 4); err != nil {
			return fmt.Errorf("xsk: ring size (option %d): %w", o.opt, err)
		}
	}
	var off unix.XDPMmapOffsets
	size := uint32(unsafe.Sizeof(off))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(x.fd), unix.SOL_XDP, unix.XDP_MMAP_OFFSETS,
		uintptr(unsafe.Pointer(&off)), uintptr(unsafe.Pointer(&size)), 0); e != 0 {
		return fmt.Errorf("xsk: ring offsets: %w", e)
	}
	if x.fill, err = mapRing(x.fd, unix.XDP_UMEM_PGOFF_FILL_RING, off.Fr, xskFrames, 8); err != nil {
		return err
	}
	if x.comp, err = mapRing(x.fd, unix.XDP_UMEM_PGOFF_COMPLETION_RING, off.Cr, 64, 8); err != nil {
		return err
	}
	if x.rx, err = mapRing(x.fd, unix.XDP_PGOFF_RX_RING, off.Rx, xskRing, int(unsafe.Sizeof(unix.XDPDesc{}))); err != nil {
		return err
	}
	// Every frame starts out in the fill ring, ready for the kernel.
	for i := uint32(0); i < xskFrames; i++ {
		*(*uint64)(unsafe.Add(x.fill.descs, uintptr(i&x.fill.mask)*8)) = uint64(i) * xskFrameSize
	}
	x.fillProd = xskFrames
	atomic.StoreUint32(x.fill.producer, x.fillProd)
	sa := &unix.SockaddrXDP{Flags: unix.XDP_COPY, Ifindex: uint32(ifindex), QueueID: uint32(queue)}
	if err := unix.Bind(x.fd, sa); err != nil {
		return fmt.Errorf("xsk: bind to queue %d: %w", queue, err)
	}
	return nil
}

func setsockopt(fd, opt int, val unsafe.Pointer, size uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(val), size, 0)
	if e != 0 {
		return e
	}
	return nil
}

func mapRing(fd int, pgoff int64, off unix.XDPRingOffset, n uint32, descSize int) (ring, error) {
	mem, err := unix.Mmap(fd, pgoff, int(off.Desc)+int(n)*descSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return ring{}, fmt.Errorf("xsk: mapping ring at %#x: %w", pgoff, err)
	}
	base := unsafe.Pointer(&mem[0])
	return ring{
		mem:      mem,
		producer: (*uint32)(unsafe.Add(base, off.Producer)),
		consumer: (*uint32)(unsafe.Add(base, off.Consumer)),
		descs:    unsafe.Add(base, off.Desc),
		mask:     n - 1,
	}, nil
}

// Wait waits up to timeoutMs for packets to receive, without taking them:
// a caller sharing the socket with another goroutine waits unlocked, then
// takes them with Receive(0, ...) under its lock.
func (x *XSK) Wait(timeoutMs int) error {
	if n := x.last.Swap(0); n > 0 && n < xskRelease {
		time.Sleep(xskGather)
	}
	if atomic.LoadUint32(x.rx.consumer) != atomic.LoadUint32(x.rx.producer) {
		return nil
	}
	fds := []unix.PollFd{{Fd: int32(x.fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, timeoutMs); err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("xsk: poll: %w", err)
	}
	return nil
}

// Receive waits up to timeoutMs for packets and calls fn for each (data is
// valid only during the call; the frame goes back to the kernel after,
// with its credit). It returns the number of packets handled. Call it from
// one goroutine at a time.
func (x *XSK) Receive(timeoutMs int, fn func(data []byte)) (int, error) {
	cons := atomic.LoadUint32(x.rx.consumer)
	prod := atomic.LoadUint32(x.rx.producer)
	if cons == prod {
		fds := []unix.PollFd{{Fd: int32(x.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, timeoutMs); err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("xsk: poll: %w", err)
		}
		prod = atomic.LoadUint32(x.rx.producer)
	}
	n := 0
	for ; cons != prod; cons++ {
		desc := (*unix.XDPDesc)(unsafe.Add(x.rx.descs, uintptr(cons&x.rx.mask)*unsafe.Sizeof(unix.XDPDesc{})))
		if desc.Addr+uint64(desc.Len) <= uint64(len(x.umem)) {
			fn(x.umem[desc.Addr : desc.Addr+uint64(desc.Len)])
		}
		// Give the frame back: its start, whatever offset the kernel used.
		*(*uint64)(unsafe.Add(x.fill.descs, uintptr(x.fillProd&x.fill.mask)*8)) = desc.Addr &^ (x.frameSize - 1)
		x.fillProd++
		n++
		if n%xskRelease == 0 {
			x.release(cons+1, xskRelease)
		}
	}
	if r := n % xskRelease; r > 0 {
		x.release(cons, r)
	}
	x.last.Store(int32(n))
	if n > 0 {
		// A packet the kernel dropped after the program redirected it
		// took a credit no frame gives back: give it back here, or the
		// queue would lose its slow path bit by bit.
		if d := x.Dropped(); d > x.lost {
			atomic.AddInt64(x.credit, int64(d-x.lost))
			x.lost = d
		}
	}
	return n, nil
}

// Take decodes the packets waiting on the socket, without waiting for
// more, into h, each stamped with the time it was taken. It returns the
// number of packets. Call it from one goroutine at a time.
//
// Each packet goes to h on its own: the readers of two queues share one
// table, and handing a ring's backlog to it as one batch under the
// table's lock (capture.BatchHandler) saved no CPU per new flow and lost
// the highest lossless rate (566,923 new flows/s in one of three rounds
// before, in none of three with batches; tools/bench -what slowpath).
func (x *XSK) Take(h capture.Handler, p *decode.Packet) (int, error) {
	return x.Receive(0, func(data []byte) {
		kind := decode.Decode(decode.LinkEthernet, data, p)
		p.Timestamp = time.Now().UnixNano()
		p.WireLen = uint32(len(data))
		h.HandlePacket(p, kind)
	})
}

// release hands the kernel the rx ring up to cons and the frames given
// back since the last release, and the program their credits: frames
// first, so that a credit never stands for a frame the kernel lacks.
func (x *XSK) release(cons uint32, n int) {
	atomic.StoreUint32(x.rx.consumer, cons)
	atomic.StoreUint32(x.fill.producer, x.fillProd)
	atomic.AddInt64(x.credit, int64(n))
}

// Dropped is how many packets the kernel could not hand to this socket
// (its ring was full or no frame was free).
func (x *XSK) Dropped() uint64 {
	var st unix.XDPStatistics
	size := uint32(unsafe.Sizeof(st))
	if _, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(x.fd), unix.SOL_XDP, unix.XDP_STATISTICS,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&size)), 0); e != 0 {
		return 0
	}
	return st.Rx_dropped + st.Rx_ring_full
}

// Close closes the socket and unmaps its memory. Unregister it from the
// program first (Dataplane.CloseXSK) so packets go back to the kernel path.
func (x *XSK) Close() error {
	var errs []error
	for _, r := range []ring{x.rx, x.comp, x.fill} {
		if r.mem != nil {
			errs = append(errs, unix.Munmap(r.mem))
		}
	}
	if x.fd >= 0 {
		errs = append(errs, unix.Close(x.fd))
		x.fd = -1
	}
	if x.umem != nil {
		errs = append(errs, unix.Munmap(x.umem))
		x.umem = nil
	}
	return errors.Join(errs...)
}

// CloseXSK unregisters x from the program, then closes it.
func (d *Dataplane) CloseXSK(x *XSK) error {
	err := x.unregister()
	atomic.StoreInt64(x.credit, 0)
	return errors.Join(err, x.Close())
}
