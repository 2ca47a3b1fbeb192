package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/dataplane/decode"
)

const (
	// fileBufSize is large enough that reads hit the disk in big sequential
	// chunks; pcapgo reuses a *bufio.Reader it is given instead of adding its own.
	fileBufSize = 1 << 20

	// maxFileSnaplen is the largest record accepted whatever the file header
	// says, as tcpdump does: some writers do not honour their own snaplen,
	// and a bound still catches corrupt record headers.
	maxFileSnaplen = 262144
)

// File magic numbers, read as little-endian uint32.
const (
	magicPcapMicros   = 0xA1B2C3D4
	magicPcapMicrosBE = 0xD4C3B2A1
	magicPcapNanos    = 0xA1B23C4D
	magicPcapNanosBE  = 0x4D3CB2A1
	magicPcapng       = 0x0A0D0D0A // section header block type, a palindrome
)

// IsCaptureFile tells a capture file argument from an interface name: an
// existing file that is not a directory (regular file or FIFO), or a name
// with a capture extension, so that a mistyped path is reported as a missing
// file rather than a missing interface.
func IsCaptureFile(arg string) bool {
	if fi, err := os.Stat(arg); err == nil {
		return !fi.IsDir()
	}
	name := strings.TrimSuffix(strings.ToLower(arg), ".gz")
	switch filepath.Ext(name) {
	case ".pcap", ".pcapng", ".cap":
		return true
	}
	return false
}

// OpenFile opens a pcap (either byte order, µs or ns timestamps) or pcapng
// file, optionally gzip-compressed, telling the format by its magic number.
func OpenFile(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture file: %w", err)
	}
	src, err := newFileSource(f, path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open capture file %s: %w", path, err)
	}
	return src, nil
}

func newFileSource(f *os.File, path string) (Source, error) {
	// A read of a regular file never waits for packets to be written; one
	// of a FIFO or a terminal does (see neverWaits).
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	regular := fi.Mode().IsRegular()
	closers := []io.Closer{f}
	br := bufio.NewReaderSize(f, fileBufSize)
	magic, err := peekMagic(br)
	if err != nil {
		return nil, err
	}
	if magic&0xFFFF == 0x8B1F { // gzip: look at the magic of what it holds
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		closers = append(closers, gz)
		br = bufio.NewReaderSize(gz, fileBufSize)
		if magic, err = peekMagic(br); err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
	}

	switch magic {
	case magicPcapMicros, magicPcapMicrosBE, magicPcapNanos, magicPcapNanosBE:
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("pcap header: %w", err)
		}
		// pcapgo read the file header through br itself (it keeps a
		// *bufio.Reader it is given); the records are read from br here.
		return &pcapSource{name: path, r: r, br: br, closers: closers, regular: regular,
			bigEndian: magic == magicPcapMicrosBE || magic == magicPcapNanosBE,
			nsFactor:  nsFactor(magic),
			snaplen:   max(r.Snaplen(), maxFileSnaplen)}, nil

	case magicPcapng:
		// Mixed link types are read rather than skipped: a multi-interface
		// dumpcap file should not silently lose packets.
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("pcapng section header: %w", err)
		}
		s := &ngSource{name: path, r: r, closers: closers, regular: regular}
		// Read the first packet now so LinkType is right before the
		// first ReadPacket; its data stays valid until the next read.
		s.prefetch()
		if s.pendErr != nil && !errors.Is(s.pendErr, io.EOF) {
			return nil, s.pendErr
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w (magic %#08x)", ErrUnknownFormat, magic)
}

func peekMagic(br *bufio.Reader) (uint32, error) {
	b, err := br.Peek(4)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("%w: %d-byte file", ErrUnknownFormat, len(b))
		}
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func closeAll(closers []io.Closer) error {
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		errs = append(errs, closers[i].Close())
	}
	return errors.Join(errs...)
}

