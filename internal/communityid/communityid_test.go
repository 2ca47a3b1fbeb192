package communityid

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/pcaptest"
)

// TestAgainstTshark computes the Community ID of every packet of a
// capture the test writes (TCP, UDP, SCTP, ICMP request/reply and one-way
// types, ICMPv6, IPv6, equal addresses, both directions) and of ntopng's
// test_01.pcap, and compares each with the one tshark's own communityid
// dissector prints for that packet, with seed 0 and seed 4242.
func TestAgainstTshark(t *testing.T) {
	tshark := fixture.Tool(t, "tshark")
	captures := []string{writeMixed(t), fixture.Shared(t, "conformance/ntopng-e2e/pcap/test_01.pcap")}
	for _, seed := range []uint16{0, 4242} {
		for _, pcap := range captures {
			n := 0
			for _, row := range tsharkRows(t, tshark, pcap, seed) {
				tp, want := row.tuple, row.id
				if got := ID(tp, seed); got != want {
					t.Errorf("seed %d %s: %+v: %s, tshark %s", seed, filepath.Base(pcap), tp, got, want)
				}
				n++
			}
			if n < 10 {
				t.Errorf("seed %d %s: only %d packets compared", seed, filepath.Base(pcap), n)
			}
		}
	}
}

type row struct {
	tuple Tuple
	id    string
}

// tsharkRows are the packets' tuples and Community IDs as tshark decodes
// them.
func tsharkRows(t *testing.T, tshark, pcap string, seed uint16) []row {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fields := []string{"ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt",
		"tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "sctp.srcport", "sctp.dstport",
		"icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "communityid"}
	args := []string{"-n", "-r", pcap, "--enable-protocol", "communityid", "-o", "communityid.seed:" + strconv.Itoa(int(seed)),
		"-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.CommandContext(ctx, tshark, args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != len(fields) || c[16] == "" {
			continue
		}
		first := func(a, b string) string {
			if a != "" {
				return a
			}
			return b
		}
		num := func(s string) int { v, _ := strconv.Atoi(s); return v }
		tp := Tuple{
			Src:   netip.MustParseAddr(first(c[0], c[2])),
			Dst:   netip.MustParseAddr(first(c[1], c[3])),
			Proto: uint8(num(first(c[4], c[5]))),
		}
		tp.SrcPort = uint16(num(first(first(c[6], c[8]), first(c[10], first(c[12], c[14])))))
		tp.DstPort = uint16(num(first(first(c[7], c[9]), first(c[11], first(c[13], c[15])))))
		rows = append(rows, row{tp, c[16]})
	}
	return rows
}

// writeMixed writes one packet of each kind the specification treats
// differently.
func writeMixed(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mixed.pcap")
	w := pcaptest.Create(t, path)
	a4, b4 := net.IP{10, 0, 0, 9}, net.IP{10, 0, 0, 2}
	a6, b6 := net.ParseIP("2001:db8::9"), net.ParseIP("2001:db8::2")
	ts := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	write := func(ls ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Millisecond)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	eth4 := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	eth6 := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
	ip4 := func(src, dst net.IP, p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, SrcIP: src, DstIP: dst, Protocol: p}
	}
	ip6 := func(src, dst net.IP, p layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: src, DstIP: dst, NextHeader: p}
	}
	payload := gopacket.Payload([]byte("community"))
	// An ICMP timestamp message carries three timestamps: shorter, tshark
	// finds it malformed and hashes it without its type.
	timestamps := gopacket.Payload(make([]byte, 12))
	for _, d := range [][2]net.IP{{a4, b4}, {b4, a4}, {a4, a4}} {
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 443, SYN: true, Window: 1024}
		l := ip4(d[0], d[1], layers.IPProtocolTCP)
		_ = tcp.SetNetworkLayerForChecksum(l)
		write(eth4, l, tcp, payload)
		udp := &layers.UDP{SrcPort: 53, DstPort: 5353}
		l = ip4(d[0], d[1], layers.IPProtocolUDP)
		_ = udp.SetNetworkLayerForChecksum(l)
		write(eth4, l, udp, payload)
		write(eth4, ip4(d[0], d[1], layers.IPProtocolSCTP), &layers.SCTP{SrcPort: 2905, DstPort: 2904})
		for _, tc := range [][2]uint8{{8, 0}, {0, 0}, {13, 0}, {3, 1}, {11, 0}, {10, 0}} {
			write(eth4, ip4(d[0], d[1], layers.IPProtocolICMPv4), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(tc[0], tc[1]), Id: 7, Seq: 1}, timestamps)
		}
	}
	for _, d := range [][2]net.IP{{a6, b6}, {b6, a6}} {
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true, Window: 1024}
		l := ip6(d[0], d[1], layers.IPProtocolTCP)
		_ = tcp.SetNetworkLayerForChecksum(l)
		write(eth6, l, tcp, payload)
		for _, tc := range [][2]uint8{{128, 0}, {129, 0}, {135, 0}, {1, 4}} {
			l := ip6(d[0], d[1], layers.IPProtocolICMPv6)
			ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(tc[0], tc[1])}
			_ = ic.SetNetworkLayerForChecksum(l)
			write(eth6, l, ic, payload)
		}
	}
	return path
}

// TestSpecExample is the specification's own example: TCP
// 128.232.110.120:34855 -> 66.35.250.204:80, seed 0.
func TestSpecExample(t *testing.T) {
	tp := Tuple{Src: netip.MustParseAddr("128.232.110.120"), Dst: netip.MustParseAddr("66.35.250.204"), Proto: 6, SrcPort: 34855, DstPort: 80}
	if got, want := ID(tp, 0), "1:LQU9qZlK+B5F3KDmev6m5PMibrg="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	rev := Tuple{Src: tp.Dst, Dst: tp.Src, Proto: 6, SrcPort: 80, DstPort: 34855}
	if ID(rev, 0) != ID(tp, 0) {
		t.Errorf("the reply's id differs from the request's")
	}
	if got := ID(Tuple{Src: tp.Src, Dst: netip.MustParseAddr("::1"), Proto: 6}, 0); got != "" {
		t.Errorf("mixed families: %q", got)
	}
}
