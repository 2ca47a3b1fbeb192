package clickhouse

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/geoip"
	"github.com/probe-appliance/probe/controlplane/query"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/fixture"
)

// goQueries are the goQuery shapes the goprobe and query tests use (the
// recorded goProbe answers' queries first), and a few more.
var goQueries = []query.Args{
	{Query: "sip,dip"},
	{Query: "dport,proto", Condition: "proto=TCP", SortBy: "packets"},
	{Query: "sip", Sum: true},
	{Query: "talk_conv", NumResults: 5},
	{Query: "sip", Format: "csv"},
	{Query: "dip", In: true},
	{Query: "sip", Out: true},
	{Query: "talk_src", Condition: "snet = 10.0.0.0/8 & !dport = 443"},
	{Query: "talk_dst", Condition: "dip != 192.168.1.200", SortAscending: true},
	{Query: "apps_port", Condition: "dport >= 443 | proto = UDP"},
	{Query: "agg_talk_port", Condition: "not (dport < 100)", NumResults: 7},
	{Query: "raw", Condition: "host = 2001:db8::2"},
	{Query: "time", SortBy: "time"},
	{Query: "time,proto", Condition: "net != 10.0.0.0/8"},
	{Query: "iface", Ifaces: "any"},
	{Query: "iface,sip", Ifaces: "eth1,eth3", Condition: "sip = 2001:db8::/125"},
	{Query: "sip,dport", Condition: "dip = 172.16.0.3 | sip = 192.168.1.0/24", SortBy: "packets", SortAscending: true},
	{Query: "dport", Condition: "(dport = 53 | dport = 80) & proto != 1", First: "ABS+500", Last: "ABS+1333"},
	{Query: "proto", Condition: "sip = 0.0.0.0/0", First: "ABS+301", Last: "ABS+302"},
	{Query: "sip,dip,dport,proto", Condition: "dport = 6000 & dport != 6000"},
	{Query: "src,dst,port", Condition: "dst = 2001:db8::/32 | dnet = 172.16.0.0/30", NumResults: 1000},
}

