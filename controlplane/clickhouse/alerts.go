package clickhouse

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/internal/badinput"
)

// maxAlertRows bounds the alert rows one historical list reads (versions
// included): past it the list is refused rather than memory exhausted.
const maxAlertRows = 1 << 20

// actionBatchRows bounds one INSERT of alert actions, as the sink bounds
// its batches.
const actionBatchRows = 10000

// ErrTooManyAlerts is a historical alert list over more rows than
// maxAlertRows: the caller narrows the time range.
var ErrTooManyAlerts = fmt.Errorf("clickhouse: more than %d alert rows in the range; narrow it", maxAlertRows)

// Alerts calls fn for the alerts of interface ifid that match f, oldest
// first (as alert.Archive.Scan), from the alerts table the sinks write:
// of probe (empty: every probe of the fleet). The table holds a row per
// stored state of an alert (raised, released, acknowledged; a replayed
// batch again): the latest state of each alert is the one answered, which
// is the one its probe's archive holds. A deleted alert is not answered.
func (r *Reader) Alerts(ctx context.Context, ifid int, f alert.Filter, probe string, fn func(a *alert.Alert) error) error {
	list, err := r.latest(ctx, ifid, f, probe)
	if err != nil {
		return err
	}
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

// ErrAmbiguousRowID is an action on one row id that several probes of
// the fleet gave an alert: the caller names the probe.
var ErrAmbiguousRowID = badinput.Errorf("several probes have an alert with this row_id: name one with probe=")

// ActOnAlerts deletes (del) or acknowledges the alerts of ifid that match
// f, of probe (empty: every probe), for the whole fleet: it writes each
// one's tombstone or acknowledged state and returns, once ClickHouse
// stored them, how many changed and which probes they belong to. Each
// probe's own archive is not reached from here: the caller acts on its
// own probe's archive itself.
func (r *Reader) ActOnAlerts(ctx context.Context, ifid int, f alert.Filter, probe string, del bool) (int, map[string]bool, error) {
	list, err := r.latest(ctx, ifid, f, probe)
	if err != nil {
		return 0, nil, err
	}
	var rows []AlertRow
	probes := map[string]bool{}
	for _, v := range list {
		if !f.Match(&v.a) || (!del && v.a.Acknowledged) {
			continue
		}
		probes[v.probe] = true
		a := v.a
		if !del {
			a.Acknowledged = true
		}
		row := alertRow(0, v.probe, &a)
		if del {
			row.Deleted = 1
		}
		rows = append(rows, row)
	}
	if f.RowID != 0 && len(probes) > 1 {
		return 0, nil, ErrAmbiguousRowID
	}
	changed := len(rows)
	for len(rows) > 0 {
		n := min(len(rows), actionBatchRows)
		b, err := r.conn.PrepareBatch(ctx, alertsTable.insert(r.db))
		if err != nil {
			return 0, nil, fmt.Errorf("alert actions to clickhouse: %w", err)
		}
		for i := range rows[:n] {
			if err := b.Append(rows[i].values()...); err != nil {
				return 0, nil, fmt.Errorf("alert actions to clickhouse: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return 0, nil, fmt.Errorf("alert actions to clickhouse: %w", err)
		}
		rows = rows[n:]
	}
	return changed, probes, nil
}

// version is the latest state of one alert of one probe.
type version struct {
	probe string
	a     alert.Alert
}

// latest reads the latest state of every alert of ifid raised in f's
// time range, of probe (empty: every probe), leaving out deleted ones, in
// the archive's order: time raised, then row id (then probe, for a fleet
// whose probes number their alerts alike).
func (r *Reader) latest(ctx context.Context, ifid int, f alert.Filter, probe string) ([]*version, error) {
	to := f.To
	if to == 0 {
		to = 1<<62 - 1
	}
	s := &sqlb{}
	s.w("SELECT NTOPNG_INSTANCE_NAME, ROWID, JSON, DELETED FROM ", r.db, ".alerts WHERE INTERFACE_ID = ")
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
		return nil, fmt.Errorf("alerts from clickhouse: %w", err)
	}
	defer rows.Close()
	type key struct {
		probe string
		id    uint64
	}
	latest := map[key]*version{}
	deleted := map[key]bool{}
	n := 0
	for rows.Next() {
		var k key
		var raw string
		var gone uint8
		if err := rows.Scan(&k.probe, &k.id, &raw, &gone); err != nil {
			return nil, fmt.Errorf("alerts from clickhouse: %w", err)
		}
		if n++; n > maxAlertRows {
			return nil, ErrTooManyAlerts
		}
		if gone != 0 {
			deleted[k] = true
			continue
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
		return nil, fmt.Errorf("alerts from clickhouse: %w", err)
	}
	list := make([]*version, 0, len(latest))
	for k, v := range latest {
		if !deleted[k] {
			list = append(list, v)
		}
	}
	slices.SortFunc(list, func(x, y *version) int {
		return cmp.Or(cmp.Compare(x.a.Tstamp, y.a.Tstamp), cmp.Compare(x.a.RowID, y.a.RowID), cmp.Compare(x.probe, y.probe))
	})
	return list, nil
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
