package rest

import (
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/alert"
	"github.com/probe-appliance/probe/controlplane/checks"
)

// Check configuration: get/checks/config, enable|disable/check, the
// probe's edit/check/config for thresholds and lists, and ntopng's
// toggle_all_checks page.

func (s *Server) checksOrNotEnabled(r *request) (RC, any, bool) {
	if !r.admin {
		return RCNotGranted, nil, false
	}
	if s.cfg.Checks == nil {
		return RCNotEnabled, map[string]string{"error": "alerting is not running in this process"}, false
	}
	return RCOK, nil, true
}

func (s *Server) getChecksConfig(r *request) (RC, any) {
	if rc, rsp, ok := s.checksOrNotEnabled(r); !ok {
		return rc, rsp
	}
	cfg := s.cfg.Checks.Config()
	subdir := r.params["check_subdir"]
	out := []map[string]any{}
	for _, c := range checks.Catalogue() {
		if subdir != "" && string(c.Subdir) != subdir {
			continue
		}
		set := cfg[c.Key]
		keys := []map[string]any{}
		for _, t := range c.Types {
			d, _ := alert.Lookup(t)
			keys = append(keys, map[string]any{"key": t.ID, "type": d.Name})
		}
		m := map[string]any{
			"check_subdir": string(c.Subdir), "script_key": c.Key, "enabled": set.Enabled,
			"title": alert.MetaOf(c.Types[0]).Title, "description": c.Descr, "alerts": keys,
			"severity": alert.SeverityForScore(alert.MetaOf(c.Types[0]).Score).Name(),
		}
		if c.Unit != "" {
			m["threshold"], m["unit"], m["default_threshold"] = Num(set.Threshold), c.Unit, Num(c.Threshold)
		}
		if c.Items != "" {
			items := set.Items
			if items == nil {
				items = []string{}
			}
			m["items"], m["items_descr"] = items, c.Items
		}
		out = append(out, m)
	}
	return RCOK, out
}

// checkArgs resolves check_subdir and script_key.
func checkArgs(r *request) (checks.Check, RC, any) {
	subdir, key := r.params["check_subdir"], r.params["script_key"]
	if subdir == "" || key == "" {
		return checks.Check{}, RCInvalidArguments, map[string]string{"error": "check_subdir and script_key are required"}
	}
	c, ok := checks.Lookup(checks.Subdir(subdir), key)
	if !ok {
		return c, RCNotFound, map[string]string{"error": "no check " + subdir + "/" + key}
	}
	return c, RCOK, nil
}

func (s *Server) enableCheck(on bool) handler {
	return func(r *request) (RC, any) {
		if rc, rsp, ok := s.checksOrNotEnabled(r); !ok {
			return rc, rsp
		}
		c, rc, rsp := checkArgs(r)
		if rc != RCOK {
			return rc, rsp
		}
		if err := s.cfg.Checks.Enable(c.Subdir, c.Key, on); err != nil {
			return errorAnswer(err)
		}
		return RCOK, nil
	}
}

// editCheckConfig sets a check's threshold, list and switch; parameters
// left out keep their value.
func (s *Server) editCheckConfig(r *request) (RC, any) {
	if rc, rsp, ok := s.checksOrNotEnabled(r); !ok {
		return rc, rsp
	}
	c, rc, rsp := checkArgs(r)
	if rc != RCOK {
		return rc, rsp
	}
	set := s.cfg.Checks.Config()[c.Key]
	if v, ok := r.params["enabled"]; ok {
		set.Enabled = v == "true" || v == "1"
	}
	if v, ok := r.params["threshold"]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return RCInvalidArguments, map[string]string{"error": "threshold must be a number"}
		}
		set.Threshold = f
	}
	if v, ok := r.params["items"]; ok {
		set.Items = nil
		for _, it := range strings.Split(v, ",") {
			if it = strings.TrimSpace(it); it != "" {
				set.Items = append(set.Items, it)
			}
		}
	}
	if err := s.cfg.Checks.Set(map[string]checks.Setting{c.Key: set}); err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// toggleAllChecks is the page ntopng's test suite calls before reading a
// capture: action enable or disable turns every check on or off.
func (s *Server) toggleAllChecks(r *request) (RC, any) {
	if !r.admin {
		return RCNotGranted, nil
	}
	on := true
	switch r.params["action"] {
	case "enable", "":
	case "disable":
		on = false
	default:
		return RCInvalidArguments, map[string]string{"error": "action must be enable or disable"}
	}
	if s.cfg.Checks != nil {
		if err := s.cfg.Checks.EnableAll(on); err != nil {
			return errorAnswer(err)
		}
	}
	r.ctx.SetContentType("application/json")
	r.ctx.SetBodyString(`{"success":true}`)
	return pageAnswer, nil
}
