package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func gen(t *testing.T, cfg config) ([]byte, summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := generate(cfg, &buf)
	if err != nil {
		t.Fatalf("generate(%+v): %v", cfg, err)
	}
	return buf.Bytes(), sum
}

func TestDeterministic(t *testing.T) {
	cfg := config{seed: 7, localHosts: 5, sessions: 24}
	a, _ := gen(t, cfg)
	b, _ := gen(t, cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same flags differ")
	}
	c, _ := gen(t, config{seed: 8, localHosts: 5, sessions: 24})
	if bytes.Equal(a, c) {
		t.Fatal("the seed has no effect")
	}
}

func TestWriteCaptureFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "demo.pcap")
	cfg := config{seed: 1, localHosts: 5, sessions: 24}
	if _, err := writeCapture(path, cfg); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inMemory, _ := gen(t, cfg)
	if !bytes.Equal(onDisk, inMemory) {
		t.Error("file differs from the in-memory generation")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestInvalidConfig(t *testing.T) {
	for _, cfg := range []config{{localHosts: 0}, {localHosts: 201}, {localHosts: 1, sessions: -1}, {localHosts: 1, sessions: 1001}} {
		if _, err := generate(cfg, io.Discard); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// recount is what an independent reader finds in a capture.
type recount struct {
	packets, bytes, arp int
	first, last         time.Time
	flows               map[flowKey]*[2]counter // [0] client→server, [1] server→client
	hosts               map[hostKey]*[2]counter // [0] sent, [1] received
	dns                 map[string]string
	vlans, ipv6, icmp   int
}

type flowKey struct {
	vlan     uint16
	proto    layers.IPProtocol
	src, dst netip.AddrPort
}

func (k flowKey) String() string {
	return fmt.Sprintf("%v %v->%v vlan %d", k.proto, k.src, k.dst, k.vlan)
}

// readBack decodes every frame with gopacket, independently of the
// generator's bookkeeping. Flows are oriented by whoever sent first.
func readBack(t *testing.T, data []byte) recount {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read header: %v", err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Fatalf("link type %v", r.LinkType())
	}
	rc := recount{flows: map[flowKey]*[2]counter{}, hosts: map[hostKey]*[2]counter{}, dns: map[string]string{}}
	for {
		frame, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return rc
		}
		if err != nil {
			t.Fatalf("read packet %d: %v", rc.packets+1, err)
		}
		if ci.CaptureLength != ci.Length {
			t.Fatalf("packet %d truncated", rc.packets+1)
		}
		if rc.packets == 0 {
			rc.first = ci.Timestamp
		}
		if ci.Timestamp.Before(rc.last) {
			t.Fatalf("packet %d goes back in time", rc.packets+1)
		}
		rc.last = ci.Timestamp
		rc.packets++
		rc.bytes += len(frame)
		rc.account(t, gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default), len(frame))
	}
}

func (rc *recount) account(t *testing.T, p gopacket.Packet, size int) {
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("packet %d does not decode: %v", rc.packets, el.Error())
	}
	if p.Layer(layers.LayerTypeARP) != nil {
		rc.arp++
		return
	}
	var vlan uint16
	if d, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		vlan = d.VLANIdentifier
		rc.vlans++
	}
	var src, dst netip.Addr
	var proto layers.IPProtocol
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		proto = ip.Protocol
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
		proto = ip.NextHeader
		rc.ipv6++
	default:
		t.Fatalf("packet %d: unexpected network layer %T", rc.packets, ip)
	}
	var sport, dport uint16
	switch l4 := p.TransportLayer().(type) {
	case *layers.TCP:
		sport, dport = uint16(l4.SrcPort), uint16(l4.DstPort)
	case *layers.UDP:
		sport, dport = uint16(l4.SrcPort), uint16(l4.DstPort)
	case nil:
		if p.Layer(layers.LayerTypeICMPv4) == nil {
			t.Fatalf("packet %d: no transport layer", rc.packets)
		}
		rc.icmp++
	}
	if d, ok := p.Layer(layers.LayerTypeDNS).(*layers.DNS); ok && d.QR {
		for _, a := range d.Answers {
			addr, _ := netip.AddrFromSlice(a.IP)
			rc.dns[string(a.Name)] = addr.Unmap().String()
		}
	}

	a, b := netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	dir := 0
	fc, ok := rc.flows[flowKey{vlan, proto, a, b}]
	if !ok {
		if fc, ok = rc.flows[flowKey{vlan, proto, b, a}]; ok {
			dir = 1
		} else {
			fc = &[2]counter{}
			rc.flows[flowKey{vlan, proto, a, b}] = fc
		}
	}
	fc[dir].add(size)
	rc.host(src, vlan)[0].add(size)
	rc.host(dst, vlan)[1].add(size)
}

func (rc *recount) host(a netip.Addr, vlan uint16) *[2]counter {
	k := hostKey{a, vlan}
	if rc.hosts[k] == nil {
		rc.hosts[k] = &[2]counter{}
	}
	return rc.hosts[k]
}

