package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/dataplane/capture"
	"github.com/probe-appliance/probe/dataplane/flow"
	"github.com/probe-appliance/probe/dataplane/xdp"
)

// benchVeth pushes n frames into a veth pair from the peer side and
// measures how many packets per second each dataplane accounts: the XDP
// program (generic or native, whatever the veth takes) against the
// AF_PACKET socket feeding the userspace decoder and flow table.
func benchVeth(n int) error {
	var id [3]byte
	rand.Read(id[:])
	capIf, injIf := "bcap"+hex.EncodeToString(id[:]), "binj"+hex.EncodeToString(id[:])
	if out, err := exec.Command("ip", "link", "add", capIf, "type", "veth", "peer", "name", injIf).CombinedOutput(); err != nil {
		return fmt.Errorf("veth pair (needs root): %v: %s", err, out)
	}
	defer exec.Command("ip", "link", "del", capIf).Run()
	for _, ifn := range []string{capIf, injIf} {
		os.WriteFile("/proc/sys/net/ipv6/conf/"+ifn+"/disable_ipv6", []byte("1"), 0o644)
		if out, err := exec.Command("ip", "link", "set", ifn, "up").CombinedOutput(); err != nil {
			return fmt.Errorf("link up: %v: %s", err, out)
		}
	}
	frames, err := vethFrames(16)
	if err != nil {
		return err
	}
	gen, err := newLiveGenerator(injIf)
	if err != nil {
		return err
	}
	defer gen.Close()
	fmt.Printf("veth: %d frames of 64-98 bytes over 16 flows, sent out of the peer by an in-kernel XDP_TX generator (BPF_F_TEST_XDP_LIVE_FRAMES)\n", n)

	// XDP, in the driver (veth has native XDP) and in generic mode.
	var dp *xdp.Dataplane
	var xdpRate float64
	for _, want := range []xdp.Mode{xdp.ModeNative, xdp.ModeGeneric} {
		if dp != nil {
			dp.Close()
		}
		if dp, err = xdp.Load(xdp.Options{MaxFlows: 1 << 16}); err != nil {
			return err
		}
		if want == xdp.ModeGeneric {
			// XDP_TX frames only enter a veth in NAPI mode: a driver-mode
			// program or GRO turns it on; generic XDP needs GRO.
			if out, err := exec.Command("ethtool", "-K", capIf, "gro", "on").CombinedOutput(); err != nil {
				fmt.Printf("  xdp-generic: skipped (ethtool -K gro on: %v %s)\n", err, out)
				continue
			}
		}
		mode, err := dp.AttachMode(capIf, want)
		if err != nil {
			dp.Close()
			return err
		}
		rate, got, err := measure(gen, frames, n, func() uint64 {
			c, _ := dp.Counters()
			return c[xdp.CntPackets]
		})
		if err != nil {
			dp.Close()
			return err
		}
		var drained uint64
		if _, err := dp.Drain(func(d *flow.Delta) { drained += d.Pkts[0] + d.Pkts[1] }); err != nil {
			dp.Close()
			return err
		}
		fmt.Printf("  %-12s %9.0f pkts/s accounted (%d of %d seen, %d in drained flows)\n", mode, rate, got, n, drained)
		if mode == xdp.ModeGeneric {
			xdpRate = rate
		}
	}

	// AF_PACKET through the userspace decoder, with no XDP program (GRO
	// keeps the veth taking the generator's frames).
	if err := dp.Close(); err != nil {
		return err
	}
	src, err := capture.OpenLive(capIf, 65535)
	if err != nil {
		return err
	}
	tb := flowtable.New(flowtable.Config{LocalNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, MaxFlows: 1 << 16})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- capture.Run(ctx, src, tb) }()
	time.Sleep(100 * time.Millisecond)
	afRate, afGot, err := measure(gen, frames, n, func() uint64 {
		var p uint64
		tb.View(func(v flowtable.View) { p = v.Stats().Packets })
		return p
	})
	cancel()
	src.Close()
	<-done
	if err != nil {
		return err
	}
	var drops uint64
	if ss, ok := src.(capture.StatsSource); ok {
		if st, e := ss.Stats(); e == nil {
			drops = st.Dropped
		}
	}
	fmt.Printf("  %-12s %9.0f pkts/s accounted (%d of %d seen, %d dropped by the socket)\n", "afpacket", afRate, afGot, n, drops)
	fmt.Printf("  ratio xdp-generic/afpacket: %.2f (higher is better)\n", xdpRate/afRate)
	return nil
}

// liveGenerator transmits frames out of an interface from inside the
// kernel: a one-instruction XDP_TX program run with BPF_PROG_TEST_RUN in
// live-frames mode, so the sender is not the bottleneck a socket would be.
type liveGenerator struct {
	prog    *ebpf.Program
	ifindex uint32
}

// xdpMd mirrors struct xdp_md, the test run's context.
type xdpMd struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

func newLiveGenerator(ifname string) (*liveGenerator, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.XDP,
		License:      "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 3 /* XDP_TX */), asm.Return()},
	})
	if err != nil {
		return nil, fmt.Errorf("traffic generator: %w", err)
	}
	return &liveGenerator{prog: prog, ifindex: uint32(ifi.Index)}, nil
}

func (g *liveGenerator) Close() error { return g.prog.Close() }

// send transmits n copies of frame.
func (g *liveGenerator) send(frame []byte, n int) error {
	ctx := xdpMd{DataEnd: uint32(len(frame)), IngressIfindex: g.ifindex}
	_, err := g.prog.Run(&ebpf.RunOptions{Data: frame, Repeat: uint32(n), Context: ctx, Flags: unix.BPF_F_TEST_XDP_LIVE_FRAMES})
	return err
}

// measure transmits n frames (spread over frames) and returns the rate at
// which count() reached its final value.
func measure(gen *liveGenerator, frames [][]byte, n int, count func() uint64) (float64, uint64, error) {
	base := count()
	start := time.Now()
	per := n / len(frames)
	for _, f := range frames {
		if err := gen.send(f, per); err != nil {
			return 0, 0, fmt.Errorf("generating traffic: %w", err)
		}
	}
	// Wait until the count stops moving.
	last, lastChange := count(), time.Now()
	for time.Since(lastChange) < 300*time.Millisecond {
		time.Sleep(20 * time.Millisecond)
		if c := count(); c != last {
			last, lastChange = c, time.Now()
		}
	}
	got := last - base
	el := lastChange.Sub(start)
	return float64(got) / el.Seconds(), got, nil
}

func vethFrames(nFlows int) ([][]byte, error) {
	var out [][]byte
	for i := 0; i < nFlows; i++ {
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IPv4(10, 1, byte(i>>8), byte(i)).To4(), DstIP: net.IPv4(10, 2, 0, 1).To4()}
		u := &layers.UDP{SrcPort: layers.UDPPort(10000 + i), DstPort: 9}
		_ = u.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
			ip, u, gopacket.Payload(make([]byte, 22+i%35)))
		if err != nil {
			return nil, err
		}
		out = append(out, append([]byte(nil), buf.Bytes()...))
	}
	return out, nil
}
