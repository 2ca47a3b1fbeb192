package recorder

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/dataplane/recorder/pcapfilter"
)

// benchFrames are TCP frames of mixed sizes between a few hosts and ports.
func benchFrames(b *testing.B) [][]byte {
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	var out [][]byte
	for i := range 256 {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: net.IPv4(10, 0, 0, byte(i%4)), DstIP: net.IPv4(10, 0, 1, byte(i%7))}
		tc := &layers.TCP{SrcPort: layers.TCPPort(40000 + i), DstPort: layers.TCPPort([]int{80, 443, 22}[i%3]), ACK: true, Window: 512}
		tc.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: mac, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}, ip, tc, gopacket.Payload(make([]byte, []int{6, 200, 1400}[i%3]))); err != nil {
			b.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf.Bytes()...))
	}
	return out
}

// BenchmarkWrite: the ring's write path (rotation and budget included)
// against the baseline of pcapgo writing the same frames to one buffered
// file. ns/op is per packet.
func BenchmarkWrite(b *testing.B) {
	frames := benchFrames(b)
	ts := time.Now().UnixNano()
	b.Run("baseline-pcapgo", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "base.pcap"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		bw := bufio.NewWriterSize(f, writeBufferSize)
		w := pcapgo.NewWriterNanos(bw)
		w.WriteFileHeader(DefaultSnaplen, layers.LinkTypeEthernet)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			fr := frames[i%len(frames)]
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, ts+int64(i)), CaptureLength: len(fr), Length: len(fr)}
			if err := w.WritePacket(ci, fr); err != nil {
				b.Fatal(err)
			}
		}
		bw.Flush()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
	b.Run("ring", func(b *testing.B) {
		r, err := Open(Config{Dir: b.TempDir(), MaxBytes: 256 << 20})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			fr := frames[i%len(frames)]
			if err := r.Write(fr, ts+int64(i), len(fr)); err != nil {
				b.Fatal(err)
			}
		}
		r.Flush()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	})
}

// BenchmarkExtract: reading 100k recorded packets through a tcpdump
// filter against the baseline of an always-true filter. ns/op is per
// packet read.
func BenchmarkExtract(b *testing.B) {
	frames := benchFrames(b)
	r, err := Open(Config{Dir: b.TempDir(), MaxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	const n = 100_000
	ts := time.Unix(1_700_000_000, 0).UnixNano()
	for i := range n {
		fr := frames[i%len(frames)]
		r.Write(fr, ts+int64(i)*1000, len(fr))
	}
	flt, err := pcapfilter.Compile("tcp port 80 and (host 10.0.0.1 or net 10.0.1.0/30)")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    Matcher
	}{{"baseline-always-true", nil}, {"filter", flt}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N/n+1; i++ {
				x, err := r.Extract(time.Unix(0, 0), time.Unix(0, ts+n*1000), c.m)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := x.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
			// Per packet: b.N is rounded up to whole passes over the recording.
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64((b.N/n+1)*n), "ns/pkt")
		})
	}
}
