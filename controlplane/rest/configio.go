package rest

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/probe-appliance/probe/controlplane/checks"
	"github.com/probe-appliance/probe/controlplane/notify"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Configuration export, import and reset per module (ntopng's
// export|import|reset/<module>/config.lua): the file is
// {"version":"1.0","modules":{"<module>": <its configuration>}}; "all"
// carries every module's under modules.all.

const configVersion = "1.0"

// configEnvelope is the exported file.
type configEnvelope struct {
	Version string                     `json:"version"`
	Modules map[string]json.RawMessage `json:"modules"`
}

// ConfigModule is one exportable part of the configuration.
type ConfigModule struct {
	Export func() (any, error)
	// Import applies a module's configuration; partial reports elements
	// that already existed and were kept as they were.
	Import func(raw json.RawMessage) (partial bool, err error)
	Reset  func() error
}

// RCPartialImport and RCConfigMismatch are the import's own answers.
var (
	RCConfigMismatch = RC{-27, "CONFIGURATION_FILE_MISMATCH", "The uploaded file is not a valid configuration file!", 400}
	RCPartialImport  = RC{-28, "PARTIAL_IMPORT", "The configuration has been imported successfully, but some elements were already present and haven't be replaced.", 409}
)

// configGroups are modules exported and imported together (ntopng's pool
// configuration includes what pools are used by).
var configGroups = map[string][]string{"pool": {"pool", "snmp", "active_monitoring", "notifications", "scripts"}}

// configModules are the modules this process can export.
func (s *Server) configModules() map[string]ConfigModule {
	m := map[string]ConfigModule{}
	if s.cfg.Checks != nil {
		m["scripts"] = checksModule(s.cfg.Checks)
		m["alert_exclusions"] = exclusionsModule(s.cfg.Checks) // exclusions.go
	}
	if s.cfg.Notifications != nil {
		m["notifications"] = s.cfg.Notifications.module()
	}
	if s.cfg.Collectors != nil {
		m["export"] = s.cfg.Collectors.module()
	}
	if s.cfg.SNMP != nil {
		m["snmp"] = s.cfg.SNMP.module()
	}
	if s.cfg.Pools != nil {
		m["pool"] = s.poolsModule(s.cfg.Pools)
	}
	if s.cfg.Infra != nil {
		m["infrastructure"] = infraModule(s.cfg.Infra)
	}
	if s.cfg.ActiveMonitoring != nil {
		m["active_monitoring"] = s.cfg.ActiveMonitoring.module()
	}
	for name, mod := range s.cfg.ConfigModules {
		m[name] = mod
	}
	return m
}

func checksModule(e *checks.Engine) ConfigModule {
	return ConfigModule{
		Export: func() (any, error) { return checks.ConfigSetOf(e.Config()), nil },
		Import: func(raw json.RawMessage) (bool, error) {
			cfg, err := checks.ParseConfigSet(raw, e.Config())
			if err != nil {
				return false, fmt.Errorf("scripts: %w", err)
			}
			return false, e.Set(cfg)
		},
		Reset: e.Reset,
	}
}

func (n *Notifications) module() ConfigModule {
	return ConfigModule{
		Export: func() (any, error) { return n.Export() },
		Import: func(raw json.RawMessage) (bool, error) {
			var in notify.Setup
			if err := json.Unmarshal(raw, &in); err != nil {
				return false, badinput.Errorf("notifications: %v", err)
			}
			return n.Import(in)
		},
		Reset: n.Reset,
	}
}

// exportConfig serves export/<module>/config.lua.
func (s *Server) exportConfig(module string) handler {
	return func(r *request) (RC, any) {
		if !r.admin {
			return RCNotGranted, nil
		}
		mods := s.configModules()
		env := configEnvelope{Version: configVersion, Modules: map[string]json.RawMessage{}}
		add := func(into map[string]json.RawMessage, name string, mod ConfigModule) error {
			v, err := mod.Export()
			if err != nil {
				return fmt.Errorf("exporting %s: %w", name, err)
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("exporting %s: %w", name, err)
			}
			into[name] = raw
			return nil
		}
		if group, ok := configGroups[module]; ok && mods[module].Export != nil {
			// ntopng's export/pool/config.lua carries what pools are bound
			// to: the SNMP devices, notifications and checks too.
			for _, name := range group {
				if mod, ok := mods[name]; ok {
					if err := add(env.Modules, name, mod); err != nil {
						return RCInternalError, map[string]string{"error": err.Error()}
					}
				}
			}
		} else if module == "all" {
			all := map[string]json.RawMessage{}
			for _, name := range sortedKeys(mods) {
				if err := add(all, name, mods[name]); err != nil {
					return RCInternalError, map[string]string{"error": err.Error()}
				}
			}
			raw, _ := json.Marshal(all)
			env.Modules["all"] = raw
		} else {
			mod, ok := mods[module]
			if !ok {
				return RCNotEnabled, map[string]string{"error": module + " is not configured in this process"}
			}
			if err := add(env.Modules, module, mod); err != nil {
				return RCInternalError, map[string]string{"error": err.Error()}
			}
		}
		if r.params["download"] != "" {
			body, err := marshalRaw(env)
			if err != nil {
				return RCInternalError, map[string]string{"error": err.Error()}
			}
			r.ctx.SetStatusCode(200)
			r.ctx.SetContentType("application/json")
			r.ctx.Response.Header.Set("Content-Disposition", `attachment; filename="configuration.json"`)
			r.ctx.SetBody(body)
			return pageAnswer, nil
		}
		return RCOK, env
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// importConfig serves import/<module>/config.lua: the file comes as the
// JSON parameter (form field, JSON body string or uploaded file).
func (s *Server) importConfig(module string) handler {
	return func(r *request) (RC, any) {
		if !r.admin {
			return RCNotGranted, nil
		}
		file, ok := r.params["JSON"]
		if !ok {
			return RCInvalidArguments, map[string]string{"error": "the configuration file goes in the JSON parameter"}
		}
		var env configEnvelope
		if err := json.Unmarshal([]byte(file), &env); err != nil {
			return RCInvalidArguments, map[string]string{"error": "the configuration file is not JSON: " + err.Error()}
		}
		if env.Version != configVersion {
			return RCInvalidArguments, map[string]string{"error": fmt.Sprintf("configuration version %q, this probe reads %q", env.Version, configVersion)}
		}
		mods := s.configModules()
		todo := map[string]json.RawMessage{}
		if module == "all" {
			raw, ok := env.Modules["all"]
			if !ok {
				return RCConfigMismatch, map[string]string{"error": "not a configuration of everything (modules.all missing)"}
			}
			if err := json.Unmarshal(raw, &todo); err != nil {
				return RCConfigMismatch, map[string]string{"error": "modules.all: " + err.Error()}
			}
			for name := range todo {
				if _, ok := mods[name]; !ok {
					return RCConfigMismatch, map[string]string{"error": "modules.all holds " + name + ", which this probe does not configure"}
				}
			}
		} else if group, ok := configGroups[module]; ok && mods[module].Import != nil {
			for _, name := range group {
				if _, ok := mods[name]; !ok {
					continue
				}
				raw, ok := env.Modules[name]
				if !ok {
					return RCConfigMismatch, map[string]string{"error": "a " + module + " configuration holds " + name + " too; this file does not"}
				}
				todo[name] = raw
			}
		} else {
			if _, ok := mods[module]; !ok {
				return RCNotEnabled, map[string]string{"error": module + " is not configured in this process"}
			}
			raw, ok := env.Modules[module]
			if !ok {
				return RCConfigMismatch, map[string]string{"error": "the file holds no " + module + " configuration"}
			}
			todo[module] = raw
		}
		partial := false
		for _, name := range sortedKeys(todo) {
			p, err := mods[name].Import(todo[name])
			if err != nil {
				return errorAnswer(fmt.Errorf("importing %s: %w", name, err))
			}
			partial = partial || p
		}
		if partial {
			return RCPartialImport, nil
		}
		return RCOK, nil
	}
}

// resetConfig serves reset/<module>/config.lua (reset/all is the factory
// reset, see resetAllConfig).
func (s *Server) resetConfig(module string) handler {
	return func(r *request) (RC, any) {
		if !r.admin {
			return RCNotGranted, nil
		}
		mod, ok := s.configModules()[module]
		if !ok {
			return RCNotEnabled, map[string]string{"error": module + " is not configured in this process"}
		}
		if err := mod.Reset(); err != nil {
			return errorAnswer(err)
		}
		return RCOK, nil
	}
}
