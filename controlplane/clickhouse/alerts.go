package clickhouse

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// maxAlertRows bounds the alert rows one historical list reads (versions
// included): past it the list is refused rather than memory exhausted.
const maxAlertRows = 1 << 20

// ErrTooManyAlerts is a historical alert list over more rows than
// maxAlertRows: the caller narrows the time range.
var ErrTooManyAlerts = fmt.Errorf("clickhouse: more than %d alert rows in the range; narrow it", maxAlertRows)

// Alerts calls fn for the alerts of interface ifid that match f, oldest
// first (as alert.Archive.Scan), from the alerts table the sinks write:
// of probe (empty: every probe of the fleet). The table holds a row per
// stored state of an alert (raised, released, acknowledged; a replayed
// batch again): the latest state of each alert is the one answered, which
// is the one its probe's archive holds.
func (r *Reader) Alerts(ctx context.Context, ifid int, f alert.Filter, probe string, fn func(a *alert.Alert) error) error {
	to := f.To
	if to == 0 {
		to = 1<<62 - 1
	}
	s := &sqlb{}
	s.w("SELECT NTOPNG_INSTANCE_NAME, ROWID, JSON FROM ", r.db, ".alerts WHERE INTERFACE_ID = ")
	s.arg(int32(ifid))
	s.w(" AND TSTAMP >= toDateTime(")
	s.arg(clampTime(f.From))
	s.w(") AND TSTAMP < toDateTime(")
	s.arg(clampTime(to))
	s.w(")")
	if probe != "" {
		s.w(" AND NTOPNG_INSTANCE_NAME = ")
		s.arg(probe)
	}
	s.w(" LIMIT ")
	s.arg(uint64(maxAlertRows + 1))
	rows, err := r.conn.Query(ctx, s.b.String(), s.args...)
	if err != nil {
		return fmt.Errorf("alerts from clickhouse: %w", err)
	}
	defer rows.Close()
	type key struct {
		probe string
		id    uint64
	}
	type version struct {
		probe string
		a     alert.Alert
	}
	latest := map[key]*version{}
	n := 0
	for rows.Next() {
		var k key
		var raw string
		if err := rows.Scan(&k.probe, &k.id, &raw); err != nil {
			return fmt.Errorf("alerts from clickhouse: %w", err)
		}
		if n++; n > maxAlertRows {
			return ErrTooManyAlerts
		}
		var a alert.Alert
		if err := json.Unmarshal([]byte(raw), &a); err != nil || a.RowID == 0 {
			continue // a row of an older sink (the check's detail only): not an alert record
		}
		if v := latest[k]; v == nil || newer(&a, &v.a) {
			latest[k] = &version{k.probe, a}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("alerts from clickhouse: %w", err)
	}
	list := make([]*version, 0, len(latest))
	for _, v := range latest {
		list = append(list, v)
	}
	// The archive's order: time raised, then row id (then probe, for a
	// fleet whose probes number their alerts alike).
	slices.SortFunc(list, func(x, y *version) int {
		return cmp.Or(cmp.Compare(x.a.Tstamp, y.a.Tstamp), cmp.Compare(x.a.RowID, y.a.RowID), cmp.Compare(x.probe, y.probe))
	})
	for _, v := range list {
		if !f.Match(&v.a) {
			continue
		}
		if err := fn(&v.a); err != nil {
			return err
		}
	}
	return nil
}

// newer tells whether a is a later state of the alert than b: an alert
// only moves forward (engaged to released, unacknowledged to
// acknowledged, its end and count growing).
func newer(a, b *alert.Alert) bool {
	rank := func(x *alert.Alert) [4]int64 {
		var released, acked int64
		if !x.Engaged {
			released = 1
		}
		if x.Acknowledged {
			acked = 1
		}
		return [4]int64{released, acked, x.TstampEnd, int64(x.Count)}
	}
	ra, rb := rank(a), rank(b)
	return slices.Compare(ra[:], rb[:]) > 0
}
