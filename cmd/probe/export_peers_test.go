package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/syncbuf"
)

// The flow export as third-party collectors see it: the probe replays a
// 2020 capture and exports it over NetFlow v9 and IPFIX to nfdump's
// nfcapd and to goflow2 (with parallel decoders) at once. Every record
// must decode, with the capture's dates and the ifIndex the probe's own
// SNMP agent gives the interface.

// peerCapture is a capture from May 2020: replayed years later, its flows
// are far older than NetFlow v9's 49.7-day sysUptime.
const peerCapture = "conformance/ntopng-e2e/pcap/test_01.pcap"

// peerRec is one direction of a flow as a collector shows it, or as the
// capture says it should be, summed over records with the same key.
type peerRec struct {
	pkts, bytes     uint64
	firstMs, lastMs int64
	ifIndexes       map[uint64]int // ingress interface: records
	records         int
}

func (r *peerRec) add(pkts, bytes uint64, firstMs, lastMs int64, ifIndex uint64) {
	if r.records == 0 || firstMs < r.firstMs {
		r.firstMs = firstMs
	}
	if r.records == 0 || lastMs > r.lastMs {
		r.lastMs = lastMs
	}
	r.pkts += pkts
	r.bytes += bytes
	if r.ifIndexes == nil {
		r.ifIndexes = map[uint64]int{}
	}
	r.ifIndexes[ifIndex]++
	r.records++
}

// captureDirections is what tshark (not the probe) reads in the capture:
// per direction of each TCP/UDP flow its packets and wire bytes, and the
// flow's first and last packet (both directions), to the millisecond.
func captureDirections(t *testing.T, pcap string) (map[dirKey]*peerRec, uint64, uint64) {
	t.Helper()
	tshark := fixture.Tool(t, "tshark")
	cmd := exec.Command(tshark, "-r", pcap, "-T", "fields", "-E", "separator=|", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst",
		"-e", "ip.proto", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "frame.len")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	type span struct{ first, last int64 }
	flows := map[dirKey]*span{} // by the flow's lower end first
	dirs := map[dirKey]*peerRec{}
	var pkts, bytes uint64
	canon := func(k dirKey) dirKey {
		if k.src > k.dst || k.src == k.dst && k.sport > k.dport {
			k.src, k.dst, k.sport, k.dport = k.dst, k.src, k.dport, k.sport
		}
		return k
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 9 || strings.Contains(l, ",") {
			t.Fatalf("tshark line %q: want one IPv4 TCP or UDP packet", l)
		}
		// frame.time_epoch is seconds.nanoseconds: the millisecond
		// it falls in.
		secs, frac, _ := strings.Cut(f[0], ".")
		sec, err1 := strconv.ParseInt(secs, 10, 64)
		milli, err2 := strconv.ParseInt((frac + "000")[:3], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("tshark time %q", f[0])
		}
		ms := sec*1000 + milli
		proto, _ := strconv.Atoi(f[3])
		sp, dp := f[4], f[5]
		if proto == 17 {
			sp, dp = f[6], f[7]
		}
		spn, err1 := strconv.Atoi(sp)
		dpn, err2 := strconv.Atoi(dp)
		size, err3 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || (proto != 6 && proto != 17) {
			t.Fatalf("tshark line %q: want one IPv4 TCP or UDP packet", l)
		}
		k := dirKey{src: f[1], dst: f[2], sport: uint16(spn), dport: uint16(dpn), proto: uint8(proto)}
		s := flows[canon(k)]
		if s == nil {
			s = &span{ms, ms}
			flows[canon(k)] = s
		}
		s.first, s.last = min(s.first, ms), max(s.last, ms)
		d := dirs[k]
		if d == nil {
			d = &peerRec{}
			dirs[k] = d
		}
		d.pkts++
		d.bytes += size
		pkts++
		bytes += size
	}
	for k, d := range dirs {
		s := flows[canon(k)]
		d.firstMs, d.lastMs = s.first, s.last
	}
	return dirs, pkts, bytes
}

