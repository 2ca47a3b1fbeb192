package agent

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/probe-appliance/probe/controlplane/flowtable"
	"github.com/probe-appliance/probe/controlplane/timeseries"
	"github.com/probe-appliance/probe/dataplane/decode"
	"github.com/probe-appliance/probe/internal/packettest"
	"github.com/probe-appliance/probe/internal/tstest"
)

// pointKey names a point for the tests: schema, tags, time.
func pointKey(p timeseries.Point) string { return fmt.Sprintf("%s %v %d", p.Schema, p.Tags, p.Time) }

func pointsByKey(pts []timeseries.Point) map[string][]float64 {
	m := map[string][]float64{}
	for _, p := range pts {
		m[pointKey(p)] = p.Values
	}
	return m
}

// A counter series the recorder has not written starts with zeros at the
// previous sample; gauges do not; a host gone and back starts again.
func TestSamplerZeroStarts(t *testing.T) {
	st := newTSIfaceState("3", 1000)
	s1 := &ifaceSample{bytes: 500, pkts: 5, hosts: 2, hostList: []hostSample{{key: "10.0.0.1", sent: 40, rcvd: 60, activeCli: 1}}}
	sec := pointsByKey(st.secondPoints(s1, 1000))
	for _, c := range []struct {
		key  string
		want []float64
	}{
		{"iface:traffic [3] 999", []float64{0}},
		{"iface:traffic [3] 1000", []float64{500}},
		{"iface:packets [3] 999", []float64{0}},
		{"iface:traffic_rxtx [3] 999", []float64{0, 0}},
	} {
		if got, ok := sec[c.key]; !ok || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v (present %v), want %v", c.key, got, ok, c.want)
		}
	}
	if n := len(st.secondPoints(&ifaceSample{bytes: 900}, 1001)); n != 3 {
		t.Errorf("second sample: %d points, want the 3 series without zero starts", n)
	}
	min1 := pointsByKey(st.minutePoints(s1, 1000))
	if got := min1["host:traffic [3 10.0.0.1] 999"]; fmt.Sprint(got) != "[0 0]" {
		t.Errorf("new host's zero start: %v", got)
	}
	if _, ok := min1["host:active_flows [3 10.0.0.1] 999"]; ok {
		t.Error("a gauge got a zero start")
	}
	if got := min1["iface:hosts [3] 1000"]; fmt.Sprint(got) != "[2]" {
		t.Errorf("iface:hosts %v", got)
	}
	// Minute 2: the host is gone; minute 3: it is back, counting from zero.
	st.minutePoints(&ifaceSample{}, 1060)
	min3 := pointsByKey(st.minutePoints(&ifaceSample{hostList: []hostSample{{key: "10.0.0.1", sent: 7}}}, 1120))
	if got := min3["host:traffic [3 10.0.0.1] 1060"]; fmt.Sprint(got) != "[0 0]" {
		t.Errorf("returning host's zero start at the previous minute: %v (points %v)", got, min3)
	}
	// A tag value ts_query could not name is left out, not a failed write.
	bad := pointsByKey(st.minutePoints(&ifaceSample{ndpi: map[string]uint64{"a,b": 5, "DNS": 9}}, 1180))
	for k := range bad {
		if k == "iface:ndpi [3 a,b] 1180" {
			t.Error("tag with a comma recorded")
		}
	}
	if _, ok := bad["iface:ndpi [3 DNS] 1180"]; !ok {
		t.Errorf("DNS missing: %v", bad)
	}
}