// TestGoQueryAnswersAsBadger: the same records in Badger and in
// ClickHouse (through the sink) give the same goQuery answers (rows,
// totals, hits, data and block times, and the JSON and CSV bodies) for
// every shape, asked for the probe; without a probe, the fleet's
// interfaces are named probe:iface and a bare name takes every probe's.
func TestGoQueryAnswersAsBadger(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_100
	recs := append(history(1500, 3, base, 11), history(700, 1, base+200, 12)...)
	st := badgerAndSink(t, srv.Addr, recs)
	otherRecs := history(300, 3, base, 13)
	sendFlows(t, srv.Addr, "p2", otherRecs)
	// Probe p3's store was started afresh: id 3 named ethA, then ethB.
	for i, name := range []string{"ethA", "ethB"} {
		fresh, err := Open(Config{Target: Target{Addr: srv.Addr, Database: "fleet"}, Probe: "p3", SpoolDir: t.TempDir(),
			SpoolMaxBytes: 64 << 20, BatchRows: 500, FlushEvery: 50 * time.Millisecond, IfName: func(uint16) string { return name }})
		if err != nil {
			t.Fatal(err)
		}
		fresh.WriteFlows(history(100*(i+1), 3, base, 14+uint64(i)))
		drain(t, fresh)
		fresh.Close()
	}

	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	gq, err := rd.GoQuery(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	names := map[uint16]string{1: "eth1", 3: "eth3"}
	if got := gq.Names(); !reflect.DeepEqual(got, map[uint16]string{0: "eth1", 1: "eth3"}) {
		t.Fatalf("p1's interfaces %v", got)
	}
	now := time.Unix(base+3000, 0)
	rows := 0
	for _, sh := range goQueries {
		a := query.DefaultArgs()
		a.Query, a.Condition, a.SortBy, a.Sum, a.In, a.Out, a.SortAscending = sh.Query, sh.Condition, sh.SortBy, sh.Sum, sh.In, sh.Out, sh.SortAscending
		a.Ifaces = "eth3"
		if sh.Ifaces != "" {
			a.Ifaces = sh.Ifaces
		}
		if sh.NumResults != 0 {
			a.NumResults = sh.NumResults
		}
		if a.SortBy == "" {
			a.SortBy = query.DefaultSortBy
		}
		if sh.Format != "" {
			a.Format = sh.Format
		}
		if sh.First != "" {
			a.First = strings.Replace(sh.First, "ABS+", "", 1)
			a.Last = strings.Replace(sh.Last, "ABS+", "", 1)
			a.First = itoa(base + atoi(t, a.First))
			a.Last = itoa(base + atoi(t, a.Last))
		}
		want := goRun(t, a, names, now, func(q *query.Query) (*query.Result, error) { return q.Run(ctx, st) })
		got := goRun(t, a, gq.Names(), now, func(q *query.Query) (*query.Result, error) { return q.RunGrouped(ctx, gq) })
		compareResults(t, a, got, want)
		rows += len(want.Rows)
	}
	// Random conditions over the records' own addresses and ports, both
	// stores, every attribute set.
	rng := rand.New(rand.NewPCG(7, 24))
	presets := []string{"sip", "dip", "talk_conv", "apps_port", "agg_talk_port", "raw", "time,dport", "iface,proto"}
	for range 150 {
		c, _ := randomCond(rng, 3)
		a := query.DefaultArgs()
		a.Query, a.Condition, a.Ifaces, a.NumResults = presets[rng.IntN(len(presets))], c, "any", 1+rng.IntN(40)
		a.Sum = rng.IntN(2) == 0
		want := goRun(t, a, names, now, func(q *query.Query) (*query.Result, error) { return q.Run(ctx, st) })
		got := goRun(t, a, gq.Names(), now, func(q *query.Query) (*query.Result, error) { return q.RunGrouped(ctx, gq) })
		compareResults(t, a, got, want)
		rows += len(want.Rows)
	}
	if rows < 200 {
		t.Fatalf("only %d rows compared: the shapes select too little to tell the stores apart", rows)
	}

	// The fleet: p1 and p2, eth3 of both named probe:iface; a bare
	// "eth3" takes both, and the total is the sum of their records.
	fleet, err := rd.GoQuery(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := fleet.Names(); !reflect.DeepEqual(got, map[uint16]string{0: "p1:eth1", 1: "p1:eth3", 2: "p2:eth3", 3: "p3:ethA", 4: "p3:ethB"}) {
		t.Fatalf("fleet interfaces %v", got)
	}
	for _, c := range []struct {
		ifaces string
		recs   int
	}{{"p3:ethA", 100}, {"ethB", 200}, {"p3:ethA,p3:ethB", 300}, {"any", 2200 + 300 + 300}} {
		a := query.DefaultArgs()
		a.Query, a.Ifaces, a.First, a.Last = "dport", fleet.Ifaces(c.ifaces), "0", itoa(base+3000)
		res := goRun(t, a, fleet.Names(), now, func(q *query.Query) (*query.Result, error) { return q.RunGrouped(ctx, fleet) })
		if res.Records != c.recs {
			t.Errorf("fleet %s: %d records, want %d", c.ifaces, res.Records, c.recs)
		}
	}
	a := query.DefaultArgs()
	a.Query, a.Ifaces, a.First, a.Last = "sip", fleet.Ifaces("eth3"), "0", itoa(base+3000)
	if a.Ifaces != "p1:eth3,p2:eth3" {
		t.Fatalf("eth3 across the fleet: %q", a.Ifaces)
	}
	var newest int64
	var ok bool
	res := goRun(t, a, fleet.Names(), now, func(q *query.Query) (*query.Result, error) {
		if newest, ok, err = q.NewestGrouped(ctx, fleet); err != nil {
			return nil, err
		}
		return q.RunGrouped(ctx, fleet)
	})
	var wantBytes uint64
	var last int64
	for _, r := range append(recs[:1500:1500], otherRecs...) {
		wantBytes += r.BytesC2S + r.BytesS2C
		last = max(last, r.LastSeen)
	}
	if !ok || newest != store.BlockStart(last) {
		t.Fatalf("newest block of eth3 across the fleet: %d %v; want %d", newest, ok, store.BlockStart(last))
	}
	if res.Total.BytesRcvd != wantBytes || res.Records != 1500+300 {
		t.Fatalf("fleet eth3: %d bytes of %d records; want %d of %d", res.Total.BytesRcvd, res.Records, wantBytes, 1800)
	}
}

func goRun(t *testing.T, a query.Args, names map[uint16]string, now time.Time, run func(*query.Query) (*query.Result, error)) *query.Result {
	t.Helper()
	q, err := query.Prepare(a, names, now)
	if err != nil {
		t.Fatalf("%+v: %v", a, err)
	}
	res, err := run(q)
	if err != nil {
		t.Fatalf("%+v: %v", a, err)
	}
	return res
}

func compareResults(t *testing.T, a query.Args, got, want *query.Result) {
	t.Helper()
	got.Duration, want.Duration = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %q: clickhouse\n%+v\nbadger\n%+v", a.Query, a.Condition, got, want)
		return
	}
	var gb, wb bytes.Buffer
	if err := got.CSV(&gb); err != nil {
		t.Fatal(err)
	}
	if err := want.CSV(&wb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gb.Bytes(), wb.Bytes()) || !bytes.Equal(got.JSON(a.Query), want.JSON(a.Query)) {
		t.Errorf("%s %q: bodies differ", a.Query, a.Condition)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// randomCond builds a goQuery condition from random attributes,
// comparators and literals; lits are its literals.
func randomCond(rng *rand.Rand, depth int) (cond string, lits []string) {
	if depth > 0 && rng.IntN(3) > 0 {
		l, ll := randomCond(rng, depth-1)
		r, rl := randomCond(rng, depth-1)
		switch rng.IntN(4) {
		case 0:
			return "(" + l + ") & (" + r + ")", append(ll, rl...)
		case 1:
			return "[" + l + " | " + r + "]", append(ll, rl...)
		case 2:
			return l + " and " + r, append(ll, rl...)
		}
		return "!(" + l + ")", ll
	}
	switch rng.IntN(4) {
	case 0, 1:
		attr := []string{"sip", "dip", "src", "dst", "snet", "dnet", "host", "net"}[rng.IntN(8)]
		var lit string
		switch rng.IntN(4) {
		case 0: // the test records' addresses
			lit = []string{"192.168.1.0/24", "192.168.1.200", "10.0.0.0/8", "10.0.1.0/24", "172.16.0.3", "172.16.0.0/30", "2001:db8::2", "2001:db8::/125", "2001:db8::5", "0.0.0.0/0", "::/0"}[rng.IntN(11)]
		case 1:
			lit = netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(3)), byte(rng.IntN(20))}).String()
		case 2:
			lit = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String() + "/" + itoa(int64(rng.IntN(33)))
		default:
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			lit = netip.AddrFrom16(b).String()
		}
		if (attr == "snet" || attr == "dnet" || attr == "net") && !strings.Contains(lit, "/") {
			lit += "/" + itoa(int64(8*(1+rng.IntN(4))))
			if strings.Contains(lit, ":") {
				lit = strings.TrimSuffix(lit, lit[strings.LastIndex(lit, "/"):]) + "/120"
			}
		}
		op := []string{"=", "!=", " eq ", " neq "}[rng.IntN(4)]
		return attr + op + lit, []string{lit}
	case 2:
		n := []string{"53", "80", "443", "6000", itoa(int64(rng.IntN(65536)))}[rng.IntN(5)]
		op := []string{"=", "!=", "<", ">", "<=", ">=", " lt ", " ge "}[rng.IntN(8)]
		return []string{"dport", "port"}[rng.IntN(2)] + op + n, []string{n}
	}
	p := []string{"TCP", "udp", "ICMP", "6", "17", "1", itoa(int64(rng.IntN(256)))}[rng.IntN(7)]
	op := []string{"=", "!=", "<", ">="}[rng.IntN(4)]
	return "proto " + op + " " + p, []string{p}
}

