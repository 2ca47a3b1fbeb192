package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/dataplane/decode"
)

// testRecord is one packet written to a test capture.
type testRecord struct {
	ts      time.Time
	data    []byte
	wireLen int // > len(data) for a snaplen-truncated record
}

func testRecords(tb testing.TB, n int) []testRecord {
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	recs := make([]testRecord, n)
	for i := range recs {
		f := udpFrame(tb, uint16(1000+i), 0, 100+i)
		recs[i] = testRecord{ts: base.Add(time.Duration(i)*time.Second + time.Duration(i)*1234567 + 89), data: f, wireLen: len(f)}
		if i%3 == 2 { // every third record cut by a 64-byte snaplen
			recs[i].data = f[:64]
		}
	}
	return recs
}

func ci(r testRecord) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: r.ts, CaptureLength: len(r.data), Length: r.wireLen}
}

func writePcap(tb testing.TB, path string, nanos bool, recs []testRecord) {
	tb.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WritePacket(ci(r), r.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// swapPcap rewrites a little-endian pcap file as a big-endian one, as a
// capture taken on a big-endian host would be: every header field swapped,
// packet bytes untouched.
func swapPcap(tb testing.TB, path string) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	swap32 := func(p []byte) { binary.BigEndian.PutUint32(p, binary.LittleEndian.Uint32(p)) }
	swap16 := func(p []byte) { binary.BigEndian.PutUint16(p, binary.LittleEndian.Uint16(p)) }
	swap32(b[0:])
	swap16(b[4:])
	swap16(b[6:])
	for _, off := range []int{8, 12, 16, 20} {
		swap32(b[off:])
	}
	for off := 24; off < len(b); {
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		for f := 0; f < 16; f += 4 {
			swap32(b[off+f:])
		}
		off += 16 + incl
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func writePcapng(tb testing.TB, path string, recs []testRecord) {
	tb.Helper()
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range recs {
		if err := w.WritePacket(ci(r), r.data); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func runFile(t *testing.T, path string) []seen {
	t.Helper()
	src, err := OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer src.Close()
	if lt := src.LinkType(); lt != decode.LinkEthernet {
		t.Errorf("LinkType = %d before reading, want Ethernet", lt)
	}
	var rec recorder
	if err := Run(context.Background(), src, &rec); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rec.snapshot()
}

func checkRecords(t *testing.T, got []seen, recs []testRecord, resolution time.Duration) {
	t.Helper()
	if len(got) != len(recs) {
		t.Fatalf("read %d packets, wrote %d", len(got), len(recs))
	}
	for i, r := range recs {
		g := got[i]
		if want := r.ts.Truncate(resolution).UnixNano(); g.ts != want {
			t.Errorf("packet %d: timestamp %d, want %d", i, g.ts, want)
		}
		if g.wireLen != uint32(r.wireLen) {
			t.Errorf("packet %d: wire length %d, want %d", i, g.wireLen, r.wireLen)
		}
		if g.kind != decode.ErrNone || g.srcPort != uint16(1000+i) || g.dstPort != testDstPort {
			t.Errorf("packet %d: kind %v ports %d>%d", i, g.kind, g.srcPort, g.dstPort)
		}
		if want := len(r.data) - 42; g.payload != want {
			t.Errorf("packet %d: payload %d bytes, want %d", i, g.payload, want)
		}
	}
}

func TestOpenFileFormats(t *testing.T) {
	recs := testRecords(t, 50)
	dir := t.TempDir()
	cases := []struct {
		name       string
		write      func(path string)
		resolution time.Duration
	}{
		{"pcap-us-le", func(p string) { writePcap(t, p, false, recs) }, time.Microsecond},
		{"pcap-ns-le", func(p string) { writePcap(t, p, true, recs) }, time.Nanosecond},
		{"pcap-us-be", func(p string) { writePcap(t, p, false, recs); swapPcap(t, p) }, time.Microsecond},
		{"pcap-ns-be", func(p string) { writePcap(t, p, true, recs); swapPcap(t, p) }, time.Nanosecond},
		{"pcapng", func(p string) { writePcapng(t, p, recs) }, time.Nanosecond}, // NgWriter always writes if_tsresol 9
		{"pcap-gzip", func(p string) { writePcap(t, p, true, recs); gzipFile(t, p) }, time.Nanosecond},
		{"pcapng-gzip", func(p string) { writePcapng(t, p, recs); gzipFile(t, p) }, time.Nanosecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			c.write(path)
			checkRecords(t, runFile(t, path), recs, c.resolution)
		})
	}
}

func gzipFile(tb testing.TB, path string) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// A pcapng file from several interfaces of different link types: each
// packet is decoded with its own interface's link type.
func TestPcapngMixedLinkTypes(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	rawID, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw, SnapLength: 65535})
	if err != nil {
		t.Fatal(err)
	}
	eth, raw := udpFrame(t, 1, 0, 10), rawIPv6Frame(t, 2)
	ts := time.Unix(1700000000, 0)
	for i := range 6 {
		c := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(eth), Length: len(eth)}
		data := eth
		if i%2 == 1 {
			c = gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(raw), Length: len(raw), InterfaceIndex: rawID}
			data = raw
		}
		if err := w.WritePacket(c, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mixed.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rec recorder
	if err := Run(context.Background(), src, &rec); err != nil {
		t.Fatal(err)
	}
	got := rec.snapshot()
	if len(got) != 6 {
		t.Fatalf("read %d packets, want 6", len(got))
	}
	for i, g := range got {
		wantV, wantMAC, wantPort := uint8(4), true, uint16(1)
		if i%2 == 1 {
			wantV, wantMAC, wantPort = 6, false, 2
		}
		if g.kind != decode.ErrNone || g.ipVersion != wantV || g.hasMAC != wantMAC || g.srcPort != wantPort {
			t.Errorf("packet %d: kind %v IPv%d hasMAC %v port %d", i, g.kind, g.ipVersion, g.hasMAC, g.srcPort)
		}
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := OpenFile(filepath.Join(dir, "missing.pcap")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	for name, content := range map[string][]byte{
		"empty.pcap":     nil,
		"short.pcap":     {0xD4, 0xC3},
		"text.pcap":      []byte("GET / HTTP/1.1\r\n\r\n"),
		"modified.pcap":  {0x34, 0xCD, 0xB2, 0xA1, 0, 0, 0, 0}, // Kuznetsov's modified pcap
		"gzip-text.pcap": gzipped([]byte("hello, not a capture")),
	} {
		_, err := OpenFile(write(name, content))
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: %v, want ErrUnknownFormat", name, err)
		} else if !bytes.Contains([]byte(err.Error()), []byte(name)) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := OpenFile(dir); err == nil {
		t.Errorf("directory opened as a capture")
	}

	// A capture killed mid-write: the last record is cut short.
	full := filepath.Join(dir, "full.pcap")
	writePcap(t, full, false, testRecords(t, 5))
	b, _ := os.ReadFile(full)
	cut := write("cut.pcap", b[:len(b)-10])
	src, err := OpenFile(cut)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var rec recorder
	err = Run(context.Background(), src, &rec)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated file: Run = %v, want ErrUnexpectedEOF", err)
	}
	if n := len(rec.snapshot()); n != 4 {
		t.Errorf("truncated file: %d packets before the error, want 4", n)
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestRunStopsOnCancelledContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	writePcap(t, path, false, testRecords(t, 10))
	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var rec recorder
	if err := Run(ctx, src, &rec); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Errorf("handled %d packets after cancel", n)
	}
}

func TestIsCaptureFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "eth0")
	os.WriteFile(plain, nil, 0o644)
	for arg, want := range map[string]bool{
		plain:                              true, // existing file, whatever its name
		dir:                                false,
		"eth0":                             false,
		"enp3s0f1":                         false,
		filepath.Join(dir, "nope.pcap"):    true, // missing, but clearly meant as a file
		filepath.Join(dir, "nope.PCAPNG"):  true,
		filepath.Join(dir, "nope.cap"):     true,
		filepath.Join(dir, "nope.pcap.gz"): true,
		filepath.Join(dir, "nope.txt"):     false,
	} {
		if got := IsCaptureFile(arg); got != want {
			t.Errorf("IsCaptureFile(%q) = %v, want %v", arg, got, want)
		}
	}
}

// Run over a file must not allocate per packet: the decoder is
// allocation-free and the readers reuse their buffers.
func TestRunFileAllocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allocs.pcap")
	writeBenchPcap(t, path, 20000)
	var c counter
	allocs := testing.AllocsPerRun(3, func() {
		src, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := Run(context.Background(), src, &c); err != nil {
			t.Fatal(err)
		}
		src.Close()
	})
	if allocs > 100 {
		t.Errorf("%.0f allocations for 20000 packets", allocs)
	}
}

