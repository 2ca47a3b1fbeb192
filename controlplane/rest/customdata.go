package rest

import (
	"strings"

	"github.com/probe-appliance/probe/controlplane/flowtable"
)

// fieldAlias is one entry of field_alias: "field" or "field=alias".
type fieldAlias struct{ field, alias string }

func parseFieldAlias(s string) []fieldAlias {
	var out []fieldAlias
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f, a, ok := strings.Cut(part, "=")
		if !ok {
			a = f
		}
		out = append(out, fieldAlias{f, a})
	}
	return out
}

// getHostCustomData is get/host/custom_data (ntopng-exporter's call): the
// chosen get/host/data fields, renamed as asked, of one host or of every
// host.
func (s *Server) getHostCustomData(r *request) (RC, any) {
	ifc, rc := s.ifaceFor(r, r.params)
	if rc != RCOK {
		return rc, nil
	}
	var fields []fieldAlias
	if v, ok := r.params["field_alias"]; ok {
		if fields = parseFieldAlias(v); len(fields) == 0 {
			return RCInvalidArguments, nil
		}
	}
	pick := func(h *flowtable.Host, v flowtable.View) any {
		full := hostData(ifc, h, v, s.cfg.LocalNets)
		full.setGeo(s.geo(h.Key.Addr))
		if fields == nil {
			return full
		}
		out := make(map[string]any, len(fields))
		for _, fa := range fields {
			if val, ok := full.field(fa.field); ok {
				out[fa.alias] = val
			}
		}
		return out
	}
	if r.params.Has("host") {
		key, ok := parseHostParam(r.params)
		if !ok {
			return RCInvalidArguments, nil
		}
		if !r.vis.seesHost(key) {
			return RCNotGranted, nil
		}
		var out any
		ifc.Table.View(func(v flowtable.View) {
			if h := v.Host(key); h != nil {
				out = pick(h, v)
			}
		})
		if out == nil {
			return RCNotFound, nil
		}
		return RCOK, out
	}
	out := []any{}
	ifc.Table.View(func(v flowtable.View) {
		v.AscendHosts(func(h *flowtable.Host) bool {
			if r.vis.seesHost(h.Key) {
				out = append(out, pick(h, v))
			}
			return true
		})
	})
	return RCOK, out
}
