package main

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
)

// spoolSettled waits until the spool holds batches and has not changed
// for two seconds (the sink seals a batch a second): the capture's last
// records are on disk.
func spoolSettled(t *testing.T, spool string, p *probeProc) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last, since := -1, time.Now()
	for last <= 0 || time.Since(since) < 2*time.Second {
		files, _ := filepath.Glob(filepath.Join(spool, "*.batch"))
		if len(files) != last {
			last, since = len(files), time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool %s: %d batches, not settled in 30 s; output:\n%s", spool, last, p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func kill9(p *probeProc) {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// kill -9 of the probe while ClickHouse is down, and again while it is
// up. Down, the first run's records wait in the fsynced spool; up, the
// second run replays them and sends its own, and after its kill -9 the
// third run finds nothing left to send: every record of the three
// captures is in ClickHouse once, and the third run, starting with an
// empty spool against a server that is up, writes nothing to the spool.
func TestClickHouseKill9DownAndUp(t *testing.T) {
	srv := chtest.Start(t)
	url := "tcp://" + srv.Addr + "/fleet"
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	spool := filepath.Join(data, "clickhouse-spool")
	const name = "kill9-probe"
	c := chConn(t, srv.Addr)
	run := func(capture string, nConn int) (*probeProc, uint64, uint64) {
		pcap := filepath.Join(dir, capture+".pcap")
		pk, by := ipTotals(writeCapture(t, pcap, nConn))
		return startProbe(t, "-i", pcap, "--data-dir", data, "--disable-login", "--clickhouse", url, "--clickhouse-probe", name), pk, by
	}

	srv.Stop()
	p1, pk1, by1 := run("down", 15)
	spoolSettled(t, spool, p1)
	kill9(p1)

	srv.Start()
	p2, pk2, by2 := run("up", 6)
	waitTotals(t, c, name, pk1+pk2, by1+by2)
	waitSpoolEmpty(t, spool)
	kill9(p2)

	p3, pk3, by3 := run("after", 3)
	waitTotals(t, c, name, pk1+pk2+pk3, by1+by2+by3)
	metrics := string(p3.call(t, "GET", "/metrics", "", nil).body)
	if n := metricValue(metrics, "probe_clickhouse_batches_spooled_total"); n != 0 {
		t.Errorf("third run spooled %d batches with ClickHouse up and an empty spool", n)
	}
	if n := metricValue(metrics, "probe_clickhouse_rows_sent_total"); n == 0 {
		t.Errorf("third run sent nothing:\n%s", metrics)
	}
	// Nothing was sent twice: no row id appears twice even before merges.
	var rows, unique uint64
	if err := c.QueryRow(context.Background(), "SELECT count(), uniqExact(FLOW_ID) FROM fleet.flows WHERE NTOPNG_INSTANCE_NAME = ?", name).Scan(&rows, &unique); err != nil {
		t.Fatal(err)
	}
	if rows != unique {
		t.Errorf("%d rows for %d row ids: a batch was sent twice", rows, unique)
	}
}

func waitSpoolEmpty(t *testing.T, spool string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(spool, "*.batch"))
		if len(files) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool still holds %d batches", len(files))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
