package checks

import (
	"testing"

	"github.com/probe-appliance/probe/controlplane/store"
)

// TestSettingsLayoutsAndReset: settings stored by an older build (the bare
// map, with a check this build no longer has) are read; a reset survives a
// restart as the defaults; a change the store does not take is not applied.
func TestSettingsLayoutsAndReset(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	if err := st.Put(store.NSChecks, cfgKey, map[string]Setting{
		"syn_flood": {Enabled: true, Threshold: 33}, "retired_check": {Enabled: true},
	}); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, st, &sink{})
	cfg := e.Config()
	if cfg["syn_flood"].Threshold != 33 || !cfg["tls_certificate_expired"].Enabled {
		t.Fatalf("old layout: syn_flood %+v", cfg["syn_flood"])
	}
	if _, ok := cfg["retired_check"]; ok {
		t.Error("a check this build does not have was loaded")
	}
	if err := e.Reset(); err != nil {
		t.Fatal(err)
	}
	def := Defaults()["syn_flood"]
	if got := e.Config()["syn_flood"]; got.Threshold != def.Threshold {
		t.Errorf("after reset: %+v, want %+v", got, def)
	}
	st.Close()

	st = openStore(t, dir)
	e = newEngine(t, st, &sink{})
	if got := e.Config()["syn_flood"]; got.Threshold != def.Threshold {
		t.Errorf("reset, after restart: %+v, want %+v", got, def)
	}
	st.Close()
	if err := e.Set(map[string]Setting{"syn_flood": {Enabled: true, Threshold: 77}}); err == nil {
		t.Error("Set with the store closed succeeded")
	}
	if got := e.Config()["syn_flood"]; got.Threshold != def.Threshold {
		t.Errorf("applied without being stored: %+v", got)
	}
}
