// Package recorder keeps a bounded on-disk recording of an interface's
// packets, a ring of nanosecond pcap files fed by an AF_PACKET socket that
// sits beside XDP (XDP_PASS hands every packet on to the stack, and so to
// AF_PACKET), and extracts time windows of it through a tcpdump filter.
// It knows nothing of HTTP or of the probe's store.
package recorder

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Defaults.
const (
	DefaultMaxBytes = 1 << 30
	DefaultSnaplen  = 65535
	maxFileBytes    = 64 << 20
	minFileBytes    = 64 << 10
	pcapHeaderLen   = 24
	recordHeaderLen = 16
	writeBufferSize = 256 << 10
)

// Config of a Ring.
type Config struct {
	Dir string
	// MaxBytes bounds the files on disk together, the one being written
	// included; the oldest files go first. 0: DefaultMaxBytes.
	MaxBytes int64
	// FileBytes is the size a file rotates at; 0: MaxBytes/16, at most
	// 64 MiB. Extraction opens only the files overlapping the window, so
	// smaller files mean less to read per request.
	FileBytes int64
	Snaplen   int // 0: DefaultSnaplen
	Logger    *slog.Logger
}

func (c *Config) fill() error {
	if c.Dir == "" {
		return errors.New("recorder: no directory")
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.FileBytes == 0 {
		c.FileBytes = min(c.MaxBytes/16, maxFileBytes)
	}
	c.FileBytes = max(c.FileBytes, minFileBytes)
	if c.MaxBytes < 2*c.FileBytes {
		return fmt.Errorf("recorder: disk budget %d bytes is below two files of %d bytes", c.MaxBytes, c.FileBytes)
	}
	if c.Snaplen <= 0 {
		c.Snaplen = DefaultSnaplen
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// segment is one pcap file of the ring. first and last are the smallest
// and largest packet times in it (Unix ns), which is all extraction needs
// to skip it; they live in the file name, so a restart finds them without
// reading the files.
type segment struct {
	path        string
	seq         uint64
	first, last int64
	size        int64
}

// A closed file is "<seq>-<first ns>-<last ns>.pcap"; the file being
// written is "<seq>.pcap.part" (renamed when it is closed).
const (
	closedSuffix = ".pcap"
	openSuffix   = ".pcap.part"
)

func closedName(seq uint64, first, last int64) string {
	return fmt.Sprintf("%016d-%d-%d%s", seq, first, last, closedSuffix)
}

func parseClosedName(name string) (seq uint64, first, last int64, ok bool) {
	base, found := strings.CutSuffix(name, closedSuffix)
	if !found {
		return 0, 0, 0, false
	}
	parts := strings.Split(base, "-")
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	seq, err1 := strconv.ParseUint(parts[0], 10, 64)
	first, err2 := strconv.ParseInt(parts[1], 10, 64)
	last, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first > last {
		return 0, 0, 0, false
	}
	return seq, first, last, true
}

// Ring is the recording on disk. Write is for one goroutine; Extract,
// Flush and Stats may run concurrently with it.
type Ring struct {
	cfg Config

	mu          sync.Mutex
	files       []segment // closed, oldest first
	closedBytes int64
	cur         *openSegment
	nextSeq     uint64
	closed      bool
	stats       RingStats
}

// RingStats count what the ring did.
type RingStats struct {
	Packets      uint64 // written
	Bytes        uint64 // written to files, headers included
	FilesDeleted uint64 // removed to stay within the budget
	DiskBytes    int64  // on disk now
	Files        int    // on disk now, the open one included
}

type openSegment struct {
	segment
	f       *os.File
	bw      *bufio.Writer
	w       *pcapgo.Writer
	flushed int64 // bytes readers may see
}

// Open opens (or creates) the ring in cfg.Dir. Files of an earlier run are
// kept: closed ones are indexed by name, one left open by a crash is cut
// after its last whole packet and closed. Then the budget is enforced.
func Open(cfg Config) (*Ring, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	r := &Ring{cfg: cfg, nextSeq: 1}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(cfg.Dir, e.Name())
		var s segment
		if seq, first, last, ok := parseClosedName(e.Name()); ok {
			info, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("recorder: %w", err)
			}
			s = segment{path: path, seq: seq, first: first, last: last, size: info.Size()}
		} else if strings.HasSuffix(e.Name(), openSuffix) {
			seq, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), openSuffix), 10, 64)
			if err != nil {
				continue
			}
			rs, ok, err := recoverPart(path, seq)
			if err != nil {
				cfg.Logger.Warn("recorder: dropping unreadable unfinished file", "file", path, "err", err)
				os.Remove(path)
				continue
			}
			if !ok {
				continue
			}
			s = rs
		} else {
			continue // not ours
		}
		r.files = append(r.files, s)
		r.closedBytes += s.size
		r.nextSeq = max(r.nextSeq, s.seq+1)
	}
	slices.SortFunc(r.files, func(a, b segment) int { return cmp.Compare(a.seq, b.seq) })
	r.enforceLocked()
	return r, nil
}