// condSQL is the SQL of a goQuery condition as Group writes it, with a
// hostile probe and interface name.
func condSQL(n query.Node) (string, []any, error) {
	s := &sqlb{}
	s.w("SELECT count() FROM fleet.flows FINAL WHERE ")
	s.ifaces([]FleetIface{{"x'); DROP TABLE flows --", "eth0\" OR 1", []uint16{1, 2}, true}})
	s.w(" AND ")
	s.blocks(0, 1<<40)
	s.w(" AND ")
	err := s.cond(n)
	return s.b.String(), s.args, err
}

// TestGoQueryConditionNeverPastesRequestText: random conditions (and
// random bytes that parse) become SQL whose text holds only the fixed
// vocabulary; every literal is a bound parameter, none is in the text.
func TestGoQueryConditionNeverPastesRequestText(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 4))
	check := func(cond string, lits []string) bool {
		n, err := query.ParseCondition(cond)
		if err != nil {
			return false
		}
		sql, args, err := condSQL(n)
		if err != nil {
			if strings.Contains(err.Error(), "no SQL form") {
				return true // an unresolved host name: Prepare resolves it first
			}
			t.Fatalf("%q: %v", cond, err)
		}
		checkSQL(t, cond, sql)
		if strings.Count(sql, "?") != len(args) {
			t.Fatalf("%q: %d placeholders, %d args", cond, strings.Count(sql, "?"), len(args))
		}
		for _, l := range lits {
			if len(l) > 1 && strings.Contains(sql, l) {
				t.Fatalf("condition %q: literal %q in the SQL text:\n%s", cond, l, sql)
			}
		}
		return true
	}
	for range 3000 {
		c, lits := randomCond(rng, 3)
		if !check(c, lits) {
			t.Fatalf("generated condition %q does not parse", c)
		}
	}
	for _, c := range []string{"dcountry = CH & dport = 443", "asn != 15169", "country = RU | country = KP", "sasn = AS13335"} {
		check(c, nil)
	}
	alphabet := []byte("sip dip net host dport proto country asn = != < > ( ) [ ] ! & | ' \" , ; - / * \\ 0 1 9 . : a b f TCP and or not DROP")
	parsed := 0
	for range 20000 {
		b := make([]byte, 1+rng.IntN(50))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if check(string(b), nil) {
			parsed++
		}
	}
	t.Logf("%d of 20000 random byte conditions parsed", parsed)
}

