package rest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/probe-appliance/probe/controlplane/export"
	"github.com/probe-appliance/probe/controlplane/store"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Flow export collectors: those given on the command line (fixed) and
// those added over REST (kept in the store, part of the configuration
// export as module "export"); the exporter gets both.

const (
	exportNS      = "export"
	collectorsKey = "collectors"
)

// Collectors is the persisted collector setup.
type Collectors struct {
	mu    sync.Mutex
	st    *store.Store
	e     *export.Exporter
	fixed []export.Collector
}

// NewCollectors applies the fixed collectors and the stored ones to e.
func NewCollectors(st *store.Store, e *export.Exporter, fixed []export.Collector) (*Collectors, error) {
	c := &Collectors{st: st, e: e, fixed: fixed}
	stored, err := c.load()
	if err != nil {
		return nil, err
	}
	return c, e.SetCollectors(append(append([]export.Collector(nil), fixed...), stored...))
}

// Exporter is where flows go.
func (c *Collectors) Exporter() *export.Exporter { return c.e }

func (c *Collectors) load() ([]export.Collector, error) {
	var out []export.Collector
	if _, err := c.st.Get(exportNS, collectorsKey, &out); err != nil {
		return nil, fmt.Errorf("loading flow collectors: %w", err)
	}
	return out, nil
}

// update edits the stored collectors; they are validated, stored and
// applied only if fn and validation succeed.
func (c *Collectors) update(fn func(cs *[]export.Collector) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs, err := c.load()
	if err != nil {
		return err
	}
	if err := fn(&cs); err != nil {
		return err
	}
	for _, x := range cs {
		if err := x.Validate(); err != nil {
			return err
		}
	}
	all := append(append([]export.Collector(nil), c.fixed...), cs...)
	if err := c.e.SetCollectors(all); err != nil {
		return err
	}
	return c.st.Put(exportNS, collectorsKey, cs)
}

func (c *Collectors) isFixed(id int) bool {
	for _, f := range c.fixed {
		if f.ID == id {
			return true
		}
	}
	return false
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
	stored, err := c.load()
	if err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	stats := map[int]export.CollectorStats{}
	for _, st := range c.e.Stats() {
		stats[st.ID] = st
	}
	out := []map[string]any{}
	for i, list := range [][]export.Collector{c.fixed, stored} {
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
		if edit && c.isFixed(x.ID) {
			return RCInvalidArguments, map[string]string{"error": "collectors given on the command line cannot be changed here"}
		}
		err = c.update(func(cs *[]export.Collector) error {
			if !edit {
				x.ID = 1
				for _, o := range *cs {
					x.ID = max(x.ID, o.ID+1)
				}
				*cs = append(*cs, x)
				return nil
			}
			for i, o := range *cs {
				if o.ID == x.ID {
					(*cs)[i] = x
					return nil
				}
			}
			return errNotFound
		})
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
	if c.isFixed(id) {
		return RCInvalidArguments, map[string]string{"error": "collectors given on the command line cannot be removed here"}
	}
	err := c.update(func(cs *[]export.Collector) error {
		for i, o := range *cs {
			if o.ID == id {
				*cs = append((*cs)[:i], (*cs)[i+1:]...)
				return nil
			}
		}
		return errNotFound
	})
	if err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// module is the collectors' part of the configuration export.
func (c *Collectors) module() ConfigModule {
	return ConfigModule{
		Export: func() (any, error) {
			cs, err := c.load()
			if cs == nil {
				cs = []export.Collector{}
			}
			return cs, err
		},
		// Collectors are matched by address, transport and protocol: one
		// already there is kept (a partial import).
		Import: func(raw json.RawMessage) (bool, error) {
			var in []export.Collector
			if err := json.Unmarshal(raw, &in); err != nil {
				return false, badinput.Errorf("export: %v", err)
			}
			partial := false
			err := c.update(func(cs *[]export.Collector) error {
				next := 1
				have := map[string]bool{}
				for _, o := range *cs {
					next = max(next, o.ID+1)
					have[o.Address+"/"+o.Transport+"/"+o.Protocol] = true
				}
				for _, x := range in {
					k := x.Address + "/" + x.Transport + "/" + x.Protocol
					if have[k] {
						partial = true
						continue
					}
					x.ID, have[k] = next, true
					next++
					*cs = append(*cs, x)
				}
				return nil
			})
			return partial, err
		},
		Reset: func() error {
			return c.update(func(cs *[]export.Collector) error { *cs = nil; return nil })
		},
	}
}
