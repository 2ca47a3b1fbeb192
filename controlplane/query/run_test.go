package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/store"
)

// base is a block start; all generated records live in the three blocks
// from base on.
const base = int64(1_700_000_100)

var testIfaces = map[uint16]string{1: "eth0", 2: "eth1"}

func openStore(t testing.TB, recs []store.FlowRecord) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	return st
}

// genRecords makes n varied records over both interfaces and three blocks.
func genRecords(n int) []store.FlowRecord {
	protos := []uint8{6, 17, 1, 58}
	recs := make([]store.FlowRecord, n)
	for i := range recs {
		ts := base + int64(i%3)*store.BlockSeconds + int64(i%7)
		cli := netip.AddrFrom4([4]byte{10, 0, byte(i % 5), byte(1 + i%11)})
		srv := netip.AddrFrom4([4]byte{192, 168, 1, byte(1 + i%13)})
		if i%17 == 0 {
			cli = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", 1+i%4))
			srv = netip.MustParseAddr("2001:db8::ffff")
		}
		recs[i] = store.FlowRecord{
			IfID: uint16(1 + i%2), Proto: protos[i%len(protos)],
			Client: cli, Server: srv, ClientPort: uint16(40000 + i), ServerPort: []uint16{443, 53, 80, 22, 8080}[i%5],
			PktsC2S: uint64(1 + i%9), PktsS2C: uint64(i % 4), BytesC2S: uint64(60 + 37*i%1500), BytesS2C: uint64(13 * (i % 23)),
			FirstSeen: ts - 2, LastSeen: ts,
		}
	}
	return recs
}

// expect aggregates recs the slow, obvious way.
func expect(recs []store.FlowRecord, ifids []uint16, from, to int64, keep func(*store.FlowRecord) bool, key func(*store.FlowRecord) string) (map[string]Counters, Counters) {
	groups := map[string]Counters{}
	var tot Counters
	for i := range recs {
		r := &recs[i]
		blk := store.BlockStart(r.LastSeen)
		if !slices.Contains(ifids, r.IfID) || blk < store.BlockStart(from) || blk > to || !keep(r) {
			continue
		}
		c := groups[key(r)]
		c.PktsRcvd += r.PktsC2S + r.PktsS2C
		c.BytesRcvd += r.BytesC2S + r.BytesS2C
		groups[key(r)] = c
		tot.PktsRcvd += r.PktsC2S + r.PktsS2C
		tot.BytesRcvd += r.BytesC2S + r.BytesS2C
	}
	return groups, tot
}

func rowKeyString(r *Row, attrs []Attr) string {
	var parts []string
	for _, a := range attrs {
		parts = append(parts, r.attrValue(a))
	}
	return strings.Join(parts, "|")
}

