package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// The tables use only what ClickHouse 18.16 (Debian's) has: MergeTree with
// a custom partition key, ReplacingMergeTree, no TTL (19.6+) and no
// IPv4/IPv6 domain types (19.x). Retention is therefore the sink dropping
// whole day partitions older than the retention (see dropExpired).
//
// ReplacingMergeTree on (..., FLOW_ID) makes delivery at-least-once without
// double counting: a spooled batch replayed after a crash carries the same
// FLOW_IDs and lands in the same day partition, so merges (or SELECT ...
// FINAL) keep one row of each.

// column is one column of a table: its name (ntopng's where ntopng has
// one) and its ClickHouse type.
type column struct{ name, typ string }

// table is a table's columns, in the order its rows' values() give them,
// and what follows them in CREATE TABLE.
type table struct {
	name   string
	cols   []column
	engine string
}

// flowsTable holds flow records: ntopng's historical flow columns where
// ntopng has them, with this probe's identity (NTOPNG_INSTANCE_NAME) and
// interface. Addresses are split by family as ntopng does (IPV4_* as
// UInt32, IPV6_* as 16 bytes: 18.16 has no IPv6 type).
var flowsTable = table{name: "flows", cols: []column{
	{"FLOW_ID", "UInt64"},
	{"NTOPNG_INSTANCE_NAME", "String"},
	{"INTERFACE_ID", "UInt16"},
	{"INTERFACE_NAME", "String"},
	{"IP_PROTOCOL_VERSION", "UInt8"},
	{"FIRST_SEEN", "DateTime"},
	{"LAST_SEEN", "DateTime"},
	{"VLAN_ID", "UInt16"},
	{"PROTOCOL", "UInt8"},
	{"IPV4_SRC_ADDR", "UInt32"},
	{"IPV6_SRC_ADDR", "FixedString(16)"},
	{"IP_SRC_PORT", "UInt16"},
	{"IPV4_DST_ADDR", "UInt32"},
	{"IPV6_DST_ADDR", "FixedString(16)"},
	{"IP_DST_PORT", "UInt16"},
	{"L7_PROTO", "UInt16"},
	{"PACKETS", "UInt64"},
	{"TOTAL_BYTES", "UInt64"},
	{"SRC2DST_PACKETS", "UInt64"},
	{"DST2SRC_PACKETS", "UInt64"},
	{"SRC2DST_BYTES", "UInt64"},
	{"DST2SRC_BYTES", "UInt64"},
	{"SRC2DST_TCP_FLAGS", "UInt8"},
	{"DST2SRC_TCP_FLAGS", "UInt8"},
	{"SRC_COUNTRY_CODE", "String"},
	{"DST_COUNTRY_CODE", "String"},
	{"SRC_ASN", "UInt32"},
	{"DST_ASN", "UInt32"},
	{"L7_PROTO_NAME", "String"},
	{"L7_CATEGORY", "UInt16"},
}, engine: `ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(LAST_SEEN)
ORDER BY (NTOPNG_INSTANCE_NAME, INTERFACE_ID, LAST_SEEN, FLOW_ID)`}

// alertsTable follows ntopng's alert tables (one table here,
// ALERT_CATEGORY telling the family).
var alertsTable = table{name: "alerts", cols: []column{
	{"ROWID", "UInt64"},
	{"NTOPNG_INSTANCE_NAME", "String"},
	{"INTERFACE_ID", "Int32"},
	{"ALERT_CATEGORY", "String"},
	{"ALERT_ID", "UInt32"},
	{"SEVERITY", "UInt8"},
	{"SCORE", "UInt16"},
	{"TSTAMP", "DateTime"},
	{"TSTAMP_END", "DateTime"},
	{"ENTITY_ID", "UInt8"},
	{"ENTITY_VAL", "String"},
	{"ALERT_COUNT", "UInt32"},
	{"INFO", "String"},
	{"JSON", "String"},
	// DELETED marks an alert's tombstone: an operator deleted it (on its
	// probe or through the fleet view) and no list answers it again.
	{"DELETED", "UInt8"},
}, engine: `ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(TSTAMP)
ORDER BY (NTOPNG_INSTANCE_NAME, TSTAMP, ROWID)`}

func (t *table) names() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}

func (t *table) create(db string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s (\n", db, t.name)
	for i, c := range t.cols {
		sep := ","
		if i == len(t.cols)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "\t%s %s%s\n", c.name, c.typ, sep)
	}
	b.WriteString(") " + t.engine)
	return b.String()
}

// ensureSchema creates the database and tables when missing, and adds
// the columns a table made by an older probe lacks (ALTER TABLE ADD COLUMN
// fills them with defaults for the rows already there).
func ensureSchema(ctx context.Context, conn driver.Conn, db string) error {
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return fmt.Errorf("clickhouse: creating database %s: %w", db, err)
	}
	for _, t := range []*table{&flowsTable, &alertsTable} {
		if err := conn.Exec(ctx, t.create(db)); err != nil {
			return fmt.Errorf("clickhouse: creating %s.%s: %w", db, t.name, err)
		}
		have := map[string]bool{}
		rows, err := conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?", db, t.name)
		if err != nil {
			return fmt.Errorf("clickhouse: columns of %s.%s: %w", db, t.name, err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			have[n] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range t.cols {
			if have[c.name] {
				continue
			}
			if err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s ADD COLUMN %s %s", db, t.name, c.name, c.typ)); err != nil {
				return fmt.Errorf("clickhouse: adding %s to %s.%s: %w", c.name, db, t.name, err)
			}
		}
	}
	return nil
}

func (t *table) insert(db string) string {
	// 18.16 answers a column-less INSERT with all columns in a layout the
	// client's batch does not expect: always name them.
	return fmt.Sprintf("INSERT INTO %s.%s (%s)", db, t.name, strings.Join(t.names(), ", "))
}

// dropExpired drops the day partitions of table wholly older than keep.
// The partition ids are toYYYYMMDD numbers, compared as numbers. They are
// days in the server's time zone (toYYYYMMDD of a DateTime is), so the
// server turns the cut-off into its day too: a UTC day would drop the
// newest hours of a zone west of UTC before their time.
func dropExpired(ctx context.Context, conn driver.Conn, db, table string, keep time.Duration, now time.Time) (int, error) {
	cutoff := uint32(max(now.Add(-keep).Unix(), 0))
	var limit uint64
	if err := conn.QueryRow(ctx, "SELECT toUInt64(toYYYYMMDD(toDateTime(?)))", cutoff).Scan(&limit); err != nil {
		return 0, fmt.Errorf("the retention cut-off's day: %w", err)
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active", db, table)
	if err != nil {
		return 0, fmt.Errorf("listing partitions of %s.%s: %w", db, table, err)
	}
	var old []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return 0, err
		}
		if n, err := strconv.ParseUint(p, 10, 64); err == nil && n < limit {
			old = append(old, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, p := range old {
		// p is digits only (parsed above), safe in the statement.
		if err := conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s DROP PARTITION %s", db, table, p)); err != nil {
			return 0, fmt.Errorf("dropping partition %s of %s.%s: %w", p, db, table, err)
		}
	}
	return len(old), nil
}