// udpBound tells whether something listens on 127.0.0.1:port (UDP).
func udpBound(port int) bool {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	return bytes.Contains(b, fmt.Appendf(nil, " 0100007F:%04X ", port))
}

// collectorProc is a collector process in its own process group.
type collectorProc struct {
	cmd *exec.Cmd
	log *syncbuf.Buffer
}

// startCollector runs bin and waits until it listens on port.
func startCollector(t *testing.T, port int, bin string, args ...string) *collectorProc {
	t.Helper()
	c := &collectorProc{cmd: exec.Command(bin, args...), log: &syncbuf.Buffer{}}
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	c.cmd.Env = append(os.Environ(), "TZ=UTC")
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() { c.stop() })
	deadline := time.Now().Add(15 * time.Second)
	for !udpBound(port) {
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on port %d after 15 s:\n%s", filepath.Base(bin), port, c.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// stop ends the collector with SIGTERM (nfcapd writes its file then),
// SIGKILL after 5 s.
func (c *collectorProc) stop() {
	if c.cmd.ProcessState != nil {
		return
	}
	pgid := c.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// goflow2Bin builds goflow2 v2.2.6 from the module proxy, pinned by the
// tools/goflow2 module (its dependencies stay out of the probe's go.mod);
// Go's build cache makes every build after the first a link.
func goflow2Bin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "goflow2")
	cmd := exec.Command("go", "build", "-C", "../../tools/goflow2", "-o", bin, "github.com/netsampler/goflow2/v2/cmd/goflow2")
	if out, err := cmd.CombinedOutput(); err != nil {
		fixture.Missing(t, "building goflow2 from the module proxy: %v\n%s", err, out)
	}
	return bin
}

// nfdumpRecords reads nfcapd's files with nfdump, as JSON.
func nfdumpRecords(t *testing.T, dir string) map[dirKey]*peerRec {
	t.Helper()
	nfdump := fixture.Tool(t, "nfdump")
	cmd := exec.Command(nfdump, "-R", dir, "-o", "json", "-N")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nfdump: %v\n%s", err, out)
	}
	var recs []struct {
		First, Last string
		InPackets   uint64 `json:"in_packets"`
		InBytes     uint64 `json:"in_bytes"`
		Proto       uint8  `json:"proto"`
		SrcPort     uint16 `json:"src_port"`
		DstPort     uint16 `json:"dst_port"`
		Src4        string `json:"src4_addr"`
		Dst4        string `json:"dst4_addr"`
		InputSNMP   uint64 `json:"input_snmp"`
	}
	if err := json.Unmarshal(out, &recs); err != nil {
		t.Fatalf("nfdump json: %v\n%.2000s", err, out)
	}
	got := map[dirKey]*peerRec{}
	for _, r := range recs {
		first, err1 := time.Parse("2006-01-02T15:04:05.000", r.First)
		last, err2 := time.Parse("2006-01-02T15:04:05.000", r.Last)
		if err1 != nil || err2 != nil {
			t.Fatalf("nfdump times %q %q", r.First, r.Last)
		}
		k := dirKey{src: r.Src4, dst: r.Dst4, sport: r.SrcPort, dport: r.DstPort, proto: r.Proto}
		if got[k] == nil {
			got[k] = &peerRec{}
		}
		got[k].add(r.InPackets, r.InBytes, first.UnixMilli(), last.UnixMilli(), r.InputSNMP)
	}
	return got
}

