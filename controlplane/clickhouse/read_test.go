package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/store"
)

// history makes n flow records on ifid, each with its own LastSeen (so
// "newest first" has one answer on both stores), IPv4 and IPv6, some with
// an end in 192.168.1.0/24.
func history(n int, ifid uint16, base int64, seed uint64) []store.FlowRecord {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]store.FlowRecord, n)
	for i := range out {
		c := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(3)), byte(rng.IntN(20))})
		s := netip.AddrFrom4([4]byte{172, 16, 0, byte(rng.IntN(6))})
		switch i % 5 {
		case 0:
			c = netip.AddrFrom4([4]byte{192, 168, 1, byte(rng.IntN(10))})
		case 1:
			s = netip.MustParseAddr("192.168.1.200")
		case 2:
			c = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.IntN(8))})
			s = netip.MustParseAddr("2001:db8::2")
		}
		proto := []uint8{6, 17, 1}[rng.IntN(3)]
		out[i] = store.FlowRecord{
			IfID: ifid, Client: c, Server: s, ClientPort: uint16(1024 + rng.IntN(50000)), ServerPort: []uint16{53, 80, 443, 6000}[rng.IntN(4)],
			Proto: proto, L7: uint16(rng.IntN(4) * 5), VLAN: uint16(rng.IntN(2) * 10),
			PktsC2S: uint64(1 + rng.IntN(50)), PktsS2C: uint64(rng.IntN(50)), BytesC2S: uint64(60 + rng.IntN(100000)), BytesS2C: uint64(rng.IntN(100000)),
			FirstSeen: base + int64(i) - int64(rng.IntN(30)), LastSeen: base + int64(i),
		}
	}
	return out
}

// wheres are the where-clause shapes the flowsql and rest tests use, and
// a few more.
var wheres = []string{
	"",
	"PROTOCOL = 6",
	"PROTOCOL = 17",
	"PROTOCOL=99",
	"IPV4_SRC_ADDR = '192.168.1.0/24' AND NOT L4_DST_PORT <> 53",
	"IPV4_SRC_ADDR != '10.0.0.1'",
	"IPV4_SRC_ADDR = '10.0.1.3' OR IPV4_DST_ADDR == \"192.168.1.200\"",
	"IPV6_DST_ADDR = \"2001:db8::2\"",
	"IPV6_SRC_ADDR = '2001:db8::/125' AND IPV6_SRC_ADDR <> '2001:db8::3'",
	"IPV4_DST_ADDR = '2001:db8::2'",
	"TOTAL_BYTES >= 30000",
	"L4_DST_PORT IN (53, 443)",
	"L4_DST_PORT NOT IN (53)",
	"IP_DST_PORT = 443 OR IP_SRC_PORT = (6000)",
	"IPV4_SRC_ADDR = '10.0.0.0/8' AND NOT (L4_DST_PORT IN (1,2) OR TOTAL_BYTES > 5000)",
	"L7_PROTO_MASTER = 0",
	"NOT L7_PROTO_MASTER != 0",
	"VLAN_ID = 10 AND (PACKETS < 40 OR SRC2DST_BYTES <= 5000) AND DST2SRC_PACKETS > 3",
	"FIRST_SEEN >= 1700000100 AND LAST_SEEN < 1700000250 AND IP_PROTOCOL_VERSION = 4",
}

type topkShape struct {
	keys, value, agg string
}

var topkShapes = []topkShape{
	{"IPV4_SRC_ADDR,IPV4_DST_ADDR,L7_PROTO", "BYTES", "SUM"},
	{"IPV4_SRC_ADDR", "PACKETS", "COUNT"},
	{"IPV6_SRC_ADDR,PROTOCOL", "TOTAL_BYTES", "AVG"},
	{"L4_DST_PORT", "SRC2DST_BYTES", "MAX"},
	{"PROTOCOL,VLAN_ID", "DST2SRC_PACKETS", "MIN"},
	{"L7_PROTO_MASTER", "BYTES", "SUM"},
	{"PROTOCOL", "L7_PROTO_MASTER", "SUM"},
}

