package rest

import (
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/activemon"
	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Active monitoring: the monitored hosts are kept by activemon.Service and
// measured by its scheduler; the configuration is ntopng's
// active_monitoring module (export/import/reset, and part of the pool
// export). ntopng's v1 API has no call to add a host, so the probe adds
// add|edit|delete/active_monitoring/host.lua, get/active_monitoring/hosts.lua
// and get/active_monitoring/host/ts.lua, and serves
// get/am_host/alert/list.lua as ntopng's UI does.

// ActiveMonitoring is the active monitoring service as the server holds it.
type ActiveMonitoring struct{ *activemon.Service }

// NewActiveMonitoring is activemon.NewService for the server's configuration.
func NewActiveMonitoring(st *store.Store, sched *activemon.Scheduler, log *slog.Logger) (*ActiveMonitoring, error) {
	svc, err := activemon.NewService(st, sched, log)
	if svc == nil {
		return nil, err
	}
	return &ActiveMonitoring{svc}, err
}

// module is the active_monitoring configuration: an object of host key
// ("<measurement>@<host>") to host configuration. An import replaces the
// hosts with the file's; hosts that do not validate are skipped and make
// it a PARTIAL_IMPORT.
func (a *ActiveMonitoring) module() ConfigModule {
	return ConfigModule{
		Export: func() (any, error) { return a.Hosts() },
		Import: func(raw json.RawMessage) (bool, error) { return a.Import(raw) },
		Reset:  a.Reset,
	}
}

func (s *Server) activeMonitoring(r *request, write bool) (*ActiveMonitoring, RC, any) {
	if write && !r.admin || !r.vis.seesSystem() {
		// Measured hosts belong to the system interface: a user limited
		// in networks or interface does not see them.
		return nil, RCNotGranted, nil
	}
	if s.cfg.ActiveMonitoring == nil {
		return nil, RCNotEnabled, map[string]string{"error": "active monitoring is not set up in this process"}
	}
	return s.cfg.ActiveMonitoring, RCOK, nil
}

// amArg reads a parameter the shared parameter whitelist does not carry
// (host names and URLs as hosts, measurement, granularity, label): from
// the query or a form body, bounded like every parameter. Host.Validate
// checks the values.
func amArg(r *request, name string) string {
	v := r.ctx.QueryArgs().Peek(name)
	if strings.HasPrefix(string(r.ctx.Request.Header.ContentType()), "application/x-www-form-urlencoded") {
		if pv := r.ctx.PostArgs().Peek(name); pv != nil {
			v = pv
		}
	}
	if len(v) > maxParamValue {
		return ""
	}
	return string(v)
}

// amHostFromRequest reads a host: a JSON body (the host object, as the
// export carries it) or the parameters host, measurement, threshold,
// granularity, label and pool.
func amHostFromRequest(r *request) (activemon.Host, error) {
	var h activemon.Host
	if isJSONBody(r) {
		if err := json.Unmarshal(r.ctx.PostBody(), &h); err != nil {
			return h, badinput.Errorf("active monitoring host: %v", err)
		}
		return h, nil
	}
	h.Host, h.Measurement, h.Granularity = amArg(r, "host"), amArg(r, "measurement"), amArg(r, "granularity")
	h.Label, h.Pool = amArg(r, "label"), amArg(r, "pool")
	if v := amArg(r, "threshold"); v != "" {
		t, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return h, badinput.Errorf("threshold %q is not a number", v)
		}
		h.Threshold = t
	}
	return h, nil
}

// amKeyFromRequest is the host a call names: am_host (the key) or host and
// measurement.
func amKeyFromRequest(r *request) (string, bool) {
	if k := amArg(r, "am_host"); k != "" {
		return k, true
	}
	if isJSONBody(r) {
		var h activemon.Host
		if json.Unmarshal(r.ctx.PostBody(), &h) == nil && h.Host != "" && h.Measurement != "" {
			return h.Key(), true
		}
		return "", false
	}
	h, m := amArg(r, "host"), amArg(r, "measurement")
	return activemon.Key(m, h), h != "" && m != ""
}

