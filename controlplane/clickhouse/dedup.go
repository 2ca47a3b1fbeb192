package clickhouse

import (
	"context"
	"fmt"
	"slices"
)

// FINAL's cost. The flows table is a ReplacingMergeTree: a batch replayed
// from the spool lands as a second copy of its rows until a merge keeps
// one, and SELECT ... FINAL (a single-threaded merge on read in 18.16,
// twice the plain read) is what hides the copies meanwhile. 18.16 has no
// cheaper exact dedup (GROUP BY the sort key with any(), or LIMIT 1 BY,
// cost more than FINAL: see BenchmarkTopTalkersAtScale) and no setting
// to skip FINAL's merge where it is useless. So the reader asks where a
// copy can be. One INSERT never holds a FLOW_ID twice (the sink numbers
// rows), and a merge keeps one row per key, so every part is free of
// copies; a copy is a second part of the same partition (the day of its
// LAST_SEEN) whose time range holds the copy's LAST_SEEN. When no two
// active parts of a partition overlap the query's time range, nothing in
// the range has a copy and the plain read is exact. Parts are never
// renamed or revived, so finding the same set after the query proves it
// read that set; otherwise the query is asked again with FINAL.

// rangeParts are the active flows parts holding rows of [begin, end] by
// their time range, sorted by name, and whether two of them share a
// partition (FINAL needed).
func (r *Reader) rangeParts(ctx context.Context, begin, end int64) (names []string, final bool, err error) {
	rows, err := r.conn.Query(ctx, `SELECT partition_id, name, toUInt32(max_time) FROM system.parts
		WHERE database = ? AND table = 'flows' AND active AND max_time >= toDateTime(?) AND min_time <= toDateTime(?) ORDER BY name`,
		r.db, clampTime(begin), clampTime(end))
	if err != nil {
		return nil, true, fmt.Errorf("flows parts from clickhouse: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var part, name string
		var maxTime uint32
		if err := rows.Scan(&part, &name, &maxTime); err != nil {
			return nil, true, fmt.Errorf("flows parts from clickhouse: %w", err)
		}
		// A part without its time range (never here: LAST_SEEN is the
		// partition key's column) cannot be placed: FINAL.
		final = final || seen[part] || maxTime == 0
		seen[part] = true
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, true, fmt.Errorf("flows parts from clickhouse: %w", err)
	}
	return names, final, nil
}

// read runs a query over the flows of [begin, end] given its FROM clause:
// without FINAL when no row of the range can have a copy and the parts
// did not change while it ran, else with FINAL. run starts afresh on each
// call (it may be called twice).
func (r *Reader) read(ctx context.Context, begin, end int64, run func(from string) error) error {
	before, final, err := r.rangeParts(ctx, begin, end)
	if err != nil {
		return err
	}
	final = final || r.alwaysFinal
	if !final {
		if err := run(" FROM " + r.db + ".flows"); err != nil {
			return err
		}
		after, _, err := r.rangeParts(ctx, begin, end)
		if err != nil {
			return err
		}
		if slices.Equal(before, after) {
			return nil
		}
	}
	return run(r.from())
}