func cols(t *testing.T, names string) []*flowsql.Column {
	t.Helper()
	var out []*flowsql.Column
	for _, n := range strings.Split(names, ",") {
		c, ok := flowsql.Lookup(n)
		if !ok {
			t.Fatal(n)
		}
		out = append(out, c)
	}
	return out
}

// canon orders rows by their printed form: top-k groups of equal value
// come in store order, which the two stores need not share.
func canon(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r)
	}
	slices.Sort(out)
	return out
}

// TestReaderAnswersAsBadger: the same records in Badger (flowsql) and in
// ClickHouse (through the sink) give the same db/flows and db/topk_flows
// answers, for every where shape, administrator and restricted user
// alike; another probe's rows are left out by Scope.Probe and counted
// without it.
func TestReaderAnswersAsBadger(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_100
	recs := history(400, 3, base, 1)
	st := badgerAndSink(t, srv.Addr, recs)
	sendFlows(t, srv.Addr, "p2", history(100, 3, base, 2))

	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	nets := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")}
	scoped := func(r *store.FlowRecord) bool {
		return nets[0].Contains(r.Client.Unmap()) || nets[0].Contains(r.Server.Unmap())
	}
	all, _ := flowsql.ParseSelect("*")
	v2sel, _ := flowsql.ParseSelect("IP_SRC_PORT,IP_DST_PORT,L7_PROTO_MASTER,IPV6_SRC_ADDR")
	compared := 0
	for _, w := range wheres {
		where, err := flowsql.ParseWhere(w)
		if err != nil {
			t.Fatalf("%q: %v", w, err)
		}
		for _, user := range []string{"admin", "restricted"} {
			var vis func(*store.FlowRecord) bool
			sc := Scope{Probe: "p1"}
			if user == "restricted" {
				vis, sc.Nets = scoped, nets
			}
			for _, maxHits := range []int{10, 1000} {
				for _, sel := range [][]*flowsql.Column{all, v2sel} {
					q := flowsql.FlowsQuery{IfID: 3, Begin: base + 20, End: base + 350, Select: sel, Where: where, MaxHits: maxHits, Visible: vis}
					want, err := flowsql.Flows(ctx, st, q)
					if err != nil {
						t.Fatal(err)
					}
					got, err := rd.Flows(ctx, q, sc)
					if err != nil {
						t.Fatalf("%q as %s: %v", w, user, err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("db/flows %q as %s, maxhits %d: clickhouse %d rows, badger %d\nclickhouse %v\nbadger     %v", w, user, maxHits, len(got), len(want), got, want)
					}
					compared += len(want)
				}
			}
			for _, sh := range topkShapes {
				val := cols(t, sh.value)[0]
				for _, maxHits := range []int{0, 5} {
					q := flowsql.TopKQuery{IfID: 3, Begin: base + 20, End: base + 350, Keys: cols(t, sh.keys), Value: val, Agg: sh.agg, Where: where, MaxHits: maxHits, Visible: vis}
					want, err := flowsql.TopK(ctx, st, q)
					if err != nil {
						t.Fatal(err)
					}
					got, err := rd.TopK(ctx, q, sc)
					if err != nil {
						t.Fatalf("%q %v as %s: %v", w, sh, user, err)
					}
					values := func(rows []map[string]any) (out []any) {
						for _, r := range rows {
							out = append(out, r[val.Name])
						}
						return out
					}
					// The ranking must agree; groups of equal value may come
					// in either order, so the full answers compare as sets.
					if !reflect.DeepEqual(values(got), values(want)) || (maxHits == 0 && !reflect.DeepEqual(canon(got), canon(want))) {
						t.Errorf("topk %v %q as %s, maxhits %d:\nclickhouse %v\nbadger     %v", sh, w, user, maxHits, got, want)
					}
					compared += len(want)
				}
			}
		}
	}
	if compared < 2000 {
		t.Fatalf("only %d rows compared: the shapes select too little to tell the stores apart", compared)
	}
	// Without a probe, every probe's rows: 400 + 100.
	cnt, _ := flowsql.Lookup("PACKETS")
	none, _ := flowsql.ParseWhere("")
	got, err := rd.TopK(ctx, flowsql.TopKQuery{IfID: 3, Begin: 0, End: base + 1000, Keys: cols(t, "L7_PROTO_MASTER"), Value: cnt, Agg: "COUNT", Where: none}, Scope{})
	if err != nil || len(got) != 1 || got[0]["PACKETS"] != int64(500) {
		t.Fatalf("fleet count: %v %v; want 500 rows from both probes", got, err)
	}
}

// vocabulary is every word the generated SQL may hold outside bound
// parameters: table columns, functions and keywords, never request text.
var vocabulary = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`SELECT FROM FINAL WHERE AND OR NOT BETWEEN GROUP BY ORDER DESC LIMIT
		toInt64 toUInt32 toDateTime unhex sum count max min fleet flows INTERFACE_ID NTOPNG_INSTANCE_NAME 0 1`) {
		m[w] = true
	}
	for _, c := range flowsTable.cols {
		m[c.name] = true
	}
	return m
}()