func TestRun(t *testing.T) {
	recs := genRecords(3000)
	st := openStore(t, recs)
	now := time.Unix(base+3*store.BlockSeconds, 0)
	all := func(*store.FlowRecord) bool { return true }
	tests := []struct {
		name  string
		args  func(a *Args)
		ifids []uint16
		from  int64
		to    int64
		keep  func(*store.FlowRecord) bool
		key   func(*store.FlowRecord) string
		attrs []Attr
	}{
		{name: "sip on one iface",
			args:  func(a *Args) { a.Query, a.Ifaces = "sip", "eth0" },
			ifids: []uint16{1}, keep: all,
			key:   func(r *store.FlowRecord) string { return r.Client.String() },
			attrs: []Attr{AttrSIP}},
		{name: "talk_conv over any adds iface",
			args:  func(a *Args) { a.Query, a.Ifaces = "talk_conv", "any" },
			ifids: []uint16{1, 2}, keep: all,
			key: func(r *store.FlowRecord) string {
				return testIfaces[r.IfID] + "|" + r.Client.String() + "|" + r.Server.String()
			},
			attrs: []Attr{AttrIface, AttrSIP, AttrDIP}},
		{name: "apps_port with condition, sum, packets ascending",
			args: func(a *Args) {
				a.Query, a.Ifaces, a.Condition, a.Sum, a.SortBy, a.SortAscending = "apps_port", "eth0,eth1", "proto=UDP | dport>1000", true, "packets", true
			},
			ifids: []uint16{1, 2},
			keep:  func(r *store.FlowRecord) bool { return r.Proto == 17 || r.ServerPort > 1000 },
			key: func(r *store.FlowRecord) string {
				return fmt.Sprintf("%s|%d|%s", testIfaces[r.IfID], r.ServerPort, ProtoName(r.Proto))
			},
			attrs: []Attr{AttrIface, AttrDport, AttrProto}},
		{name: "dport,proto in mode limited to one block",
			args: func(a *Args) {
				a.Query, a.Ifaces, a.In = "dport,proto", "eth1", true
				a.First, a.Last = fmt.Sprint(base+store.BlockSeconds+10), fmt.Sprint(base+store.BlockSeconds+20)
			},
			ifids: []uint16{2}, from: base + store.BlockSeconds + 10, to: base + store.BlockSeconds + 20, keep: all,
			key:   func(r *store.FlowRecord) string { return fmt.Sprintf("%d|%s", r.ServerPort, ProtoName(r.Proto)) },
			attrs: []Attr{AttrDport, AttrProto}},
		{name: "raw is a time series",
			args: func(a *Args) {
				a.Query, a.Ifaces, a.Condition, a.NumResults = "raw", "eth0", "host = 2001:db8::ffff", 1
			},
			ifids: []uint16{1},
			keep:  func(r *store.FlowRecord) bool { return r.Server == netip.MustParseAddr("2001:db8::ffff") },
			key: func(r *store.FlowRecord) string {
				return fmt.Sprintf("%d|eth0|%s|%s|%d|%s", store.BlockStart(r.LastSeen), r.Client, r.Server, r.ServerPort, ProtoName(r.Proto))
			},
			attrs: []Attr{AttrTime, AttrIface, AttrSIP, AttrDIP, AttrDport, AttrProto}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := DefaultArgs()
			tt.args(&args)
			res, err := Run(context.Background(), st, testIfaces, args, now)
			if err != nil {
				t.Fatal(err)
			}
			from, to := tt.from, tt.to
			if from == 0 {
				from, to = now.Add(-30*24*time.Hour).Unix(), now.Unix()
			}
			want, tot := expect(recs, tt.ifids, from, to, tt.keep, tt.key)
			if !slices.Equal(res.Attrs, tt.attrs) {
				t.Errorf("attrs %v, want %v", res.Attrs, tt.attrs)
			}
			if res.Total != tot {
				t.Errorf("total %+v, want %+v", res.Total, tot)
			}
			if res.TotalRows != len(want) || len(want) == 0 {
				t.Errorf("%d rows, want %d (>0)", res.TotalRows, len(want))
			}
			wantRows := min(args.NumResults, len(want))
			if slices.Contains(tt.attrs, AttrTime) {
				wantRows = len(want) // a time series ignores NumResults
			}
			if len(res.Rows) != wantRows {
				t.Errorf("%d rows returned, want %d", len(res.Rows), wantRows)
			}
			for i := range res.Rows {
				r := &res.Rows[i]
				k := rowKeyString(r, res.Attrs)
				if w, ok := want[k]; !ok || w != r.Counters {
					t.Errorf("row %s: %+v, want %+v (present %v)", k, r.Counters, w, ok)
				}
			}
			checkOrder(t, res)
		})
	}
}

func checkOrder(t *testing.T, res *Result) {
	t.Helper()
	m := res.Mode
	if m == ModeBoth {
		m = ModeSum
	}
	for i := 1; i < len(res.Rows); i++ {
		a, b := &res.Rows[i-1], &res.Rows[i]
		var x, y uint64
		switch res.SortBy {
		case SortBytes:
			x, y = a.Bytes(m), b.Bytes(m)
		case SortPackets:
			x, y = a.Packets(m), b.Packets(m)
		case SortTime:
			x, y = uint64(a.Time), uint64(b.Time)
		}
		if res.Ascending && x > y || !res.Ascending && x < y {
			t.Fatalf("rows %d,%d out of order: %d then %d", i-1, i, x, y)
		}
	}
}

