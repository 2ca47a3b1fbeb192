package rest

import (
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
)

// acknowledge|delete/{am_host,mac,network,system,user}/alerts.lua: v1 has
// these for flows, hosts and interfaces only; v2 adds the other families.
// They select the stored (not engaged) alerts of the family in the time
// range, optionally one row_id, one alert_id and one severity (a plain
// value or ntopng's "value;eq"), and answer how many changed, as v1 does.
// The families kept on the system interface (am_host, system, user) are
// changed there, whatever ifid names.
var v2ActionFamilies = map[string]struct {
	entity alert.Entity
	system bool
}{
	"am_host": {alert.EntityAMHost, true},
	"mac":     {alert.EntityMAC, false},
	"network": {alert.EntityNetwork, false},
	"system":  {alert.EntitySystem, true},
	"user":    {alert.EntityUser, true},
}

// eqValue is a filter's value when it is a plain value or "value;eq".
func eqValue(p Params, name string) (string, bool) {
	v, ok := p[name]
	if !ok {
		return "", false
	}
	val, op, _ := strings.Cut(v, ";")
	return val, op == "" || op == "eq"
}

func (s *Server) v2AlertAction(family string, del bool) handler {
	fam := v2ActionFamilies[family]
	return func(r *request) (RC, any) {
		q, rc, rsp := s.parseAlertQuery(r, "historical")
		if rc != RCOK {
			return rc, rsp
		}
		if s.cfg.Checks == nil {
			return RCNotEnabled, map[string]string{"error": "alerting is not running in this process"}
		}
		store := int(q.ifc.StoreID)
		if fam.system {
			store = checks.SystemIfID
		}
		f := q.filter
		no := false
		ent := fam.entity
		f.Engaged, f.Flows, f.Entity = &no, &no, &ent
		if v, ok := eqValue(r.params, "row_id"); ok {
			if id, err := strconv.ParseUint(v, 10, 64); err == nil && id > 0 {
				f.RowID = id
			} else {
				return RCInvalidArguments, map[string]string{"error": "row_id must be an alert's row id"}
			}
		}
		if v, ok := eqValue(r.params, "alert_id"); ok {
			if id, err := strconv.Atoi(v); err == nil {
				f.TypeID = &id
			}
		}
		if v, ok := eqValue(r.params, "severity"); ok {
			if sv, ok := alert.ParseSeverity(v); ok {
				f.Severity = &sv
			}
		}
		ar := s.cfg.Checks.Archive()
		var n int
		var err error
		if del {
			n, err = ar.Delete(store, f)
		} else {
			n, err = ar.Acknowledge(store, f)
		}
		if err != nil {
			return RCInternalError, map[string]string{"error": err.Error()}
		}
		return RCOK, countAnswer{Count: n}
	}
}
