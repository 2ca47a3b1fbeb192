package clickhouse

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/store"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		bad  bool
	}{
		{in: "tcp://ch:9000/probes", want: Target{Addr: "ch:9000", Database: "probes"}},
		{in: "tcp://ch", want: Target{Addr: "ch:9000", Database: "default"}},
		{in: "tcp://u:p@[::1]:9001/db_1", want: Target{Addr: "[::1]:9001", Database: "db_1", User: "u", Password: "p"}},
		{in: "http://ch:8123/db", bad: true},
		{in: "tcp:///db", bad: true},
		{in: "tcp://ch/db;DROP", bad: true},
		{in: "tcp://ch/a/b", bad: true},
		{in: "tcp://ch/db?x=1", bad: true},
		{in: "tcp://ch/1db", bad: true},
	} {
		got, err := ParseURL(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%s: accepted as %+v", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// records makes n flow deltas ending at end, IPv4 and IPv6 alternately.
func records(n int, ifid uint16, end int64) []store.FlowRecord {
	out := make([]store.FlowRecord, n)
	for i := range out {
		c := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		s := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 7)})
		if i%2 == 1 {
			c = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
			s = netip.MustParseAddr("2001:db8::53")
		}
		out[i] = store.FlowRecord{
			IfID: ifid, Proto: 6, Client: c, Server: s, ClientPort: uint16(40000 + i), ServerPort: 443,
			PktsC2S: uint64(i%5 + 1), PktsS2C: uint64(i % 3), BytesC2S: uint64(100 + i), BytesS2C: uint64(7 * i),
			FirstSeen: end - 10, LastSeen: end, L7: 91,
		}
	}
	return out
}

func totalBytes(recs []store.FlowRecord) (sum uint64) {
	for _, r := range recs {
		sum += r.BytesC2S + r.BytesS2C
	}
	return sum
}

