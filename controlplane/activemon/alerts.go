package activemon

import (
	"time"

	"github.com/probe-appliance/probe/controlplane/alert"
)

// Engager engages and releases alerts raised outside the checks
// (checks.Engine.SetEngaged).
type Engager interface {
	SetEngaged(t alert.TypeID, entity alert.Entity, entityVal, info string, on bool, at int64)
}

// AlertType is ntopng's alert_am_threshold_cross.
var AlertType = alert.TypeID{Family: alert.FamilyOther, ID: alert.OtherAMThresholdCross}

// Alerts returns the scheduler hooks that keep one am_host alert per host
// (entity value: the host key) engaged while its measurements cross the
// threshold, refreshed with the latest value, and released at the first
// measurement that does not, or when the host is removed.
func Alerts(e Engager) (onSample func(Host, Sample), onRemove func(Host, time.Time)) {
	onSample = func(h Host, s Sample) {
		info := ""
		if s.Alerted {
			info = Describe(h, s)
		}
		e.SetEngaged(AlertType, alert.EntityAMHost, h.Key(), info, s.Alerted, s.Time)
	}
	onRemove = func(h Host, at time.Time) {
		e.SetEngaged(AlertType, alert.EntityAMHost, h.Key(), "", false, at.Unix())
	}
	return onSample, onRemove
}