// amAddHost serves add/active_monitoring/host.lua (edit: edit/...): the
// host must not be monitored yet (edit: must be).
func (s *Server) amAddHost(edit bool) handler {
	return func(r *request) (RC, any) {
		a, rc, rsp := s.activeMonitoring(r, true)
		if a == nil {
			return rc, rsp
		}
		h, err := amHostFromRequest(r)
		if err == nil {
			err = h.Validate()
		}
		if err != nil {
			return RCInvalidArguments, map[string]string{"error": err.Error()}
		}
		if edit {
			err = a.Edit(h)
		} else {
			err = a.Add(h)
		}
		if err != nil {
			return errorAnswer(err)
		}
		return RCOK, map[string]string{"am_host": h.Key()}
	}
}

// amDeleteHost serves delete/active_monitoring/host.lua.
func (s *Server) amDeleteHost(r *request) (RC, any) {
	a, rc, rsp := s.activeMonitoring(r, true)
	if a == nil {
		return rc, rsp
	}
	key, ok := amKeyFromRequest(r)
	if !ok {
		return RCInvalidArguments, map[string]string{"error": "name the host: am_host (<measurement>@<host>), or host and measurement"}
	}
	err := a.Delete(key)
	if err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// amHostStatus is one host of get/active_monitoring/hosts.lua.
type amHostStatus struct {
	activemon.Status
	Unit string `json:"unit"`
}

// amGetHosts serves get/active_monitoring/hosts.lua: every host with its
// configuration and last measurement (null before the first).
func (s *Server) amGetHosts(r *request) (RC, any) {
	a, rc, rsp := s.activeMonitoring(r, false)
	if a == nil {
		return rc, rsp
	}
	out := []amHostStatus{}
	for _, st := range a.Scheduler().Hosts() {
		out = append(out, amHostStatus{st, activemon.Unit(st.Measurement)})
	}
	return RCOK, out
}

// amHostTS serves get/active_monitoring/host/ts.lua: the stored samples of
// one host in [epoch_begin, epoch_end].
func (s *Server) amHostTS(r *request) (RC, any) {
	a, rc, rsp := s.activeMonitoring(r, false)
	if a == nil {
		return rc, rsp
	}
	key, ok := amKeyFromRequest(r)
	if !ok {
		return RCInvalidArguments, map[string]string{"error": "name the host: am_host (<measurement>@<host>), or host and measurement"}
	}
	from, to := int64(r.params.Int("epoch_begin", 0)), int64(r.params.Int("epoch_end", 0))
	if to != 0 && to < from {
		return RCInvalidArguments, map[string]string{"error": "epoch_end is before epoch_begin"}
	}
	out, err := a.Samples(key, from, to)
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, out
}

// amAlertList serves get/am_host/alert/list.lua: get/all/alert/list.lua
// for the am_host entity. Active monitoring alerts belong to the system
// interface (ifid -1), the default here.
func (s *Server) amAlertList(r *request) (RC, any) {
	if _, ok := r.params["ifid"]; !ok {
		r.params["ifid"] = "-1"
	}
	q, rc, rsp := s.parseAlertQuery(r, "historical")
	if rc != RCOK {
		return rc, rsp
	}
	if q.status == "historical-flows" {
		q.status = "historical"
	}
	ent := alert.EntityAMHost
	q.filter.Entity = &ent
	list, err := s.alerts(q)
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	total := len(list)
	start := min(max(r.params.Int("start", 0), 0), total)
	end := total
	if length := r.params.Int("length", total); length >= 0 && start+length < total {
		end = start + length
	}
	now := s.cfg.Now().Unix()
	records := make([]any, 0, end-start)
	for i := start; i < end; i++ {
		records = append(records, s.alertRecord(&list[i], now))
	}
	return RCOK, extended{rsp: map[string]any{"records": records}, extra: map[string]any{"recordsTotal": total, "recordsFiltered": total}}
}

// addActiveMonitoringRoutes adds the active monitoring calls (the
// configuration module's are with the others in buildRoutes).
func (s *Server) addActiveMonitoringRoutes(t routeTable) {
	const v1 = restPrefix
	t.write(v1+"add/active_monitoring/host.lua", roleAdmin, capNone, s.amAddHost(false))
	t.write(v1+"edit/active_monitoring/host.lua", roleAdmin, capNone, s.amAddHost(true))
	t.write(v1+"delete/active_monitoring/host.lua", roleAdmin, capNone, s.amDeleteHost)
	t.read(v1+"get/active_monitoring/hosts.lua", roleUser, capNone, s.amGetHosts)
	t.read(v1+"get/active_monitoring/host/ts.lua", roleUser, capNone, s.amHostTS)
	t.read(v1+"get/am_host/alert/list.lua", roleUser, capAlerts, s.amAlertList)
}
