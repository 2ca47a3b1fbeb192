package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/fixture"
)

// dirKey is one direction of a flow as a collector aggregates it.
type dirKey struct {
	src, dst     string
	sport, dport uint16
	proto        uint8
}

type dirCount struct{ pkts, bytes uint64 }

// captureTotals reads a capture back (gopacket, independently of the
// probe) and sums packets and wire bytes per direction of each flow.
func captureTotals(t *testing.T, path string) map[dirKey]dirCount {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[dirKey]dirCount{}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			continue
		}
		k := dirKey{src: ip.SrcIP.String(), dst: ip.DstIP.String(), proto: uint8(ip.Protocol)}
		switch l4 := p.TransportLayer().(type) {
		case *layers.TCP:
			k.sport, k.dport = uint16(l4.SrcPort), uint16(l4.DstPort)
		case *layers.UDP:
			k.sport, k.dport = uint16(l4.SrcPort), uint16(l4.DstPort)
		}
		c := out[k]
		c.pkts++
		c.bytes += uint64(ci.Length)
		out[k] = c
	}
	return out
}

// nfacctd runs pmacct's collector on a loopback port, printing one CSV
// row per direction of each flow.
type nfacctd struct {
	cmd  *exec.Cmd
	port int
	out  string
	log  *strings.Builder
}

func startNfacctd(t *testing.T) *nfacctd {
	t.Helper()
	bin := "/usr/sbin/nfacctd"
	if _, err := os.Stat(bin); err != nil {
		fixture.Missing(t, "pmacct's nfacctd is not installed (%v): scripts/install-deps.sh installs it", err)
	}
	dir := t.TempDir()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &nfacctd{port: pc.LocalAddr().(*net.UDPAddr).Port, out: filepath.Join(dir, "flows.csv"), log: &strings.Builder{}}
	pc.Close()
	conf := fmt.Sprintf("daemonize: false\nnfacctd_ip: 127.0.0.1\nnfacctd_port: %d\nplugins: print[flows]\n"+
		"aggregate[flows]: src_host, dst_host, src_port, dst_port, proto\nprint_output[flows]: csv\n"+
		"print_output_file[flows]: %s\nprint_output_file_append[flows]: true\nprint_refresh_time[flows]: 1\nprint_num_protos[flows]: true\n",
		n.port, n.out)
	cp := filepath.Join(dir, "nfacctd.conf")
	if err := os.WriteFile(cp, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "-f", cp)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its plugins are its children
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		n.cmd.Wait()
	})
	return n
}

// totals reads the collector's rows, leaving out the warm-up canary.
func (n *nfacctd) totals(t *testing.T) map[dirKey]dirCount {
	b, err := os.ReadFile(n.out)
	if err != nil {
		return nil
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) < 2 {
		return nil
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[dirKey]dirCount{}
	for _, r := range recs[1:] {
		if r[col["SRC_IP"]] == canary.String() {
			continue
		}
		sp, _ := strconv.Atoi(r[col["SRC_PORT"]])
		dp, _ := strconv.Atoi(r[col["DST_PORT"]])
		pr, _ := strconv.Atoi(r[col["PROTOCOL"]])
		pk, _ := strconv.ParseUint(r[col["PACKETS"]], 10, 64)
		by, _ := strconv.ParseUint(r[col["BYTES"]], 10, 64)
		k := dirKey{r[col["SRC_IP"]], r[col["DST_IP"]], uint16(sp), uint16(dp), uint8(pr)}
		c := out[k]
		c.pkts += pk
		c.bytes += by
		out[k] = c
	}
	return out
}

var canary = netip.MustParseAddr("198.18.0.1")

// warmUp sends a canary flow until nfacctd accounts it: it listens before
// its plugin takes data, and data in between would be lost.
func (n *nfacctd) warmUp(t *testing.T) {
	t.Helper()
	e, err := export.New(export.Options{Collectors: []export.Collector{{ID: 1, Address: fmt.Sprintf("127.0.0.1:%d", n.port)}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	deadline := time.Now().Add(20 * time.Second)
	for {
		now := time.Now().Unix()
		e.Export([]store.FlowRecord{{Proto: 17, Client: canary, Server: canary, PktsC2S: 1, BytesC2S: 64, FirstSeen: now, LastSeen: now}})
		time.Sleep(300 * time.Millisecond)
		if b, _ := os.ReadFile(n.out); bytes.Contains(b, []byte(canary.String())) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nfacctd accounted no canary flow:\n%s", n.log)
		}
	}
}

// The probe reads a capture and exports its flows over IPFIX: pmacct's
// collector must count, per direction of every flow, exactly the packets
// and bytes the capture holds.
func TestFlowExportMatchesNfacctd(t *testing.T) {
	nf := startNfacctd(t)
	nf.warmUp(t)
	pcap := filepath.Join(t.TempDir(), "export.pcap")
	writeCapture(t, pcap, 40)
	want := captureTotals(t, pcap)

	p := startProbe(t, "-i", pcap, "--data-dir", t.TempDir(), "--disable-login", "--export", fmt.Sprintf("ipfix://127.0.0.1:%d", nf.port))
	a := p.call(t, "GET", "/lua/rest/v1/get/export/collectors.lua", "", nil)
	if a.status != 200 || !strings.Contains(string(a.env.Rsp), `"from_command_line":true`) {
		t.Errorf("collectors: %d %s", a.status, a.body)
	}
	p.stop(t) // flushes the exporter

	var got map[dirKey]dirCount
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got = nf.totals(t); len(got) >= len(want) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(got) != len(want) {
		t.Errorf("nfacctd has %d flow directions, the capture %d", len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%v: nfacctd %d packets %d bytes, capture %d packets %d bytes", k, g.pkts, g.bytes, w.pkts, w.bytes)
		}
	}
}