// goflow2Records reads goflow2's JSON output: one object per record.
// Its parallel workers share the file, and a record's line separator is a
// write of its own: objects may come without one between them.
func goflow2Records(path string) (map[dirKey]*peerRec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	got := map[dirKey]*peerRec{}
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var r struct {
			Start   int64  `json:"time_flow_start_ns"`
			End     int64  `json:"time_flow_end_ns"`
			Bytes   uint64 `json:"bytes"`
			Packets uint64 `json:"packets"`
			Src     string `json:"src_addr"`
			Dst     string `json:"dst_addr"`
			Proto   string `json:"proto"`
			SrcPort uint16 `json:"src_port"`
			DstPort uint16 `json:"dst_port"`
			InIf    uint64 `json:"in_if"`
		}
		if err := dec.Decode(&r); err != nil {
			return got, fmt.Errorf("goflow2 output: %w", err)
		}
		proto := map[string]uint8{"TCP": 6, "UDP": 17}[r.Proto]
		k := dirKey{src: r.Src, dst: r.Dst, sport: r.SrcPort, dport: r.DstPort, proto: proto}
		if got[k] == nil {
			got[k] = &peerRec{}
		}
		got[k].add(r.Packets, r.Bytes, r.Start/1e6, r.End/1e6, r.InIf)
	}
	return got, nil
}

