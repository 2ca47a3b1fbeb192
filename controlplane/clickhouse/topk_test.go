package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/probe-appliance/probe/controlplane/clickhouse/chtest"
	"github.com/probe-appliance/probe/controlplane/flowsql"
	"github.com/probe-appliance/probe/controlplane/store"
)

// tieRecords are flows made for ranking traps: IPv6 clients of 1000
// bytes each, one group (null) of 12000 under IPV4_SRC_ADDR but twelve
// groups tied at 1000 under IPV6_SRC_ADDR; IPv4 clients with one leader,
// eight tied at 3000 (the cut of a top 5 falls among them) and clients
// whose two flows only together reach a tie.
func tieRecords(ifid uint16, base int64) []store.FlowRecord {
	var out []store.FlowRecord
	add := func(c, s netip.Addr, dport uint16, bytes uint64) {
		i := int64(len(out))
		out = append(out, store.FlowRecord{IfID: ifid, Client: c, Server: s, ClientPort: uint16(2000 + i), ServerPort: dport,
			Proto: []uint8{6, 17}[i%2], PktsC2S: 1 + uint64(i%3), BytesC2S: bytes, FirstSeen: base + i, LastSeen: base + i})
	}
	srv4, srv6 := netip.MustParseAddr("172.16.0.1"), netip.MustParseAddr("2001:db8::ffff")
	for i := range 12 {
		add(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}), srv6, 443, 1000)
	}
	add(netip.MustParseAddr("10.0.0.1"), srv4, 80, 5000)
	for i := range 8 {
		add(netip.AddrFrom4([4]byte{10, 0, 0, byte(20 - i)}), srv4, []uint16{53, 80}[i%2], 3000)
	}
	for i := range 4 {
		a := netip.AddrFrom4([4]byte{10, 0, 1, byte(i)})
		add(a, srv4, 443, 1500)
		add(a, srv4, 443, 1500)
	}
	return out
}

// TestTopKRankedAsBadger: db/topk_flows ranked and limited in ClickHouse
// gives Badger's ranking for every limit, ties at the cut included, and
// groups that merge only by their values (IPv6 clients under an IPv4
// column) still merge. Groups of equal value may come in either store's
// order, so each ClickHouse row must be one of Badger's full answer with
// the same value at the same rank.
func TestTopKRankedAsBadger(t *testing.T) {
	srv := chtest.Start(t)
	const base = 1_700_000_100
	st := badgerAndSink(t, srv.Addr, tieRecords(4, base))
	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shapes := []struct {
		keys, value, agg string
		sql              bool // ranked in ClickHouse (else the Go path)
	}{
		{"IPV4_SRC_ADDR", "BYTES", "SUM", true},
		{"IPV6_SRC_ADDR", "BYTES", "SUM", true},
		{"IPV6_SRC_ADDR", "PACKETS", "COUNT", true},
		{"IP_PROTOCOL_VERSION", "BYTES", "SUM", true},
		{"IP_PROTOCOL_VERSION,IPV4_SRC_ADDR", "PACKETS", "MAX", true},
		{"IPV4_DST_ADDR,L4_DST_PORT", "BYTES", "AVG", true},
		{"IPV6_DST_ADDR,PROTOCOL", "SRC2DST_BYTES", "MIN", true},
		{"L4_DST_PORT,L7_PROTO_MASTER", "BYTES", "SUM", true},
		{"IPV4_SRC_ADDR,IPV6_SRC_ADDR", "BYTES", "SUM", false},
	}
	none, _ := flowsql.ParseWhere("")
	for _, sh := range shapes {
		keys, val := cols(t, sh.keys), cols(t, sh.value)[0]
		if _, ok := rankedKeys(keys); ok != sh.sql {
			t.Errorf("%s: ranked in SQL %v, want %v", sh.keys, ok, sh.sql)
		}
		full := flowsql.TopKQuery{IfID: 4, Begin: base, End: base + 100, Keys: keys, Value: val, Agg: sh.agg, Where: none}
		all, err := flowsql.TopK(ctx, st, full)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) < 2 {
			t.Fatalf("%s: only %d groups", sh.keys, len(all))
		}
		inAll := map[string]bool{}
		for _, r := range canon(all) {
			inAll[r] = true
		}
		for _, maxHits := range []int{1, 2, 3, 5, 9, 10, 100, 0} {
			q := full
			q.MaxHits = maxHits
			want, err := flowsql.TopK(ctx, st, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rd.TopK(ctx, q, Scope{Probe: "p1"})
			if err != nil {
				t.Fatalf("%s %s(%s) maxhits %d: %v", sh.keys, sh.agg, sh.value, maxHits, err)
			}
			ok := len(got) == len(want)
			seen := map[string]bool{}
			for i := 0; ok && i < len(got); i++ {
				g := fmt.Sprint(got[i])
				ok = inAll[g] && !seen[g] && reflect.DeepEqual(got[i][val.Name], want[i][val.Name])
				seen[g] = true
			}
			if ok && maxHits == 0 {
				ok = slices.Equal(canon(got), canon(want))
			}
			if !ok {
				t.Errorf("%s %s(%s) maxhits %d:\nclickhouse %v\nbadger     %v", sh.keys, sh.agg, sh.value, maxHits, got, want)
			}
			again, err := rd.TopK(ctx, q, Scope{Probe: "p1"})
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("%s maxhits %d: asked twice, %v then %v (%v)", sh.keys, maxHits, got, again, err)
			}
		}
	}
}