// FuzzGoQueryCondition: whatever parses becomes SQL of the fixed
// vocabulary only, with one bound parameter per placeholder.
func FuzzGoQueryCondition(f *testing.F) {
	for _, sh := range goQueries {
		f.Add(sh.Condition)
	}
	f.Add("dcountry = CH & sip = 10.0.0.0/8")
	f.Add("dport = 80'); DROP TABLE flows --")
	f.Fuzz(func(t *testing.T, cond string) {
		n, err := query.ParseCondition(cond)
		if err != nil {
			return
		}
		sql, args, err := condSQL(n)
		if err != nil {
			return
		}
		checkSQL(t, cond, sql)
		if strings.Count(sql, "?") != len(args) {
			t.Fatalf("%q: %d placeholders, %d args", cond, strings.Count(sql, "?"), len(args))
		}
	})
}

// BenchmarkGoQuery: goQuery's top-10 talkers (sip) and top-10
// conversations by port (agg_talk_port) over the same records in Badger
// (Query.Run) and in ClickHouse (RunGrouped), interleaved query by query
// in one run. ratio = clickhouse/badger time per query.
func BenchmarkGoQuery(b *testing.B) {
	const n = 200_000
	srv := chtest.Start(b)
	const base = 1_700_000_000
	st := benchBackends(b, srv.Addr, history(n, 0, base, 9), func(uint16) string { return "eth0" }, 10*time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rd := fleetReader(b, srv.Addr)
	gq, err := rd.GoQuery(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	// Merged, as a day is some time after it ended: read without FINAL;
	// FINAL (alwaysFinal) is how every read went before.
	if err := rd.conn.Exec(ctx, "OPTIMIZE TABLE fleet.flows FINAL"); err != nil {
		b.Fatal(err)
	}
	for _, shape := range []string{"sip", "agg_talk_port"} {
		b.Run(shape, func(b *testing.B) {
			a := query.DefaultArgs()
			a.Query, a.Ifaces, a.First, a.Last, a.NumResults = shape, "eth0", "0", itoa(base+n), 10
			now := time.Unix(base+n, 0)
			qb, err := query.Prepare(a, map[uint16]string{0: "eth0"}, now)
			if err != nil {
				b.Fatal(err)
			}
			qc, err := query.Prepare(a, gq.Names(), now)
			if err != nil {
				b.Fatal(err)
			}
			var tBadger, tCH, tFinal time.Duration
			groups := 0
			for range b.N {
				t0 := time.Now()
				want, err := qb.Run(ctx, st)
				t1 := time.Now()
				got, err2 := qc.RunGrouped(ctx, gq)
				t2 := time.Now()
				rd.alwaysFinal = true
				fin, err3 := qc.RunGrouped(ctx, gq)
				rd.alwaysFinal = false
				t3 := time.Now()
				if err != nil || err2 != nil || err3 != nil || got.Total != want.Total || !reflect.DeepEqual(got.Rows, want.Rows) ||
					!reflect.DeepEqual(fin.Rows, want.Rows) {
					b.Fatalf("badger %v, clickhouse %v, FINAL %v: answers differ", err, err2, err3)
				}
				tBadger += t1.Sub(t0)
				tCH += t2.Sub(t1)
				tFinal += t3.Sub(t2)
				groups = want.TotalRows
			}
			b.ReportMetric(float64(tFinal.Microseconds())/float64(b.N)/1000, "clickhouse-final-ms/op")
			b.ReportMetric(float64(tFinal)/float64(tBadger), "final-ratio")
			b.ReportMetric(float64(groups), "groups")
			b.ReportMetric(float64(tBadger.Microseconds())/float64(b.N)/1000, "badger-ms/op")
			b.ReportMetric(float64(tCH.Microseconds())/float64(b.N)/1000, "clickhouse-ms/op")
			b.ReportMetric(float64(tCH)/float64(tBadger), "ratio")
		})
	}
}

// TestGoQueryGeoAsBadger: country and AS conditions give the same answers
// from ClickHouse (the places the sink stored with the flows) as from
// Badger (the places looked up at query time), with the same databases.
func TestGoQueryGeoAsBadger(t *testing.T) {
	db, err := geoip.Open(fixture.GeoIPDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := chtest.Start(t)
	st := tempStore(t)
	const base = 1_700_000_100
	var recs []store.FlowRecord
	pairs := [][2]string{{"192.168.1.10", "8.8.8.8"}, {"192.168.1.11", "8.8.8.8"}, {"192.168.1.10", "193.0.6.139"},
		{"9.9.9.9", "192.168.1.10"}, {"192.168.1.10", "10.0.0.1"}, {"2001:db8::12", "2001:4860:4860::8888"}, {"2a00:1450:4001::1", "2001:db8::12"}}
	for i := range 140 {
		p := pairs[i%len(pairs)]
		recs = append(recs, store.FlowRecord{IfID: 1, Proto: 6, Client: netip.MustParseAddr(p[0]), Server: netip.MustParseAddr(p[1]),
			ClientPort: uint16(40000 + i), ServerPort: 443, PktsC2S: uint64(1 + i%4), BytesC2S: uint64(100 * (i + 1)), FirstSeen: base + int64(i), LastSeen: base + int64(i) + 2})
	}
	if err := st.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Config{Target: Target{Addr: srv.Addr, Database: "fleet"}, Probe: "geo", SpoolDir: t.TempDir(),
		SpoolMaxBytes: 64 << 20, BatchRows: 500, FlushEvery: 50 * time.Millisecond, IfName: func(uint16) string { return "eth1" },
		Place: func(a netip.Addr) (string, uint32) { in := db.Lookup(a); return in.CountryISO, in.ASN }})
	if err != nil {
		t.Fatal(err)
	}
	s.WriteFlows(recs)
	drain(t, s)
	s.Close()
	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gq, err := rd.GoQuery(ctx, "geo")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(base+1000, 0)
	rows := 0
	for _, cond := range []string{"dcountry = US", "dcountry = nl", "scountry = US", "country = US", "country != US", "dasn = 15169",
		"asn = AS19281", "dasn = 0", "sasn != 0 | dcountry = DE", "dcountry = US & sip = 192.168.1.11", "!(dcountry = US | dcountry = NL)"} {
		a := query.DefaultArgs()
		a.Query, a.Condition, a.Ifaces, a.First, a.Last = "talk_conv", cond, "eth1", "0", itoa(base+1000)
		run := func(names map[uint16]string, fn func(*query.Query) (*query.Result, error)) *query.Result {
			q, err := query.PrepareWith(a, names, now, query.PrepareOptions{GeoIP: db})
			if err != nil {
				t.Fatalf("%q: %v", cond, err)
			}
			res, err := fn(q)
			if err != nil {
				t.Fatalf("%q: %v", cond, err)
			}
			return res
		}
		want := run(map[uint16]string{1: "eth1"}, func(q *query.Query) (*query.Result, error) { return q.Run(ctx, st) })
		got := run(gq.Names(), func(q *query.Query) (*query.Result, error) { return q.RunGrouped(ctx, gq) })
		compareResults(t, a, got, want)
		rows += len(want.Rows)
	}
	if rows < 15 {
		t.Fatalf("only %d rows compared", rows)
	}
}
