package recorder

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Matcher decides which frames an extraction keeps (a compiled
// pcapfilter.Filter). A nil Matcher keeps every frame.
type Matcher interface {
	Match(frame []byte) bool
	MatchAll() bool
}

// packetReader is one file's packets in order.
type packetReader interface {
	ReadPacket() (data []byte, tsNanos int64, wireLen uint32, err error)
	Close() error
}

// Extraction is one pcap stream of selected packets, ready to be written.
type Extraction struct {
	from, to int64
	filter   Matcher
	snaplen  uint32
	link     layers.LinkType
	parts    []packetReader
}

// WriteTo writes the pcap (nanosecond timestamps) to w: the header, then
// the selected packets in recording order. It closes the files it read.
func (x *Extraction) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	pw := pcapgo.NewWriterNanos(cw)
	if err := pw.WriteFileHeader(x.snaplen, x.link); err != nil {
		return cw.n, fmt.Errorf("extract: %w", err)
	}
	all := x.filter == nil || x.filter.MatchAll()
	for i, p := range x.parts {
		for {
			data, ts, wireLen, err := p.ReadPacket()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				x.Close()
				return cw.n, fmt.Errorf("extract: %w", err)
			}
			if ts < x.from || ts > x.to || (!all && !x.filter.Match(data)) {
				continue
			}
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts), CaptureLength: len(data), Length: max(int(wireLen), len(data))}
			if err := pw.WritePacket(ci, data); err != nil {
				x.Close()
				return cw.n, fmt.Errorf("extract: %w", err)
			}
		}
		p.Close()
		x.parts[i] = nil
	}
	return cw.n, nil
}

// Close releases the files not read yet.
func (x *Extraction) Close() error {
	for i, p := range x.parts {
		if p != nil {
			p.Close()
			x.parts[i] = nil
		}
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// segmentReader reads a ring file up to the size known when it was opened.
type segmentReader struct {
	f  *os.File
	sr *io.SectionReader
	pr *pcapgo.Reader
}

func (s *segmentReader) ReadPacket() ([]byte, int64, uint32, error) {
	if s.pr == nil {
		pr, err := pcapgo.NewReader(bufio.NewReaderSize(s.sr, 256<<10))
		if err != nil {
			return nil, 0, 0, fmt.Errorf("read %s: %w", s.f.Name(), err)
		}
		s.pr = pr
	}
	data, ci, err := s.pr.ZeroCopyReadPacketData()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, 0, io.EOF
		}
		return nil, 0, 0, fmt.Errorf("read %s: %w", s.f.Name(), err)
	}
	return data, ci.Timestamp.UnixNano(), uint32(ci.Length), nil
}

func (s *segmentReader) Close() error { return s.f.Close() }

// ErrFilterLinkType: filters are compiled for Ethernet frames.
var ErrFilterLinkType = errors.New("a filter needs an Ethernet capture")

// ExtractFile is Extract over a capture file (pcap, pcapng, gzipped): a
// probe replaying a file needs no recorder to answer extractions. A
// non-empty filter on a non-Ethernet file is the caller's error (marked
// with badinput, wrapping ErrFilterLinkType).
func ExtractFile(path string, from, to time.Time, filter Matcher) (*Extraction, error) {
	src, err := capture.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	lt := src.LinkType()
	if filter != nil && !filter.MatchAll() && lt != decode.LinkEthernet {
		src.Close()
		return nil, badinput.Wrap(fmt.Errorf("%s has link type %d: %w", path, lt, ErrFilterLinkType))
	}
	return &Extraction{from: from.UnixNano(), to: to.UnixNano(), filter: filter, snaplen: 262144,
		link: layers.LinkType(lt), parts: []packetReader{src}}, nil
}
