package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// mustJSON decodes a literal the way the runner does (UseNumber).
func mustJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestJQCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		// Kind order: null < false < true < numbers < strings < arrays < objects.
		{`null`, `false`, -1},
		{`false`, `true`, -1},
		{`true`, `0`, -1},
		{`99`, `"0"`, -1},
		{`"zzz"`, `[]`, -1},
		{`[9]`, `{}`, -1},
		{`{}`, `null`, 1},
		{`null`, `null`, 0},
		// Numbers compare by value, not text.
		{`2`, `10`, -1},
		{`1.50`, `1.5`, 0},
		{`-1`, `-0.5`, -1},
		{`1e2`, `99`, 1},
		// Strings compare bytewise: uppercase before lowercase, prefix first.
		{`"B"`, `"a"`, -1},
		{`"ab"`, `"abc"`, -1},
		{`"é"`, `"z"`, 1},
		// Arrays are lexicographic, a prefix sorts first.
		{`[1]`, `[1,0]`, -1},
		{`[1,0]`, `[2]`, -1},
		{`[]`, `[null]`, -1},
		{`[1,"a"]`, `[1,"a"]`, 0},
		// Objects: sorted key lists first, then values in key order.
		{`{"a":2,"b":0}`, `{"b":1}`, -1},
		{`{"a":1}`, `{"a":1,"b":1}`, -1},
		{`{"a":1,"b":2}`, `{"b":2,"a":1}`, 0},
		{`{"a":1,"b":9}`, `{"a":2,"b":0}`, -1},
		{`{"a":[1]}`, `{"a":"x"}`, 1},
	}
	for _, tt := range tests {
		got := sign(jqCompare(mustJSON(t, tt.a), mustJSON(t, tt.b)))
		if got != tt.want {
			t.Errorf("jqCompare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if back := sign(jqCompare(mustJSON(t, tt.b), mustJSON(t, tt.a))); back != -tt.want {
			t.Errorf("jqCompare(%s, %s) = %d, want %d", tt.b, tt.a, back, -tt.want)
		}
	}
}

func TestSortArraysPretty(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scalar", `42`, `42`},
		{"number text kept", `[1.50, 1e3]`, "[\n  1.50,\n  1e3\n]"},
		{"empty containers", `{"b":[],"a":{}}`, "{\n  \"a\": {},\n  \"b\": []\n}"},
		{
			"mixed kinds sorted",
			`["x", 3, null, {"k":1}, true, [2], false, 1]`,
			"[\n  null,\n  false,\n  true,\n  1,\n  3,\n  \"x\",\n  [\n    2\n  ],\n  {\n    \"k\": 1\n  }\n]",
		},
		{
			// The inner arrays are sorted before the outer one compares
			// them: [3,1] becomes [1,3] and then sorts before [2].
			"post-order",
			`[[2],[3,1]]`,
			"[\n  [\n    1,\n    3\n  ],\n  [\n    2\n  ]\n]",
		},
		{
			"objects in arrays by keys then values",
			`[{"id":6,"count":133},{"id":17,"count":46},{"count":5}]`,
			"[\n  {\n    \"count\": 5\n  },\n  {\n    \"count\": 46,\n    \"id\": 17\n  },\n  {\n    \"count\": 133,\n    \"id\": 6\n  }\n]",
		},
		{
			"nested object keys sorted",
			`{"rsp":{"z":[3,1],"a":"v"},"rc":0}`,
			"{\n  \"rc\": 0,\n  \"rsp\": {\n    \"a\": \"v\",\n    \"z\": [\n      1,\n      3\n    ]\n  }\n}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := jqPretty(sortArrays(mustJSON(t, tt.in))); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestWriteJQString(t *testing.T) {
	tests := []struct {
		in   string // JSON string literal
		want string
	}{
		{`"plain"`, `"plain"`},
		{`"<i class=\"fa\"></i> a/b & c"`, `"<i class=\"fa\"></i> a/b & c"`},
		{`"tab\tnl\ncr\rbs\\"`, `"tab\tnl\ncr\rbs\\"`},
		{`"\u0001\u001f\u007f"`, `"\u0001\u001f\u007f"`},
		{`"\b\f"`, `"\b\f"`},
		{`"caf\u00e9 …"`, `"café …"`},
	}
	for _, tt := range tests {
		if got := jqPretty(mustJSON(t, tt.in)); got != tt.want {
			t.Errorf("jqPretty(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