// TestSummaryMatchesCapture checks the ground truth against what reading the
// file back finds, for a few shapes of scenario.
func TestSummaryMatchesCapture(t *testing.T) {
	for _, cfg := range []config{
		{seed: 1, localHosts: 5, sessions: 24},
		{seed: 42, localHosts: 1, sessions: 0},
		{seed: 3, localHosts: 12, sessions: 60},
	} {
		t.Run(fmt.Sprintf("seed%d_hosts%d_flows%d", cfg.seed, cfg.localHosts, cfg.sessions), func(t *testing.T) {
			data, sum := gen(t, cfg)
			rc := readBack(t, data)

			if sum.Packets != rc.packets || sum.Bytes != rc.bytes {
				t.Errorf("summary %d packets / %d bytes, file %d / %d", sum.Packets, sum.Bytes, rc.packets, rc.bytes)
			}
			if sum.FirstSeen != rc.first.Unix() || sum.LastSeen != rc.last.Unix() {
				t.Errorf("summary seen %d..%d, file %d..%d", sum.FirstSeen, sum.LastSeen, rc.first.Unix(), rc.last.Unix())
			}
			if sum.ARPPackets != 1 || rc.arp != 1 {
				t.Errorf("ARP: summary %d, file %d, want 1", sum.ARPPackets, rc.arp)
			}
			if rc.vlans == 0 || rc.ipv6 == 0 || rc.icmp != 2 {
				t.Errorf("file has %d VLAN, %d IPv6, %d ICMP packets", rc.vlans, rc.ipv6, rc.icmp)
			}
			if !reflect.DeepEqual(sum.DNS, rc.dns) {
				t.Errorf("DNS map: summary %v, file %v", sum.DNS, rc.dns)
			}
			// DNS+NTP per syncing client, DNS+ICMP, DNS+TCP per session,
			// DNS+TCP over IPv6, the VLAN flow.
			want := min(2, cfg.localHosts)*2 + 2 + cfg.sessions*2 + 2 + 1
			if len(sum.Flows) != want {
				t.Errorf("%d flows in summary, want %d", len(sum.Flows), want)
			}
			checkFlows(t, sum, rc)
			checkHosts(t, sum, rc)
		})
	}
}

func checkFlows(t *testing.T, sum summary, rc recount) {
	t.Helper()
	if len(sum.Flows) != len(rc.flows) {
		t.Errorf("summary lists %d flows, file has %d", len(sum.Flows), len(rc.flows))
	}
	for _, f := range sum.Flows {
		k := flowKey{
			vlan: f.VLAN, proto: layers.IPProtocol(f.L4),
			src: netip.AddrPortFrom(netip.MustParseAddr(f.Client), f.ClientPort),
			dst: netip.AddrPortFrom(netip.MustParseAddr(f.Server), f.ServerPort),
		}
		got, ok := rc.flows[k]
		if !ok {
			t.Errorf("flow %v not in file (or reversed)", k)
			continue
		}
		if got[0] != f.C2S || got[1] != f.S2C {
			t.Errorf("flow %v: summary %v/%v, file %v/%v", k, f.C2S, f.S2C, got[0], got[1])
		}
	}
}

func checkHosts(t *testing.T, sum summary, rc recount) {
	t.Helper()
	if len(sum.Hosts) != len(rc.hosts) {
		t.Errorf("summary lists %d hosts, file has %d", len(sum.Hosts), len(rc.hosts))
	}
	for _, h := range sum.Hosts {
		got, ok := rc.hosts[hostKey{netip.MustParseAddr(h.IP), h.VLAN}]
		if !ok {
			t.Errorf("host %s@%d not in file", h.IP, h.VLAN)
			continue
		}
		if got[0] != h.Sent || got[1] != h.Rcvd {
			t.Errorf("host %s@%d: summary sent %v rcvd %v, file %v %v", h.IP, h.VLAN, h.Sent, h.Rcvd, got[0], got[1])
		}
	}
}

// TestScenarioContent pins the facts a probe test may rely on.
func TestScenarioContent(t *testing.T) {
	_, sum := gen(t, config{seed: 1, localHosts: 5, sessions: 24})
	if got := sum.DNS["www.example.com"]; got != "93.184.216.34" {
		t.Errorf("www.example.com resolves to %q", got)
	}
	apps := map[string]int{}
	for _, f := range sum.Flows {
		apps[f.App]++
		if f.Proto == "TCP" && (f.C2S.Packets < 5 || f.S2C.Packets < 4) {
			t.Errorf("TCP flow %s:%d too short for handshake+data+FIN: %v/%v", f.Server, f.ServerPort, f.C2S, f.S2C)
		}
	}
	for _, app := range []string{"DNS", "HTTP", "TLS", "NTP", "ICMP"} {
		if apps[app] == 0 {
			t.Errorf("no %s flow", app)
		}
	}
	local := 0
	for _, h := range sum.Hosts {
		if h.Local && h.VLAN == 0 && netip.MustParseAddr(h.IP).Is4() {
			local++
		}
	}
	if local != 6 { // 5 clients + the router
		t.Errorf("%d local IPv4 hosts, want 6", local)
	}
	if len(sum.Hosts)-local < 20 {
		t.Errorf("only %d non-LAN hosts", len(sum.Hosts)-local)
	}
	if got := time.Unix(sum.FirstSeen, 0).UTC(); !got.Equal(time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("first packet at %v", got)
	}
}