// recoverPart closes a file a crash left open: it keeps the whole packets,
// cuts a torn last record and renames the file. ok is false when there was
// nothing worth keeping (the file is removed).
func recoverPart(path string, seq uint64) (segment, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return segment{}, false, err
	}
	defer f.Close()
	pr, err := pcapgo.NewReader(bufio.NewReader(f))
	if err != nil {
		return segment{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	s := segment{seq: seq, size: pcapHeaderLen}
	n := 0
	for {
		data, ci, err := pr.ZeroCopyReadPacketData()
		if err != nil {
			break // EOF or a torn record: keep what came before
		}
		ts := ci.Timestamp.UnixNano()
		if n == 0 || ts < s.first {
			s.first = ts
		}
		s.last = max(s.last, ts)
		s.size += recordHeaderLen + int64(len(data))
		n++
	}
	if n == 0 {
		return segment{}, false, os.Remove(path)
	}
	if err := f.Truncate(s.size); err != nil {
		return segment{}, false, err
	}
	s.path = filepath.Join(filepath.Dir(path), closedName(seq, s.first, s.last))
	if err := os.Rename(path, s.path); err != nil {
		return segment{}, false, err
	}
	return s, true, nil
}

// Snaplen is the longest frame part kept.
func (r *Ring) Snaplen() int { return r.cfg.Snaplen }

// Write appends one Ethernet frame captured at tsNanos (Unix ns) that was
// wireLen bytes long; frames longer than the snaplen are cut.
func (r *Ring) Write(frame []byte, tsNanos int64, wireLen int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errors.New("recorder: write to a closed ring")
	}
	if r.cur == nil {
		if err := r.startLocked(); err != nil {
			return err
		}
	}
	if len(frame) > r.cfg.Snaplen {
		frame = frame[:r.cfg.Snaplen]
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, tsNanos), CaptureLength: len(frame), Length: max(wireLen, len(frame))}
	if err := r.cur.w.WritePacket(ci, frame); err != nil {
		return fmt.Errorf("recorder: write %s: %w", r.cur.path, err)
	}
	c := r.cur
	if c.size == pcapHeaderLen || tsNanos < c.first {
		c.first = tsNanos
	}
	c.last = max(c.last, tsNanos)
	n := int64(recordHeaderLen + len(frame))
	c.size += n
	r.stats.Packets++
	r.stats.Bytes += uint64(n)
	if c.size >= r.cfg.FileBytes {
		return r.rotateLocked()
	}
	return nil
}

func (r *Ring) startLocked() error {
	seq := r.nextSeq
	path := filepath.Join(r.cfg.Dir, fmt.Sprintf("%016d%s", seq, openSuffix))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	bw := bufio.NewWriterSize(f, writeBufferSize)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(uint32(r.cfg.Snaplen), layers.LinkTypeEthernet); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("recorder: write %s: %w", path, err)
	}
	r.nextSeq++
	r.cur = &openSegment{segment: segment{path: path, seq: seq, size: pcapHeaderLen}, f: f, bw: bw, w: w}
	r.stats.Bytes += pcapHeaderLen
	// The open file counts against the budget at its full size from the
	// start, so the total never goes over.
	r.enforceLocked()
	return nil
}

// rotateLocked closes the open file under its final name.
func (r *Ring) rotateLocked() error {
	c := r.cur
	r.cur = nil
	err := c.bw.Flush()
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if c.size == pcapHeaderLen {
		os.Remove(c.path)
		return err
	}
	final := filepath.Join(r.cfg.Dir, closedName(c.seq, c.first, c.last))
	if rerr := os.Rename(c.path, final); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("recorder: close %s: %w", c.path, err)
	}
	c.segment.path = final
	r.files = append(r.files, c.segment)
	r.closedBytes += c.size
	return nil
}

// enforceLocked deletes the oldest files until the closed files plus a
// full open one fit the budget.
func (r *Ring) enforceLocked() {
	for len(r.files) > 0 && r.closedBytes+r.cfg.FileBytes > r.cfg.MaxBytes {
		old := r.files[0]
		if err := os.Remove(old.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.cfg.Logger.Warn("recorder: cannot delete old file", "file", old.path, "err", err)
		}
		r.files = r.files[1:]
		r.closedBytes -= old.size
		r.stats.FilesDeleted++
	}
}

// Flush makes everything written so far visible on disk (and to Extract).
func (r *Ring) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked()
}

func (r *Ring) flushLocked() error {
	if r.cur == nil {
		return nil
	}
	if err := r.cur.bw.Flush(); err != nil {
		return fmt.Errorf("recorder: flush %s: %w", r.cur.path, err)
	}
	r.cur.flushed = r.cur.size
	return nil
}

// Stats returns the counters.
func (r *Ring) Stats() RingStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.DiskBytes = r.closedBytes
	s.Files = len(r.files)
	if r.cur != nil {
		s.DiskBytes += r.cur.size
		s.Files++
	}
	return s
}

// Close closes the open file under its final name. Extractions already
// opened still read to their end.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.cur == nil {
		return nil
	}
	return r.rotateLocked()
}

// Extract selects the packets of [from, to] (both inclusive) that match
// filter (nil: all). The files are opened now, under the lock, so neither
// rotation nor the budget can pull them away; the copy happens in WriteTo.
// Close the Extraction when done.
func (r *Ring) Extract(from, to time.Time, filter Matcher) (*Extraction, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.flushLocked(); err != nil {
		return nil, err
	}
	lo, hi := from.UnixNano(), to.UnixNano()
	x := &Extraction{from: lo, to: hi, filter: filter, snaplen: uint32(r.cfg.Snaplen), link: layers.LinkTypeEthernet}
	add := func(s segment, size int64) error {
		if s.last < lo || s.first > hi || size <= pcapHeaderLen {
			return nil
		}
		f, err := os.Open(s.path)
		if err != nil {
			x.Close()
			return fmt.Errorf("recorder: %w", err)
		}
		x.parts = append(x.parts, &segmentReader{f: f, sr: io.NewSectionReader(f, 0, size)})
		return nil
	}
	for _, s := range r.files {
		if err := add(s, s.size); err != nil {
			return nil, err
		}
	}
	if r.cur != nil {
		// Only what was flushed: a reader never sees a half-written record.
		if err := add(r.cur.segment, r.cur.flushed); err != nil {
			return nil, err
		}
	}
	return x, nil
}
