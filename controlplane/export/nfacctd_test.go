package export

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/fixture"
	"github.com/probe-appliance/probe/internal/syncbuf"
)

const nfacctdPath = "/usr/sbin/nfacctd"

// nfacctd is pmacct's collector, run by a test on a loopback port with
// print plugins that write CSV.
type nfacctd struct {
	dir  string
	port int
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
}

// startNfacctd runs nfacctd with one print plugin per entry of plugins
// (name: aggregate), each appending to <dir>/<name>.csv every second.
func startNfacctd(t *testing.T, plugins map[string]string) *nfacctd {
	t.Helper()
	if _, err := os.Stat(nfacctdPath); err != nil {
		fixture.Missing(t, "pmacct's nfacctd is not installed (%v): scripts/install-deps.sh installs it", err)
	}
	n := &nfacctd{dir: t.TempDir(), port: freeUDPPort(t), log: &syncbuf.Buffer{}}
	var conf strings.Builder
	fmt.Fprintf(&conf, "daemonize: false\nnfacctd_ip: 127.0.0.1\nnfacctd_port: %d\n", n.port)
	conf.WriteString("timestamps_since_epoch: true\n")
	var names []string
	for name := range plugins {
		names = append(names, "print["+name+"]")
	}
	fmt.Fprintf(&conf, "plugins: %s\n", strings.Join(names, ", "))
	for name, agg := range plugins {
		fmt.Fprintf(&conf, "aggregate[%s]: %s\n", name, agg)
		fmt.Fprintf(&conf, "print_output[%[1]s]: csv\nprint_output_file[%[1]s]: %[2]s\nprint_output_file_append[%[1]s]: true\n",
			name, filepath.Join(n.dir, name+".csv"))
		fmt.Fprintf(&conf, "print_refresh_time[%[1]s]: 1\nprint_num_protos[%[1]s]: true\n", name)
	}
	confPath := filepath.Join(n.dir, "nfacctd.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(nfacctdPath, "-f", confPath)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	// Its own process group: the plugins are children of the core
	// process, and the core does not always exit on SIGTERM.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nfacctd: %v", err)
	}
	t.Cleanup(n.stop)
	// Ready when the core listens and every plugin has its cache.
	deadline := time.Now().Add(15 * time.Second)
	for {
		l := n.log.String()
		if strings.Contains(l, "waiting for NetFlow/IPFIX data") && strings.Count(l, "cache entries=") == len(plugins) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nfacctd did not start:\n%s", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nfacctd config:\n%s\nlog:\n%s", conf.String(), n.log.String())
		}
	})
	return n
}

