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

// flowColumns are ntopng's historical flow column names where ntopng has
// one, in the order flowRow.values gives them.
var flowColumns = []string{
	"FLOW_ID", "NTOPNG_INSTANCE_NAME", "INTERFACE_ID", "INTERFACE_NAME",
	"IP_PROTOCOL_VERSION", "FIRST_SEEN", "LAST_SEEN", "VLAN_ID", "PROTOCOL",
	"IPV4_SRC_ADDR", "IPV6_SRC_ADDR", "IP_SRC_PORT", "IPV4_DST_ADDR", "IPV6_DST_ADDR", "IP_DST_PORT",
	"L7_PROTO", "PACKETS", "TOTAL_BYTES", "SRC2DST_PACKETS", "DST2SRC_PACKETS", "SRC2DST_BYTES", "DST2SRC_BYTES",
	"SRC2DST_TCP_FLAGS", "DST2SRC_TCP_FLAGS", "SRC_COUNTRY_CODE", "DST_COUNTRY_CODE", "SRC_ASN", "DST_ASN",
}

const flowsDDL = `CREATE TABLE IF NOT EXISTS %s.flows (
	FLOW_ID UInt64,
	NTOPNG_INSTANCE_NAME String,
	INTERFACE_ID UInt16,
	INTERFACE_NAME String,
	IP_PROTOCOL_VERSION UInt8,
	FIRST_SEEN DateTime,
	LAST_SEEN DateTime,
	VLAN_ID UInt16,
	PROTOCOL UInt8,
	IPV4_SRC_ADDR UInt32,
	IPV6_SRC_ADDR FixedString(16),
	IP_SRC_PORT UInt16,
	IPV4_DST_ADDR UInt32,
	IPV6_DST_ADDR FixedString(16),
	IP_DST_PORT UInt16,
	L7_PROTO UInt16,
	PACKETS UInt64,
	TOTAL_BYTES UInt64,
	SRC2DST_PACKETS UInt64,
	DST2SRC_PACKETS UInt64,
	SRC2DST_BYTES UInt64,
	DST2SRC_BYTES UInt64,
	SRC2DST_TCP_FLAGS UInt8,
	DST2SRC_TCP_FLAGS UInt8,
	SRC_COUNTRY_CODE String,
	DST_COUNTRY_CODE String,
	SRC_ASN UInt32,
	DST_ASN UInt32
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(LAST_SEEN)
ORDER BY (NTOPNG_INSTANCE_NAME, INTERFACE_ID, LAST_SEEN, FLOW_ID)`

// alertColumns follow ntopng's alert tables (one table here, ALERT_CATEGORY
// telling the family).
var alertColumns = []string{
	"ROWID", "NTOPNG_INSTANCE_NAME", "INTERFACE_ID", "ALERT_CATEGORY", "ALERT_ID", "SEVERITY", "SCORE",
	"TSTAMP", "TSTAMP_END", "ENTITY_ID", "ENTITY_VAL", "ALERT_COUNT", "INFO", "JSON",
}

const alertsDDL = `CREATE TABLE IF NOT EXISTS %s.alerts (
	ROWID UInt64,
	NTOPNG_INSTANCE_NAME String,
	INTERFACE_ID Int32,
	ALERT_CATEGORY String,
	ALERT_ID UInt32,
	SEVERITY UInt8,
	SCORE UInt16,
	TSTAMP DateTime,
	TSTAMP_END DateTime,
	ENTITY_ID UInt8,
	ENTITY_VAL String,
	ALERT_COUNT UInt32,
	INFO String,
	JSON String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(TSTAMP)
ORDER BY (NTOPNG_INSTANCE_NAME, TSTAMP, ROWID)`

// ensureSchema creates the database and tables when missing.
func ensureSchema(ctx context.Context, conn driver.Conn, db string) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + db,
		fmt.Sprintf(flowsDDL, db),
		fmt.Sprintf(alertsDDL, db),
	} {
		if err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("clickhouse schema (%.40s...): %w", q, err)
		}
	}
	return nil
}

func insertSQL(db, table string, cols []string) string {
	// 18.16 answers a column-less INSERT with all columns in a layout the
	// client's batch does not expect: always name them.
	return fmt.Sprintf("INSERT INTO %s.%s (%s)", db, table, strings.Join(cols, ", "))
}

// dropExpired drops the day partitions of table wholly older than keep.
// The partition ids are toYYYYMMDD numbers, compared as numbers.
func dropExpired(ctx context.Context, conn driver.Conn, db, table string, keep time.Duration, now time.Time) (int, error) {
	oldest := now.Add(-keep).UTC()
	limit := uint64(oldest.Year()*10000 + int(oldest.Month())*100 + oldest.Day())
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