var wordRE = regexp.MustCompile(`[A-Za-z0-9_]+`)

// checkSQL fails when sql holds a word outside the vocabulary or a
// character other than the operators, parentheses, commas, dots and ?.
func checkSQL(t *testing.T, clause, sql string) {
	t.Helper()
	for _, w := range wordRE.FindAllString(sql, -1) {
		if !vocabulary[w] {
			t.Fatalf("clause %q: SQL has %q outside parameters:\n%s", clause, w, sql)
		}
	}
	if rest := strings.Trim(wordRE.ReplaceAllString(sql, ""), " ()=!<>?,."); strings.Trim(rest, " ()=!<>?,.") != "" {
		t.Fatalf("clause %q: SQL has %q outside parameters:\n%s", clause, rest, sql)
	}
}

// randomClause builds a valid clause from random columns, operators and
// literals (quoted in either style, sometimes in parentheses).
func randomClause(rng *rand.Rand, depth int) (string, []string) {
	if depth > 0 && rng.IntN(3) > 0 {
		l, ll := randomClause(rng, depth-1)
		r, rl := randomClause(rng, depth-1)
		switch rng.IntN(3) {
		case 0:
			return "(" + l + ") AND (" + r + ")", append(ll, rl...)
		case 1:
			return "(" + l + ") OR " + r, append(ll, rl...)
		}
		return "NOT (" + l + ")", ll
	}
	quote := func(s string) string {
		switch rng.IntN(3) {
		case 0:
			return "'" + s + "'"
		case 1:
			return `"` + s + `"`
		}
		return "('" + s + "')"
	}
	if rng.IntN(2) == 0 {
		col := []string{"IPV4_SRC_ADDR", "IPV4_DST_ADDR", "IPV6_SRC_ADDR", "IPV6_DST_ADDR", "ipv4_src_addr"}[rng.IntN(5)]
		var lit string
		if rng.IntN(2) == 0 {
			lit = netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()
		} else {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			lit = netip.AddrFrom16(b).String()
		}
		if rng.IntN(2) == 0 {
			lit = fmt.Sprintf("%s/%d", lit, rng.IntN(33))
		}
		op := []string{"=", "==", "!=", "<>"}[rng.IntN(4)]
		return col + " " + op + " " + quote(lit), []string{lit}
	}
	col := []string{"PROTOCOL", "L4_DST_PORT", "TOTAL_BYTES", "FLOW_TIME", "L7_PROTO_MASTER", "IP_SRC_PORT", "VLAN_ID"}[rng.IntN(7)]
	n := fmt.Sprint(rng.Int64N(1<<62) - 1<<61)
	if rng.IntN(3) == 0 {
		m := fmt.Sprint(rng.Int64N(1 << 40))
		return col + " NOT IN (" + n + ", " + m + ")", []string{n, m}
	}
	op := []string{"=", "==", "!=", "<>", "<", "<=", ">", ">="}[rng.IntN(8)]
	return col + op + n, []string{n}
}

