package checks

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseConfigSet: a configset is refused or gives settings of known
// checks that each accepts; nothing panics.
func FuzzParseConfigSet(f *testing.F) {
	for _, seed := range []string{
		`{"config":{"host":{"syn_flood":{"min":{"enabled":true,"script_conf":{"operator":"gt","threshold":75}}}}}}`,
		`{"config":{"flow":{"unexpected_dns":{"all":{"enabled":true,"script_conf":{"items":["10.0.0.0/8"]}}}}}}`,
		`{"config":{"flow":{"syn_flood":{"all":{"enabled":true,"script_conf":{}}}}}}`,
		`{"syn_flood":{"enabled":true,"threshold":33}}`,
		`{"config":null}`, `{}`, `[]`, `null`, `{"config":{"host":{"syn_flood":{}}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := ParseConfigSet(raw, Defaults())
		var form map[string]json.RawMessage
		if err != nil || json.Unmarshal(raw, &form) != nil || form["config"] == nil {
			// Refused, or earlier builds' form, which Engine.Set checks.
			return
		}
		for k, s := range got {
			c, ok := Lookup("", k)
			if !ok {
				t.Fatalf("accepted unknown check %q", k)
			}
			if err := s.Validate(c); err != nil {
				t.Fatalf("accepted %s/%s %+v: %v", c.Subdir, k, s, err)
			}
		}
	})
}

// TestConfigSetRoundTrip: a configuration written as a ConfigSet reads
// back unchanged, for the defaults and for every check switched and set.
func TestConfigSetRoundTrip(t *testing.T) {
	changed := Defaults()
	for _, c := range catalogue {
		s := changed[c.Key]
		s.Enabled = !s.Enabled
		if c.Unit != "" {
			s.Threshold = c.Threshold + 3
		}
		if c.Items != "" {
			s.Items = []string{"192.0.2.1", "2001:db8::/32"}
		}
		changed[c.Key] = s
	}
	for name, cfg := range map[string]map[string]Setting{"defaults": Defaults(), "changed": changed} {
		raw, err := json.Marshal(ConfigSetOf(cfg))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseConfigSet(raw, Defaults())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, cfg) {
			t.Errorf("%s: read back differs", name)
		}
	}
}
