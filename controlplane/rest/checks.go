package rest

import (
	"encoding/json"
	"fmt"
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

// getChecksConfig answers ntopng's configset: every check under its
// subdir and hook with its switch and script_conf. With download set it
// is the bare document as a file, as ntopng's download link gives it.
func (s *Server) getChecksConfig(r *request) (RC, any) {
	if rc, rsp, ok := s.checksOrNotEnabled(r); !ok {
		return rc, rsp
	}
	cs := checks.ConfigSetOf(s.cfg.Checks.Config())
	if r.params["download"] != "" {
		body, err := json.Marshal(cs)
		if err != nil {
			return errorAnswer(fmt.Errorf("checks configuration: %w", err))
		}
		r.ctx.SetContentType("application/json")
		r.ctx.Response.Header.Set("Content-Disposition", `attachment; filename="checks_config.json"`)
		r.ctx.SetBody(body)
		return pageAnswer, nil
	}
	return RCOK, cs
}

// setChecksConfig applies a configset (set/checks/config's JSON
// parameter): the checks it names change, the others keep their
// configuration; a document with any error changes nothing.
func (s *Server) setChecksConfig(r *request) (RC, any) {
	if rc, rsp, ok := s.checksOrNotEnabled(r); !ok {
		return rc, rsp
	}
	doc, ok := r.params["JSON"]
	if !ok {
		return RCInvalidArguments, map[string]string{"error": "the checks configuration goes in the JSON parameter"}
	}
	changes, err := checks.ParseConfigSet([]byte(doc), s.cfg.Checks.Config())
	if err != nil {
		return errorAnswer(err)
	}
	if err := s.cfg.Checks.Set(changes); err != nil {
		return errorAnswer(err)
	}
	return RCOK, nil
}

// checkInfo is one line of the probe's own check list: what the console
// shows beside ntopng's configset (titles, units, what a list holds).
type checkInfo struct {
	Subdir           string      `json:"check_subdir"`
	Key              string      `json:"script_key"`
	Enabled          bool        `json:"enabled"`
	Title            string      `json:"title"`
	Description      string      `json:"description"`
	Severity         string      `json:"severity"`
	Alerts           []checkType `json:"alerts"`
	Threshold        *Num        `json:"threshold,omitempty"`
	DefaultThreshold *Num        `json:"default_threshold,omitempty"`
	Unit             string      `json:"unit,omitempty"`
	Items            *[]string   `json:"items,omitempty"`
	ItemsDescr       string      `json:"items_descr,omitempty"`
}

type checkType struct {
	Key  int    `json:"key"`
	Type string `json:"type"`
}

// getChecksList is the probe's get/checks/list: every check with its
// title, description, alert types, severity, threshold and list.
func (s *Server) getChecksList(r *request) (RC, any) {
	if rc, rsp, ok := s.checksOrNotEnabled(r); !ok {
		return rc, rsp
	}
	cfg := s.cfg.Checks.Config()
	subdir := r.params["check_subdir"]
	out := []checkInfo{}
	for _, c := range checks.Catalogue() {
		if subdir != "" && string(c.Subdir) != subdir {
			continue
		}
		set := cfg[c.Key]
		ci := checkInfo{
			Subdir: string(c.Subdir), Key: c.Key, Enabled: set.Enabled,
			Title: alert.MetaOf(c.Types[0]).Title, Description: c.Descr, Alerts: []checkType{},
			Severity: alert.SeverityForScore(alert.MetaOf(c.Types[0]).Score).Name(),
		}
		for _, t := range c.Types {
			d, _ := alert.Lookup(t)
			ci.Alerts = append(ci.Alerts, checkType{Key: t.ID, Type: d.Name})
		}
		if c.Unit != "" {
			th, def := Num(set.Threshold), Num(c.Threshold)
			ci.Threshold, ci.DefaultThreshold, ci.Unit = &th, &def, c.Unit
		}
		if c.Items != "" {
			items := append([]string{}, set.Items...)
			ci.Items, ci.ItemsDescr = &items, c.Items
		}
		out = append(out, ci)
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