// The recorder's points through a real store answer the bytes the samples
// counted (all of them: the zero starts keep the first interval).
func TestSamplerTotalsThroughTheStore(t *testing.T) {
	_, db := tstest.Open(t)
	s := newTSIfaceState("0", 1772366400)
	// Cumulative host counters at three minute samples: 1,000+250 sent,
	// 5,000 received in all; the host's first sample already carries bytes.
	for i, c := range [][2]uint64{{1000, 0}, {1000, 2000}, {1250, 5000}} {
		now := int64(1772366400 + 60*i)
		if err := db.Write(s.minutePoints(&ifaceSample{hostList: []hostSample{{key: "192.168.1.2", sent: c[0], rcvd: c[1]}}}, now)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := db.Query(timeseries.Query{Schema: "host:traffic", Filter: "ifid:0,host:192.168.1.2", Begin: 1772366400 - 300, End: 1772366400 + 600})
	if err != nil {
		t.Fatal(err)
	}
	if d := res.Statistics.Total - (1250 + 5000); d < -1e-6 || d > 1e-6 {
		t.Errorf("total %v, want 6250", res.Statistics.Total)
	}
}

// A capture file's series are on its packet clock: each second's bytes in
// that second, hosts at their minute, the last second at the file's end.
func TestFileClockRecordsOnThePacketClock(t *testing.T) {
	st, db := tstest.Open(t)
	tb := flowtable.New(flowtable.Config{IfID: 2, Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	rec := newTSRecorder(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fc := rec.fileClock(tb)
	// 2024-05-01 10:00:58 UTC onwards: packets in seconds 58, 59, 60 (the
	// next minute) and 62, sizes chosen per second.
	base := int64(1714557658)
	perSec := map[int64]uint64{}
	var hostSent uint64
	var pkts []decode.Packet
	for i, c := range []struct {
		sec  int64
		size uint32
	}{{0, 100}, {0, 200}, {1, 300}, {2, 400}, {2, 50}, {4, 1000}} {
		p := &decode.Packet{Timestamp: (base+c.sec)*1e9 + int64(i), WireLen: c.size, IPVersion: 4,
			Src: netip.MustParseAddr("192.168.1.5"), Dst: netip.MustParseAddr("8.8.8.8"), Proto: 17, SrcPort: 5000, DstPort: 53}
		fc.HandlePacket(p, decode.ErrNone)
		pkts = append(pkts, *p)
		perSec[base+c.sec] += uint64(c.size) + flowtable.EthOverhead
		hostSent += uint64(c.size)
	}
	fc.end(true)
	res, err := db.Query(timeseries.Query{Schema: "iface:traffic", Filter: "ifid:2", Begin: base, End: base + 4, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 1 || res.Start != base || len(res.Series) != 1 {
		t.Fatalf("step %d start %d series %d", res.Step, res.Start, len(res.Series))
	}
	for i, v := range res.Series[0].Data {
		if want := float64(perSec[base+int64(i)]); v != want {
			t.Errorf("second %d: %v bytes/s, want %v", i, v, want)
		}
	}
	h, err := db.Query(timeseries.Query{Schema: "host:traffic", Filter: "ifid:2,host:192.168.1.5", Begin: base - 600, End: base + 600})
	if err != nil {
		t.Fatal(err)
	}
	if d := h.Statistics.Total - float64(hostSent); d < -1e-6 || d > 1e-6 {
		t.Errorf("host:traffic total %v, want %d", h.Statistics.Total, hostSent)
	}
	if r, _ := db.Query(timeseries.Query{Schema: "host:traffic", Filter: "ifid:2,host:8.8.8.8", Begin: base - 600, End: base + 600}); r == nil || r.Statistics.Total != 0 {
		t.Errorf("a remote host was recorded: %+v", r)
	}

	// The probe restarted with the same file: a new recorder and table
	// read it again; nothing is added.
	db2, err := timeseries.Open(st, timeseries.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tb2 := flowtable.New(flowtable.Config{IfID: 2, Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	fc2 := newTSRecorder(db2, nil, slog.New(slog.NewTextHandler(io.Discard, nil))).fileClock(tb2)
	for _, p := range pkts {
		fc2.HandlePacket(&p, decode.ErrNone)
	}
	fc2.end(true)
	again, err := db2.Query(timeseries.Query{Schema: "iface:traffic", Filter: "ifid:2", Begin: base, End: base + 4, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again.Series[0].Data) != fmt.Sprint(res.Series[0].Data) {
		t.Errorf("after reading the file again: %v, before %v", again.Series[0].Data, res.Series[0].Data)
	}
}

// Interfaces a reload removed are forgotten; the others keep their state.
func TestRecorderForgetsRemovedInterfaces(t *testing.T) {
	rec := newTSRecorder(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	a, b := flowtable.New(flowtable.Config{IfID: 0}), flowtable.New(flowtable.Config{IfID: 1})
	sa := rec.state(a, 100)
	rec.state(b, 100)
	rec.forget([]*flowtable.Table{a})
	if len(rec.ifs) != 1 || rec.state(a, 200) != sa {
		t.Errorf("after forget: %d states, a's kept: %v", len(rec.ifs), rec.state(a, 200) == sa)
	}
}

// l4Increases is how iface:l4protos was counted before the table counted
// L4Bytes itself, kept as the test's oracle: every host's increase of
// bytes sent since the previous minute, summed into acc.
type l4Increases struct {
	prev map[flowtable.HostKey][4]uint64
	acc  [4]uint64
}

func (o *l4Increases) minute(tb *flowtable.Table) {
	next := map[flowtable.HostKey][4]uint64{}
	tb.View(func(v flowtable.View) {
		v.AscendHosts(func(h *flowtable.Host) bool {
			sent := [4]uint64{h.TCP.BytesSent, h.UDP.BytesSent, h.ICMP().BytesSent, h.OtherIP().BytesSent}
			for i, b := range sent {
				if p := o.prev[h.Key][i]; b >= p {
					o.acc[i] += b - p
				} else {
					o.acc[i] += b
				}
			}
			next[h.Key] = sent
			return true
		})
	})
	o.prev = next
}

// iface:l4protos records what the hosts' increases of bytes sent added up
// to (the way it was counted before), at every minute sample of a capture.
func TestL4ProtosAsTheHostsIncreases(t *testing.T) {
	cases := []struct {
		name  string
		pkts  func(t *testing.T) []decode.Packet
		every int // packets between minute samples
	}{
		{"synthetic", func(*testing.T) []decode.Packet { return packettest.L4Groups().Pkts }, 2},
		{"test_01", func(t *testing.T) []decode.Packet {
			return packettest.File(t, "conformance/ntopng-e2e/pcap/test_01.pcap").Pkts
		}, 300},
		{"test_02", func(t *testing.T) []decode.Packet {
			return packettest.File(t, "conformance/ntopng-e2e/pcap/test_02.pcap").Pkts
		}, 700},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb := flowtable.New(flowtable.Config{Offline: true})
			rec := &tsRecorder{maxHosts: maxTSHosts}
			st := newTSIfaceState("0", 1000)
			var oracle l4Increases
			pkts := c.pkts(t)
			samples := 0
			for i := range pkts {
				tb.HandlePacket(&pkts[i], decode.ErrNone)
				if i%c.every != c.every-1 && i != len(pkts)-1 {
					continue
				}
				now := int64(1000 + 60*samples)
				samples++
				pts := pointsByKey(st.minutePoints(rec.read(tb, true), now))
				oracle.minute(tb)
				var got [4]uint64
				for k, n := range l4Names {
					if v := pts[fmt.Sprintf("iface:l4protos [0 %s] %d", n, now)]; len(v) == 1 {
						got[k] = uint64(v[0])
					}
				}
				if got != oracle.acc {
					t.Fatalf("after %d packets: iface:l4protos %v, hosts' increases %v", i+1, got, oracle.acc)
				}
			}
			if oracle.acc == ([4]uint64{}) || samples < 2 {
				t.Errorf("%d samples, all zero: nothing compared", samples)
			}
		})
	}
}

// TestTSHostCap: a local host's series at full retention are 15 series
// (five host:* schemas, ten host:ndpi applications) of 2,880 five-minute
// and 9,600 hourly points, 29 bytes each: 5,428,800 bytes.
func TestTSHostCap(t *testing.T) {
	const host = 29 * 15 * (2880 + 9600)
	if got := tsHostBytes(); got != host {
		t.Fatalf("tsHostBytes = %d, want %d", got, host)
	}
	for _, c := range []struct {
		budget int64
		ifaces int
		want   int
	}{
		{10 * host, 2, 5},
		{10*host + host - 1, 1, 10},
		{1, 1, 1},           // at least one host
		{1 << 50, 1, 16384}, // at most maxTSHosts
		{4 << 30, 0, 791},   // 4 GiB, no interface yet: counted as one
		{16 << 30, 4, 791},  // a quarter of 64 GiB over four interfaces
	} {
		if got := tsHostCap(c.budget, c.ifaces); got != c.want {
			t.Errorf("tsHostCap(%d, %d) = %d, want %d", c.budget, c.ifaces, got, c.want)
		}
	}
}

// TestFileClockMinutesOfSamples: a capture file's samples are held and
// written a minute at a time; over several minutes, a silent gap and the
// file's end, every second still reads back what the file carried in it.
func TestFileClockMinutesOfSamples(t *testing.T) {
	_, db := tstest.Open(t)
	tb := flowtable.New(flowtable.Config{IfID: 3, Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}})
	fc := newTSRecorder(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil))).fileClock(tb)
	base := int64(1714557600) // a minute's start
	perSec := map[int64]float64{}
	var hostSent float64
	const seconds = 200
	for sec := int64(0); sec < seconds; sec++ {
		if sec >= 70 && sec < 95 {
			continue // nothing for 25 s, across a minute's start
		}
		size := uint32(60 + sec%7*100)
		p := &decode.Packet{Timestamp: (base+sec)*1e9 + 1, WireLen: size, IPVersion: 4,
			Src: netip.MustParseAddr("192.168.1.9"), Dst: netip.MustParseAddr("192.0.2.1"), Proto: 17, SrcPort: 5000, DstPort: 443}
		fc.HandlePacket(p, decode.ErrNone)
		perSec[base+sec] += float64(size + flowtable.EthOverhead)
		hostSent += float64(size)
	}
	fc.end(true)
	res, err := db.Query(timeseries.Query{Schema: "iface:traffic", Filter: "ifid:3", Begin: base, End: base + seconds - 1, Limit: seconds})
	if err != nil {
		t.Fatal(err)
	}
	if res.Step != 1 || res.Start != base || len(res.Series) != 1 || len(res.Series[0].Data) != seconds {
		t.Fatalf("step %d start %d series %d", res.Step, res.Start, len(res.Series))
	}
	for i, v := range res.Series[0].Data {
		if want := perSec[base+int64(i)]; v != want {
			t.Errorf("second %d: %v bytes/s, want %v", i, v, want)
		}
	}
	h, err := db.Query(timeseries.Query{Schema: "host:traffic", Filter: "ifid:3,host:192.168.1.9", Begin: base - 600, End: base + 900})
	if err != nil {
		t.Fatal(err)
	}
	if d := h.Statistics.Total - hostSent; d < -1e-6 || d > 1e-6 {
		t.Errorf("host:traffic total %v, want %v", h.Statistics.Total, hostSent)
	}
}

// A minute sample records the first local hosts in address order, at
// most maxHosts of them, and no remote one (the walk stops early).
func TestReadLocalHosts(t *testing.T) {
	tb := flowtable.New(flowtable.Config{Offline: true, LocalNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}})
	// Local and remote hosts interleaved in address order.
	addrs := []string{"8.8.8.8", "10.0.0.2", "10.0.0.1", "172.16.0.1", "192.168.0.1", "203.0.113.9"}
	for i, a := range addrs {
		dst := netip.MustParseAddr("198.51.100.1")
		tb.HandlePacket(&decode.Packet{Timestamp: int64(1+i) * 1e9, WireLen: 100, IPVersion: 4, Src: netip.MustParseAddr(a), Dst: dst, Proto: decode.ProtoUDP, SrcPort: 1000, DstPort: 2000}, decode.ErrNone)
	}
	for _, c := range []struct {
		maxHosts int
		want     string
	}{
		{1, "[10.0.0.1]"},
		{2, "[10.0.0.1 10.0.0.2]"},
		{3, "[10.0.0.1 10.0.0.2 192.168.0.1]"},
		{100, "[10.0.0.1 10.0.0.2 192.168.0.1]"},
	} {
		rec := &tsRecorder{maxHosts: c.maxHosts}
		var got []string
		for _, h := range rec.read(tb, true).hostList {
			got = append(got, h.key)
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("maxHosts %d: %v, want %s", c.maxHosts, got, c.want)
		}
	}
}

// A series' key is its schema and tags NUL-separated: distinct for
// distinct tag lists whose concatenation reads the same.
func TestSeriesKey(t *testing.T) {
	for _, c := range []struct {
		schema string
		tags   []string
		want   string
	}{
		{"iface:traffic", []string{"0"}, "iface:traffic\x000"},
		{"host:ndpi", []string{"0", "10.0.0.1", "DNS"}, "host:ndpi\x000\x0010.0.0.1\x00DNS"},
		{"x", nil, "x"},
	} {
		if got := seriesKey(c.schema, c.tags); got != c.want {
			t.Errorf("seriesKey(%q, %q) = %q, want %q", c.schema, c.tags, got, c.want)
		}
	}
	if seriesKey("s", []string{"ab"}) == seriesKey("s", []string{"a", "b"}) {
		t.Error("two tag lists, one key")
	}
}