// readErr keeps io.EOF bare, as the Source contract promises, and names the
// file in everything else. A record cut short is the usual sign of a capture
// that was killed mid-write.
func readErr(name string, err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("read %s: truncated packet record: %w", name, err)
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// pcapSource reads classic pcap files. pcapgo reads the file header; the
// records are taken straight from the read buffer (a record header and
// its data peeked, then skipped), so a packet is copied once, from the
// file into the buffer, and its bytes stay valid until the next read as
// the Source contract asks. The checks are pcapgo's.
type pcapSource struct {
	name      string
	regular   bool // a regular file, not a FIFO (see neverWaits)
	r         *pcapgo.Reader
	br        *bufio.Reader
	closers   []io.Closer
	bigEndian bool
	nsFactor  uint32 // 1 (ns timestamps) or 1000 (µs)
	snaplen   uint32
}

func (s *pcapSource) LinkType() decode.LinkType { return decode.LinkType(s.r.LinkType()) }
func (s *pcapSource) Close() error              { return closeAll(s.closers) }

// Regular files never wait for packets (see BatchHandler); a FIFO waits
// for its writer.
func (s *pcapSource) neverWaits() bool { return s.regular }
func (s *ngSource) neverWaits() bool   { return s.regular }

// nsFactor turns a classic pcap file's timestamp fraction into
// nanoseconds.
func nsFactor(magic uint32) uint32 {
	if magic == magicPcapNanos || magic == magicPcapNanosBE {
		return 1
	}
	return 1000
}

// pcapRecordHeader is the size of a classic pcap record header.
const pcapRecordHeader = 16

func (s *pcapSource) ReadPacket() ([]byte, int64, uint32, error) {
	h, err := s.br.Peek(pcapRecordHeader)
	if len(h) < pcapRecordHeader {
		if len(h) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, 0, readErr(s.name, err)
	}
	u32 := binary.LittleEndian.Uint32
	if s.bigEndian {
		u32 = binary.BigEndian.Uint32
	}
	sec, frac, capLen, wireLen := u32(h[0:4]), u32(h[4:8]), u32(h[8:12]), u32(h[12:16])
	switch {
	case capLen > s.snaplen:
		return nil, 0, 0, readErr(s.name, fmt.Errorf("capture length exceeds snap length: %d > %d", capLen, s.snaplen))
	case capLen > wireLen:
		return nil, 0, 0, readErr(s.name, fmt.Errorf("capture length exceeds original packet length: %d > %d", capLen, wireLen))
	}
	n := pcapRecordHeader + int(capLen)
	rec, err := s.br.Peek(n)
	if len(rec) < n {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, 0, 0, readErr(s.name, err)
	}
	_, _ = s.br.Discard(n) // the bytes stay in the buffer until the next Peek
	// As pcapgo: the fraction scaled in 32 bits, then added as nanoseconds.
	ts := int64(sec)*1e9 + int64(frac*s.nsFactor)
	return rec[pcapRecordHeader:n:n], ts, wireLen, nil
}

// ngSource reads pcapng files. The link type travels with each packet.
type ngSource struct {
	name    string
	regular bool // a regular file, not a FIFO (see neverWaits)
	r       *pcapgo.NgReader
	closers []io.Closer
	lt      decode.LinkType

	// A packet read ahead by OpenFile, returned by the first ReadPacket.
	pending  bool
	pendData []byte
	pendCI   gopacket.CaptureInfo
	pendErr  error
}

func (s *ngSource) prefetch() {
	s.pendData, s.pendCI, s.pendErr = s.r.ZeroCopyReadPacketData()
	s.pending = true
	if s.pendErr == nil {
		s.track(s.pendCI)
	} else if s.r.NInterfaces() > 0 {
		// No packets: still report the first interface's link type.
		if intf, err := s.r.Interface(0); err == nil {
			s.lt = decode.LinkType(intf.LinkType)
		}
	}
}

func (s *ngSource) track(ci gopacket.CaptureInfo) {
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			s.lt = decode.LinkType(lt)
		}
	}
}

func (s *ngSource) LinkType() decode.LinkType { return s.lt }
func (s *ngSource) Close() error              { return closeAll(s.closers) }

func (s *ngSource) ReadPacket() ([]byte, int64, uint32, error) {
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
	)
	if s.pending {
		s.pending = false
		data, ci, err = s.pendData, s.pendCI, s.pendErr
		s.pendData = nil
	} else {
		data, ci, err = s.r.ZeroCopyReadPacketData()
		if err == nil {
			s.track(ci)
		}
	}
	if err != nil {
		return nil, 0, 0, readErr(s.name, err)
	}
	return data, ci.Timestamp.UnixNano(), uint32(ci.Length), nil
}
