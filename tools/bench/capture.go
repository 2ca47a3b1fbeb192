package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
)

// snapLen is what the synthetic captures keep of each frame: every header,
// a little payload. Wire lengths stay realistic.
const snapLen = 128

// writeBenchCapture writes n packets spread over nFlows flows (90 % IPv4,
// 80 % TCP), deterministic for a given n.
func writeBenchCapture(path string, n, nFlows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	defer bw.Flush()
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(snapLen, layers.LinkTypeEthernet); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type tmpl struct{ c2s, s2c []byte }
	flows := make([]tmpl, nFlows)
	for i := range flows {
		v6 := i%10 == 9
		udp := i%5 == 4
		var cli, srv net.IP
		if v6 {
			cli = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(i >> 8), 15: byte(i)}).AsSlice()
			srv = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2, 14: byte(i % 97), 15: 1}).AsSlice()
		} else {
			cli = net.IPv4(192, 168, byte(i>>8), byte(i)).To4()
			srv = net.IPv4(10, byte(i%251), byte(i%13), 1).To4()
		}
		sport, dport := uint16(20000+i%40000), uint16(443)
		if udp {
			dport = 53
		}
		build := func(src, dst net.IP, sp, dp uint16) ([]byte, error) {
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}}
			var l3 gopacket.SerializableLayer
			var nl gopacket.NetworkLayer
			proto := layers.IPProtocolTCP
			if udp {
				proto = layers.IPProtocolUDP
			}
			if v6 {
				eth.EthernetType = layers.EthernetTypeIPv6
				ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src, DstIP: dst}
				l3, nl = ip, ip
			} else {
				eth.EthernetType = layers.EthernetTypeIPv4
				ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: src, DstIP: dst}
				l3, nl = ip, ip
			}
			payload := gopacket.Payload(make([]byte, 1200))
			buf := gopacket.NewSerializeBuffer()
			opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
			if udp {
				u := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
				_ = u.SetNetworkLayerForChecksum(nl)
				err := gopacket.SerializeLayers(buf, opts, eth, l3, u, payload)
				return buf.Bytes(), err
			}
			tc := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), ACK: true, PSH: true, Window: 1024}
			_ = tc.SetNetworkLayerForChecksum(nl)
			err := gopacket.SerializeLayers(buf, opts, eth, l3, tc, payload)
			return buf.Bytes(), err
		}
		if flows[i].c2s, err = build(cli, srv, sport, dport); err != nil {
			return err
		}
		if flows[i].s2c, err = build(srv, cli, dport, sport); err != nil {
			return err
		}
	}
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		fl := &flows[rng.IntN(nFlows)]
		frame := fl.c2s
		if rng.IntN(2) == 1 {
			frame = fl.s2c
		}
		wire := 64 + rng.IntN(1450)
		if wire > len(frame) {
			wire = len(frame)
		}
		ts = ts.Add(time.Duration(rng.IntN(20)) * time.Microsecond)
		ci := gopacket.CaptureInfo{Timestamp: ts, CaptureLength: min(snapLen, wire), Length: wire}
		if err := w.WritePacket(ci, frame[:ci.CaptureLength]); err != nil {
			return err
		}
	}
	return nil
}

// probePath reads the capture through the probe's capture loop into a
// flow table: the userspace path of every packet. It returns the CPU
// (user+sys of this whole process, GC included) the read cost.
func probePath(path string) (time.Duration, int, error) {
	src, err := capture.OpenFile(path)
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	tb := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}, MaxFlows: 1 << 20})
	start, err := selfCPU()
	if err != nil {
		return 0, 0, err
	}
	if err := capture.Run(context.Background(), src, tb); err != nil {
		return 0, 0, err
	}
	end, err := selfCPU()
	if err != nil {
		return 0, 0, err
	}
	el := end - start
	var n int
	tb.View(func(v flowtable.View) { n = int(v.Stats().Packets) })
	return el, n, nil
}