func (n *nfacctd) stop() {
	if n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	pgid := n.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

// The canary is a flow sent until nfacctd accounts it: the core listens
// before its plugins take data, and data sent in between is lost. Its
// rows are left out of the comparisons.
const (
	canaryDomain = "9999"
	canaryAddr   = "198.51.100.1"
)

func (n *nfacctd) warmUp(t *testing.T, proto string) {
	t.Helper()
	c := Collector{Address: fmt.Sprintf("127.0.0.1:%d", n.port), Protocol: proto, ObservationDomain: 9999}.withDefaults()
	conn, err := net.Dial("udp", c.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	canary := []store.FlowRecord{{Proto: 17, Client: netip.MustParseAddr(canaryAddr), Server: netip.MustParseAddr(canaryAddr),
		PktsC2S: 1, BytesC2S: 100, FirstSeen: time.Now().Unix(), LastSeen: time.Now().Unix()}}
	deadline := time.Now().Add(15 * time.Second)
	for {
		for _, m := range encodeAll(t, newEncoder(c, 0), canary, time.Now()) {
			conn.Write(m)
		}
		time.Sleep(250 * time.Millisecond)
		ready := true
		for _, name := range []string{"totals", "detail", "seq"} {
			rows, err := n.rows(name)
			if err != nil {
				t.Fatal(err)
			}
			ready = ready && len(rows) > 0
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nfacctd accounted no canary flow:\n%s", n.log.String())
		}
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// rows reads a plugin's CSV: the title once, then one row per aggregate
// and purge.
func (n *nfacctd) rows(name string) ([]map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(n.dir, name+".csv"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := make(map[string]string)
		for i, h := range recs[0] {
			if i < len(r) {
				m[h] = r[i]
			}
		}
		out = append(out, m)
	}
	return out, nil
}

type counters struct{ pkts, bytes uint64 }

// sums adds up packets and bytes per key (the named columns, joined).
func sums(rows []map[string]string, cols ...string) (map[string]counters, error) {
	out := make(map[string]counters)
	for _, r := range rows {
		if r["SRC_IP"] == canaryAddr {
			continue
		}
		var k []string
		for _, c := range cols {
			v, ok := r[c]
			if !ok {
				return nil, fmt.Errorf("no column %s in %v", c, r)
			}
			k = append(k, v)
		}
		p, err1 := strconv.ParseUint(r["PACKETS"], 10, 64)
		b, err2 := strconv.ParseUint(r["BYTES"], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		c := out[strings.Join(k, ",")]
		c.pkts += p
		c.bytes += b
		out[strings.Join(k, ",")] = c
	}
	return out, nil
}

// collectorFlows is a data set whose totals are known: IPv4 and IPv6,
// TCP, UDP and ICMP, VLANs, several interfaces, counters beyond 2^32, a
// one-way flow, the same 5-tuple on two interfaces and in two intervals,
// and enough small flows for several messages per domain.
func collectorFlows(now time.Time) [][]store.FlowRecord {
	a := netip.MustParseAddr
	t0 := now.Unix() - 600 // before the NetFlow v9 uptime origin of the test
	web := store.FlowRecord{
		IfID: 1, Proto: 6, Client: a("10.1.0.1"), Server: a("10.2.0.1"), ClientPort: 40000, ServerPort: 443,
		PktsC2S: 10, BytesC2S: 1500, PktsS2C: 12, BytesS2C: 9000,
		FirstSeen: t0, LastSeen: t0 + 100, FirstMilli: 123, LastMilli: 987, TCPFlagsC2S: 0x1b, TCPFlagsS2C: 0x1b, L7: 91,
	}
	webMirror := web
	webMirror.IfID = 2
	webLater := web
	webLater.PktsC2S, webLater.BytesC2S, webLater.PktsS2C, webLater.BytesS2C = 3, 180, 4, 5000
	webLater.LastSeen = t0 + 400
	batch1 := []store.FlowRecord{
		web,
		{IfID: 2, VLAN: 100, Proto: 17, Client: a("2001:db8::1"), Server: a("2001:db8::53"), ClientPort: 5353, ServerPort: 53,
			PktsC2S: 1, BytesC2S: 90, FirstSeen: t0 + 5, LastSeen: t0 + 5, L7: 5},
		{IfID: 1, VLAN: 7, Proto: 6, Client: a("10.1.0.9"), Server: a("192.0.2.80"), ClientPort: 50000, ServerPort: 80,
			PktsC2S: 5_000_000_000, BytesC2S: 6_000_000_000, PktsS2C: 4_294_967_297, BytesS2C: 1 << 40,
			FirstSeen: t0 + 10, LastSeen: t0 + 500, TCPFlagsC2S: 0x12, TCPFlagsS2C: 0x1a},
		{IfID: 3, Proto: 1, Client: a("10.1.0.2"), Server: a("10.1.0.3"), PktsC2S: 4, BytesC2S: 392, PktsS2C: 4, BytesS2C: 392,
			FirstSeen: t0 + 20, LastSeen: t0 + 23},
		{IfID: 2, VLAN: 100, Proto: 6, Client: a("2001:db8:1::10"), Server: a("2001:db8:2::20"), ClientPort: 33000, ServerPort: 22,
			PktsC2S: 300, BytesC2S: 40000, PktsS2C: 250, BytesS2C: 70000, FirstSeen: t0 + 30, LastSeen: t0 + 590,
			TCPFlagsC2S: 0x18, TCPFlagsS2C: 0x18},
	}
	batch2 := []store.FlowRecord{webMirror, webLater}
	for i := range 400 {
		f := store.FlowRecord{
			IfID: uint16(4 + i%2), Proto: 17, ClientPort: uint16(10000 + i), ServerPort: 123,
			PktsC2S: uint64(1 + i), BytesC2S: uint64(76 * (1 + i)), PktsS2C: uint64(i % 3), BytesS2C: uint64(76 * (i % 3)),
			FirstSeen: t0 + int64(i), LastSeen: t0 + int64(i) + 1,
		}
		if i%3 == 0 {
			f.Client, f.Server = netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), a("172.16.255.1")
		} else {
			f.Client, f.Server = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), a("2001:db8::123")
		}
		batch2 = append(batch2, f)
	}
	return [][]store.FlowRecord{batch1, batch2}
}

// expectedSums adds up the input per key, as the collector should.
func expectedSums(batches [][]store.FlowRecord, key func(d *dirRec) string) map[string]counters {
	out := make(map[string]counters)
	for _, b := range batches {
		for d, n := range wantDirs(b) {
			c := out[key(&d)]
			c.pkts += uint64(n) * d.pkts
			c.bytes += uint64(n) * d.octets
			out[key(&d)] = c
		}
	}
	return out
}

// TestNfacctd exports known flows to pmacct's nfacctd, over IPFIX and
// NetFlow v9, and compares what it accounts with the input, exactly: per
// 5-tuple totals, and per record the VLAN, interface, TCP flags and
// times; and per message the sequence number nfacctd read, which must
// follow the rule of the protocol in every observation domain.
func TestNfacctd(t *testing.T) {
	for _, proto := range []string{ProtocolIPFIX, ProtocolNetFlow9} {
		t.Run(proto, func(t *testing.T) {
			n := startNfacctd(t, map[string]string{
				"totals": "src_host, dst_host, src_port, dst_port, proto",
				"detail": "src_host, dst_host, src_port, dst_port, proto, vlan, in_iface, tcpflags, timestamp_start, timestamp_end",
				"seq":    "export_proto_sysid, export_proto_seqno, flows",
			})
			n.warmUp(t, proto)
			now := time.Now()
			e, err := New(Options{
				Collectors: []Collector{{ID: 1, Address: fmt.Sprintf("127.0.0.1:%d", n.port), Protocol: proto, ObservationDomain: 100}},
				// Some flows start before the uptime origin, so that
				// FIRST_SWITCHED wraps around.
				BootTime: now.Add(-5 * time.Minute),
			})
			if err != nil {
				t.Fatal(err)
			}
			batches := collectorFlows(now)
			for _, b := range batches {
				e.Export(b)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()[0]
			if st.SendErrors != 0 || st.FlowsDropped != 0 || st.RecordsLost != 0 || st.MessagesSent < 6 {
				t.Fatalf("stats %+v", st)
			}
			t.Logf("sent %d records in %d messages, %d bytes, %d template records", st.RecordsSent, st.MessagesSent, st.BytesSent, st.TemplatesSent)

			wantTotals := expectedSums(batches, func(d *dirRec) string {
				return fmt.Sprintf("%s,%s,%d,%d,%d", d.src, d.dst, d.srcPort, d.dstPort, d.proto)
			})
			wantDetail := expectedSums(batches, func(d *dirRec) string {
				// nfacctd prints times as seconds.microseconds; the
				// interface is the SNMP ifIndex, the store id plus one.
				first, last := d.firstMs, d.lastMs
				if proto == ProtocolNetFlow9 {
					// pmacct keeps NetFlow v9 times to the second:
					// unix_secs - (sysUptime - FIRST_SWITCHED)/1000
					// in integer division, the time rounded up.
					first, last = (first+999)/1000*1000, (last+999)/1000*1000
				}
				return fmt.Sprintf("%s,%s,%d,%d,%d,%d,%d,%d,%d.%06d,%d.%06d", d.src, d.dst, d.srcPort, d.dstPort, d.proto,
					d.vlan, int(d.ifID)+1, d.flags, first/1000, first%1000*1000, last/1000, last%1000*1000)
			})
			var totals, detail map[string]counters
			var seqRows []map[string]string
			deadline := time.Now().Add(20 * time.Second)
			for {
				var err error
				rows, err1 := n.rows("totals")
				if err = err1; err == nil {
					totals, err = sums(rows, "SRC_IP", "DST_IP", "SRC_PORT", "DST_PORT", "PROTOCOL")
				}
				if err == nil {
					rows, err = n.rows("detail")
				}
				if err == nil {
					detail, err = sums(rows, "SRC_IP", "DST_IP", "SRC_PORT", "DST_PORT", "PROTOCOL",
						"VLAN", "IN_IFACE", "TCP_FLAGS", "TIMESTAMP_START", "TIMESTAMP_END")
				}
				if err == nil {
					seqRows, err = n.rows("seq")
				}
				if err != nil {
					t.Fatal(err)
				}
				seqRows = slices.DeleteFunc(seqRows, func(r map[string]string) bool { return r["EXPORT_PROTO_SYSID"] == canaryDomain })
				if total(totals) == total(wantTotals) && total(detail) == total(wantDetail) && len(seqRows) == int(st.MessagesSent) ||
					time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			compareSums(t, "totals", totals, wantTotals)
			compareSums(t, "detail", detail, wantDetail)
			checkSeq(t, seqRows, proto == ProtocolNetFlow9, 100, st.RecordsSent)
			t.Logf("nfacctd: %d 5-tuples, %d detail aggregates, %d packets, %d bytes, %d messages' sequence numbers: all as expected",
				len(totals), len(detail), total(totals).pkts, total(totals).bytes, len(seqRows))
			// nfacctd warns of what it cannot decode.
			for _, bad := range []string{"WARN", "ERROR"} {
				if strings.Contains(n.log.String(), bad) {
					t.Errorf("nfacctd logged %q:\n%s", bad, n.log.String())
				}
			}
		})
	}
}

func total(m map[string]counters) counters {
	var t counters
	for _, c := range m {
		t.pkts += c.pkts
		t.bytes += c.bytes
	}
	return t
}

func compareSums(t *testing.T, what string, got, want map[string]counters) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s missing (want %+v)", what, k, w)
		} else if g != w {
			t.Errorf("%s: %s: got %+v, want %+v", what, k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected %s %+v", what, k, g)
		}
	}
}

// checkSeq checks the sequence numbers nfacctd saw, one row per message:
// per observation domain they start at 0 and grow by the message's
// records (IPFIX) or by one (NetFlow v9).
func checkSeq(t *testing.T, rows []map[string]string, nf9 bool, domainBase uint32, records uint64) {
	t.Helper()
	type msg struct{ seq, flows uint64 }
	byDomain := make(map[uint64][]msg)
	var sum uint64
	for _, r := range rows {
		var v [3]uint64
		for i, c := range []string{"EXPORT_PROTO_SYSID", "EXPORT_PROTO_SEQNO", "FLOWS"} {
			var err error
			if v[i], err = strconv.ParseUint(r[c], 10, 64); err != nil {
				t.Fatalf("seq row %v: %s: %v", r, c, err)
			}
		}
		byDomain[v[0]] = append(byDomain[v[0]], msg{v[1], v[2]})
		sum += v[2]
	}
	if sum != records {
		t.Errorf("nfacctd counted %d records in its sequence rows, %d sent", sum, records)
	}
	for d, ms := range byDomain {
		if d < uint64(domainBase) || d > uint64(domainBase)+65535 {
			t.Errorf("observation domain %d out of the collector's range", d)
		}
		slices.SortFunc(ms, func(a, b msg) int { return cmp.Compare(a.seq, b.seq) })
		next := uint64(0)
		for _, m := range ms {
			if m.seq != next {
				t.Errorf("domain %d: sequence %d, want %d (%v)", d, m.seq, next, ms)
				break
			}
			if nf9 {
				next++
			} else {
				next += m.flows
			}
		}
	}
	if len(byDomain) < 5 {
		t.Errorf("%d observation domains, want 5 (one per interface)", len(byDomain))
	}
}