// agentIfIndex asks the probe's SNMP agent (snmpwalk of ifName) which
// ifIndex it gives the interface name.
func agentIfIndex(t *testing.T, port int, name string) uint64 {
	t.Helper()
	out, err := netSnmp(t, t.TempDir(), "snmpwalk", "-v2c", "-c", "peers", "-On", fmt.Sprintf("127.0.0.1:%d", port),
		".1.3.6.1.2.1.31.1.1.1.1").CombinedOutput()
	if err != nil {
		t.Fatalf("snmpwalk ifName: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`\.1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.1\.(\d+) = STRING: "` + regexp.QuoteMeta(name) + `"`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("the SNMP agent has no ifName %q:\n%s", name, out)
	}
	idx, _ := strconv.ParseUint(string(m[1]), 10, 32)
	return idx
}

// TestExportPeers: three runs per protocol. Each run starts nfcapd and
// goflow2 (4 parallel decoders) on loopback ports, replays the capture
// through the probe exporting to both, and compares what each decoded
// with the capture: every packet and byte in a record, per flow direction
// the flow's first and last second to the millisecond (years after the
// capture), and every record's ingress interface the agent's ifIndex.
func TestExportPeers(t *testing.T) {
	pcap := fixture.Shared(t, peerCapture)
	nfcapd := fixture.Tool(t, "nfcapd")
	fixture.Tool(t, "nfdump")
	goflow2 := goflow2Bin(t)
	want, wantPkts, wantBytes := captureDirections(t, pcap)
	t.Logf("capture: %d flow directions, %d packets, %d bytes", len(want), wantPkts, wantBytes)

	for _, proto := range []string{"netflow9", "ipfix"} {
		for run := 1; run <= 3; run++ {
			t.Run(fmt.Sprintf("%s/run%d", proto, run), func(t *testing.T) {
				dir := t.TempDir()
				nfPort, gfPort, gfHTTP, agentPort := freeUDP(t), freeUDP(t), freePort(t), freeUDP(t)
				nfDir := filepath.Join(dir, "nfcapd")
				if err := os.Mkdir(nfDir, 0o755); err != nil {
					t.Fatal(err)
				}
				nf := startCollector(t, nfPort, nfcapd, "-b", "127.0.0.1", "-p", fmt.Sprint(nfPort), "-w", nfDir)
				gfOut := filepath.Join(dir, "goflow2.json")
				gf := startCollector(t, gfPort, goflow2, "-addr", fmt.Sprintf("127.0.0.1:%d", gfHTTP),
					"-listen", fmt.Sprintf("netflow://127.0.0.1:%d?workers=4", gfPort), "-format", "json",
					"-transport", "file", "-transport.file", gfOut)

				p := startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "db"), "--disable-login",
					"--export", fmt.Sprintf("%s://127.0.0.1:%d", proto, nfPort),
					"--export", fmt.Sprintf("%s://127.0.0.1:%d", proto, gfPort),
					"--snmp-agent", fmt.Sprintf("127.0.0.1:%d", agentPort), "--snmp-agent-community", "peers",
					"--export-template-packets", "5", "--export-template-interval", "30s")
				a := p.call(t, "GET", "/lua/rest/v1/get/export/collectors.lua", "", nil)
				if n := strings.Count(string(a.env.Rsp), `"template_refresh":30,"template_refresh_messages":5`); a.status != 200 || n != 2 {
					t.Errorf("the collectors do not have the --export-template-* cadence: %d %s", a.status, a.body)
				}
				ifIndex := agentIfIndex(t, agentPort, filepath.Base(pcap))
				if ifIndex == 0 {
					t.Fatal("the agent's ifIndex is 0")
				}
				p.stop(t) // flushes the exporter

				// goflow2 writes as it decodes: wait until it has every
				// packet (or 15 s), then stop both (nfcapd writes its
				// file on SIGTERM).
				deadline := time.Now().Add(15 * time.Second)
				for time.Now().Before(deadline) {
					if got, err := goflow2Records(gfOut); err == nil && total(got) == wantPkts {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				gf.stop()
				nf.stop()

				gfRecs, err := goflow2Records(gfOut)
				if err != nil {
					t.Error(err)
				}
				for _, c := range []struct {
					name string
					got  map[dirKey]*peerRec
					log  string
				}{
					{"nfcapd", nfdumpRecords(t, nfDir), nf.log.String()},
					{"goflow2", gfRecs, gf.log.String()},
				} {
					comparePeer(t, c.name, c.got, want, wantPkts, wantBytes, ifIndex)
					if t.Failed() {
						t.Logf("%s log:\n%s", c.name, c.log)
					}
				}
				if strings.Contains(gf.log.String(), "level=ERROR") || strings.Contains(gf.log.String(), "level=WARN") {
					t.Errorf("goflow2 complained:\n%s", gf.log)
				}
				if m := regexp.MustCompile(`Sequence Errors: (\d+), Bad Packets: (\d+)`).FindStringSubmatch(nf.log.String()); m == nil || m[1] != "0" || m[2] != "0" {
					t.Errorf("nfcapd's summary: %q", m)
				}
			})
		}
	}
}

func total(got map[dirKey]*peerRec) uint64 {
	var n uint64
	for _, r := range got {
		n += r.pkts
	}
	return n
}

func comparePeer(t *testing.T, name string, got, want map[dirKey]*peerRec, wantPkts, wantBytes uint64, ifIndex uint64) {
	t.Helper()
	var pkts, bytes uint64
	records, bad := 0, 0
	for k, g := range got {
		pkts += g.pkts
		bytes += g.bytes
		records += g.records
		w := want[k]
		if w == nil {
			t.Errorf("%s: %v is not in the capture", name, k)
			bad++
			continue
		}
		if g.pkts != w.pkts || g.bytes != w.bytes || g.firstMs != w.firstMs || g.lastMs != w.lastMs {
			if bad++; bad <= 10 {
				t.Errorf("%s: %v: %d packets %d bytes from %s to %s; the capture: %d packets %d bytes from %s to %s", name, k,
					g.pkts, g.bytes, msTime(g.firstMs), msTime(g.lastMs), w.pkts, w.bytes, msTime(w.firstMs), msTime(w.lastMs))
			}
		}
		if len(g.ifIndexes) != 1 || g.ifIndexes[ifIndex] == 0 {
			if bad++; bad <= 10 {
				t.Errorf("%s: %v: ingress interfaces %v, the agent's ifIndex is %d", name, k, g.ifIndexes, ifIndex)
			}
		}
	}
	if pkts != wantPkts || bytes != wantBytes || len(got) != len(want) {
		t.Errorf("%s decoded %d records: %d flow directions, %d packets, %d bytes; the capture has %d, %d, %d",
			name, records, len(got), pkts, bytes, len(want), wantPkts, wantBytes)
	} else if bad == 0 {
		t.Logf("%s: %d records, %d packets, %d bytes, all dated and on ifIndex %d as the capture says", name, records, pkts, bytes, ifIndex)
	}
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000") }

// TestExportIfIndexFollowsInterface: with two capture interfaces, every
// record goflow2 decodes carries the ifIndex the probe's SNMP agent gives
// the interface the flow was captured on; after a restart with the -i
// order reversed (the REST ifids swap), both numbers stay with the names.
func TestExportIfIndexFollowsInterface(t *testing.T) {
	shared := fixture.Shared(t, peerCapture)
	goflow2 := goflow2Bin(t)
	dir := t.TempDir()
	a := filepath.Join(dir, "uplink.pcap")
	b, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, b, 0o644); err != nil {
		t.Fatal(err)
	}
	bPath := filepath.Join(dir, "lab.pcap")
	writeCapture(t, bPath, 20)
	wantA, pktsA, _ := captureDirections(t, a)
	wantB := captureTotals(t, bPath)
	var pktsB uint64
	for k := range wantB {
		if wantA[k] != nil {
			t.Fatalf("%v is in both captures", k)
		}
		pktsB += wantB[k].pkts
	}
	db := filepath.Join(dir, "db")

	var first map[string]uint64
	for run, order := range [][]string{{a, bPath}, {bPath, a}} {
		gfPort, gfHTTP, agentPort := freeUDP(t), freePort(t), freeUDP(t)
		gfOut := filepath.Join(dir, fmt.Sprintf("goflow2-%d.json", run))
		gf := startCollector(t, gfPort, goflow2, "-addr", fmt.Sprintf("127.0.0.1:%d", gfHTTP),
			"-listen", fmt.Sprintf("netflow://127.0.0.1:%d?workers=4", gfPort), "-format", "json",
			"-transport", "file", "-transport.file", gfOut)
		p := startProbe(t, "-i", order[0], "-i", order[1], "--data-dir", db, "--disable-login",
			"--export", fmt.Sprintf("ipfix://127.0.0.1:%d", gfPort),
			"--snmp-agent", fmt.Sprintf("127.0.0.1:%d", agentPort), "--snmp-agent-community", "peers")
		idx := map[string]uint64{}
		for _, f := range []string{a, bPath} {
			idx[f] = agentIfIndex(t, agentPort, filepath.Base(f))
		}
		p.stop(t)
		if idx[a] == idx[bPath] || idx[a] == 0 || idx[bPath] == 0 {
			t.Fatalf("run %d: the agent's ifIndexes %v", run, idx)
		}
		if first == nil {
			first = idx
		} else if idx[a] != first[a] || idx[bPath] != first[bPath] {
			t.Errorf("after the restart with -i reversed the agent's ifIndexes are %v, before %v", idx, first)
		}

		var got map[dirKey]*peerRec
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if got, err = goflow2Records(gfOut); err == nil && total(got) == pktsA+pktsB {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		gf.stop()
		if got, err = goflow2Records(gfOut); err != nil {
			t.Fatal(err)
		}
		if total(got) != pktsA+pktsB {
			t.Errorf("run %d: goflow2 has %d packets in records, the captures %d", run, total(got), pktsA+pktsB)
		}
		bad := 0
		for k, g := range got {
			want := idx[a]
			if wantB[k].pkts != 0 {
				want = idx[bPath]
			} else if wantA[k] == nil {
				t.Errorf("run %d: %v is in neither capture", run, k)
				continue
			}
			if len(g.ifIndexes) != 1 || g.ifIndexes[want] == 0 {
				if bad++; bad <= 5 {
					t.Errorf("run %d: %v: ingress interfaces %v, want the agent's %d", run, k, g.ifIndexes, want)
				}
			}
		}
		if bad == 0 {
			t.Logf("run %d (-i %s -i %s): %d flow directions, each on its interface's ifIndex (uplink %d, lab %d)", run,
				filepath.Base(order[0]), filepath.Base(order[1]), len(got), idx[a], idx[bPath])
		}
	}
}
