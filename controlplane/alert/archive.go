package alert

import (
	"fmt"
	"sync/atomic"

	"github.com/probe-appliance/probe/controlplane/store"
)

// Archive keeps alerts in the store: historical ones for good (until
// retention), engaged ones too, rewritten when released, so that a crash
// loses no alert and a restart can close what was left engaged.
type Archive struct {
	st       *store.Store
	onPut    atomic.Pointer[func(a *Alert)]
	onDelete atomic.Pointer[func(a *Alert)]
}

// OnPut makes fn see every alert stored from now on (raised, changed,
// released, acknowledged), after it is stored, as a copy: the feed of the
// ClickHouse sink, whose alerts table follows the archive. fn must not
// block. Deletions go to OnDelete's fn.
func (ar *Archive) OnPut(fn func(a *Alert)) { ar.onPut.Store(&fn) }

// OnDelete makes fn see every alert an operator deletes from now on,
// after the deletion is stored, as a copy: the ClickHouse sink writes the
// alert's tombstone so the fleet's lists drop it too. Retention is not
// passed on (ClickHouse keeps its own). fn must not block.
func (ar *Archive) OnDelete(fn func(a *Alert)) { ar.onDelete.Store(&fn) }

// NewArchive wraps a store.
func NewArchive(st *store.Store) *Archive { return &Archive{st: st} }

// Put stores a, giving it a row id first if it has none. Rewriting an alert
// (same row id and Tstamp) replaces it.
func (ar *Archive) Put(a *Alert) error { return ar.PutAll([]*Alert{a}) }

// PutAll stores several alerts in one batch, giving row ids to new ones.
func (ar *Archive) PutAll(as []*Alert) error {
	keys := make([]store.AlertKey, 0, len(as))
	// Every record goes into one buffer, sliced once it stops growing: a
	// pass that raised thousands pays one allocation, not one per alert.
	ends := make([]int, 0, len(as))
	size := 0
	for _, a := range as {
		size += recordSize(a)
	}
	buf := make([]byte, 0, size)
	for _, a := range as {
		if a.RowID == 0 {
			id, err := ar.st.NextAlertID()
			if err != nil {
				return err
			}
			a.RowID = id
		}
		var err error
		if buf, err = appendRecord(buf, a); err != nil {
			return fmt.Errorf("alert %d: encode: %w", a.RowID, err)
		}
		keys = append(keys, store.AlertKey{IfID: uint16(a.IfID), Tstamp: a.Tstamp, ID: a.RowID})
		ends = append(ends, len(buf))
	}
	vals := make([][]byte, len(as))
	start := 0
	for i, end := range ends {
		vals[i] = buf[start:end:end]
		start = end
	}
	if err := ar.st.PutAlerts(keys, vals); err != nil {
		return err
	}
	if fn := ar.onPut.Load(); fn != nil {
		for _, a := range as {
			cp := *a
			(*fn)(&cp)
		}
	}
	return nil
}

// Filter selects alerts. Zero fields select everything.
type Filter struct {
	From, To    int64 // unix s, [From, To); To 0 = no end
	Family      *Family
	Entity      *Entity
	TypeID      *int
	MinSeverity Severity
	Severity    *Severity
	Engaged     *bool
	EntityVal   string
	RowID       uint64 // one alert
	// Flows selects flow alerts (true) or the others (false).
	Flows *bool
}

// Match tells whether f selects a.
func (f *Filter) Match(a *Alert) bool { return f.match(a) }

func (f *Filter) match(a *Alert) bool {
	switch {
	case f.Family != nil && a.Family != *f.Family,
		f.Entity != nil && a.Entity != *f.Entity,
		f.TypeID != nil && a.TypeID != *f.TypeID,
		a.Severity < f.MinSeverity,
		f.Severity != nil && a.Severity != *f.Severity,
		f.Engaged != nil && a.Engaged != *f.Engaged,
		f.EntityVal != "" && a.EntityVal != f.EntityVal,
		f.RowID != 0 && a.RowID != f.RowID,
		f.Flows != nil && (a.Family == FamilyFlow) != *f.Flows:
		return false
	}
	return true
}

// Scan calls fn for the stored alerts of ifid that match f, oldest first.
func (ar *Archive) Scan(ifid int, f Filter, fn func(a *Alert) error) error {
	to := f.To
	if to == 0 {
		to = 1<<62 - 1
	}
	return ar.st.ScanAlerts(uint16(ifid), f.From, to, func(k store.AlertKey, raw []byte) error {
		var a Alert
		if err := decodeRecord(raw, &a); err != nil {
			return fmt.Errorf("alert %d: decode: %w", k.ID, err)
		}
		if !f.match(&a) {
			return nil
		}
		return fn(&a)
	})
}

// Delete removes the alerts of ifid that match f and returns how many.
func (ar *Archive) Delete(ifid int, f Filter) (int, error) {
	var keys []store.AlertKey
	var gone []Alert
	fn := ar.onDelete.Load()
	err := ar.Scan(ifid, f, func(a *Alert) error {
		keys = append(keys, store.AlertKey{IfID: uint16(a.IfID), Tstamp: a.Tstamp, ID: a.RowID})
		if fn != nil {
			gone = append(gone, *a)
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	if err := ar.st.DeleteAlerts(keys); err != nil {
		return 0, err
	}
	for i := range gone {
		(*fn)(&gone[i])
	}
	return len(keys), nil
}

// Acknowledge marks the alerts of ifid that match f as acknowledged and
// returns how many changed.
func (ar *Archive) Acknowledge(ifid int, f Filter) (int, error) {
	return ar.rewrite(ifid, f, func(a *Alert) bool {
		if a.Acknowledged {
			return false
		}
		a.Acknowledged = true
		return true
	})
}

// CloseEngaged marks every alert of ifid still stored as engaged as
// released at its last known time: what a previous run left open when it
// stopped (or crashed) is history now. It returns how many it closed.
func (ar *Archive) CloseEngaged(ifid int) (int, error) {
	yes := true
	return ar.rewrite(ifid, Filter{Engaged: &yes}, func(a *Alert) bool {
		a.Engaged = false
		return true
	})
}

// rewrite applies change to the alerts of ifid that match f and stores,
// in one batch, those it changed; it returns how many.
func (ar *Archive) rewrite(ifid int, f Filter, change func(a *Alert) bool) (int, error) {
	var changed []*Alert
	err := ar.Scan(ifid, f, func(a *Alert) error {
		if change(a) {
			changed = append(changed, a)
		}
		return nil
	})
	if err != nil || len(changed) == 0 {
		return 0, err
	}
	return len(changed), ar.PutAll(changed)
}

// ApplyRetention drops alerts older than before (unix s).
func (ar *Archive) ApplyRetention(before int64) (int, error) {
	return ar.st.DeleteAlertsBefore(before)
}
