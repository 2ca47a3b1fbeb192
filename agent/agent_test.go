package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/pcaptest"
)

// capTruth is what the test knows of the capture it wrote.
type capTruth struct {
	flows, packets, wireBytes int
	start, end                int64 // unix seconds of the first and last packet
}

// writeUDPCapture writes nFlows UDP conversations (client 10.0.0.1 to
// 192.0.2.1, one source port each): flow f sends f+2 requests of
// 100+10·f bytes of payload and gets one 60-byte answer.
func writeUDPCapture(t *testing.T, path string, nFlows int) capTruth {
	t.Helper()
	w := pcaptest.Create(t, path)
	cliMAC, srvMAC := []byte{2, 0, 0, 0, 0, 1}, []byte{2, 0, 0, 0, 0, 2}
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.1")
	base := time.Unix(1_800_000_010, 0)
	tr := capTruth{flows: nFlows, start: base.Unix()}
	at := base
	frame := func(c2s bool, sport uint16, payload int) {
		eth := &layers.Ethernet{SrcMAC: cliMAC, DstMAC: srvMAC, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: cli.AsSlice(), DstIP: srv.AsSlice()}
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: 9053}
		if !c2s {
			eth.SrcMAC, eth.DstMAC = srvMAC, cliMAC
			ip.SrcIP, ip.DstIP = srv.AsSlice(), cli.AsSlice()
			udp.SrcPort, udp.DstPort = 9053, layers.UDPPort(sport)
		}
		udp.SetNetworkLayerForChecksum(ip)
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, udp, gopacket.Payload(make([]byte, payload))); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
		tr.packets++
		tr.wireBytes += len(b)
		tr.end = at.Unix()
		at = at.Add(10 * time.Millisecond)
	}
	for f := range nFlows {
		sport := uint16(40000 + f)
		for range f + 2 {
			frame(true, sport, 100+10*f)
		}
		frame(false, sport, 60)
	}
	return tr
}

// freeTCPPort is a loopback port free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestAgentInProcess runs the whole pipeline without the probe binary: a
// capture file written here → New → Run in a goroutine; once the ready
// file says the capture was read and written, the flow table, the REST
// API over loopback and (after the agent stopped) the store on disk hold
// the flows and counts the test wrote.
func TestAgentInProcess(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "udp.pcap")
	want := writeUDPCapture(t, pcap, 5)

	cfg := DefaultConfig()
	cfg.Interfaces = []string{pcap}
	cfg.DataDir = filepath.Join(dir, "db")
	cfg.ReadyFile = filepath.Join(dir, "ready")
	cfg.HTTPAddr, cfg.HTTPPort = "127.0.0.1", freeTCPPort(t)
	cfg.GoProbeAddr = "" // off: one listener is enough here
	cfg.DisableLogin = true
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(cfg.ReadyFile); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run ended before the capture was read: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			a.Close()
			t.Fatal("no ready file after 30s")
		}
	}

	tables := a.tables()
	if len(tables) != 1 {
		t.Fatalf("%d tables, want 1", len(tables))
	}
	var flows int
	var stats flowtable.IfaceStats
	tables[0].View(func(v flowtable.View) { flows, stats = v.NumFlows(), v.Stats() })
	if flows != want.flows || stats.Packets != uint64(want.packets) || stats.WireBytes != uint64(want.wireBytes) {
		t.Errorf("table: %d flows, %d packets, %d wire bytes; want %d, %d, %d",
			flows, stats.Packets, stats.WireBytes, want.flows, want.packets, want.wireBytes)
	}

	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/lua/rest/v1/get/interface/data.lua?ifid=0", cfg.HTTPPort))
	if err != nil {
		t.Fatalf("REST: %v", err)
	}
	var answer struct {
		RC  int `json:"rc"`
		Rsp struct {
			Packets uint64 `json:"packets"`
		} `json:"rsp"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || answer.Rsp.Packets != uint64(want.packets) {
		t.Errorf("REST interface data: status %d, %+v, %v; want %d packets", resp.StatusCode, answer, err, want.packets)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30s after its context ended")
	}
	// Run has stopped every writer: the store holds the flows now.
	names, err := StoredIfaceNames(a.st)
	if err != nil || len(names) != 1 || names[0] != "udp.pcap" {
		t.Errorf("stored interface names %v, %v; want 0: udp.pcap", names, err)
	}
	keys := map[uint16]bool{}
	var pkts, bytes uint64
	err = a.st.ScanFlows(0, want.start, want.end+store.BlockSeconds, func(r *store.FlowRecord) error {
		keys[r.ClientPort] = true
		pkts += r.PktsC2S + r.PktsS2C
		bytes += r.BytesC2S + r.BytesS2C
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != want.flows || pkts != uint64(want.packets) || bytes != uint64(want.wireBytes) {
		t.Errorf("store: %d flows, %d packets, %d bytes; want %d, %d, %d", len(keys), pkts, bytes, want.flows, want.packets, want.wireBytes)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
}

// TestNewRefusesBadConfig: New checks before it opens anything, and says
// which setting is wrong.
func TestNewRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "x.pcap")
	writeUDPCapture(t, pcap, 1)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		msg  string
	}{
		{"no interface", func(c *Config) { c.Interfaces = nil }, "no interface"},
		{"missing file", func(c *Config) { c.Interfaces = []string{filepath.Join(dir, "none.pcap")} }, "none.pcap"},
		{"bad CIDR", func(c *Config) { c.LocalNets = "10.0.0.0/33" }, "not a CIDR"},
		{"flush interval", func(c *Config) { c.FlushInterval = time.Hour }, "--flush-interval"},
		{"capture mode", func(c *Config) { c.CaptureMode = "pcap" }, "capture mode"},
		{"nowhere to listen", func(c *Config) { c.HTTPPort = 0 }, "listen nowhere"},
		{"record with slow path", func(c *Config) { c.Record, c.SlowPath = true, "on" }, "exclude each other"},
		{"collector", func(c *Config) { c.ExportTo = []string{"sflow://127.0.0.1:6343"} }, "--export"},
		{"template interval", func(c *Config) {
			c.ExportTo, c.ExportTemplateInterval = []string{"netflow9://127.0.0.1:2055"}, 1500*time.Millisecond
		}, "--export-template-interval"},
		{"template packets", func(c *Config) {
			c.ExportTo, c.ExportTemplatePackets = []string{"netflow9://127.0.0.1:2055"}, -1
		}, "--export-template-packets"},
		{"clickhouse url", func(c *Config) { c.ClickHouse = "http://127.0.0.1:8123/db" }, "--clickhouse"},
		{"clickhouse spool", func(c *Config) { c.ClickHouse, c.ClickHouseSpoolMax = "tcp://127.0.0.1/db", "lots" }, "--clickhouse-spool-max"},
		{"history without clickhouse", func(c *Config) { c.History = "clickhouse" }, "--history clickhouse needs --clickhouse"},
		{"history backend", func(c *Config) { c.ClickHouse, c.History = "tcp://127.0.0.1/db", "mysql" }, "--history"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Interfaces = []string{pcap}
			cfg.DataDir = filepath.Join(dir, "db-"+strings.ReplaceAll(tc.name, " ", "-"))
			tc.edit(&cfg)
			a, err := New(cfg)
			if err == nil {
				a.Close()
				t.Fatalf("accepted; want an error saying %q", tc.msg)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q; want it to say %q", err, tc.msg)
			}
			if _, err := os.Stat(cfg.DataDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("data directory created by a refused config: %v", err)
			}
		})
	}
}