func TestRunJSONShapes(t *testing.T) {
	recs := genRecords(300)
	st := openStore(t, recs)
	now := time.Unix(base+3*store.BlockSeconds, 0)
	tests := []struct {
		mode     func(a *Args)
		rowKeys  []string
		sumKeys  []string
		wantZero string // a counter that must be 0 in every row
	}{
		{func(*Args) {}, []string{"sip", "packets_rcvd", "packets_sent", "packets_percent", "bytes_rcvd", "bytes_sent", "bytes_percent"},
			[]string{"interface", "total_packets_rcvd", "total_packets_sent", "total_bytes_rcvd", "total_bytes_sent"}, "bytes_sent"},
		{func(a *Args) { a.Sum = true }, []string{"sip", "packets", "packets_percent", "bytes", "bytes_percent"},
			[]string{"interface", "total_packets", "total_bytes"}, ""},
		{func(a *Args) { a.Out = true }, []string{"sip", "packets", "packets_percent", "bytes", "bytes_percent"},
			[]string{"interface", "total_packets", "total_bytes"}, "bytes"},
	}
	for i, tt := range tests {
		args := DefaultArgs()
		args.Query, args.Ifaces, args.NumResults = "talk_src", "eth0", 3
		tt.mode(&args)
		res, err := Run(context.Background(), st, testIfaces, args, now)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]json.RawMessage
		if err := json.Unmarshal(res.JSON(args.Query), &got); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if string(got["status"]) != `"ok"` || string(got["ext_ips"]) != `[]` {
			t.Errorf("case %d: status %s ext_ips %s", i, got["status"], got["ext_ips"])
		}
		var sum map[string]any
		json.Unmarshal(got["summary"], &sum)
		if !sameKeys(sum, tt.sumKeys) || sum["interface"] != "eth0" {
			t.Errorf("case %d: summary %v, want keys %v", i, sum, tt.sumKeys)
		}
		var rows []map[string]any
		json.Unmarshal(got["talk_src"], &rows)
		if len(rows) != 3 {
			t.Fatalf("case %d: %d rows, want 3", i, len(rows))
		}
		for _, r := range rows {
			if !sameKeys(r, tt.rowKeys) {
				t.Errorf("case %d: row keys %v, want %v", i, r, tt.rowKeys)
			}
			if tt.wantZero != "" && r[tt.wantZero] != 0.0 {
				t.Errorf("case %d: %s = %v, want 0", i, tt.wantZero, r[tt.wantZero])
			}
		}
	}
}

