package flowsql

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

func rec(cli, srv string, sport, dport uint16, proto uint8, bytes uint64, last int64) store.FlowRecord {
	return store.FlowRecord{Client: netip.MustParseAddr(cli), Server: netip.MustParseAddr(srv), ClientPort: sport, ServerPort: dport,
		Proto: proto, PktsC2S: 1, PktsS2C: 1, BytesC2S: bytes / 2, BytesS2C: bytes - bytes/2, FirstSeen: last - 1, LastSeen: last}
}

func TestWhere(t *testing.T) {
	r := rec("192.168.1.10", "8.8.8.8", 5000, 53, 17, 100, 1000)
	r6 := rec("2001:db8::1", "2001:db8::2", 5000, 443, 6, 3000, 1000)
	cases := []struct {
		where  string
		r4, r6 bool
	}{
		{"", true, true},
		{"PROTOCOL = 17", true, false},
		{"protocol=6 OR L4_DST_PORT = 53", true, true},
		{"IPV4_SRC_ADDR = '192.168.1.0/24' AND NOT L4_DST_PORT <> 53", true, false},
		{"IPV4_SRC_ADDR != '10.0.0.1'", true, false}, // an IPv6 flow has no IPv4 column
		{"IPV6_DST_ADDR = \"2001:db8::2\"", false, true},
		{"TOTAL_BYTES >= 3000", false, true},
		{"L4_DST_PORT IN (53, 443)", true, true},
		{"L4_DST_PORT NOT IN (53)", false, true},
		{"(PROTOCOL = 17 OR PROTOCOL = 6) AND IP_PROTOCOL_VERSION = 6", false, true},
		// ntop's Python API (Historical.self_test): a parenthesized value,
		// ntopng 6's port column names.
		{`(IP_PROTOCOL_VERSION=4) AND IPV4_SRC_ADDR=("192.168.1.10") AND (PROTOCOL=17) `, true, false},
		{"IP_DST_PORT = 443 OR IP_SRC_PORT = (6000)", false, true},
	}
	for _, c := range cases {
		e, err := ParseWhere(c.where)
		if err != nil {
			t.Errorf("%q: %v", c.where, err)
			continue
		}
		if e.Eval(&r) != c.r4 || e.Eval(&r6) != c.r6 {
			t.Errorf("%q: v4 %v v6 %v, want %v %v", c.where, e.Eval(&r), e.Eval(&r6), c.r4, c.r6)
		}
	}
}

func TestWhereErrors(t *testing.T) {
	cases := map[string]string{
		"PROTOCOL =":                         "ends where a value",
		"NOPE = 1":                           "unknown column \"NOPE\" at position 0",
		"PROTOCOL = 'tcp'":                   "not a number",
		"IPV4_SRC_ADDR > '1.2.3.4'":          "does not apply to address column",
		"IPV4_SRC_ADDR = 'evil; DROP TABLE'": "not an address",
		"(PROTOCOL = 6":                      "not closed",
		"PROTOCOL = 6 PROTOCOL = 7":          "unexpected \"PROTOCOL\" at position 13",
		"PROTOCOL ~ 6":                       "unexpected character",
		"L4_DST_PORT IN (1, 2":               "not closed",
		"PROTOCOL = ((6))":                   "expected a value at position 11",
		"PROTOCOL = (6":                      "expected a value at position 11",
		"'unterminated":                      "unterminated string",
		strings.Repeat("(", 100) + "PROTOCOL = 6" + strings.Repeat(")", 100): "nested deeper",
	}
	for in, want := range cases {
		_, err := ParseWhere(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", in, err, want)
		}
	}
}

func TestFlowsAndTopK(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := []store.FlowRecord{
		rec("10.0.0.1", "1.1.1.1", 1000, 443, 6, 1000, 1_700_000_010),
		rec("10.0.0.1", "1.1.1.1", 1001, 443, 6, 3000, 1_700_000_020),
		rec("10.0.0.2", "1.1.1.1", 1002, 443, 6, 500, 1_700_000_030),
		rec("10.0.0.2", "9.9.9.9", 1003, 53, 17, 80, 1_700_000_040),
		rec("10.0.0.3", "9.9.9.9", 1004, 53, 17, 80, 1_700_009_000), // outside the range
	}
	if err := st.WriteFlows(recs); err != nil {
		t.Fatal(err)
	}
	sel, _ := ParseSelect("IPV4_SRC_ADDR, TOTAL_BYTES,LAST_SEEN")
	where, _ := ParseWhere("PROTOCOL = 6")
	rows, err := Flows(context.Background(), st, FlowsQuery{Begin: 1_700_000_000, End: 1_700_001_000, Select: sel, Where: where, MaxHits: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0]["LAST_SEEN"] != int64(1_700_000_030) || rows[1]["TOTAL_BYTES"] != int64(3000) || len(rows[0]) != 3 {
		t.Errorf("flows rows %v", rows)
	}

	k1, _ := Lookup("IPV4_SRC_ADDR")
	v, _ := Lookup("BYTES")
	all, _ := ParseWhere("")
	top, err := TopK(context.Background(), st, TopKQuery{Begin: 1_700_000_000, End: 1_700_001_000, Keys: []*Column{k1}, Value: v, Agg: "SUM", Where: all, MaxHits: 10})
	if err != nil {
		t.Fatal(err)
	}
	// 10.0.0.1: 4000; 10.0.0.2: 580 (10.0.0.3 is out of range).
	if len(top) != 2 || top[0]["IPV4_SRC_ADDR"] != "10.0.0.1" || top[0]["TOTAL_BYTES"] != int64(4000) || top[1]["TOTAL_BYTES"] != int64(580) {
		t.Errorf("topk %v", top)
	}
	avg, _ := TopK(context.Background(), st, TopKQuery{Begin: 1_700_000_000, End: 1_700_001_000, Keys: []*Column{k1}, Value: v, Agg: "AVG", Where: all})
	if avg[0]["TOTAL_BYTES"] != float64(2000) {
		t.Errorf("avg %v", avg)
	}
}

func FuzzParseWhere(f *testing.F) {
	for _, s := range []string{"", "PROTOCOL = 6", "IPV4_SRC_ADDR = '10.0.0.0/8' AND NOT (L4_DST_PORT IN (1,2) OR TOTAL_BYTES > 5)", "((((", "a'b\"c", "x IN (", "PROTOCOL <>= 1"} {
		f.Add(s)
	}
	r := rec("192.168.1.10", "8.8.8.8", 5000, 53, 17, 100, 1000)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseWhere(s)
		if err != nil {
			return
		}
		e.Eval(&r)
	})
}
