// Package query answers goProbe-style (v3, legacy REST API v1) flow queries
// over the flow records of controlplane/store: group-by attributes, a
// condition language, direction modes, sorting and goProbe's JSON, text and
// CSV result shapes.
package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Args are goProbe v3's query.Args. The JSON body of POST /api/v1/_query is
// decoded into DefaultArgs(), so omitted fields keep their defaults.
type Args struct {
	Query         string // group-by attributes or a preset, e.g. "sip,dip"
	Ifaces        string // "eth0,eth1", "any" or "all"
	Condition     string
	In, Out, Sum  bool
	First, Last   string // any format ParseTime accepts
	Format        string // txt, json or csv
	SortBy        string // bytes, packets or time
	NumResults    int
	External      bool
	SortAscending bool
	// Output names server-side files in goProbe; accepted and ignored
	// because honouring it would let API callers write files.
	Output         string
	List, Version  bool // CLI-only switches, ignored
	Resolve        bool // reverse DNS of the first ResolveRows rows
	ResolveTimeout int  // seconds
	ResolveRows    int
	// DBPath is accepted and ignored: goProbe v3 read the database the
	// caller named, the probe always queries its own store.
	DBPath    string
	MaxMemPct int
	Caller    string
	// Probe, an extension: under --history clickhouse, the fleet's probe
	// (NTOPNG_INSTANCE_NAME) whose flows are asked; empty: every probe.
	// A probe's own store holds its flows only and ignores it.
	Probe string `json:",omitempty"`
}

// Defaults of goProbe v3 (pkg/query/defaults.go), with the API's json format.
const (
	DefaultFirst          = "-30d"
	DefaultLast           = "now"
	DefaultFormat         = "json"
	DefaultSortBy         = "bytes"
	DefaultNumResults     = 1000
	DefaultResolveTimeout = 1
	DefaultResolveRows    = 25
	DefaultDBPath         = "/usr/local/goProbe/db"
	DefaultMaxMemPct      = 60
)

// DefaultArgs returns the arguments an empty JSON object stands for.
func DefaultArgs() Args {
	return Args{
		First:          DefaultFirst,
		Last:           DefaultLast,
		Format:         DefaultFormat,
		SortBy:         DefaultSortBy,
		NumResults:     DefaultNumResults,
		ResolveTimeout: DefaultResolveTimeout,
		ResolveRows:    DefaultResolveRows,
		DBPath:         DefaultDBPath,
		MaxMemPct:      DefaultMaxMemPct,
	}
}

// argFields maps a normalised key (lower case, no underscores) to the index
// of its Args field. Normalising makes goProbe v3's Go field names (matched
// case-insensitively, as encoding/json does) and v4's snake_case keys
// (sort_by, num_results, ...) land on the same field.
var argFields = func() map[string]int {
	t := reflect.TypeFor[Args]()
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		m[normKey(t.Field(i).Name)] = i
	}
	return m
}()

func normKey(k string) string {
	return strings.ToLower(strings.ReplaceAll(k, "_", ""))
}

// ErrDecodeArgs marks a body that is not a JSON object of query arguments
// (goProbe: 400 "failed to decode query arguments").
var ErrDecodeArgs = errors.New("failed to decode query arguments")

// ParseArgsJSON decodes a _query body over DefaultArgs. Unknown keys are
// ignored, as encoding/json does for goProbe.
func ParseArgsJSON(body []byte) (Args, error) {
	args := DefaultArgs()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return args, fmt.Errorf("%w: %w", ErrDecodeArgs, err)
	}
	v := reflect.ValueOf(&args).Elem()
	// Sorted keys make a body with both "Query" and "query" decode the
	// same way every time.
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		msg := raw[k]
		i, ok := argFields[normKey(k)]
		if !ok {
			continue
		}
		if err := json.Unmarshal(msg, v.Field(i).Addr().Interface()); err != nil {
			return args, fmt.Errorf("%w: key %q: %w", ErrDecodeArgs, k, err)
		}
	}
	return args, nil
}
