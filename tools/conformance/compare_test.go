package main

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestSplitDocuments(t *testing.T) {
	num := func(s string) json.Number { return json.Number(s) }
	tests := []struct {
		name string
		in   string
		want []document
	}{
		{"empty", "", nil},
		{"blank", " \n\t\n", nil},
		{
			"curl answers share a line",
			`{"success":true}{"rc":0}`,
			[]document{{value: map[string]any{"success": true}}, {value: map[string]any{"rc": num("0")}}},
		},
		{
			"one per line with trailing newline",
			"{\"a\":1}\n[2]\n",
			[]document{{value: map[string]any{"a": num("1")}}, {value: []any{num("2")}}},
		},
		{
			"pretty document over several lines",
			"{\n  \"a\": [\n    1\n  ]\n}\n",
			[]document{{value: map[string]any{"a": []any{num("1")}}}},
		},
		{"number text preserved", `[1.50]`, []document{{value: []any{num("1.50")}}}},
		{
			"text is kept as raw lines",
			"404 Not Found\n{\"a\":1}",
			[]document{{raw: "404 Not Found"}, {value: map[string]any{"a": num("1")}}},
		},
		{
			"html error page",
			"<html>\n<body>oops</body>\n",
			[]document{{raw: "<html>"}, {raw: "<body>oops</body>"}},
		},
		{
			"truncated JSON falls back",
			"{\"a\":",
			[]document{{raw: "{\"a\":"}},
		},
		{
			"csv",
			"ip,bytes\r\n1.2.3.4,5\r\n",
			[]document{{raw: "ip,bytes"}, {raw: "1.2.3.4,5"}},
		},
		{
			"scalar documents on separate lines",
			"true\n7\n",
			[]document{{value: true}, {value: num("7")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitDocuments([]byte(tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitDocuments(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestOutputLines(t *testing.T) {
	in := `{"success":true}{"rsp":[{"ifname":"x","ifid":0}],"rc":0}` + "\nNot JSON\n"
	want := []string{
		"{", `  "success": true`, "}",
		"{", `  "rc": 0,`, `  "rsp": [`, "    {", `      "ifid": 0,`, `      "ifname": "x"`, "    }", "  ]", "}",
		"Not JSON",
	}
	if got := outputLines([]byte(in)); !reflect.DeepEqual(got, want) {
		t.Errorf("outputLines\n got %q\nwant %q", got, want)
	}
}

func TestDiffLines(t *testing.T) {
	tests := []struct {
		name             string
		expected, actual []string
		want             lineDiff
	}{
		{"equal", []string{"a", "b"}, []string{"a", "b"}, lineDiff{}},
		{"order ignored", []string{"b", "a"}, []string{"a", "b"}, lineDiff{}},
		{
			"multiplicity counts",
			[]string{"a", "a", "b"}, []string{"a", "b", "b"},
			lineDiff{Missing: []string{"a"}, Extra: []string{"b"}},
		},
		{"whitespace ignored", []string{`  "a": 1,`}, []string{`"a":1,`, "   "}, lineDiff{}},
		{"inner whitespace ignored", []string{`"x y"`}, []string{`"xy"`}, lineDiff{}},
		{
			"trailing comma matters",
			[]string{`"a": 1,`}, []string{`"a": 1`},
			lineDiff{Missing: []string{`"a": 1,`}, Extra: []string{`"a": 1`}},
		},
		{"missing only", []string{"x", "y"}, []string{"y"}, lineDiff{Missing: []string{"x"}}},
		{"extra only", nil, []string{"z", "y"}, lineDiff{Extra: []string{"y", "z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diffLines(tt.expected, tt.actual); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestForgiver(t *testing.T) {
	tests := []struct {
		ignore []string
		line   string
		want   bool
	}{
		{nil, `  "count": 133,`, false},
		{[]string{"bytes"}, `      "bytes.rcvd": 3412029,`, true},
		{[]string{"bytes"}, `  "packets": 5,`, false},
		// '.' is a grep wildcard.
		{[]string{"seen.last"}, `  "seen.last": 1589741869,`, true},
		{[]string{"seen.last"}, `  "seen_last": 3,`, true},
		{[]string{"seen.last"}, `  "seenlast": 3,`, false},
		// Empty patterns would match everything; they are dropped.
		{[]string{"", "  "}, `  "count": 1,`, false},
		// Built-in rules: epochs and clock labels.
		{nil, `    "value": 1589741864,`, true},
		{nil, `    "value": 12345,`, false},
		{nil, `    "label": "07:38:35",`, true},
		{nil, `    "label": "7:38:35",`, false},
		// Patterns match anywhere, case-sensitively.
		{[]string{"value"}, `  "label": "TLS", "value": 3`, true},
		{[]string{"Value"}, `  "value": 3`, false},
	}
	for _, tt := range tests {
		if got := newForgiver(tt.ignore).forgives(tt.line); got != tt.want {
			t.Errorf("ignore %q forgives(%q) = %v, want %v", tt.ignore, tt.line, got, tt.want)
		}
	}
}

func TestBREToRE2(t *testing.T) {
	tests := []struct {
		bre, want string
	}{
		{"bytes", "bytes"},
		{"seen.last", "seen.last"},
		{"a+b?", `a\+b\?`},
		{`a\+`, "a+"},
		{`x\|y`, "x|y"},
		{`\(ab\)*`, "(ab)*"},
		{"*star", `\*star`},
		{`^*x`, `^\*x`},
		{"a*", "a*"},
		{`a\{2\}`, "a{2}"},
		{"{1}", `\{1\}`},
		{"(x)", `\(x\)`},
		{"a^b$", `a\^b$`},
		{"$x", `\$x`},
		{`[0-9]`, `[0-9]`},
		{`[]a]`, `[]a]`},
		{`[[:digit:]]x`, `[[:digit:]]x`},
		{`[\]`, `[\\]`},
		{`\.`, `\.`},
		{`\<w`, `\bw`},
		{"[open", `\[open`},
	}
	for _, tt := range tests {
		if got := breToRE2(tt.bre); got != tt.want {
			t.Errorf("breToRE2(%q) = %q, want %q", tt.bre, got, tt.want)
		}
	}
}

func TestCompareOutputs(t *testing.T) {
	expected := `{"success":true}
{"rc":0,"rsp":[{"count":133,"id":6},{"count":46,"id":17}],"epoch":1656999515}
`
	tests := []struct {
		name      string
		actual    string
		ignore    []string
		wantMiss  int
		wantExtra int
	}{
		{
			"same content, other order and layout",
			`{"success":true}{"epoch":1656999515,"rsp":[{"id":17,"count":46},{"id":6,"count":133}],"rc":0}`,
			nil, 0, 0,
		},
		{
			"changed counter",
			`{"success":true}{"epoch":1656999515,"rsp":[{"id":17,"count":46},{"id":6,"count":134}],"rc":0}`,
			nil, 1, 1,
		},
		{
			"changed counter ignored",
			`{"success":true}{"epoch":1656999515,"rsp":[{"id":17,"count":46},{"id":6,"count":134}],"rc":0}`,
			[]string{"count"}, 0, 0,
		},
		{
			// The epoch line differs and carries no "value" key: upstream
			// only forgives it through the ignore list.
			"epoch needs its ignore entry",
			`{"success":true}{"epoch":1,"rsp":[{"id":17,"count":46},{"id":6,"count":133}],"rc":0}`,
			nil, 1, 1,
		},
		{
			"missing pre output",
			`{"epoch":1656999515,"rsp":[{"id":17,"count":46},{"id":6,"count":133}],"rc":0}`,
			nil, 3, 0,
		},
		{"probe down", "", nil, 17, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := compareOutputs([]byte(expected), []byte(tt.actual), tt.ignore)
			if len(d.Missing) != tt.wantMiss || len(d.Extra) != tt.wantExtra {
				t.Errorf("got %d missing %q, %d extra %q; want %d, %d",
					len(d.Missing), d.Missing, len(d.Extra), d.Extra, tt.wantMiss, tt.wantExtra)
			}
		})
	}
}