func sameKeys(m map[string]any, keys []string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

// TestPercentBase checks that percentages refer to the whole result, not
// to the rows left after NumResults.
func TestPercentBase(t *testing.T) {
	mk := func(dport uint16, bytes uint64) store.FlowRecord {
		return store.FlowRecord{IfID: 1, Proto: 6, Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("10.0.0.2"),
			ServerPort: dport, PktsC2S: 1, BytesC2S: bytes, LastSeen: base}
	}
	st := openStore(t, []store.FlowRecord{mk(1, 600), mk(2, 300), mk(3, 100)})
	args := DefaultArgs()
	args.Query, args.Ifaces, args.NumResults, args.Sum = "dport", "eth0", 1, true
	res, err := Run(context.Background(), st, testIfaces, args, time.Unix(base+60, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"ok","ext_ips":[],"summary":{"interface":"eth0","total_packets":3,"total_bytes":1000},"dport":[{"dport":"1","packets":1,"packets_percent":33.333333333333336,"bytes":600,"bytes_percent":60}]}` + "\n"
	if got := string(res.JSON("dport")); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRunEmpty(t *testing.T) {
	st := openStore(t, genRecords(50))
	args := DefaultArgs()
	args.Query, args.Ifaces, args.Condition = "sip", "eth0", "dport = 1"
	res, err := Run(context.Background(), st, testIfaces, args, time.Unix(base+600, 0))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.JSON("sip")); got != `{"status":"empty","statusMessage":"query returned no results"}`+"\n" {
		t.Errorf("got %s", got)
	}
}

func TestPrepareErrors(t *testing.T) {
	now := time.Unix(base, 0)
	tests := []struct {
		name   string
		args   func(a *Args)
		field  string
		status int
	}{
		{"no query", func(a *Args) { a.Query = "" }, "Query", 400},
		{"unknown attribute", func(a *Args) { a.Query = "sip,foo" }, "Query", 400},
		{"no iface", func(a *Args) { a.Ifaces = "" }, "Ifaces", 400},
		{"unknown iface", func(a *Args) { a.Ifaces = "eth9" }, "Ifaces", 500},
		{"bad condition", func(a *Args) { a.Condition = "dport=notaport" }, "Condition", 400},
		{"empty last", func(a *Args) { a.Last = "" }, "Last", 500},
		{"bad first", func(a *Args) { a.First = "yesterday" }, "First", 500},
		{"first after last", func(a *Args) { a.First, a.Last = "-1h", "-2h" }, "First", 400},
		{"bad sort", func(a *Args) { a.SortBy = "size" }, "SortBy", 400},
		{"zero results", func(a *Args) { a.NumResults = 0 }, "NumResults", 400},
		{"influxdb", func(a *Args) { a.Format = "influxdb" }, "Format", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := DefaultArgs()
			args.Query, args.Ifaces = "sip", "eth0"
			tt.args(&args)
			_, err := Prepare(args, testIfaces, now)
			var ae *ArgsError
			if !errors.Is(err, ErrInvalidArgs) || !errors.As(err, &ae) {
				t.Fatalf("err %v, want an *ArgsError", err)
			}
			if ae.Field != tt.field || ae.GoProbeV3Status() != tt.status {
				t.Errorf("field %s status %d, want %s %d (%v)", ae.Field, ae.GoProbeV3Status(), tt.field, tt.status, err)
			}
		})
	}
}

func TestRunCancelled(t *testing.T) {
	st := openStore(t, genRecords(ctxCheckEvery+10))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	args := DefaultArgs()
	args.Query, args.Ifaces = "sip", "any"
	_, err := Run(ctx, st, testIfaces, args, time.Unix(base+600, 0))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalidArgs) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

func TestTextAndCSV(t *testing.T) {
	st := openStore(t, genRecords(200))
	args := DefaultArgs()
	args.Query, args.Ifaces, args.NumResults = "sip", "eth0", 3
	res, err := Run(context.Background(), st, testIfaces, args, time.Unix(base+900, 0))
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	if err := res.Text(&txt); err != nil {
		t.Fatal(err)
	}
	out := txt.String()
	for _, want := range []string{"sip", "packets", "bytes", "Totals:", res.Rows[0].SIP.String(), "Sorted by            : accumulated data volume", "top 3 hits out of "} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	var csvOut bytes.Buffer
	if err := res.CSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(lines) != 4 || lines[0] != "sip,packets_rcvd,packets_sent,packets_percent,bytes_rcvd,bytes_sent,bytes_percent" {
		t.Errorf("csv:\n%s", csvOut.String())
	}
}

func TestHumanUnits(t *testing.T) {
	for _, tt := range []struct {
		got, want string
	}{
		{humanCount(5000), "5.00 k"}, {humanCount(0), "0.00  "}, {humanCount(1_500_000), "1.50 M"},
		{humanBytes(3624757), "3.46 MB"}, {humanBytes(0), "0.00  B"}, {humanBytes(2048), "2.00 kB"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestMaxMemPctStopsHugeQueries: a query whose groups would outgrow its
// share of the memory stops with ErrMemoryLimit instead of exhausting the
// appliance; the same query within its budget runs.
func TestMaxMemPctStopsHugeQueries(t *testing.T) {
	st := openStore(t, benchRecords(60_000)) // ~20 000 clients
	args := DefaultArgs()
	args.Query, args.Ifaces, args.MaxMemPct = "sip", "eth0", 10
	now := time.Unix(base+3600, 0)
	// 10 % of 2.56 MB is room for 1 000 groups.
	q, err := PrepareWith(args, testIfaces, now, PrepareOptions{TotalMemory: 2_560_000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Run(context.Background(), st); !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("20 000 groups in a 1 000-group budget: %v", err)
	}
	q, err = PrepareWith(args, testIfaces, now, PrepareOptions{TotalMemory: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Run(context.Background(), st)
	if err != nil || res.TotalRows < 10_000 {
		t.Fatalf("within the budget: %v, %d rows", err, res.TotalRows)
	}
}
