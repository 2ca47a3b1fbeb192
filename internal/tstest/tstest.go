// Package tstest opens the time-series stores tests write to.
package tstest

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/controlplane/timeseries"
)

// Open is a time-series DB on a store on disk in the test's temporary
// directory; the store is closed when the test ends.
func Open(t testing.TB) (*store.Store, *timeseries.DB) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := timeseries.Open(st, timeseries.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st, db
}