func writeBenchPcap(tb testing.TB, path string, n int) {
	tb.Helper()
	mix := [][]byte{udpFrame(tb, 1111, 0, 1200), udpFrame(tb, 2222, 0, 18), udpFrame(tb, 3333, 100, 400), udpFrame(tb, 4444, 0, 60)}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		tb.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for i := range n {
		d := mix[i%len(mix)]
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Microsecond), CaptureLength: len(d), Length: len(d)}, d); err != nil {
			tb.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

func BenchmarkRunFile(b *testing.B) {
	const packets = 100000
	path := filepath.Join(b.TempDir(), "bench.pcap")
	writeBenchPcap(b, path, packets)
	var c counter
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		src, err := OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := Run(context.Background(), src, &c); err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*packets), "ns/packet")
	if c.n != uint64(b.N*packets) {
		b.Fatalf("handled %d packets, want %d", c.n, b.N*packets)
	}
}

// cancelAt cancels its context when it handles its n-th packet.
type cancelAt struct {
	n, seen int
	cancel  context.CancelFunc
}

func (c *cancelAt) HandlePacket(*decode.Packet, decode.ErrKind) {
	if c.seen++; c.seen == c.n {
		c.cancel()
	}
}

// TestRunStopsSoonAfterCancelMidFile: Run looks at its context every
// cancelEvery packets, so a cancellation in the middle of a file stops it
// within that many more.
func TestRunStopsSoonAfterCancelMidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pcap")
	writePcap(t, path, false, testRecords(t, 4*cancelEvery))
	src, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &cancelAt{n: 5, cancel: cancel}
	if err := Run(ctx, src, h); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if h.seen < 5 || h.seen > 5+cancelEvery {
		t.Errorf("handled %d packets, want 5 to %d", h.seen, 5+cancelEvery)
	}
}
