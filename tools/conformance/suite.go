package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// defaultInput is the capture upstream's run.sh uses when a test names none.
const defaultInput = "test_01.pcap"

// testCase is one upstream YAML definition plus where its files live.
type testCase struct {
	Name     string
	Input    string   // capture file name under pcap/
	Localnet string   // ntopng -m value, "" if none
	Ignore   []string // grep patterns forgiving differing lines
	Pre      string
	Runtime  string
	Post     string
	Requires bool   // Pro-only upstream: skipped
	Expected string // path of result/<version>/<name>.out
}

// yamlCase mirrors the upstream file. Nodes are used where a key's mere
// presence matters (requires) or where upstream files vary in shape.
type yamlCase struct {
	Input    string    `yaml:"input"`
	Localnet yaml.Node `yaml:"localnet"`
	Ignore   []string  `yaml:"ignore"`
	Pre      string    `yaml:"pre"`
	Runtime  string    `yaml:"runtime"`
	Post     string    `yaml:"post"`
	Requires yaml.Node `yaml:"requires"`
}

// parseCase decodes one test definition.
func parseCase(name string, data []byte) (testCase, error) {
	var y yamlCase
	if err := yaml.Unmarshal(data, &y); err != nil {
		return testCase{}, fmt.Errorf("parse %s: %w", name, err)
	}
	localnet, err := nodeList(y.Localnet)
	if err != nil {
		return testCase{}, fmt.Errorf("parse %s: localnet: %w", name, err)
	}
	tc := testCase{
		Name:     name,
		Input:    y.Input,
		Localnet: localnet,
		Ignore:   y.Ignore,
		Pre:      y.Pre,
		Runtime:  y.Runtime,
		Post:     y.Post,
		Requires: y.Requires.Kind != 0,
	}
	if tc.Input == "" {
		tc.Input = defaultInput
	}
	return tc, nil
}

// nodeList accepts a scalar or a sequence of scalars and joins the latter with
// commas, the list syntax of ntopng's -m.
func nodeList(n yaml.Node) (string, error) {
	switch n.Kind {
	case 0:
		return "", nil
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", nil
		}
		return n.Value, nil
	case yaml.SequenceNode:
		var parts []string
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("line %d: expected a scalar", c.Line)
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ","), nil
	default:
		return "", fmt.Errorf("line %d: expected a string or a list", n.Line)
	}
}

// loadSuite reads tests/<version>/*.yaml in name order.
func loadSuite(suiteDir, version string) ([]testCase, error) {
	paths, err := filepath.Glob(filepath.Join(suiteDir, "tests", version, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list tests: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no tests in %s", filepath.Join(suiteDir, "tests", version))
	}
	sort.Strings(paths)
	var cases []testCase
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".yaml")
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read test: %w", err)
		}
		tc, err := parseCase(name, data)
		if err != nil {
			return nil, err
		}
		tc.Expected = filepath.Join(suiteDir, "result", version, name+".out")
		cases = append(cases, tc)
	}
	return cases, nil
}