// TestWhereNeverPastesRequestText: random clauses (and random bytes that
// happen to parse) become SQL whose text holds only the fixed vocabulary;
// every literal of the clause is among the bound parameters, none in the
// text.
func TestWhereNeverPastesRequestText(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 3))
	build := func(clause string) (string, []any, bool) {
		e, err := flowsql.ParseWhere(clause)
		if err != nil {
			return "", nil, false
		}
		s := &sqlb{}
		s.w("SELECT count() FROM fleet.flows FINAL")
		if err := filter(s, 1, 0, 1<<40, e, Scope{Probe: "x'); DROP TABLE flows --", Nets: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16"), netip.MustParsePrefix("fd00::/8")}}); err != nil {
			t.Fatalf("%q: %v", clause, err)
		}
		return s.b.String(), s.args, true
	}
	for range 3000 {
		clause, lits := randomClause(rng, 3)
		sql, args, ok := build(clause)
		if !ok {
			t.Fatalf("generated clause %q does not parse", clause)
		}
		checkSQL(t, clause, sql)
		if strings.Count(sql, "?") != len(args) {
			t.Fatalf("%q: %d placeholders, %d args", clause, strings.Count(sql, "?"), len(args))
		}
		for _, l := range lits {
			if len(l) > 1 && strings.Contains(sql, l) {
				t.Fatalf("clause %q: literal %q in the SQL text:\n%s", clause, l, sql)
			}
		}
	}
	alphabet := []byte("IPV4_SRC_ADDR PROTOCOL L4_DST_PORT = != < > ( ) ' \" , ; - / * \\ 0 1 9 . : AND OR NOT IN DROP TABLE")
	parsed := 0
	for range 20000 {
		b := make([]byte, 1+rng.IntN(60))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if sql, _, ok := build(string(b)); ok {
			parsed++
			checkSQL(t, string(b), sql)
		}
	}
	t.Logf("%d of 20000 random byte clauses parsed", parsed)
}

// TestWhereRunsOnClickHouse: every where shape (and random ones) is SQL
// ClickHouse 18.16 accepts, with the parameters bound by the driver.
func TestWhereRunsOnClickHouse(t *testing.T) {
	srv := chtest.Start(t)
	s := openSink(t, srv.Addr, "p1", t.TempDir(), 64<<20)
	s.WriteFlows(history(10, 1, time.Now().Unix(), 3))
	drain(t, s)
	s.Close()
	rd := fleetReader(t, srv.Addr)
	rng := rand.New(rand.NewPCG(5, 5))
	clauses := slices.Clone(wheres)
	for range 100 {
		c, _ := randomClause(rng, 3)
		clauses = append(clauses, c)
	}
	sel, _ := flowsql.ParseSelect("*")
	for _, c := range clauses {
		e, err := flowsql.ParseWhere(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rd.Flows(context.Background(), flowsql.FlowsQuery{IfID: 1, Begin: 0, End: 1 << 33, Select: sel, Where: e, MaxHits: 5}, Scope{Probe: "it's"}); err != nil {
			t.Fatalf("%q: %v", c, err)
		}
	}
}

// fleetReader opens a Reader on the test server's "fleet" database, closed
// when the test ends.
func fleetReader(tb testing.TB, addr string) *Reader {
	tb.Helper()
	rd, err := OpenReader(Target{Addr: addr, Database: "fleet"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rd.Close() })
	return rd
}

// tempStore opens a Badger store in a temporary directory, closed when the
// test ends: the other backend of the differential tests.
func tempStore(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(tb.TempDir(), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// sendFlows writes recs to ClickHouse through a sink of probe, drained
// and closed before it returns.
func sendFlows(t *testing.T, addr, probe string, recs []store.FlowRecord) {
	t.Helper()
	s := openSink(t, addr, probe, t.TempDir(), 64<<20)
	s.WriteFlows(recs)
	drain(t, s)
	s.Close()
}

// badgerAndSink puts the same records in a temporary Badger store and, as
// probe p1, in ClickHouse: the two sides of a differential test.
func badgerAndSink(t *testing.T, addr string, recs []store.FlowRecord) *store.Store {
	t.Helper()
	st := tempStore(t)
	if err := st.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	sendFlows(t, addr, "p1", recs)
	return st
}
