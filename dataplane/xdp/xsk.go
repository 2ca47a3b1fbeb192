package xdp

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// XSK is one AF_XDP socket on one RX queue, receive-only, in copy mode
// (which works on every driver and in generic XDP; zero-copy would need
// driver support and buys nothing for a slow path). The XDP program
// redirects to it the packets it leaves to userspace.
//
// The ring indexes live in memory the kernel shares with us: they are read
// and written with atomic loads and stores (acquire/release, as libbpf's
// xsk.h does), never as plain fields.
type XSK struct {
	fd        int
	queue     int
	umem      []byte
	frameSize uint64
	fill      ring
	comp      ring
	rx        ring
	fillProd  uint32 // our copy of the fill ring's producer index
}

type ring struct {
	mem      []byte
	producer *uint32
	consumer *uint32
	descs    unsafe.Pointer
	mask     uint32
}

const (
	xskFrames    = 4096
	xskFrameSize = 2048
	xskRing      = 2048
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
	x := &XSK{fd: fd, queue: queue, frameSize: xskFrameSize}
	if err := x.setup(ifi.Index, queue); err != nil {
		x.Close()
		return nil, err
	}
	if err := d.objs.Xsks.Put(uint32(queue), uint32(fd)); err != nil {
		x.Close()
		return nil, fmt.Errorf("xsk: registering queue %d: %w", queue, err)
	}
	return x, nil
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
// valid only during the call; the frame goes back to the kernel after).
// It returns the number of packets handled.
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
	}
	if n > 0 {
		atomic.StoreUint32(x.rx.consumer, cons)
		atomic.StoreUint32(x.fill.producer, x.fillProd)
	}
	return n, nil
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
	err := d.objs.Xsks.Delete(uint32(x.queue))
	return errors.Join(err, x.Close())
}