func dial(t *testing.T, addr string) driver.Conn {
	t.Helper()
	c, err := ch.Open(&ch.Options{Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stored is what ClickHouse holds for probe: rows and bytes, duplicates
// (same FLOW_ID) counted once.
func stored(t *testing.T, c driver.Conn, db, probe string) (rows, bytes uint64) {
	t.Helper()
	q := fmt.Sprintf("SELECT count(), sum(TOTAL_BYTES) FROM %s.flows FINAL WHERE NTOPNG_INSTANCE_NAME = ?", db)
	if err := c.QueryRow(context.Background(), q, probe).Scan(&rows, &bytes); err != nil {
		t.Fatal(err)
	}
	return rows, bytes
}

func openSink(t *testing.T, addr, probe, spoolDir string, max int64) *Sink {
	t.Helper()
	s, err := Open(Config{Target: Target{Addr: addr, Database: "fleet"}, Probe: probe, SpoolDir: spoolDir,
		SpoolMaxBytes: max, BatchRows: 500, FlushEvery: 50 * time.Millisecond,
		IfName: func(id uint16) string { return fmt.Sprintf("eth%d", id) },
		L7:     func(id uint16) (string, uint8) { return fmt.Sprintf("app%d", id), uint8(id % 7) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func drain(t *testing.T, s *Sink) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSinkWritesFlowsAndAlerts(t *testing.T) {
	srv := chtest.Start(t)
	s := openSink(t, srv.Addr, "probe-a", t.TempDir(), 64<<20)
	defer s.Close()
	recs := records(1234, 2, time.Now().Unix())
	s.WriteFlows(recs[:600])
	s.WriteFlows(recs[600:])
	s.WriteAlert(&alert.Alert{IfID: 2, Family: alert.FamilyFlow, TypeID: 5, Severity: 4, Score: 100,
		Tstamp: time.Now().Unix(), EntityVal: "10.0.0.1", Count: 1, Info: "x"})
	drain(t, s)

	c := dial(t, srv.Addr)
	rows, bytes := stored(t, c, "fleet", "probe-a")
	if rows != uint64(len(recs)) || bytes != totalBytes(recs) {
		t.Fatalf("stored %d rows, %d bytes; want %d, %d", rows, bytes, len(recs), totalBytes(recs))
	}
	// One row back, column by column, against the record it came from.
	var (
		v4src, v4dst          uint32
		v6src                 string
		sport, dport          uint16
		ipver                 uint8
		ifname                string
		s2c, c2s              uint64
		first, last           time.Time
		l7, l7cat             uint16
		l7name                string
		wantSrc, wantDst, r11 = recs[10].Client.As4(), recs[10].Server.As4(), recs[11]
	)
	err := c.QueryRow(context.Background(), `SELECT IPV4_SRC_ADDR, IPV4_DST_ADDR, IP_SRC_PORT, IP_DST_PORT,
		IP_PROTOCOL_VERSION, INTERFACE_NAME, SRC2DST_BYTES, DST2SRC_BYTES, FIRST_SEEN, LAST_SEEN, L7_PROTO,
		L7_PROTO_NAME, L7_CATEGORY FROM fleet.flows WHERE IP_SRC_PORT = ?`, recs[10].ClientPort).Scan(
		&v4src, &v4dst, &sport, &dport, &ipver, &ifname, &c2s, &s2c, &first, &last, &l7, &l7name, &l7cat)
	if err != nil {
		t.Fatal(err)
	}
	be := func(b [4]byte) uint32 { return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) }
	if v4src != be(wantSrc) || v4dst != be(wantDst) || sport != recs[10].ClientPort || dport != 443 || ipver != 4 ||
		ifname != "eth2" || c2s != recs[10].BytesC2S || s2c != recs[10].BytesS2C ||
		first.Unix() != recs[10].FirstSeen || last.Unix() != recs[10].LastSeen || l7 != 91 || l7name != "app91" || l7cat != 0 {
		t.Errorf("row: %d %d %d %d v%d %s %d %d %v %v %d %s %d", v4src, v4dst, sport, dport, ipver, ifname, c2s, s2c, first, last, l7, l7name, l7cat)
	}
	if err := c.QueryRow(context.Background(), "SELECT IPV6_SRC_ADDR FROM fleet.flows WHERE IP_SRC_PORT = ?", r11.ClientPort).Scan(&v6src); err != nil {
		t.Fatal(err)
	}
	if want := r11.Client.As16(); v6src != string(want[:]) {
		t.Errorf("IPv6 source %x, want %x", v6src, want)
	}
	var alerts uint64
	var info string
	if err := c.QueryRow(context.Background(), "SELECT count(), any(INFO) FROM fleet.alerts WHERE NTOPNG_INSTANCE_NAME = 'probe-a'").Scan(&alerts, &info); err != nil {
		t.Fatal(err)
	}
	if alerts != 1 || info != "x" {
		t.Errorf("alerts: %d (%q), want 1 (x)", alerts, info)
	}
	if st := s.Stats(); st.Sent != uint64(len(recs))+1 || st.Dropped != 0 || st.SpoolBatches != 0 {
		t.Errorf("stats %+v", st)
	}
}

// The server is killed mid-stream and started again: every record arrives,
// in the meantime from the spool.
func TestSinkOutageLosesNothing(t *testing.T) {
	srv := chtest.Start(t)
	s := openSink(t, srv.Addr, "probe-o", t.TempDir(), 64<<20)
	defer s.Close()
	now := time.Now().Unix()
	before, during, after := records(700, 0, now), records(900, 1, now), records(300, 0, now+1)
	s.WriteFlows(before)
	drain(t, s)
	srv.Stop()
	s.WriteFlows(during)
	s.seal()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Errors == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := s.Stats()
	if st.Errors == 0 || st.SpoolBatches == 0 || st.Connected {
		t.Fatalf("while down: %+v; want errors, spooled batches, disconnected", st)
	}
	srv.Start()
	s.WriteFlows(after)
	drain(t, s)
	all := append(append(before, during...), after...)
	rows, bytes := stored(t, dial(t, srv.Addr), "fleet", "probe-o")
	if rows != uint64(len(all)) || bytes != totalBytes(all) {
		t.Fatalf("after the outage: %d rows, %d bytes; want %d, %d", rows, bytes, len(all), totalBytes(all))
	}
	if st := s.Stats(); st.Dropped != 0 || st.Sent != uint64(len(all)) {
		t.Errorf("stats %+v", st)
	}
}

// A crash after ClickHouse took a batch but before the spool forgot it
// sends the batch again at the next start: it is counted once.
func TestSinkReplayAfterCrashCountsOnce(t *testing.T) {
	srv := chtest.Start(t)
	dir := t.TempDir()
	keep := t.TempDir()
	s := openSink(t, "127.0.0.1:1", "probe-r", dir, 64<<20) // nothing listens: stays spooled
	recs := records(800, 0, time.Now().Unix())
	s.WriteFlows(recs)
	s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if len(files) == 0 {
		t.Fatal("nothing spooled")
	}
	for _, f := range files { // the spool as the crash leaves it
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(keep, filepath.Base(f)), data, 0o640)
	}
	s = openSink(t, srv.Addr, "probe-r", dir, 64<<20)
	drain(t, s)
	s.Close()
	for _, f := range files {
		data, _ := os.ReadFile(filepath.Join(keep, filepath.Base(f)))
		os.WriteFile(f, data, 0o640)
	}
	s = openSink(t, srv.Addr, "probe-r", dir, 64<<20)
	defer s.Close()
	drain(t, s)
	if st := s.Stats(); st.Sent != uint64(len(recs)) {
		t.Fatalf("replay sent %d rows, want %d (the test needs the replay to happen)", st.Sent, len(recs))
	}
	rows, bytes := stored(t, dial(t, srv.Addr), "fleet", "probe-r")
	if rows != uint64(len(recs)) || bytes != totalBytes(recs) {
		t.Fatalf("after a replay: %d rows, %d bytes; want %d, %d", rows, bytes, len(recs), totalBytes(recs))
	}
}

// With ClickHouse unreachable the spool fills to its cap and no further:
// what does not fit is counted as dropped, and the rest is sent later.
func TestSinkSpoolFullDropsAndCounts(t *testing.T) {
	dir := t.TempDir()
	const max = 200 << 10
	s := openSink(t, "127.0.0.1:1", "probe-f", dir, max)
	var written uint64
	for i := 0; i < 40; i++ {
		recs := records(500, 0, time.Now().Unix())
		s.WriteFlows(recs)
		written += uint64(len(recs))
	}
	s.seal()
	st := s.Stats()
	s.Close()
	if st.Dropped == 0 || st.SpoolBytes > max {
		t.Fatalf("stats %+v: want drops and the spool within %d bytes", st, max)
	}
	var onDisk int64
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		fi, _ := os.Stat(f)
		onDisk += fi.Size()
	}
	if onDisk > max {
		t.Fatalf("spool directory holds %d bytes, cap %d", onDisk, max)
	}
	// Everything not dropped reaches ClickHouse once it is up.
	srv := chtest.Start(t)
	s = openSink(t, srv.Addr, "probe-f", dir, max)
	defer s.Close()
	drain(t, s)
	rows, _ := stored(t, dial(t, srv.Addr), "fleet", "probe-f")
	if rows+st.Dropped != written {
		t.Fatalf("stored %d + dropped %d, want %d written", rows, st.Dropped, written)
	}
}

// Day partitions older than the retention go; newer ones stay.
func TestDropExpiredPartitions(t *testing.T) {
	srv := chtest.Start(t)
	s := openSink(t, srv.Addr, "probe-t", t.TempDir(), 64<<20)
	defer s.Close()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	old, recent := records(10, 0, now.Add(-10*24*time.Hour).Unix()), records(20, 0, now.Add(-2*24*time.Hour).Unix())
	s.WriteFlows(old)
	s.WriteFlows(recent)
	drain(t, s)
	c := dial(t, srv.Addr)
	n, err := dropExpired(context.Background(), c, "fleet", "flows", 7*24*time.Hour, now)
	if err != nil || n != 1 {
		t.Fatalf("dropped %d partitions (%v), want 1", n, err)
	}
	if rows, bytes := stored(t, c, "fleet", "probe-t"); rows != 20 || bytes != totalBytes(recent) {
		t.Fatalf("after retention: %d rows, %d bytes; want the 20 recent ones", rows, bytes)
	}
}

// A flows table made by an older probe (fewer columns) gets the missing
// ones at start, and the rows already there keep their values.
func TestSchemaAddsMissingColumns(t *testing.T) {
	srv := chtest.Start(t)
	c := dial(t, srv.Addr)
	ctx := context.Background()
	old := flowsTable
	old.cols = old.cols[:len(old.cols)-2] // before L7_PROTO_NAME, L7_CATEGORY
	for _, q := range []string{"CREATE DATABASE fleet", old.create("fleet")} {
		if err := c.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	bt, err := c.PrepareBatch(ctx, "INSERT INTO fleet.flows (FLOW_ID, NTOPNG_INSTANCE_NAME, LAST_SEEN, TOTAL_BYTES)")
	if err != nil {
		t.Fatal(err)
	}
	if err := bt.Append(uint64(1), "probe-m", time.Now(), uint64(1000)); err != nil {
		t.Fatal(err)
	}
	if err := bt.Send(); err != nil {
		t.Fatal(err)
	}
	s := openSink(t, srv.Addr, "probe-m", t.TempDir(), 64<<20)
	defer s.Close()
	recs := records(10, 0, time.Now().Unix())
	s.WriteFlows(recs)
	drain(t, s)
	if rows, bytes := stored(t, c, "fleet", "probe-m"); rows != 11 || bytes != 1000+totalBytes(recs) {
		t.Fatalf("after migration: %d rows, %d bytes; want 11, %d", rows, bytes, 1000+totalBytes(recs))
	}
	var names uint64
	if err := c.QueryRow(ctx, "SELECT countIf(L7_PROTO_NAME = 'app91') FROM fleet.flows").Scan(&names); err != nil || names != 10 {
		t.Fatalf("new column holds %d names (%v), want 10", names, err)
	}
}

// A damaged spool (a truncated batch, garbage, a write cut short) costs
// only the damaged batch: the others are sent, in order, and the sink
// neither stops nor crashes.
func TestSinkSkipsDamagedSpoolBatches(t *testing.T) {
	srv := chtest.Start(t)
	dir := t.TempDir()
	s := openSink(t, "127.0.0.1:1", "probe-d", dir, 64<<20)
	a, b := records(300, 0, time.Now().Unix()), records(200, 1, time.Now().Unix())
	s.WriteFlows(a)
	s.seal()
	s.WriteFlows(b)
	s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*"+spoolExt))
	if len(files) != 2 {
		t.Fatalf("%d batches spooled, want 2", len(files))
	}
	// Between them: a truncated copy of the first, garbage, and a .tmp.
	data, _ := os.ReadFile(files[0])
	for name, content := range map[string][]byte{
		fmt.Sprintf("%020d%s", 1<<40, spoolExt):       data[:len(data)/2],
		fmt.Sprintf("%020d%s", 1<<40+1, spoolExt):     []byte("\xff\x00not a batch"),
		fmt.Sprintf("%020d%s.tmp", 1<<40+2, spoolExt): data,
	} {
		os.WriteFile(filepath.Join(dir, name), content, 0o640)
	}
	// Renumber the second real batch after the damaged ones.
	os.Rename(files[1], filepath.Join(dir, fmt.Sprintf("%020d%s", 1<<40+3, spoolExt)))
	s = openSink(t, srv.Addr, "probe-d", dir, 64<<20)
	defer s.Close()
	drain(t, s)
	all := append(a, b...)
	if rows, bytes := stored(t, dial(t, srv.Addr), "fleet", "probe-d"); rows != uint64(len(all)) || bytes != totalBytes(all) {
		t.Fatalf("%d rows, %d bytes; want %d, %d", rows, bytes, len(all), totalBytes(all))
	}
	if st := s.Stats(); st.Damaged != 2 {
		t.Errorf("%d damaged batches counted, want 2", st.Damaged)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("spool left with %v", left)
	}
}

// While ClickHouse takes every insert, batches go straight from memory:
// nothing is written to the spool (no fsync per batch), and every row
// arrives.
func TestSinkUpSkipsSpool(t *testing.T) {
	srv := chtest.Start(t)
	dir := t.TempDir()
	s := openSink(t, srv.Addr, "probe-u", dir, 64<<20)
	defer s.Close()
	recs := records(5*500+123, 0, time.Now().Unix()) // BatchRows 500: several sealed batches
	for i := 0; i < len(recs); i += 250 {
		s.WriteFlows(recs[i:min(i+250, len(recs))])
	}
	drain(t, s)
	if rows, bytes := stored(t, dial(t, srv.Addr), "fleet", "probe-u"); rows != uint64(len(recs)) || bytes != totalBytes(recs) {
		t.Fatalf("%d rows, %d bytes; want %d, %d", rows, bytes, len(recs), totalBytes(recs))
	}
	st := s.Stats()
	if st.Spooled != 0 || st.Batches < 5 || st.Sent != uint64(len(recs)) {
		t.Fatalf("stats %+v: want every batch sent from memory, none spooled", st)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Fatalf("spool directory holds %v", files)
	}
}

// A batch sealed in memory whose insert fails (the server died) goes to
// the spool and is sent from there once the server is back; batches
// numbered before it that were already spooled keep their place.
func TestSpoolKeepsSealOrder(t *testing.T) {
	sp, err := openSpool(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := sp.reserve(), sp.reserve(), sp.reserve()
	for _, seq := range []uint64{c, a, b} { // b's insert failed late
		if err := sp.put(seq, &batch{Flows: []FlowRow{{ID: seq}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []uint64{a, b} {
		seq, bt, ok, err := sp.oldest()
		if !ok || err != nil || seq != want || bt.Flows[0].ID != want {
			t.Fatalf("oldest: %d (%v, %v), want %d", seq, ok, err, want)
		}
		if err := sp.done(seq); err != nil {
			t.Fatal(err)
		}
	}
	// Reopened with c still there, c comes first and new numbers after it.
	sp2, err := openSpool(sp.dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if seq, ok := sp2.oldestSeq(); !ok || seq != c {
		t.Fatalf("reopened spool starts at %d (%v), want %d", seq, ok, c)
	}
	if n := sp2.reserve(); n <= c {
		t.Fatalf("reopened spool hands out %d, want > %d", n, c)
	}
}

// One call bringing more than BatchRows records (a full flow table's
// flush) is cut into batches of BatchRows rows, in order.
func TestSinkCutsLargeWritesIntoBatches(t *testing.T) {
	dir := t.TempDir()
	s := openSink(t, "127.0.0.1:1", "probe-b", dir, 64<<20) // BatchRows 500; nothing listens: every batch is spooled
	recs := records(2*500+321, 0, time.Now().Unix())
	s.WriteFlows(recs)
	s.Close()
	sp, err := openSpool(dir, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	port := uint16(0)
	for {
		seq, b, ok, err := sp.oldest()
		if !ok {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Flows {
			if r.SrcPort < port {
				t.Fatalf("batch %d: port %d after %d, rows out of order", seq, r.SrcPort, port)
			}
			port = r.SrcPort
		}
		sizes = append(sizes, len(b.Flows))
		sp.done(seq)
	}
	if !slices.Equal(sizes, []int{500, 500, 321}) {
		t.Fatalf("batches of %v rows, want [500 500 321]", sizes)
	}
}

// Retention on a server whose time zone is not UTC: day partitions are
// the server's days (toYYYYMMDD(LAST_SEEN) in its zone), so a partition
// holding rows newer than the cut-off must stay even when its number is
// below the cut-off's UTC day.
func TestDropExpiredServerTimeZone(t *testing.T) {
	t.Setenv("TZ", "America/Los_Angeles") // the server inherits it: UTC-8 in December
	srv := chtest.Start(t)
	c := dial(t, srv.Addr)
	var tz string
	if err := c.QueryRow(context.Background(), "SELECT timezone()").Scan(&tz); err != nil || tz != "America/Los_Angeles" {
		t.Fatalf("server time zone %q (%v): the test needs it in America/Los_Angeles", tz, err)
	}
	s := openSink(t, srv.Addr, "probe-z", t.TempDir(), 64<<20)
	defer s.Close()
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)       // 6 Dec 18:00 in Los Angeles
	keep := 7 * 24 * time.Hour                                // cut-off 30 Nov 02:00 UTC = 29 Nov 18:00 local
	old := records(10, 0, now.Add(-keep-24*time.Hour).Unix()) // 29 Nov 02:00 UTC, 28 Nov local: expired
	recent := records(20, 0, now.Add(-keep+time.Hour).Unix()) // 30 Nov 03:00 UTC, 29 Nov 19:00 local: kept
	s.WriteFlows(old)
	s.WriteFlows(recent)
	drain(t, s)
	n, err := dropExpired(context.Background(), c, "fleet", "flows", keep, now)
	if err != nil || n != 1 {
		t.Fatalf("dropped %d partitions (%v), want 1", n, err)
	}
	if rows, bytes := stored(t, c, "fleet", "probe-z"); rows != 20 || bytes != totalBytes(recent) {
		t.Fatalf("after retention: %d rows, %d bytes; want the 20 recent ones", rows, bytes)
	}
}
