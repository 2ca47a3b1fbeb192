package checks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/probe-appliance/probe/internal/badinput"
)

// ConfigSet is the checks configuration as ntopng writes it (its
// "configset"): get/checks/config answers it, set/checks/config and the
// scripts module of import/export read and write it. Each check sits
// under its subdir and the hook ntopng runs it on, with its switch and
// its script_conf (threshold_cross checks: operator and threshold; list
// checks: items):
//
//	{"config":{"flow":{"elephant_flow":{"all":{"enabled":true,"script_conf":{"operator":"gt","threshold":1073741824}}}}}}
type ConfigSet struct {
	Config map[Subdir]map[string]map[string]HookConf `json:"config"`
}

// HookConf is one check's configuration on one hook.
type HookConf struct {
	Enabled    bool       `json:"enabled"`
	ScriptConf ScriptConf `json:"script_conf"`
}

// ScriptConf holds what a check takes; the pointers tell "not given"
// from zero or empty, so a partial document changes only what it names.
type ScriptConf struct {
	Operator  string    `json:"operator,omitempty"`
	Threshold *float64  `json:"threshold,omitempty"`
	Items     *[]string `json:"items,omitempty"`
}

// Hook is the hook ntopng runs a check of this subdir on: flow checks run
// on every flow update ("all", as ntopng's FlowChecksLoader reads it),
// host and interface checks each minute ("min").
func (s Subdir) Hook() string {
	if s == SubdirFlow {
		return "all"
	}
	return "min"
}

// ConfigSetOf writes a configuration as a ConfigSet listing every check.
func ConfigSetOf(cfg map[string]Setting) ConfigSet {
	cs := ConfigSet{Config: map[Subdir]map[string]map[string]HookConf{}}
	for _, c := range catalogue {
		s, ok := cfg[c.Key]
		if !ok {
			s = Setting{Enabled: c.Enabled, Threshold: c.Threshold}
		}
		var sc ScriptConf
		if c.Unit != "" {
			t := s.Threshold
			sc.Operator, sc.Threshold = "gt", &t
		}
		if c.Items != "" {
			items := append([]string{}, s.Items...)
			sc.Items = &items
		}
		if cs.Config[c.Subdir] == nil {
			cs.Config[c.Subdir] = map[string]map[string]HookConf{}
		}
		cs.Config[c.Subdir][c.Key] = map[string]HookConf{c.Subdir.Hook(): {Enabled: s.Enabled, ScriptConf: sc}}
	}
	return cs
}

// maxConfigSetChecks bounds a document before anything is looked up.
const maxConfigSetChecks = 1024

// Changes reads a ConfigSet against the current configuration: every
// check it names gets the switch and the values it gives, the rest of
// that check's settings are kept. Unknown subdirs, checks, hooks and
// operators, and values a check does not take, are refused as a whole:
// nothing applies unless everything does.
func (cs ConfigSet) Changes(current map[string]Setting) (map[string]Setting, error) {
	if cs.Config == nil {
		return nil, badinput.Errorf("checks configuration: no \"config\" object")
	}
	n := 0
	for _, checks := range cs.Config {
		n += len(checks)
	}
	if n > maxConfigSetChecks {
		return nil, badinput.Errorf("checks configuration: %d checks, at most %d", n, maxConfigSetChecks)
	}
	out := map[string]Setting{}
	for _, subdir := range sortedSubdirs(cs.Config) {
		for key, hooks := range cs.Config[subdir] {
			c, ok := Lookup(subdir, key)
			if !ok {
				return nil, badinput.Wrap(fmt.Errorf("%w: %s/%s", ErrUnknownCheck, subdir, key))
			}
			if len(hooks) != 1 {
				return nil, badinput.Errorf("check %s/%s: one hook, %q, expected; got %d", subdir, key, subdir.Hook(), len(hooks))
			}
			hc, ok := hooks[subdir.Hook()]
			if !ok {
				return nil, badinput.Errorf("check %s/%s runs on hook %q", subdir, key, subdir.Hook())
			}
			s, ok := current[key]
			if !ok {
				s = Setting{Enabled: c.Enabled, Threshold: c.Threshold}
			}
			s.Enabled = hc.Enabled
			sc := hc.ScriptConf
			if sc.Operator != "" && sc.Operator != "gt" {
				return nil, badinput.Errorf("check %s/%s: operator %q, this probe compares with \"gt\"", subdir, key, sc.Operator)
			}
			if sc.Operator != "" && c.Unit == "" {
				return nil, badinput.Errorf("check %s takes no threshold", key)
			}
			if sc.Threshold != nil {
				if c.Unit == "" {
					return nil, badinput.Errorf("check %s takes no threshold", key)
				}
				s.Threshold = *sc.Threshold
			}
			if sc.Items != nil {
				if c.Items == "" {
					return nil, badinput.Errorf("check %s takes no list", key)
				}
				s.Items = append([]string(nil), *sc.Items...)
				if len(s.Items) == 0 {
					s.Items = nil
				}
			}
			if err := s.Validate(c); err != nil {
				return nil, err
			}
			out[key] = s
		}
	}
	return out, nil
}

func sortedSubdirs(m map[Subdir]map[string]map[string]HookConf) []Subdir {
	out := make([]Subdir, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ParseConfigSet reads a ConfigSet, refusing fields it does not know so
// that a misspelt key is an error rather than silently ignored. Earlier
// builds exported the scripts module as {"<script_key>": Setting}; that
// form is still read, so their files import.
func ParseConfigSet(raw []byte, current map[string]Setting) (map[string]Setting, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, badinput.Errorf("checks configuration: %v", err)
	}
	if len(probe) == 0 {
		return map[string]Setting{}, nil
	}
	if _, ok := probe["config"]; !ok {
		var old map[string]Setting
		if err := json.Unmarshal(raw, &old); err != nil {
			return nil, badinput.Errorf("checks configuration: %v", err)
		}
		return old, nil
	}
	var cs ConfigSet
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cs); err != nil {
		return nil, badinput.Errorf("checks configuration: %v", err)
	}
	return cs.Changes(current)
}
