package alert

import "github.com/probe-appliance/probe/controlplane/store"

// DeleteMatching removes the alerts of ifid that match f and match (a test
// Filter cannot express, such as either peer of a flow alert) and returns
// how many. Alert exclusions' delete_alerts uses it.
func (ar *Archive) DeleteMatching(ifid int, f Filter, match func(a *Alert) bool) (int, error) {
	var keys []store.AlertKey
	err := ar.Scan(ifid, f, func(a *Alert) error {
		if match(a) {
			keys = append(keys, store.AlertKey{IfID: uint16(a.IfID), Tstamp: a.Tstamp, ID: a.RowID})
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	return len(keys), ar.st.DeleteAlerts(keys)
}
