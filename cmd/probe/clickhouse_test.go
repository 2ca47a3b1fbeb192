package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
)

// chTotals is what ClickHouse holds for one probe: packets and bytes of
// its flow rows, a replayed row counted once.
func chTotals(c driver.Conn, probe string) (pkts, bytes uint64, err error) {
	err = c.QueryRow(context.Background(),
		"SELECT sum(PACKETS), sum(TOTAL_BYTES) FROM fleet.flows FINAL WHERE NTOPNG_INSTANCE_NAME = ?", probe).Scan(&pkts, &bytes)
	return pkts, bytes, err
}

// waitTotals polls ClickHouse until probe's totals are want (or 30 s pass:
// the sink batches every second and retries with backoff).
func waitTotals(t *testing.T, c driver.Conn, probe string, wantPkts, wantBytes uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pkts, bytes, err := chTotals(c, probe) // an error: the probe has not made the tables yet
		if err == nil && pkts == wantPkts && bytes == wantBytes {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in ClickHouse: %d packets, %d bytes (%v); the captures hold %d, %d", probe, pkts, bytes, err, wantPkts, wantBytes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func chConn(t *testing.T, addr string) driver.Conn {
	t.Helper()
	c, err := ch.Open(&ch.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ipTotals are a capture's IP packets and wire bytes, as the test wrote
// them: what the probe's flow records must add up to.
func ipTotals(tr truth) (uint64, uint64) {
	return uint64(tr.packets - tr.nonIP[0]), uint64(tr.wireBytes - tr.nonIP[1])
}

// Three probes on three captures write to one ClickHouse: each probe's
// rows add up to its own capture, and the fleet's to all three. The
// third answers goQuery from ClickHouse (--history clickhouse): `probe
// query` through its API answers the three captures' sum, and with
// --probe one probe's capture; `probe query --clickhouse` does the same
// without any probe.
func TestClickHouseFleet(t *testing.T) {
	srv := chtest.Start(t)
	url := "tcp://" + srv.Addr + "/fleet"
	dir := t.TempDir()
	var allPkts, allBytes uint64
	want := map[string][2]uint64{}
	for i, nConn := range []int{7, 12, 20} {
		name := fmt.Sprintf("fleet-p%d", i)
		pcap := filepath.Join(dir, name+".pcap")
		pk, by := ipTotals(writeCapture(t, pcap, nConn))
		want[name] = [2]uint64{pk, by}
		allPkts, allBytes = allPkts+pk, allBytes+by
		args := []string{"-i", pcap, "--data-dir", filepath.Join(dir, name), "--disable-login", "--clickhouse", url, "--clickhouse-probe", name}
		if i == 2 {
			args = append(args, "--history", "clickhouse")
		}
		startProbe(t, args...)
	}
	fleetQueries := func(c driver.Conn) {
		var p1If string // the name fleet-p1 gave its capture file
		if err := c.QueryRow(context.Background(), "SELECT any(INTERFACE_NAME) FROM fleet.flows WHERE NTOPNG_INSTANCE_NAME = 'fleet-p1'").Scan(&p1If); err != nil {
			t.Fatal(err)
		}
		queries := []struct {
			args       []string
			pkts, byts uint64
		}{
			{[]string{"--data-dir", filepath.Join(dir, "fleet-p2"), "sip"}, allPkts, allBytes},
			{[]string{"--data-dir", filepath.Join(dir, "fleet-p2"), "-i", p1If, "dport,proto"}, want["fleet-p1"][0], want["fleet-p1"][1]},
			{[]string{"--data-dir", filepath.Join(dir, "fleet-p2"), "--probe", "fleet-p0", "talk_conv"}, want["fleet-p0"][0], want["fleet-p0"][1]},
			{[]string{"--clickhouse", url, "-c", "proto = TCP | proto != TCP", "raw"}, allPkts, allBytes},
			{[]string{"--clickhouse", url, "--probe", "fleet-p1", "-i", p1If, "--sum", "dip"}, want["fleet-p1"][0], want["fleet-p1"][1]},
		}
		// Without -f, goQuery's month holds nothing of these March
		// captures: the CLI widens to the month up to ClickHouse's newest.
		out, err := exec.Command(probeBin, "query", "--clickhouse", url, "-e", "csv", "--sum", "proto").Output()
		if err != nil || !strings.Contains(string(out), "TCP") {
			t.Errorf("probe query --clickhouse without -f: %v\n%s", err, out)
		}
		for _, q := range queries {
			args := append([]string{"query", "-f", "0", "-e", "json"}, q.args...)
			out, err := exec.Command(probeBin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("probe %v: %v\n%s", args, err, out)
			}
			var ans struct {
				Summary map[string]any `json:"summary"`
			}
			if err := json.Unmarshal(out, &ans); err != nil {
				t.Fatalf("probe %v: %v\n%s", args, err, out)
			}
			pk, by := ans.Summary["total_packets_rcvd"], ans.Summary["total_bytes_rcvd"]
			if slices.Contains(q.args, "--sum") {
				pk, by = ans.Summary["total_packets"], ans.Summary["total_bytes"]
			}
			if pk != float64(q.pkts) || by != float64(q.byts) {
				t.Errorf("probe %v: %v packets, %v bytes; the captures hold %d, %d\n%s", args, pk, by, q.pkts, q.byts, out)
			}
		}
	}
	c := chConn(t, srv.Addr)
	for name, w := range want {
		waitTotals(t, c, name, w[0], w[1])
	}
	var pkts, bytes, probes uint64
	if err := c.QueryRow(context.Background(), "SELECT sum(PACKETS), sum(TOTAL_BYTES), uniqExact(NTOPNG_INSTANCE_NAME) FROM fleet.flows FINAL").Scan(&pkts, &bytes, &probes); err != nil {
		t.Fatal(err)
	}
	if pkts != allPkts || bytes != allBytes || probes != 3 {
		t.Fatalf("fleet: %d packets, %d bytes from %d probes; want %d, %d from 3", pkts, bytes, probes, allPkts, allBytes)
	}
	fleetQueries(c)
}

// ClickHouse is down while a probe captures, and the probe is killed
// (kill -9) before it comes back: the spool on the data partition survives,
// is replayed by the next start, and nothing is lost or counted twice.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	srv := chtest.Start(t)
	url := "tcp://" + srv.Addr + "/fleet"
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	const name = "outage-probe"
	c := chConn(t, srv.Addr)
	srv.Stop()

	first := filepath.Join(dir, "first.pcap")
	pk1, by1 := ipTotals(writeCapture(t, first, 15))
	p := startProbe(t, "-i", first, "--data-dir", data, "--disable-login", "--clickhouse", url, "--clickhouse-probe", name)
	spool := filepath.Join(data, "clickhouse-spool")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if files, _ := filepath.Glob(filepath.Join(spool, "*.batch")); len(files) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing spooled in %s while ClickHouse is down; output:\n%s", spool, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The sink seals a batch a second: the capture's last records are on
	// disk once the spool stopped growing for two of them.
	last, since := -1, time.Now()
	for time.Since(since) < 2*time.Second {
		files, _ := filepath.Glob(filepath.Join(spool, "*.batch"))
		if len(files) != last {
			last, since = len(files), time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the spool kept changing for 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()

	srv.Start()
	second := filepath.Join(dir, "second.pcap")
	pk2, by2 := ipTotals(writeCapture(t, second, 4))
	startProbe(t, "-i", second, "--data-dir", data, "--disable-login", "--clickhouse", url, "--clickhouse-probe", name)
	waitTotals(t, c, name, pk1+pk2, by1+by2)
	if files, _ := filepath.Glob(filepath.Join(spool, "*.batch")); len(files) != 0 {
		t.Errorf("spool still holds %d batches after the replay", len(files))
	}
	if _, err := os.Stat(spool); err != nil {
		t.Fatal(err)
	}
}

// With ClickHouse unreachable and a spool too small for the capture, the
// records that do not fit are dropped, counted in /metrics, and raise the
// system "too many drops" alert; the spool stays within its cap.
func TestClickHouseSpoolFullCountedAndAlerted(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pcap := filepath.Join(dir, "big.pcap")
	writeCapture(t, pcap, 300)
	const spoolMax = 4096
	p := startProbe(t, "-i", pcap, "--data-dir", data, "--disable-login",
		"--clickhouse", fmt.Sprintf("tcp://127.0.0.1:%d/fleet", freePort(t)), "--clickhouse-spool-max", fmt.Sprint(spoolMax))
	deadline := time.Now().Add(20 * time.Second)
	var metrics string
	for {
		metrics = string(p.call(t, "GET", "/metrics", "", nil).body)
		if v := metricValue(metrics, "probe_clickhouse_rows_dropped_total"); v > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drops counted with a %d-byte spool:\n%s", spoolMax, metrics)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var onDisk int64
	files, _ := filepath.Glob(filepath.Join(data, "clickhouse-spool", "*"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			onDisk += fi.Size()
		}
	}
	if onDisk > spoolMax {
		t.Errorf("spool holds %d bytes, cap %d", onDisk, spoolMax)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		body := string(p.call(t, "GET", "/lua/rest/v2/get/system/alert/list.lua?ifid=0&epoch_begin=0&epoch_end=4102444800", "", nil).body)
		if strings.Contains(body, "Too Many Drops") && strings.Contains(body, "for ClickHouse (spool full) dropped") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no system alert about ClickHouse drops: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricValue is the sum of a metric's samples in a Prometheus text page.
func metricValue(page, name string) (sum uint64) {
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		var v uint64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			sum += v
		}
	}
	return sum
}

// The alerts a probe raises land in ClickHouse too: a SYN flood capture's
// host alerts, on the attacker and victim the capture was written with.
func TestClickHouseGetsAlerts(t *testing.T) {
	srv := chtest.Start(t)
	dir := t.TempDir()
	pcap := filepath.Join(dir, "synflood.pcap")
	attacker, victim := writeSYNFlood(t, pcap, 300, 4)
	startProbe(t, "-i", pcap, "--data-dir", filepath.Join(dir, "data"), "--disable-login",
		"--clickhouse", "tcp://"+srv.Addr+"/fleet", "--clickhouse-probe", "alerts-probe")
	c := chConn(t, srv.Addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n uint64
		err := c.QueryRow(context.Background(), `SELECT count() FROM fleet.alerts FINAL
			WHERE NTOPNG_INSTANCE_NAME = 'alerts-probe' AND ALERT_CATEGORY = 'host' AND ENTITY_VAL IN (?, ?)`, attacker, victim).Scan(&n)
		if err == nil && n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no host alert on %s or %s in ClickHouse (%v)", attacker, victim, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
