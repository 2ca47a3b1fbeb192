package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseCase(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       testCase
	}{
		{
			"full",
			`input: bcast_domains.pcap

localnet: 192.168.1.0/24

ignore:
  - last_seen  # Depends on current system uptime
  - seen.last

pre: |
  curl -s a

runtime: |
  curl -s b
post: |
  curl -s c
`,
			testCase{Name: "full", Input: "bcast_domains.pcap", Localnet: "192.168.1.0/24",
				Ignore: []string{"last_seen", "seen.last"},
				Pre:    "curl -s a\n", Runtime: "curl -s b\n", Post: "curl -s c\n"},
		},
		{
			"defaults and empty keys",
			"ignore:\n\npre: |\n\nruntime: |\n  curl x\n",
			testCase{Name: "defaults and empty keys", Input: "test_01.pcap", Runtime: "curl x\n"},
		},
		{
			"requires with a value",
			"requires: pro\nruntime: x\n",
			testCase{Name: "requires with a value", Input: "test_01.pcap", Runtime: "x", Requires: true},
		},
		{
			// Presence is what counts upstream (shyaml get-value succeeds).
			"requires without a value",
			"requires:\nruntime: x\n",
			testCase{Name: "requires without a value", Input: "test_01.pcap", Runtime: "x", Requires: true},
		},
		{
			"localnet list",
			"localnet:\n  - 10.0.0.0/8\n  - 192.168.1.0/24\n",
			testCase{Name: "localnet list", Input: "test_01.pcap", Localnet: "10.0.0.0/8,192.168.1.0/24"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCase(tt.name, []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := parseCase("bad", []byte("ignore: [")); err == nil {
		t.Error("malformed YAML accepted")
	}
}

func TestLoadSuiteAndCapture(t *testing.T) {
	dir := t.TempDir()
	for path, content := range map[string]string{
		"tests/v1/b_test.yaml": "runtime: b\n",
		"tests/v1/a_test.yaml": "input: other.pcap\nruntime: a\n",
		"tests/v1/notes.txt":   "not a test",
		"pcap/test_02.pcap":    "x",
		"pcap/other.pcap":      "y",
	} {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases, err := loadSuite(dir, "v1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cases {
		names = append(names, c.Name)
	}
	if want := []string{"a_test", "b_test"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	if want := filepath.Join(dir, "result", "v1", "a_test.out"); cases[0].Expected != want {
		t.Errorf("expected path = %s, want %s", cases[0].Expected, want)
	}
	if _, err := loadSuite(dir, "v2"); err == nil {
		t.Error("empty version dir accepted")
	}

	tests := []struct {
		version, input, want string
	}{
		{"v1", "test_01.pcap", "test_02.pcap"}, // the README's quirk
		{"v1", "other.pcap", "other.pcap"},
		{"v2", "test_02.pcap", "test_02.pcap"},
	}
	for _, tt := range tests {
		got, err := captureSource(settings{suite: dir, version: tt.version}, tt.input)
		if err != nil {
			t.Errorf("%s %s: %v", tt.version, tt.input, err)
			continue
		}
		if want := filepath.Join(dir, "pcap", tt.want); got != want {
			t.Errorf("%s %s: got %s, want %s", tt.version, tt.input, got, want)
		}
	}
	// v2 has no quirk and test_01.pcap is absent from this suite.
	if _, err := captureSource(settings{suite: dir, version: "v2"}, "test_01.pcap"); err == nil {
		t.Error("missing capture accepted")
	}
}

func TestPortScript(t *testing.T) {
	s := "curl http://localhost:3333/lua/a.lua\n"
	if got := portScript(s, 3333); got != s {
		t.Errorf("default port rewritten: %q", got)
	}
	if got, want := portScript(s, 4444), "curl http://localhost:4444/lua/a.lua\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
