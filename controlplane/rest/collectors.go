package rest

import (
	"encoding/json"
	"strconv"

	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Flow export collectors: those given on the command line (fixed) and
// those added over REST (part of the configuration export as module
// "export"); the calls translate HTTP to export.Service, which keeps them.

// Collectors is the collector service as the server holds it.
type Collectors struct{ *export.Service }

// NewCollectors is export.NewService for the server's configuration.
func NewCollectors(st *store.Store, e *export.Exporter, fixed []export.Collector) (*Collectors, error) {
	svc, err := export.NewService(st, e, fixed)
	if svc == nil {
		return nil, err
	}
	return &Collectors{svc}, err
}

func (s *Server) collectors(r *request) (*Collectors, RC, any) {
	if !r.admin {
		return nil, RCNotGranted, nil
	}
	if s.cfg.Collectors == nil {
		return nil, RCNotEnabled, map[string]string{"error": "flow export is not set up in this process"}
	}
	return s.cfg.Collectors, RCOK, nil
}

func (s *Server) getCollectors(r *request) (RC, any) {
	c, rc, rsp := s.collectors(r)
	if c == nil {
		return rc, rsp
	}
	stored, err := c.Stored()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	stats := map[int]export.CollectorStats{}
	for _, st := range c.Exporter().Stats() {
		stats[st.ID] = st
	}
	out := []map[string]any{}
	for i, list := range [][]export.Collector{c.Fixed(), stored} {
		for _, x := range list {
			out = append(out, map[string]any{"collector": x, "from_command_line": i == 0, "stats": stats[x.ID]})
		}
	}
	return RCOK, out
}

// collectorFromRequest reads a collector from a JSON body or parameters.
func collectorFromRequest(r *request) (export.Collector, error) {
	var x export.Collector
	if isJSONBody(r) {
		if err := json.Unmarshal(r.ctx.PostBody(), &x); err != nil {
			return x, badinput.Errorf("collector: %v", err)
		}
		return x, nil
	}
	p := r.params
	x.ID = p.Int("id", 0)
	x.Address, x.Transport, x.Protocol = p["address"], p["transport"], p["protocol"]
	if v, ok := p["observation_domain"]; ok {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return x, badinput.Errorf("observation_domain: %q is not a 32-bit number", v)
		}
		x.ObservationDomain = uint32(n)
	}
	x.TemplateRefresh = p.Int("template_refresh", 0)
	x.MTU = p.Int("mtu", 0)
	return x, nil
}

func (s *Server) addCollector(edit bool) handler {
	return func(r *request) (RC, any) {
		c, rc, rsp := s.collectors(r)
		if c == nil {
			return rc, rsp
		}
		x, err := collectorFromRequest(r)
		if err != nil {
			return errorAnswer(err)
		}
		if edit && c.IsFixed(x.ID) {
			return RCInvalidArguments, map[string]string{"error": "collectors given on the command line cannot be changed here"}
		}
		if edit {
			err = c.Edit(x)
		} else {
			x.ID, err = c.Add(x)
		}
		if err != nil {
			return errorAnswer(err)
		}
		return RCOK, map[string]any{"id": x.ID}
	}
}

func (s *Server) deleteCollector(r *request) (RC, any) {
	c, rc, rsp := s.collectors(r)
	if c == nil {
		return rc, rsp
	}
	id := r.params.Int("id", 0)
	if c.IsFixed(id) {
		return RCInvalidArguments, map[string]string{"error": "collectors given on the command line cannot be removed here"}
	}
	err := c.Delete(id)
	if err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// module is the collectors' part of the configuration export.
func (c *Collectors) module() ConfigModule {
	return ConfigModule{
		Export: func() (any, error) { return c.Export() },
		Import: func(raw json.RawMessage) (bool, error) {
			var in []export.Collector
			if err := json.Unmarshal(raw, &in); err != nil {
				return false, badinput.Errorf("export: %v", err)
			}
			return c.Import(in)
		},
		Reset: c.Reset,
	}
}