// TestTopKRankedGroupLimit: ranked in ClickHouse, a query over more
// groups than flowsql.MaxGroups is refused as over Badger (which counts
// every group it holds), and one at exactly the limit is answered. The
// rows are made by the server (INSERT ... SELECT), one client each.
func TestTopKRankedGroupLimit(t *testing.T) {
	srv := chtest.Start(t)
	s := openSink(t, srv.Addr, "p1", t.TempDir(), 64<<20)
	s.Close() // creates the tables
	rd := fleetReader(t, srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const base = 1_700_000_100
	limit := flowsql.MaxGroups(1)
	insert := func(iface uint16, n int) {
		t.Helper()
		err := rd.conn.Exec(ctx, fmt.Sprintf(`INSERT INTO fleet.flows (FLOW_ID, NTOPNG_INSTANCE_NAME, INTERFACE_ID, IP_PROTOCOL_VERSION, FIRST_SEEN, LAST_SEEN, IPV4_SRC_ADDR, TOTAL_BYTES)
			SELECT number, 'p1', %d, 4, toDateTime(%d), toDateTime(%d), toUInt32(167772160 + number), number %% 1000 FROM system.numbers LIMIT %d`, iface, base, base, n))
		if err != nil {
			t.Fatal(err)
		}
	}
	insert(1, limit)
	insert(2, limit+1)
	none, _ := flowsql.ParseWhere("")
	key, val := cols(t, "IPV4_SRC_ADDR"), cols(t, "BYTES")[0]
	for _, c := range []struct {
		iface uint16
		err   error
	}{{1, nil}, {2, flowsql.ErrMemoryLimit}} {
		q := flowsql.TopKQuery{IfID: c.iface, Begin: base, End: base, Keys: key, Value: val, Agg: "SUM", Where: none, MaxHits: 3}
		got, err := rd.TopK(ctx, q, Scope{})
		if !errors.Is(err, c.err) {
			t.Fatalf("interface %d (%d groups, limit %d): %v, want %v", c.iface, limit+int(c.iface)-1, limit, err, c.err)
		}
		if err == nil && (len(got) != 3 || got[0]["TOTAL_BYTES"] != int64(999)) {
			t.Fatalf("interface %d: %v", c.iface, got)
		}
	}
}