// pmacctPath runs pmacctd on the capture, aggregating by 5-tuple into its
// print plugin, and returns the CPU (user+sys, wait4) of the whole run:
// not its wall time, since pmacctd paces a savefile (~4 µs of wall per
// packet whatever its CPU).
func pmacctPath(dir, path string) (time.Duration, error) {
	conf := filepath.Join(dir, "pmacctd.conf")
	out := filepath.Join(dir, "pmacct.csv")
	cfg := fmt.Sprintf("daemonize: false\npcap_savefile: %s\naggregate: src_host, dst_host, src_port, dst_port, proto\nplugins: print\nprint_output_file: %s\nprint_output: csv\nplugin_buffer_size: 102400\nplugin_pipe_size: 10240000\n", path, out)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		return 0, err
	}
	cmd := exec.Command("pmacctd", "-f", conf)
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("pmacctd: %v: %s", err, b)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, fmt.Errorf("pmacctd: no rusage")
	}
	cpu, _ := fromRusage(ru)
	return cpu, nil
}

// selfCPU is this process's user+sys CPU so far.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	cpu, _ := fromRusage(&ru)
	return cpu, nil
}

func benchCapture(nPackets, runs int) error {
	dir, err := os.MkdirTemp("", "probe-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("capture: %d-byte snaplen, CPU (user+sys) slope between %d and %d packets, best of %d; the probe in this process, pmacctd its own\n", snapLen, nPackets/4, nPackets, runs)
	// steady: long flows (200 packets each); churn: short flows (10 packets
	// each), where creating flows and hosts dominates.
	for _, w := range []struct {
		name   string
		nFlows int
	}{{"steady", nPackets / 200}, {"churn", nPackets / 10}} {
		if err := benchCaptureWorkload(dir, w.name, nPackets, w.nFlows, runs); err != nil {
			return err
		}
	}
	return nil
}

func benchCaptureWorkload(dir, name string, nPackets, nFlows, runs int) error {
	small, large := filepath.Join(dir, name+"-small.pcap"), filepath.Join(dir, name+"-large.pcap")
	nSmall := nPackets / 4
	if err := writeBenchCapture(small, nSmall, nFlows); err != nil {
		return err
	}
	if err := writeBenchCapture(large, nPackets, nFlows); err != nil {
		return err
	}
	best := func(f func() (time.Duration, error)) (time.Duration, error) {
		var b time.Duration
		for i := 0; i < runs; i++ {
			d, err := f()
			if err != nil {
				return 0, err
			}
			if b == 0 || d < b {
				b = d
			}
		}
		return b, nil
	}
	probe := func(p string, want int) func() (time.Duration, error) {
		return func() (time.Duration, error) {
			d, n, err := probePath(p)
			if err == nil && n != want {
				err = fmt.Errorf("probe counted %d packets, want %d", n, want)
			}
			return d, err
		}
	}
	ps, err := best(probe(small, nSmall))
	if err != nil {
		return err
	}
	pl, err := best(probe(large, nPackets))
	if err != nil {
		return err
	}
	probeNs, err := slopeNs(sample{cpu: ps}, sample{cpu: pl}, nSmall, nPackets)
	if err != nil {
		return fmt.Errorf("probe on %s: %w", name, err)
	}
	fmt.Printf("  %-6s %6d flows: probe   %7.1f ns/packet CPU (slope), %7.1f ns/packet (whole run)\n", name, nFlows, probeNs, float64(pl)/float64(nPackets))
	if _, err := exec.LookPath("pmacctd"); err != nil {
		fmt.Println("         pmacctd not installed (scripts/install-deps.sh bench installs pmacct): no baseline")
		return nil
	}
	ms, err := best(func() (time.Duration, error) { return pmacctPath(dir, small) })
	if err != nil {
		return err
	}
	ml, err := best(func() (time.Duration, error) { return pmacctPath(dir, large) })
	if err != nil {
		return err
	}
	pmNs, err := slopeNs(sample{cpu: ms}, sample{cpu: ml}, nSmall, nPackets)
	if err != nil {
		return fmt.Errorf("pmacctd on %s: %w", name, err)
	}
	fmt.Printf("  %-6s %6d flows: pmacctd %7.1f ns/packet (slope; CPU of whole runs %v / %v)\n", name, nFlows, pmNs, ms.Round(time.Millisecond), ml.Round(time.Millisecond))
	fmt.Printf("  %-6s ratio probe/pmacctd: %.2f (lower is better)\n", name, probeNs/pmNs)
	return nil
}
