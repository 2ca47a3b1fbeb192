package main

// Upstream normalises every output with `jq -S` plus a filter that sorts all
// arrays. The functions here reproduce jq's value order and pretty-printer so
// the line multiset we compare is the one upstream compared.
//
// Values are what encoding/json produces with UseNumber: nil, bool,
// json.Number, string, []any, map[string]any.

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// jqKind ranks value kinds the way jq's jv_kind enum does, which is what
// jv_cmp falls back to when kinds differ.
func jqKind(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 2
		}
		return 1
	case json.Number:
		return 3
	case string:
		return 4
	case []any:
		return 5
	case map[string]any:
		return 6
	default:
		panic(fmt.Sprintf("jqKind: unexpected type %T", v))
	}
}

// numberValue mirrors jq, which holds every number as a C double.
func numberValue(n json.Number) float64 {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !math.IsInf(f, 0) {
		// Out-of-range literals saturate to ±Inf like strtod; anything else
		// cannot come out of a successful json decode.
		return math.NaN()
	}
	return f
}

// jqCompare returns <0, 0, >0 with the semantics of jq's jv_cmp.
func jqCompare(a, b any) int {
	ka, kb := jqKind(a), jqKind(b)
	if ka != kb {
		return ka - kb
	}
	switch x := a.(type) {
	case nil, bool:
		return 0
	case json.Number:
		da, db := numberValue(x), numberValue(b.(json.Number))
		switch {
		case da < db:
			return -1
		case da == db:
			return 0
		default:
			return 1
		}
	case string:
		// jq compares the UTF-8 bytes (memcmp, then length); so does Go.
		return strings.Compare(x, b.(string))
	case []any:
		y := b.([]any)
		for i := 0; ; i++ {
			aDone, bDone := i >= len(x), i >= len(y)
			if aDone || bDone {
				return boolInt(bDone) - boolInt(aDone)
			}
			if r := jqCompare(x[i], y[i]); r != 0 {
				return r
			}
		}
	case map[string]any:
		y := b.(map[string]any)
		keysA, keysB := sortedKeys(x), sortedKeys(y)
		if r := slices.Compare(keysA, keysB); r != 0 {
			return r
		}
		for _, k := range keysA {
			if r := jqCompare(x[k], y[k]); r != 0 {
				return r
			}
		}
		return 0
	}
	panic(fmt.Sprintf("jqCompare: unexpected type %T", a))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sortArrays returns v with every array sorted, children before parents
// (post-order), because a parent's order depends on its sorted children.
// jq's sort is stable, hence SliceStable.
func sortArrays(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sortArrays(e)
		}
		sort.SliceStable(out, func(i, j int) bool { return jqCompare(out[i], out[j]) < 0 })
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = sortArrays(e)
		}
		return out
	default:
		return v
	}
}

// jqPretty renders v like `jq -S .`: two-space indent, sorted keys, "key": value.
// Numbers keep their source text (see the package doc in main.go).
func jqPretty(v any) string {
	var sb strings.Builder
	writePretty(&sb, v, 0)
	return sb.String()
}

func writePretty(sb *strings.Builder, v any, depth int) {
	switch x := v.(type) {
	case nil:
		sb.WriteString("null")
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case json.Number:
		sb.WriteString(string(x))
	case string:
		writeJQString(sb, x)
	case []any:
		if len(x) == 0 {
			sb.WriteString("[]")
			return
		}
		sb.WriteString("[\n")
		for i, e := range x {
			indent(sb, depth+1)
			writePretty(sb, e, depth+1)
			if i < len(x)-1 {
				sb.WriteByte(',')
			}
			sb.WriteByte('\n')
		}
		indent(sb, depth)
		sb.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			sb.WriteString("{}")
			return
		}
		sb.WriteString("{\n")
		keys := sortedKeys(x)
		for i, k := range keys {
			indent(sb, depth+1)
			writeJQString(sb, k)
			sb.WriteString(": ")
			writePretty(sb, x[k], depth+1)
			if i < len(keys)-1 {
				sb.WriteByte(',')
			}
			sb.WriteByte('\n')
		}
		indent(sb, depth)
		sb.WriteByte('}')
	default:
		panic(fmt.Sprintf("writePretty: unexpected type %T", v))
	}
}

func indent(sb *strings.Builder, depth int) {
	for i := 0; i < depth; i++ {
		sb.WriteString("  ")
	}
}

// writeJQString escapes like jq's jvp_dump_string: only quote, backslash and
// control characters (plus DEL) are escaped; '/', '<', '>', '&' and non-ASCII
// stay literal, unlike encoding/json.
func writeJQString(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(sb, `\u%04x`, r)
			} else {
				sb.WriteRune(r)
			}
		}
	}
	sb.WriteByte('"')
}
