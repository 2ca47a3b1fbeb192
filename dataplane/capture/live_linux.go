//go:build linux

package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// Ring geometry. TPACKET_V3 hands whole blocks to userspace, so a block must
// hold at least one snaplen frame; 64 x 1 MiB absorbs bursts of ~40k small
// packets while the reader is descheduled.
const (
	maxLiveSnaplen = 262144
	ringBlockSize  = 1 << 20
	ringBlocks     = 64
	// A block is handed over when full or this old, which bounds the added
	// latency at low packet rates.
	ringBlockTimeout = 10 * time.Millisecond
	// How long ReadPacket waits before returning ErrTimeout: the longest a
	// cancelled Run can linger, and how long Close may wait for a reader.
	pollTimeout = 100 * time.Millisecond
)

// OpenLive captures on the named interface with an AF_PACKET TPACKET_V3
// ring in promiscuous mode. Frames longer than snaplen are cut to it
// (snaplen <= 0 means 262144); the wire length is kept.
func OpenLive(ifname string, snaplen int) (Source, error) {
	if snaplen <= 0 || snaplen > maxLiveSnaplen {
		snaplen = maxLiveSnaplen
	}
	var filter []bpf.RawInstruction
	if snaplen < maxLiveSnaplen {
		// AF_PACKET has no snaplen of its own; like libpcap, a one-instruction
		// filter returning the snaplen makes the kernel truncate the copy.
		filter = []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: uint32(snaplen)}}
	}
	return openLive(ifname, snaplen, ringBlocks, filter)
}

// arpRingBlocks is the ARP-only ring: ARP is a trickle next to the traffic.
const arpRingBlocks = 2

// OpenLiveARP captures only the ARP frames of the named interface (a
// kernel filter drops everything else before the copy), for a live
// interface whose traffic XDP accounts without handing ARP to userspace:
// the table still learns broadcast domains and IP-MAC bindings from them.
// VLAN tags are usually offloaded to the ring's metadata (and put back
// when read); a tag left in the frame is looked through.
func OpenLiveARP(ifname string) (Source, error) {
	const keep, drop = 1500, 0 // ARP is 28 bytes
	filter := []bpf.RawInstruction{
		{Op: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: 12},                                 // 0: ethertype
		{Op: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: decode.EtherTypeARP, Jt: 3, Jf: 0}, // 1: ARP: keep
		{Op: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: 0x8100, Jt: 0, Jf: 3},              // 2: a tag left in the frame?
		{Op: unix.BPF_LD | unix.BPF_H | unix.BPF_ABS, K: 16},                                 // 3: the tagged ethertype
		{Op: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: decode.EtherTypeARP, Jt: 0, Jf: 1}, // 4: ARP: keep
		{Op: unix.BPF_RET | unix.BPF_K, K: keep},                                             // 5
		{Op: unix.BPF_RET | unix.BPF_K, K: drop},                                             // 6
	}
	return openLive(ifname, 1500, arpRingBlocks, filter)
}

func openLive(ifname string, snaplen, blocks int, filter []bpf.RawInstruction) (Source, error) {
	if _, err := net.InterfaceByName(ifname); err != nil {
		return nil, fmt.Errorf("open live capture on %q: %w", ifname, err)
	}
	blockSize := ringBlockSize
	for blockSize < 2*snaplen {
		blockSize *= 2
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(ifname),
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(blockSize),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptBlockTimeout(ringBlockTimeout),
		afpacket.OptPollTimeout(pollTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("open live capture on %q: AF_PACKET ring: %w", ifname, err)
	}
	if err := tp.SetPromiscuous(true); err != nil {
		tp.Close()
		return nil, fmt.Errorf("open live capture on %q: promiscuous mode: %w", ifname, err)
	}
	if filter != nil {
		if err := tp.SetBPF(filter); err != nil {
			tp.Close()
			return nil, fmt.Errorf("open live capture on %q: filter: %w", ifname, err)
		}
	}
	return &liveSource{name: ifname, tp: tp}, nil
}

// liveSource reads an AF_PACKET ring. ReadPacket is for one goroutine at a
// time; Stats and Close may be called from others.
type liveSource struct {
	name string
	// mu guards tp against Close: readers and Stats hold it shared, Close
	// exclusively, because closing unmaps the ring a reader may be polling.
	mu sync.RWMutex
	tp *afpacket.TPacket
	// vlanBuf holds the last frame whose VLAN tag was put back.
	vlanBuf []byte
}

func (s *liveSource) LinkType() decode.LinkType { return decode.LinkEthernet }

func (s *liveSource) ReadPacket() ([]byte, int64, uint32, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tp == nil {
		return nil, 0, 0, fmt.Errorf("read %s: %w", s.name, net.ErrClosed)
	}
	data, ci, err := s.tp.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, afpacket.ErrTimeout) {
			return nil, 0, 0, ErrTimeout
		}
		return nil, 0, 0, fmt.Errorf("read %s: %w", s.name, err)
	}
	wireLen := uint32(ci.Length)
	if len(ci.AncillaryData) > 0 {
		var restored bool
		if data, restored = s.restoreVLAN(data, ci.AncillaryData); restored {
			wireLen += vlanTagLen
		}
	}
	return data, ci.Timestamp.UnixNano(), wireLen, nil
}

const vlanTagLen = 4

// restoreVLAN puts back the outer VLAN tag that the kernel (or the NIC)
// moved into packet metadata, so the decoder and the byte counts see the
// frame as it was on the wire. Only the VLAN id survives the trip: the tag is
// rebuilt as 802.1Q with priority 0. afpacket's own OptAddVLANHeader is not
// used because it drops all-zero tags, allocates per frame and leaves the
// wire length short of the tag.
func (s *liveSource) restoreVLAN(data []byte, anc []any) ([]byte, bool) {
	for _, a := range anc {
		v, ok := a.(afpacket.AncillaryVLAN)
		if !ok || len(data) < 12 {
			continue
		}
		n := len(data) + vlanTagLen
		if cap(s.vlanBuf) < n {
			s.vlanBuf = make([]byte, max(n, 2048))
		}
		b := s.vlanBuf[:n]
		copy(b, data[:12])
		binary.BigEndian.PutUint16(b[12:], 0x8100)
		binary.BigEndian.PutUint16(b[14:], uint16(v.VLAN)&0x0FFF)
		copy(b[16:], data[12:])
		return b, true
	}
	return data, false
}

func (s *liveSource) Stats() (Stats, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.tp == nil {
		return Stats{}, fmt.Errorf("stats %s: %w", s.name, net.ErrClosed)
	}
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return Stats{}, fmt.Errorf("stats %s: %w", s.name, err)
	}
	return Stats{Received: uint64(v3.Packets()), Dropped: uint64(v3.Drops())}, nil
}

// Close releases the ring. It waits for a concurrent ReadPacket to return
// (at most the poll timeout) and is safe to call more than once.
func (s *liveSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tp != nil {
		s.tp.Close()
		s.tp = nil
	}
	return nil
}
